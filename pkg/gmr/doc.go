// Package gmr writes a Guru Meditation Report: a plain-text snapshot of a
// running process that an operator asks for with SIGUSR2 (the launcher wires
// the signal) or over the backdoor's GET /report.
//
// # Why
//
// oslo.reports gave every OpenStack service the same "what is this process
// doing right now" dump: package and version, every thread's stack, the
// configuration in effect and sections that services add about their own
// state. Operators know to reach for it when a service hangs; gonova keeps the
// habit. In Go the threads are goroutines, and the stacks come from
// runtime/pprof's goroutine profile, which prints every goroutine as a panic
// would, with its wait reason and how long it has been blocked.
//
// The report never stops the process and never fails as a whole: a section
// that returns an error or panics is reported inside the report, and the other
// sections are still written.
//
// # Secrets
//
// The configuration section is supplied by the caller, which knows which
// options are secret. As a second line of defence [ConfigSection] masks every
// value with [MaskValue], whether the option is known or not: a name that
// looks secret (password, secret, token, key, credential) hides the whole
// value; a name that looks like a URL option (url, uri, connection, dsn)
// shows it through [MaskSecretURL], which hides a value it cannot parse; any
// other value has the userinfo of every URL in it masked by [MaskURL]. The
// process section masks argv the same way. [MaskURL] can be used on its own
// for log lines and errors.
//
// # Logging
//
// None: the report goes to the writer it is given (stderr for SIGUSR2).
//
// # Metrics
//
// None.
package gmr
