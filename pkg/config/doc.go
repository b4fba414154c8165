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
//
// # Usage
//
//	cfg, rest, err := config.Parse(os.Args[1:])
//	if err != nil { log.Fatal(err) }
//	fmt.Println(cfg.Default.ReportInterval, rest)
package config
