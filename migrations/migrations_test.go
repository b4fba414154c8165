package migrations

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

// Every migration is numbered without gaps from 00001 and has both goose
// sections, so that later issues append cleanly and a down migration exists.
func TestMigrationFiles(t *testing.T) {
	names, err := fs.Glob(FS, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v, %v", names, err)
	}
	for i, n := range names {
		if want := fmt.Sprintf("%05d_", i+1); !strings.HasPrefix(n, want) {
			t.Errorf("migration %q: want the prefix %q (numbered 00001_, 00002_, ... without gaps)", n, want)
		}
		b, err := fs.ReadFile(FS, n)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		up, down := strings.Index(s, "-- +goose Up"), strings.Index(s, "-- +goose Down")
		if up < 0 || down < up {
			t.Errorf("migration %q lacks a \"-- +goose Up\" section followed by \"-- +goose Down\"", n)
		}
	}
}
