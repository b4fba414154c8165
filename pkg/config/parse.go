package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"gopkg.in/ini.v1"
)

// Error is a configuration value that cannot be used. Its message names where
// the value came from, the section, the option and what is wrong.
type Error struct {
	Source  string // a file path, "environment OS_X__Y" or "command line"
	Section string
	Option  string // empty for a whole-section problem
	Value   string // masked when the option is a secret
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Option == "":
		return fmt.Sprintf("%s: [%s]: %v", e.Source, e.Section, e.Err)
	default:
		return fmt.Sprintf("%s: [%s] %s = %q: %v", e.Source, e.Section, e.Option, e.Value, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnknown marks an option or section gonova does not know.
var ErrUnknown = errors.New("unknown")

// ParseOptions changes where Parse looks. The zero value is what binaries use.
type ParseOptions struct {
	// Env looks up environment variables; nil means os.Getenv.
	Env func(string) string
	// DefaultFiles are read when no --config-file or --config-dir is given and
	// they exist. nil means oslo's search list for project nova; an empty,
	// non-nil slice reads none.
	DefaultFiles []string
}

// Parse reads the command line (--config-file, --config-dir, --debug) and the
// files and environment it names, and returns the configuration and the
// remaining positional arguments.
func Parse(args []string) (*Config, []string, error) {
	return ParseWith(args, ParseOptions{})
}

// ParseWith is Parse with explicit lookup of environment and default files.
func ParseWith(args []string, po ParseOptions) (*Config, []string, error) {
	if po.Env == nil {
		po.Env = os.Getenv
	}
	if po.DefaultFiles == nil {
		po.DefaultFiles = defaultConfigFiles(po.Env)
	}
	cl, err := parseCommandLine(args)
	if err != nil {
		return nil, nil, err
	}
	c := Defaults()
	c.args = append([]string(nil), args...)
	c.env = po.Env

	sources := cl.sources
	if len(sources) == 0 {
		for _, f := range po.DefaultFiles {
			if st, err := os.Stat(f); err == nil && !st.IsDir() {
				sources = append(sources, source{path: f})
			}
		}
	}
	for _, s := range sources {
		files := []string{s.path}
		if s.dir {
			files, err = confFilesIn(s.path)
			if err != nil {
				return nil, nil, err
			}
		}
		for _, f := range files {
			if err := c.loadFile(f); err != nil {
				return nil, nil, err
			}
			c.Sources = append(c.Sources, f)
		}
	}
	if err := c.loadEnv(po.Env); err != nil {
		return nil, nil, err
	}
	if cl.debug {
		c.Default.Debug = true
	}
	if c.Default.Host == "" {
		c.Default.Host = hostname()
	}
	if c.Default.OsapiComputeWorkers == 0 {
		c.Default.OsapiComputeWorkers = runtime.NumCPU()
	}
	return c, cl.rest, nil
}

// Reload parses the same command line, files and environment again, as SIGHUP
// asks. The receiver is left unchanged.
func (c *Config) Reload() (*Config, error) {
	nc, _, err := ParseWith(c.args, ParseOptions{Env: c.env, DefaultFiles: c.Sources})
	return nc, err
}

type source struct {
	path string
	dir  bool
}

type commandLine struct {
	sources []source
	debug   bool
	rest    []string
}

func parseCommandLine(args []string) (commandLine, error) {
	var cl commandLine
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			cl.rest = append(cl.rest, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			cl.rest = append(cl.rest, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takeValue := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", &Error{Source: "command line", Section: secDefault, Option: name, Err: fmt.Errorf("--%s needs a value", name)}
			}
			i++
			return args[i], nil
		}
		switch name {
		case "config-file", "config_file":
			v, err := takeValue()
			if err != nil {
				return cl, err
			}
			if _, err := os.Stat(v); err != nil {
				return cl, &Error{Source: "command line", Section: secDefault, Option: "config_file", Value: v, Err: err}
			}
			cl.sources = append(cl.sources, source{path: v})
		case "config-dir", "config_dir":
			v, err := takeValue()
			if err != nil {
				return cl, err
			}
			if st, err := os.Stat(v); err != nil || !st.IsDir() {
				if err == nil {
					err = fmt.Errorf("not a directory")
				}
				return cl, &Error{Source: "command line", Section: secDefault, Option: "config_dir", Value: v, Err: err}
			}
			cl.sources = append(cl.sources, source{path: v, dir: true})
		case "debug", "d":
			if hasVal {
				b, err := parseBool(val)
				if err != nil {
					return cl, &Error{Source: "command line", Section: secDefault, Option: "debug", Value: val, Err: err}
				}
				cl.debug = b
			} else {
				cl.debug = true
			}
		default:
			return cl, &Error{Source: "command line", Section: secDefault, Option: name, Value: a,
				Err: fmt.Errorf("%w flag (flags: --config-file FILE, --config-dir DIR, --debug)", ErrUnknown)}
		}
	}
	return cl, nil
}

func confFilesIn(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

func (c *Config) loadFile(path string) error {
	f, err := ini.LoadSources(ini.LoadOptions{
		AllowPythonMultilineValues: true,
		SpaceBeforeInlineComment:   true,
		SkipUnrecognizableLines:    false,
	}, path)
	if err != nil {
		return &Error{Source: path, Section: secDefault, Err: fmt.Errorf("cannot read as an INI file: %v", err)}
	}
	for _, sec := range f.Sections() {
		name := sec.Name()
		if name == ini.DefaultSection {
			name = secDefault
		}
		known := sectionKnown(name)
		if !known {
			if ignoredSections[name] {
				c.Ignored = append(c.Ignored, "["+name+"]")
				continue
			}
			if len(sec.Keys()) == 0 && name == secDefault {
				continue
			}
			return &Error{Source: path, Section: name, Err: fmt.Errorf("%w section (gonova reads %s)", ErrUnknown, strings.Join(knownSections(), ", "))}
		}
		for _, k := range sec.Keys() {
			if err := c.setOption(path, name, k.Name(), k.Value()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Config) loadEnv(env func(string) string) error {
	for _, o := range options {
		name := EnvName(o.section, o.name)
		if v := env(name); v != "" {
			if err := c.setOption("environment "+name, o.section, o.name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// EnvName is the environment variable that overrides an option, as
// oslo.config's environment source names it: OS_<SECTION>__<OPTION>.
func EnvName(section, option string) string {
	return "OS_" + strings.ToUpper(section) + "__" + strings.ToUpper(option)
}

func (c *Config) setOption(src, section, name, value string) error {
	for _, o := range options {
		if o.section == section && o.name == name {
			if err := o.set(c, value); err != nil {
				return &Error{Source: src, Section: section, Option: name, Value: o.masked(value), Err: err}
			}
			return nil
		}
	}
	if section == secDefault && ignoredDefaults[name] {
		c.Ignored = append(c.Ignored, "[DEFAULT] "+name)
		return nil
	}
	if lenientSections[section] {
		c.Ignored = append(c.Ignored, "["+section+"] "+name)
		return nil
	}
	return &Error{Source: src, Section: section, Option: name, Value: value, Err: fmt.Errorf("%w option%s", ErrUnknown, suggestion(section, name))}
}

func suggestion(section, name string) string {
	for _, o := range options {
		if o.name == name && o.section != section {
			return fmt.Sprintf(" in this section (it belongs in [%s])", o.section)
		}
	}
	return ""
}

func sectionKnown(name string) bool {
	for _, o := range options {
		if o.section == name {
			return true
		}
	}
	return false
}

func knownSections() []string {
	var out []string
	seen := map[string]bool{}
	for _, o := range options {
		if !seen[o.section] {
			seen[o.section] = true
			out = append(out, "["+o.section+"]")
		}
	}
	return out
}

// defaultConfigFiles is oslo.config's search list for project nova.
func defaultConfigFiles(env func(string) string) []string {
	var out []string
	if home := env("HOME"); home != "" {
		out = append(out, filepath.Join(home, ".nova", "nova.conf"), filepath.Join(home, "nova.conf"))
	}
	return append(out, "/etc/nova/nova.conf", "/etc/nova.conf")
}

// Entry is one option's current value, masked if it is a secret.
type Entry struct {
	Section, Option, Value string
}

// Masked lists every option's current value, with passwords in URLs masked:
// what a report or a log line may show.
func (c *Config) Masked() []Entry {
	out := make([]Entry, 0, len(options))
	for _, o := range options {
		out = append(out, Entry{Section: o.section, Option: o.name, Value: o.masked(o.get(c))})
	}
	return out
}

// String renders the configuration as INI text with secrets masked.
func (c *Config) String() string {
	var b strings.Builder
	section := ""
	for _, e := range c.Masked() {
		if e.Section != section {
			if section != "" {
				b.WriteString("\n")
			}
			section = e.Section
			fmt.Fprintf(&b, "[%s]\n", section)
		}
		fmt.Fprintf(&b, "%s = %s\n", e.Option, e.Value)
	}
	return b.String()
}

// WriteSample writes an example nova.conf with every option gonova reads,
// commented out at its default, with its meaning.
func WriteSample(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# nova.conf options read by gonova, each at its default.\n")
	b.WriteString("# Generated by `make sample-config` from pkg/config; do not edit by hand.\n")
	b.WriteString("# Every option can also be set from the environment as OS_<SECTION>__<OPTION>.\n")
	section := ""
	for _, o := range options {
		if o.section != section {
			section = o.section
			fmt.Fprintf(&b, "\n[%s]\n", section)
		}
		fmt.Fprintf(&b, "\n# %s\n#%s = %s\n", wrap(o.help), o.name, o.def)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func wrap(s string) string {
	words := strings.Fields(s)
	var lines []string
	line := ""
	for _, w := range words {
		if len(line)+len(w)+1 > 76 && line != "" {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	lines = append(lines, line)
	return strings.Join(lines, "\n# ")
}
