package main

import (
	"context"
	"testing"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/pgtest"
)

// flavor create-defaults creates the m1.* set once, keeps an admin's own
// flavor of a default's name, and needs a Postgres connection.
func TestFlavorCreateDefaults(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	pool := pgtest.OpenPool(t, dbURL)
	conf := writeConf(t, dbURL)
	store := computedb.NewPG(pool)
	ctx := context.Background()
	if _, err := store.CreateFlavor(ctx, computedb.Flavor{FlavorID: "custom", Name: "m1.small", MemoryMB: 1, VCPUs: 1, IsPublic: true}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := manage(t, "--config-file", conf, "flavor", "create-defaults")
	if code != 0 || out != "created 4 of the 5 default flavors\n" {
		t.Fatalf("first run: code %d, out %q, err %q", code, out, errOut)
	}
	code, out, _ = manage(t, "--config-file", conf, "flavor", "create-defaults")
	if code != 0 || out != "created 0 of the 5 default flavors\n" {
		t.Fatalf("second run: code %d, out %q", code, out)
	}
	f, err := store.GetFlavor(ctx, "1", computedb.FlavorScope{})
	if err != nil || f.Name != "m1.tiny" || f.MemoryMB != 512 || f.VCPUs != 1 || f.RootGB != 1 || !f.IsPublic {
		t.Fatalf("flavor 1 = %+v, %v", f, err)
	}
	if f, _ := store.GetFlavor(ctx, "custom", computedb.FlavorScope{}); f.MemoryMB != 1 {
		t.Fatalf("the admin's m1.small was changed: %+v", f)
	}
	if code, _, _ := manage(t, "--config-file", conf, "flavor", "create"); code != 2 {
		t.Fatalf("unknown flavor command: code %d", code)
	}
	if code, _, errOut := manage(t, "--config-file", writeConf(t, ""), "flavor", "create-defaults"); code != 1 || errOut == "" {
		t.Fatalf("memory store: code %d, err %q", code, errOut)
	}
}
