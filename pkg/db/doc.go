// Package db opens gonova's Postgres connection pool and applies the embedded
// schema migrations.
//
// # Why
//
// Every gonova binary that talks to Postgres needs the same three things: a
// pgx pool with settings that suit a long-running service (bounded size,
// health checks, a connect timeout so a dead server fails fast instead of
// hanging start-up), the schema brought up to date (`nova-manage db sync`), and
// the applied version (`nova-manage db version`, readiness checks). Keeping them
// here means one place maps the `[database] connection` option to a pool, and
// one place knows that migrations are goose over migrations.FS.
//
// Services use pgx directly (no database/sql); goose needs database/sql, so
// Migrate wraps the same pool with pgx's stdlib adapter for the duration of the
// migration only. Concurrent Migrate calls (two services starting at once) are
// serialised by a Postgres advisory lock that goose takes.
//
// # Errors
//
// An error about the connection URL names [database] connection and the part
// that is wrong (scheme, host N, the port of host N, password, path, query,
// sslmode, connect_timeout, a pool_ parameter) in gonova's words. It never
// wraps pgx's parse error: that quotes the URL, with the password redacted
// only as far as pgx could parse it ("nova:xxxxx@rest-of-password@db").
//
// # Logging
//
// The package does not log: Migrate returns what it applied (Result) and the
// caller (nova-manage, a service's start-up) decides how to report it.
//
// # Metrics
//
// The package exports no metrics; pool statistics are available from
// pgxpool.Pool.Stat for callers that want to export them.
package db
