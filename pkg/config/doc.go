// Package config reads oslo-style nova.conf files into a typed Config.
//
// Why: operators of Python OpenStack services already have nova.conf files and
// habits (--config-file, --config-dir, OS_<SECTION>__<OPTION> environment
// overrides). gonova reads the same option names with the same defaults, so a
// gonova service drops into an existing deployment without a new vocabulary.
//
// One table of options (options.go) drives everything: parsing, validation,
// defaults, masking of secrets when the configuration is printed, and the
// example nova.conf in deploy/. An option is added in one place.
//
// # Precedence
//
// Lowest to highest: built-in defaults, config files in command-line order
// (a --config-dir contributes its *.conf files in lexical order at its
// position), environment variables OS_<SECTION>__<OPTION> (as oslo.config's
// environment source, for example OS_DEFAULT__DEBUG=true or
// OS_DATABASE__CONNECTION=postgresql://...), then command-line flags (--debug).
//
// A line repeated in a file is read like oslo.config reads it: the last
// one wins, except for multi-valued options ([oslo_messaging_notifications]
// driver), which take every line of every source in order.
//
// # Errors
//
// A wrong value names where it came from, the section, the option and what is
// wrong, for example:
//
//	/etc/nova/nova.conf: [DEFAULT] report_interval = "-5": must be at least 1
//
// An unknown option in a section gonova reads is an error (a typo would
// otherwise silently keep a default). Sections and DEFAULT options that belong
// to other parts of nova (for example [keystone_authtoken] or compute_driver)
// are accepted and listed in Config.Ignored so the service can log them once.
// So are nova's other options of the sections gonova reads in part:
// [upgrade_levels] (gonova reads compute) and [workarounds] (gonova reads
// disable_compute_service_check_for_ffu).
//
// # Secrets
//
// No value reaches an output unmasked. One function (display, in mask.go)
// renders every value that an Error, Masked, String, the Guru Meditation
// Report or a log line shows: the value of an option gonova does not know is
// never shown (it may be nova's old rabbit_password, or a [DEFAULT] connection
// that belongs in [database]); transport_url and [database] connection show
// the password of every host as ***, and a value that is not scheme://... as
// *** whole; any other value is masked by gmr.MaskValue (names containing
// password, secret, token or key hide the whole value; the userinfo of any URL
// is masked). What is wrong with a URL is said in gonova's words, naming the
// part (scheme, host N, the port of host N, password, path, query): a
// parser's error is never wrapped, since net/url, pgx and amqp091 quote the
// URL. A line the INI parser refuses is named by its number, not quoted.
//
// # Usage
//
// A binary calls Parse(os.Args[1:]) and gets the Config and the positional
// arguments left; ParseWith (see its example) lets a test choose the
// environment and the default files.
package config
