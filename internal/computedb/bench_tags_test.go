package computedb

import (
	"context"
	"testing"

	"github.com/gonova/gonova/pkg/pgtest"
)

// BenchmarkPGTagsFilter is the servers list's tags filter in Postgres over
// 10,000 instances, 10 of them tagged "rare": with the GIN index on
// instances.tags (migration 00008) and, in the same run, without it (the
// baseline: every row's array is read).
//
//	go test -run '^$' -bench PGTagsFilter ./internal/computedb/
func BenchmarkPGTagsFilter(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.NewPool(b)
	if _, err := pool.Exec(ctx, `INSERT INTO instances (uuid, display_name, project_id, user_id, tags)
		SELECT gen_random_uuid(), 'vm-' || i, 'p' || (i % 10), 'u', CASE WHEN i % 1000 = 0 THEN '{rare,web}'::text[] ELSE '{common,web}'::text[] END
		FROM generate_series(1, 10000) AS i; ANALYZE instances`); err != nil {
		b.Fatal(err)
	}
	s := NewPG(pool)
	run := func(b *testing.B, f InstanceFilter, want int) {
		b.ReportAllocs()
		for b.Loop() {
			got, err := s.ListInstances(ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != want {
				b.Fatalf("%d rows, want %d", len(got), want)
			}
		}
	}
	cases := []struct {
		name string
		f    InstanceFilter
		want int
	}{
		{"tags=rare", InstanceFilter{Tags: []string{"rare"}, Limit: 1000}, 10},
		{"tags-any=rare,gone", InstanceFilter{TagsAny: []string{"rare", "gone"}, Limit: 1000}, 10},
	}
	for _, c := range cases {
		b.Run("gin/"+c.name, func(b *testing.B) { run(b, c.f, c.want) })
	}
	if _, err := pool.Exec(ctx, `DROP INDEX instances_tags_idx; ANALYZE instances`); err != nil {
		b.Fatal(err)
	}
	for _, c := range cases {
		b.Run("no_index/"+c.name, func(b *testing.B) { run(b, c.f, c.want) })
	}
}
