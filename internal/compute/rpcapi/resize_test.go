package rpcapi

import (
	"context"
	"sort"
	"strings"
	"testing"
)

func (r *recorder) PrepResize(ctx context.Context, args map[string]any) error {
	r.record(ctx, MethodPrepResize, args)
	return nil
}

func (r *recorder) ResizeInstance(ctx context.Context, args map[string]any) error {
	r.record(ctx, MethodResizeInstance, args)
	return nil
}

func (r *recorder) FinishResize(ctx context.Context, args map[string]any) error {
	r.record(ctx, MethodFinishResize, args)
	return nil
}

func (r *recorder) ConfirmResize(ctx context.Context, args map[string]any) error {
	r.record(ctx, MethodConfirmResize, args)
	return nil
}

func (r *recorder) RevertResize(ctx context.Context, args map[string]any) error {
	r.record(ctx, MethodRevertResize, args)
	return nil
}

func (r *recorder) FinishRevertResize(ctx context.Context, args map[string]any) error {
	r.record(ctx, MethodFinishRevertResize, args)
	return nil
}

func keys(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// The resize casts carry nova 6.0's argument names under nova's method
// names, sent at 6.0 (the test has one compute, h1, for every hop).
func TestResizeCastsCarryNovasArguments(t *testing.T) {
	e := newEnv(t)
	cl := e.client(t, Options{})
	ctx := context.Background()
	inst := Instance{UUID: instUUID}
	mig := Migration{SourceCompute: "h1", DestCompute: "h2", Status: "pre-migrating", MigrationType: "resize"}
	f := Flavor{FlavorID: "2", Name: "m1.small", VCPUs: 1, MemoryMB: 2048, RootGB: 20}
	for _, c := range []struct {
		method, keys string
		send         func() error
	}{
		{MethodPrepResize, "clean_shutdown,filter_properties,flavor,host_list,image,instance,migration,node,request_spec",
			func() error {
				return cl.PrepResize(ctx, "h1", PrepResizeArgs{Instance: inst, Flavor: f, Migration: mig, CleanShutdown: true})
			}},
		{MethodResizeInstance, "clean_shutdown,flavor,image,instance,migration,request_spec",
			func() error {
				return cl.ResizeInstance(ctx, "h1", ResizeInstanceArgs{Instance: inst, Flavor: f, Migration: mig})
			}},
		{MethodFinishResize, "disk_info,image,instance,migration,request_spec",
			func() error { return cl.FinishResize(ctx, "h1", FinishResizeArgs{Instance: inst, Migration: mig}) }},
		{MethodConfirmResize, "instance,migration",
			func() error {
				return cl.MigrationCast(ctx, MethodConfirmResize, "h1", MigrationArgs{Instance: inst, Migration: mig})
			}},
		{MethodRevertResize, "instance,migration,request_spec",
			func() error {
				return cl.MigrationCast(ctx, MethodRevertResize, "h1", MigrationArgs{Instance: inst, Migration: mig})
			}},
		{MethodFinishRevertResize, "instance,migration,request_spec",
			func() error {
				return cl.MigrationCast(ctx, MethodFinishRevertResize, "h1", MigrationArgs{Instance: inst, Migration: mig})
			}},
	} {
		if MethodVersion(c.method) != "6.0" {
			t.Errorf("%s is sent at %q, nova's is 6.0", c.method, MethodVersion(c.method))
		}
		if err := c.send(); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		m := e.next(t)
		if m.method != c.method || keys(m.args) != c.keys {
			t.Fatalf("%s on the wire: %s with %s, want %s", c.method, m.method, keys(m.args), c.keys)
		}
		if mg := m.args["migration"].(map[string]any); mg["source_compute"] != "h1" || mg["dest_compute"] != "h2" {
			t.Fatalf("%s migration %v", c.method, mg)
		}
	}
	if err := cl.MigrationCast(ctx, MethodTerminateInstance, "h1", MigrationArgs{Instance: inst}); err == nil {
		t.Fatal("MigrationCast sent terminate_instance")
	}
}
