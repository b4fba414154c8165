package migrations

import "embed"

// FS holds every migration, named NNNNN_description.sql with goose's
// "-- +goose Up" / "-- +goose Down" annotations. pkg/db applies them.
//
//go:embed *.sql
var FS embed.FS
