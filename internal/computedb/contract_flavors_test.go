package computedb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func flavorIDs(fs []Flavor) string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.FlavorID
	}
	return strings.Join(ids, ",")
}

func runFlavorContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	admin := FlavorScope{Admin: true}

	t.Run("CreateGetConflicts", func(t *testing.T) {
		s := newStore(t)
		desc := "small"
		f, err := s.CreateFlavor(ctx, Flavor{FlavorID: "1", Name: "m1.tiny", MemoryMB: 512, VCPUs: 1, RootGB: 1, Swap: 0,
			RXTXFactor: 1.5, IsPublic: true, Description: &desc, ExtraSpecs: map[string]string{"hw:cpu_policy": "dedicated"}})
		if err != nil {
			t.Fatal(err)
		}
		if f.ID == 0 || f.RXTXFactor != 1.5 || *f.Description != "small" || f.ExtraSpecs["hw:cpu_policy"] != "dedicated" || f.CreatedAt.IsZero() {
			t.Fatalf("created %+v", f)
		}
		got, err := s.GetFlavor(ctx, "1", FlavorScope{ProjectID: "p"})
		if err != nil || got.Name != "m1.tiny" || got.MemoryMB != 512 || len(got.ExtraSpecs) != 1 {
			t.Fatalf("GetFlavor = %+v, %v", got, err)
		}
		var fe *FlavorExistsError
		_, err = s.CreateFlavor(ctx, Flavor{FlavorID: "1", Name: "other", MemoryMB: 1, VCPUs: 1})
		if !errors.As(err, &fe) || fe.FlavorID != "1" || !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate flavorid: %v", err)
		}
		_, err = s.CreateFlavor(ctx, Flavor{FlavorID: "2", Name: "m1.tiny", MemoryMB: 1, VCPUs: 1})
		if !errors.As(err, &fe) || fe.Name != "m1.tiny" {
			t.Fatalf("duplicate name: %v", err)
		}
		if _, err := s.GetFlavor(ctx, "2", admin); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetFlavor(missing) = %v", err)
		}
		if _, err := s.GetFlavor(ctx, "x\x00", admin); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetFlavor(NUL) = %v", err)
		}
		if _, err := s.CreateFlavor(ctx, Flavor{FlavorID: "3", Name: "n\x00", MemoryMB: 1, VCPUs: 1}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("NUL name: %v", err)
		}
	})

	t.Run("PrivateFlavorsAndAccess", func(t *testing.T) {
		s := newStore(t)
		for _, f := range []Flavor{{FlavorID: "pub", Name: "pub", IsPublic: true}, {FlavorID: "priv", Name: "priv"}} {
			f.MemoryMB, f.VCPUs = 1, 1
			if _, err := s.CreateFlavor(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.GetFlavor(ctx, "priv", FlavorScope{ProjectID: "p1"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("private flavor seen without access: %v", err)
		}
		if err := s.AddFlavorProject(ctx, "priv", "p1"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddFlavorProject(ctx, "priv", "p1"); !errors.Is(err, ErrConflict) {
			t.Fatalf("second add = %v", err)
		}
		if err := s.AddFlavorProject(ctx, "nope", "p1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("add to missing flavor = %v", err)
		}
		if err := s.AddFlavorProject(ctx, "priv", "a0"); err != nil {
			t.Fatal(err)
		}
		if ps, err := s.FlavorProjects(ctx, "priv"); err != nil || strings.Join(ps, ",") != "a0,p1" {
			t.Fatalf("FlavorProjects = %v, %v", ps, err)
		}
		if _, err := s.GetFlavor(ctx, "priv", FlavorScope{ProjectID: "p1"}); err != nil {
			t.Fatalf("private flavor with access: %v", err)
		}
		list := func(f FlavorFilter) string {
			t.Helper()
			fs, err := s.ListFlavors(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return flavorIDs(fs)
		}
		yes, no := true, false
		if got := list(FlavorFilter{Scope: FlavorScope{ProjectID: "p2"}}); got != "pub" {
			t.Errorf("p2 lists %s", got)
		}
		if got := list(FlavorFilter{Scope: FlavorScope{ProjectID: "p1"}, IsPublic: &yes}); got != "priv,pub" {
			t.Errorf("p1 lists %s", got)
		}
		if got := list(FlavorFilter{Scope: admin, IsPublic: &yes}); got != "pub" {
			t.Errorf("admin is_public=true lists %s", got)
		}
		if got := list(FlavorFilter{Scope: admin, IsPublic: &no}); got != "priv" {
			t.Errorf("admin is_public=false lists %s", got)
		}
		if got := list(FlavorFilter{Scope: admin}); got != "priv,pub" {
			t.Errorf("admin is_public=none lists %s", got)
		}
		if err := s.RemoveFlavorProject(ctx, "priv", "p1"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveFlavorProject(ctx, "priv", "p1"); !errors.Is(err, ErrFlavorAccessNotFound) {
			t.Fatalf("second remove = %v", err)
		}
		if err := s.RemoveFlavorProject(ctx, "nope", "p1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("remove from missing flavor = %v", err)
		}
		if _, err := s.ListFlavors(ctx, FlavorFilter{Scope: FlavorScope{ProjectID: "p1"}, Marker: "priv"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("invisible marker = %v", err)
		}
		if err := s.DeleteFlavor(ctx, "priv"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FlavorProjects(ctx, "priv"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("access of a deleted flavor = %v", err)
		}
		if err := s.DeleteFlavor(ctx, "priv"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete = %v", err)
		}
	})

	t.Run("FiltersSortAndPages", func(t *testing.T) {
		s := newStore(t)
		d := func(v string) *string { return &v }
		rows := []Flavor{
			{FlavorID: "1", Name: "m1.tiny", MemoryMB: 512, VCPUs: 1, RootGB: 1, Description: d("b")},
			{FlavorID: "2", Name: "m1.small", MemoryMB: 2048, VCPUs: 1, RootGB: 20},
			{FlavorID: "3", Name: "m1.medium", MemoryMB: 4096, VCPUs: 2, RootGB: 40, Description: d("a")},
			{FlavorID: "10", Name: "big", MemoryMB: 4096, VCPUs: 8, RootGB: 0, Disabled: true},
			{FlavorID: "a", Name: "A", MemoryMB: 128, VCPUs: 1, RootGB: 40},
		}
		for _, f := range rows {
			f.IsPublic, f.RXTXFactor = true, 1
			if _, err := s.CreateFlavor(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		n := func(v int64) *int64 { return &v }
		no := false
		cases := []struct {
			f    FlavorFilter
			want string
		}{
			{FlavorFilter{Scope: admin}, "1,10,2,3,a"},
			{FlavorFilter{Scope: admin, SortDesc: true}, "a,3,2,10,1"},
			{FlavorFilter{Scope: admin, MinMemoryMB: n(2048)}, "10,2,3"},
			{FlavorFilter{Scope: admin, MinRootGB: n(40)}, "3,a"},
			{FlavorFilter{Scope: admin, Disabled: &no}, "1,2,3,a"},
			{FlavorFilter{Scope: admin, SortKey: "memory_mb"}, "a,1,2,3,10"},
			{FlavorFilter{Scope: admin, SortKey: "memory_mb", SortDesc: true}, "10,3,2,1,a"},
			{FlavorFilter{Scope: admin, SortKey: "name"}, "a,10,3,2,1"},
			{FlavorFilter{Scope: admin, SortKey: "description"}, "3,1,2,10,a"},
			{FlavorFilter{Scope: admin, SortKey: "description", SortDesc: true}, "a,10,2,1,3"},
			{FlavorFilter{Scope: admin, Limit: 2}, "1,10"},
		}
		for _, c := range cases {
			fs, err := s.ListFlavors(ctx, c.f)
			if err != nil {
				t.Fatalf("%+v: %v", c.f, err)
			}
			if got := flavorIDs(fs); got != c.want {
				t.Errorf("%+v: got %s, want %s", c.f, got, c.want)
			}
		}
		// Paging one at a time through every order gives the whole list.
		for _, key := range FlavorSortKeys {
			for _, desc := range []bool{false, true} {
				whole, err := s.ListFlavors(ctx, FlavorFilter{Scope: admin, SortKey: key, SortDesc: desc})
				if err != nil {
					t.Fatal(err)
				}
				var paged []Flavor
				marker := ""
				for i := 0; i < 10; i++ {
					page, err := s.ListFlavors(ctx, FlavorFilter{Scope: admin, SortKey: key, SortDesc: desc, Limit: 1, Marker: marker})
					if err != nil {
						t.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					paged = append(paged, page...)
					marker = page[0].FlavorID
				}
				if flavorIDs(paged) != flavorIDs(whole) {
					t.Errorf("sort %s desc=%v: paged %s, whole %s", key, desc, flavorIDs(paged), flavorIDs(whole))
				}
			}
		}
		if _, err := s.ListFlavors(ctx, FlavorFilter{Scope: admin, Marker: "nope"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown marker = %v", err)
		}
		if _, err := s.ListFlavors(ctx, FlavorFilter{Scope: admin, SortKey: "name; DROP"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad sort key = %v", err)
		}
	})

	t.Run("DescriptionAndExtraSpecs", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.CreateFlavor(ctx, Flavor{FlavorID: "1", Name: "f", MemoryMB: 1, VCPUs: 1}); err != nil {
			t.Fatal(err)
		}
		d := "new"
		f, err := s.UpdateFlavorDescription(ctx, "1", &d)
		if err != nil || f.Description == nil || *f.Description != "new" || f.UpdatedAt == nil {
			t.Fatalf("UpdateFlavorDescription = %+v, %v", f, err)
		}
		if f, err = s.UpdateFlavorDescription(ctx, "1", nil); err != nil || f.Description != nil {
			t.Fatalf("clearing description = %+v, %v", f, err)
		}
		if _, err := s.UpdateFlavorDescription(ctx, "2", &d); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing flavor = %v", err)
		}
		f, err = s.SetFlavorExtraSpecs(ctx, "1", map[string]string{"a": "1", "b": "2"})
		if err != nil || len(f.ExtraSpecs) != 2 {
			t.Fatalf("SetFlavorExtraSpecs = %+v, %v", f, err)
		}
		if f, err = s.SetFlavorExtraSpecs(ctx, "1", map[string]string{"a": "3"}); err != nil || f.ExtraSpecs["a"] != "3" || f.ExtraSpecs["b"] != "2" {
			t.Fatalf("merge = %+v, %v", f.ExtraSpecs, err)
		}
		if err := s.DeleteFlavorExtraSpec(ctx, "1", "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteFlavorExtraSpec(ctx, "1", "a"); !errors.Is(err, ErrExtraSpecNotFound) {
			t.Fatalf("second delete = %v", err)
		}
		if err := s.DeleteFlavorExtraSpec(ctx, "2", "a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete on missing flavor = %v", err)
		}
		if _, err := s.SetFlavorExtraSpecs(ctx, "2", map[string]string{"a": "1"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("set on missing flavor = %v", err)
		}
		if _, err := s.SetFlavorExtraSpecs(ctx, "1", map[string]string{"a": strings.Repeat("x", 256)}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("long value = %v", err)
		}
		got, _ := s.GetFlavor(ctx, "1", admin)
		if fmt.Sprint(got.ExtraSpecs) != "map[b:2]" {
			t.Fatalf("specs = %v", got.ExtraSpecs)
		}
	})
}

func runKeyPairContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("CRUDAndPages", func(t *testing.T) {
		s := newStore(t)
		for _, n := range []string{"k1", "k2", "k3"} {
			kp, err := s.CreateKeyPair(ctx, KeyPair{Name: n, UserID: "u1", Fingerprint: "fp-" + n, PublicKey: "ssh-rsa AAA " + n}, 100)
			if err != nil || kp.ID == 0 || kp.Type != "ssh" || kp.CreatedAt.IsZero() {
				t.Fatalf("create %s = %+v, %v", n, kp, err)
			}
		}
		if _, err := s.CreateKeyPair(ctx, KeyPair{Name: "k1", UserID: "u2", Fingerprint: "f", PublicKey: "p", Type: "x509"}, 100); err != nil {
			t.Fatalf("same name for another user: %v", err)
		}
		if _, err := s.CreateKeyPair(ctx, KeyPair{Name: "k1", UserID: "u1", Fingerprint: "f", PublicKey: "p"}, 100); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate = %v", err)
		}
		kp, err := s.GetKeyPair(ctx, "u2", "k1")
		if err != nil || kp.Type != "x509" {
			t.Fatalf("GetKeyPair = %+v, %v", kp, err)
		}
		names := func(kps []KeyPair) string {
			out := make([]string, len(kps))
			for i, k := range kps {
				out[i] = k.Name
			}
			return strings.Join(out, ",")
		}
		all, err := s.ListKeyPairs(ctx, "u1", 0, "")
		if err != nil || names(all) != "k1,k2,k3" {
			t.Fatalf("list = %s, %v", names(all), err)
		}
		page, err := s.ListKeyPairs(ctx, "u1", 1, "k1")
		if err != nil || names(page) != "k2" {
			t.Fatalf("page = %s, %v", names(page), err)
		}
		if _, err := s.ListKeyPairs(ctx, "u1", 1, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown marker = %v", err)
		}
		if err := s.DeleteKeyPair(ctx, "u1", "k2"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteKeyPair(ctx, "u1", "k2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete = %v", err)
		}
		if _, err := s.GetKeyPair(ctx, "u1", "k2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get deleted = %v", err)
		}
	})
	t.Run("LimitHoldsUnderConcurrency", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := s.CreateKeyPair(ctx, KeyPair{Name: fmt.Sprintf("k%d", i), UserID: "u", Fingerprint: "f", PublicKey: "p"}, 5)
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		ok, limited := 0, 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrKeyPairLimit):
				limited++
			default:
				t.Fatal(err)
			}
		}
		if ok != 5 || limited != 15 {
			t.Fatalf("%d created, %d refused; want 5 and 15", ok, limited)
		}
		if _, err := s.CreateKeyPair(ctx, KeyPair{Name: "other", UserID: "u-other", Fingerprint: "f", PublicKey: "p"}, 5); err != nil {
			t.Fatalf("another user's limit: %v", err)
		}
	})
}

func runEditContract(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	s := newStore(t)
	in, err := s.CreateInstance(ctx, Instance{DisplayName: "vm", ProjectID: "p", UserID: "u", Metadata: map[string]string{"a": "1"},
		Tags: []string{"z", "y", "z"}, KeyName: "k1", Flavor: InstanceFlavor{Name: "m1.tiny", Swap: 5, ExtraSpecs: map[string]string{"hw:x": "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(in.Tags, ",") != "y,z" || in.KeyName != "k1" || in.Flavor.Name != "m1.tiny" || in.Flavor.Swap != 5 || in.Flavor.ExtraSpecs["hw:x"] != "1" {
		t.Fatalf("created %+v", in)
	}
	got, _ := s.GetInstance(ctx, in.UUID)
	if strings.Join(got.Tags, ",") != "y,z" || got.KeyName != "k1" || got.Flavor.Name != "m1.tiny" {
		t.Fatalf("read back %+v", got)
	}
	out, err := s.EditInstance(ctx, in.UUID, func(meta map[string]string, tags []string) (map[string]string, []string, error) {
		meta["b"] = "2"
		return meta, append(tags, "x"), nil
	})
	if err != nil || out.Metadata["b"] != "2" || out.Metadata["a"] != "1" || strings.Join(out.Tags, ",") != "x,y,z" || out.UpdatedAt == nil {
		t.Fatalf("EditInstance = %+v, %v", out, err)
	}
	refusal := errors.New("over the limit")
	if _, err := s.EditInstance(ctx, in.UUID, func(meta map[string]string, tags []string) (map[string]string, []string, error) {
		return nil, nil, refusal
	}); err != refusal {
		t.Fatalf("edit's error = %v", err)
	}
	if _, err := s.EditInstance(ctx, in.UUID, func(meta map[string]string, tags []string) (map[string]string, []string, error) {
		meta["c"] = "\x00"
		return meta, tags, nil
	}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NUL value = %v", err)
	}
	got, _ = s.GetInstance(ctx, in.UUID)
	if len(got.Metadata) != 2 || len(got.Tags) != 3 {
		t.Fatalf("after refused edits: %+v", got)
	}
	if _, err := s.EditInstance(ctx, "00000000-0000-0000-0000-000000000000", func(m map[string]string, t []string) (map[string]string, []string, error) {
		return m, t, nil
	}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing instance = %v", err)
	}
	// Concurrent edits of one row each add a tag: none is lost.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.EditInstance(ctx, in.UUID, func(meta map[string]string, tags []string) (map[string]string, []string, error) {
				return meta, append(tags, fmt.Sprintf("t%d", i)), nil
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	got, _ = s.GetInstance(ctx, in.UUID)
	if len(got.Tags) != 13 {
		t.Fatalf("tags after concurrent edits: %v", got.Tags)
	}
}
