package policy

import (
	"context"
	"log/slog"
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/auth"
)

// BenchmarkAuthorize is the cost policy adds to a request: nova's
// servers:show default (project_reader_or_admin and its deprecated
// fallback) for a member of the target's project, and for a caller it
// refuses.
func BenchmarkAuthorize(b *testing.B) {
	e, err := NewEnforcer(Options{Defaults: novaLike(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	target := Target{"project_id": "p1", "user_id": "alice"}
	for _, c := range []struct {
		name string
		c    *auth.Context
	}{{"allowed", cReader}, {"refused", &auth.Context{UserID: "x", ProjectID: "p9", Roles: []string{"reader"}}}} {
		ctx := auth.NewContext(context.Background(), c.c)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = e.AuthorizeTarget(ctx, show, target)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Parse("(rule:context_is_admin) or user_id:%(user_id)s and role:member or not role:x")
	}
}
