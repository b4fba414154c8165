// Package app turns a parsed nova.conf into the running parts every gonova
// binary shares: the logger (level changeable on SIGHUP), the Prometheus
// registry, the stores (Postgres or in-memory), the RPC transport (RabbitMQ or
// memory://), the Guru Meditation Report, the backdoor, a readiness flag, and
// the launcher that runs it all.
//
// Why: nova-api, nova-compute and nova-all must agree on how configuration maps
// to these parts, and on their order of shutdown (services, then transport,
// then the database pool, last). Keeping that here leaves each main a few
// lines, and makes the embedded default and the real deployment one code path
// that differs only in URLs.
//
// # Readiness
//
// Ready is false until every service has started and false again as soon as
// shutdown begins: the readiness marker is the last service the launcher
// starts, so it is the first it stops. /healthcheck answers 503 meanwhile.
//
// # Secrets
//
// No configuration value is logged unmasked. Options of other parts of nova
// are logged by name only; SIGHUP logs the names of the options that changed
// (Config.Changed compares values, so a new password counts, and returns only
// names); a refused reload logs config's error, which shows no value of an
// unknown option and masks secrets; the report's configuration section comes
// from Config.Masked; arguments a binary refuses are shown through MaskArgs.
package app
