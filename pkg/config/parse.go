package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"gopkg.in/ini.v1"

	"github.com/gonova/gonova/pkg/gmr"
)

// Error is a configuration value that cannot be used. Its message names where
// the value came from, the section, the option and what is wrong.
type Error struct {
	Source  string // a file path, "environment OS_X__Y" or "command line"
	Section string
	Option  string // empty for a whole-section problem; "--flag" for a command-line flag
	Value   string // as it may be shown (see display): masked, or empty for an option gonova does not know
	Err     error  // what is wrong, in gonova's words: never a parser's error that echoes the value
}

// Error renders the value through display, so an Error never shows the value
// of an unknown option or an unmasked secret, however it was built.
func (e *Error) Error() string {
	switch {
	case e.Option == "":
		return fmt.Sprintf("%s: [%s]: %v", e.Source, e.Section, e.Err)
	case strings.HasPrefix(e.Option, "-"):
		return fmt.Sprintf("%s: %s: %v", e.Source, e.Option, e.Err)
	}
	if v, ok := display(e.Section, e.Option, e.Value); ok {
		return fmt.Sprintf("%s: [%s] %s = %q: %v", e.Source, e.Section, e.Option, v, e.Err)
	}
	return fmt.Sprintf("%s: [%s] %s: %v", e.Source, e.Section, e.Option, e.Err)
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
	if _, err := c.RabbitTLS(); err != nil {
		return nil, nil, err
	}
	if err := c.checkRabbit(); err != nil {
		return nil, nil, err
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
				return "", &Error{Source: "command line", Section: secDefault, Option: "--" + gmr.MaskURL(name), Err: errors.New("needs a value")}
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
				return cl, &Error{Source: "command line", Section: secDefault, Option: "--config-file", Err: pathProblem(v, err)}
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
				return cl, &Error{Source: "command line", Section: secDefault, Option: "--config-dir", Err: pathProblem(v, err)}
			}
			cl.sources = append(cl.sources, source{path: v, dir: true})
		case "debug", "d":
			if hasVal {
				b, err := parseBool(val)
				if err != nil {
					return cl, valueError("command line", secDefault, "debug", val, err)
				}
				cl.debug = b
			} else {
				cl.debug = true
			}
		default:
			// Only the flag's name: its value may be a secret.
			return cl, &Error{Source: "command line", Section: secDefault, Option: "--" + gmr.MaskURL(name),
				Err: fmt.Errorf("%w flag (flags: --config-file FILE, --config-dir DIR, --debug)", ErrUnknown)}
		}
	}
	return cl, nil
}

// pathProblem is err about the path v, with v shown as any value is: a URL
// typed where a path belongs has its userinfo masked (os's errors quote the
// path raw).
func pathProblem(v string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", gmr.MaskURL(v), err)
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
		// Repeated lines: the last wins, except for multi-valued options
		// ([oslo_messaging_notifications] driver), which take every one.
		AllowShadows: true,
	}, path)
	if err != nil {
		// Never ini's error: it quotes the offending line, which may hold a
		// password ("rabbit_password hunter2" without its '=').
		return &Error{Source: path, Section: secDefault, Err: fmt.Errorf("cannot read as an INI file: %s", iniProblem(path))}
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
			for _, v := range k.ValueWithShadows() {
				if err := c.setOption(path, name, k.Name(), v); err != nil {
					return err
				}
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
	if o, ok := lookup(section, name); ok {
		if err := o.set(c, value); err != nil {
			return valueError(src, section, name, value, err)
		}
		return nil
	}
	if d, ok := deprecatedDefaults[name]; ok && section == secDefault {
		if o, ok := lookup(d.section, d.name); ok {
			if err := o.set(c, value); err != nil {
				return valueError(src, section, name, value, err)
			}
			return nil
		}
	}
	if section == secDefault && ignoredDefaults[name] || ignoredOptions[section][name] || lenientSections[section] {
		c.Ignored = append(c.Ignored, "["+section+"] "+name)
		return nil
	}
	// display shows no value for an unknown option: it may be a password.
	return valueError(src, section, name, value, fmt.Errorf("%w option%s", ErrUnknown, suggestion(section, name)))
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

// ConfigDirs are the directories oslo.config's find_file searches for a
// file named relative to the configuration (policy_file), in order: the
// --config-dir (the last one given), the directories of the --config-file
// files (the last file's first), then ~/.nova, ~, /etc/nova and /etc.
func (c *Config) ConfigDirs() []string {
	var dirs []string
	add := func(d string) {
		if d == "" {
			d = "."
		}
		for _, x := range dirs {
			if x == d {
				return
			}
		}
		dirs = append(dirs, d)
	}
	cl, _ := parseCommandLine(c.args)
	var files []string
	lastDir := ""
	for _, s := range cl.sources {
		if s.dir {
			lastDir = s.path
		} else {
			files = append(files, s.path)
		}
	}
	if len(cl.sources) == 0 {
		files = append(files, c.Sources...)
	}
	if lastDir != "" {
		add(lastDir)
	}
	for i := len(files) - 1; i >= 0; i-- {
		add(filepath.Dir(files[i]))
	}
	env := c.env
	if env == nil {
		env = os.Getenv
	}
	if home := env("HOME"); home != "" {
		add(filepath.Join(home, ".nova"))
		add(home)
	}
	add("/etc/nova")
	add("/etc")
	return dirs
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

// Masked lists every option's current value as display renders it, with
// secrets masked: what a report or a log line may show.
func (c *Config) Masked() []Entry {
	out := make([]Entry, 0, len(options))
	for _, o := range options {
		v, _ := display(o.section, o.name, o.get(c))
		out = append(out, Entry{Section: o.section, Option: o.name, Value: v})
	}
	return out
}

// Changed lists, as "[section] option", the options whose values differ
// between c and nc. It compares the values themselves, so a changed password
// counts, and returns only names.
func (c *Config) Changed(nc *Config) []string {
	var out []string
	for _, o := range options {
		if o.get(c) != o.get(nc) {
			out = append(out, o.key())
		}
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

// iniProblem says in gonova's words which line of an INI file the INI parser
// refused, without quoting it: the line may hold a password.
func iniProblem(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error() // an *os.PathError: the path and the reason
	}
	lines := strings.Split(string(b), "\n")
	for i, line := range lines {
		n := i + 1
		t := strings.TrimSpace(line)
		switch {
		case t == "" || t[0] == '#' || t[0] == ';':
		case t[0] == '[':
			if !strings.Contains(t, "]") {
				return fmt.Sprintf("line %d: a section header lacks its closing ']'", n)
			}
		case line[0] == ' ' || line[0] == '\t':
			// A continuation of the previous value.
		case t[0] == '"' || t[0] == '`':
			return fmt.Sprintf("line %d: an option name in quotes is not closed", n)
		case !strings.ContainsAny(t, "=:"):
			return fmt.Sprintf("line %d: not \"name = value\" (no '=' on the line)", n)
		default:
			_, v, _ := strings.Cut(t, "=")
			v = strings.TrimSpace(v)
			for _, q := range []string{`"""`, "`"} {
				if strings.HasPrefix(v, q) && !strings.Contains(v[len(q):], q) &&
					!strings.Contains(strings.Join(lines[i+1:], "\n"), q) {
					return fmt.Sprintf("line %d: a value opened with %s is not closed", n, q)
				}
			}
		}
	}
	return "expected [section] headers and lines of name = value"
}
