// Package logging builds the process's log/slog logger so that its level can
// change while the process runs.
//
// # Why
//
// An operator who turns on debug logging in nova.conf and sends SIGHUP expects
// the running service to become verbose without a restart, as oslo.log does
// on a config reload. slog's handlers read their minimum level from a
// slog.Leveler on every record, so the logger is built over a *slog.LevelVar
// and a reload only has to call [Setup.Apply]. Everything else (format, output)
// is fixed at start, because changing the handler under running goroutines
// would need every package to re-fetch its logger.
//
// Option names follow oslo.log: "debug" forces the Debug level whatever the
// configured level says; level names accept oslo's spellings (DEBUG, INFO,
// WARNING/WARN, ERROR, CRITICAL).
//
// # Logging
//
// The package writes no log lines of its own. [Setup.Apply] returns whether
// the level changed so that the caller can log the change with its context.
//
// # Metrics
//
// None.
package logging
