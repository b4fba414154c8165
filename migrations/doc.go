// Package migrations embeds gonova's database schema as goose v3 SQL migrations.
//
// # Why
//
// The schema is part of the binary, so `nova-manage db sync` (and the tests'
// fresh databases) need no files beside the executable, and a binary always
// knows which schema version it was built for. Migrations are numbered
// 00001_, 00002_, ... in the order later issues add tables (services first,
// then compute_nodes and instances); a migration, once merged, is never edited:
// changes are new files.
//
// Migrations are applied by pkg/db (Migrate), which runs goose over this FS.
//
// # Logging
//
// The package does not log.
//
// # Metrics
//
// The package exports no metrics.
package migrations
