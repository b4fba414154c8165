package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"gopkg.in/yaml.v3"

	"github.com/gonova/gonova/pkg/wsgi/auth"
)

// RuleDefault is a rule a service registers with its default check string:
// oslo's RuleDefault and DocumentedRuleDefault in one.
type RuleDefault struct {
	Name        string
	CheckStr    string
	Description string
	// Operations are the API calls the rule guards, for the sample file.
	Operations []Operation
	// ScopeTypes are the token scopes ("project", "system", "domain") the
	// rule is meant for; nil means any. See Options.EnforceScope.
	ScopeTypes []string
	// DeprecatedRule is the rule's previous name or default. Unless
	// Options.EnforceNewDefaults, a default that changed is checked as
	// "new or old", and an operator's override of the old name still
	// applies.
	DeprecatedRule *DeprecatedRule
	// DeprecatedForRemoval marks a rule that will go away; an override of it
	// is warned about. DeprecatedReason and DeprecatedSince say why and
	// since when.
	DeprecatedForRemoval bool
	DeprecatedReason     string
	DeprecatedSince      string
}

// Operation is one API call a rule guards.
type Operation struct {
	Method string // "GET"
	Path   string // "/servers/{server_id}", "/servers/{server_id}/action (reboot)"
}

// DeprecatedRule is oslo's DeprecatedRule: the name and check string a rule
// had before.
type DeprecatedRule struct {
	Name     string
	CheckStr string
	Reason   string
	Since    string
}

// DefaultPolicyFile is [oslo_policy] policy_file's default, nova's.
const DefaultPolicyFile = "policy.yaml"

// DefaultRuleName is [oslo_policy] policy_default_rule's default: a rule
// reference to a name that has no rule evaluates this rule, when the policy
// file defines it.
const DefaultRuleName = "default"

// Options configure NewEnforcer; most come from nova.conf's [oslo_policy].
type Options struct {
	// Defaults are the rules the service registers; actions not among them
	// are refused.
	Defaults []RuleDefault
	// PolicyFile is [oslo_policy] policy_file: YAML (or JSON) overriding
	// defaults. A relative name is looked for in SearchDirs, in order; a
	// missing file is fine (the defaults apply). "" reads no file. When it is
	// DefaultPolicyFile and missing, policy.json is looked for, as oslo does.
	PolicyFile string
	// SearchDirs is where a relative PolicyFile is looked for:
	// config.Config.ConfigDirs() (the --config-dir, the directories of the
	// --config-file files, ~/.nova, ~, /etc/nova, /etc). nil looks in the
	// working directory.
	SearchDirs []string
	// EnforceScope is [oslo_policy] enforce_scope: refuse (403) a token
	// whose scope is not in the rule's ScopeTypes. When false such a call is
	// logged at WARNING, once per action.
	EnforceScope bool
	// EnforceNewDefaults is [oslo_policy] enforce_new_defaults: check only
	// the new default of a rule with a DeprecatedRule, not "new or old".
	EnforceNewDefaults bool
	// PolicyDirs is [oslo_policy] policy_dirs: directories (looked for as
	// PolicyFile is) whose files, in lexical order and skipping dot files,
	// override rules after PolicyFile, later files winning. Missing
	// directories are fine. oslo's default is "policy.d".
	PolicyDirs []string
	// DefaultRule is [oslo_policy] policy_default_rule; "" means
	// DefaultRuleName.
	DefaultRule string
	// Checks adds kinds of check ("is_admin:True") with their own meaning.
	Checks map[string]CheckFunc
	// Logger receives warnings about the policy file and refusals at
	// DEBUG. Default slog.Default().
	Logger *slog.Logger
}

// Enforcer decides whether a caller may perform an action. Create it with
// NewEnforcer (or New for Go rules); it is safe for concurrent use, and
// Reload swaps its rules atomically.
type Enforcer struct {
	opts    Options
	logger  *slog.Logger
	current atomic.Pointer[ruleSet]
	mu      sync.Mutex // serializes Reload
	failed  string     // fingerprint of the files a reload refused last (under mu)
	warned  sync.Map   // "scope:action", "missing:name" -> true: warn once
}

// ruleSet is one loaded generation of rules.
type ruleSet struct {
	rules       map[string]Check        // effective rule of every name
	registered  map[string]*RuleDefault // by name
	checks      map[string]CheckFunc
	defaultRule string
	path        string            // the policy file read, or ""
	dirFiles    []string          // the files read from PolicyDirs
	fileRules   map[string]string // as written in the files, rendered
	fingerprint string            // names, sizes and times of what was read
}

func (rs *ruleSet) lookup(name string) (Check, bool) {
	if rs == nil {
		return nil, false
	}
	if c, ok := rs.rules[name]; ok {
		return c, true
	}
	if rs.defaultRule != "" {
		if c, ok := rs.rules[rs.defaultRule]; ok {
			return c, true
		}
	}
	return nil, false
}

func newEnforcer(o Options) *Enforcer {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DefaultRule == "" {
		o.DefaultRule = DefaultRuleName
	}
	// The enforcer keeps its own copy: a caller's later change to its
	// slice must not change the rules in force.
	defaults := make([]RuleDefault, len(o.Defaults))
	for i, d := range o.Defaults {
		if d.DeprecatedRule != nil {
			dr := *d.DeprecatedRule
			d.DeprecatedRule = &dr
		}
		d.Operations = slices.Clone(d.Operations)
		d.ScopeTypes = slices.Clone(d.ScopeTypes)
		defaults[i] = d
	}
	o.Defaults = defaults
	return &Enforcer{opts: o, logger: o.Logger}
}

// NewEnforcer registers defaults and reads the policy file. It fails when a
// default does not parse or is registered twice, and when the policy file
// exists but cannot be read or parsed (a rule in it that does not parse
// included): a service must not start on a policy other than the one its
// operator wrote.
//
//	enf, err := policy.NewEnforcer(policy.Options{
//		Defaults:   policies.Defaults(),
//		PolicyFile: conf.Policy.PolicyFile, SearchDirs: conf.ConfigDirs(),
//		EnforceScope: conf.Policy.EnforceScope, EnforceNewDefaults: conf.Policy.EnforceNewDefaults,
//	})
func NewEnforcer(o Options) (*Enforcer, error) {
	e := newEnforcer(o)
	seen := map[string]bool{}
	for _, d := range e.opts.Defaults {
		if seen[d.Name] {
			return nil, fmt.Errorf("policy: rule %q registered twice", d.Name)
		}
		seen[d.Name] = true
		if _, err := Parse(d.CheckStr); err != nil {
			return nil, fmt.Errorf("policy: default of %q: %w", d.Name, err)
		}
		if d.DeprecatedRule != nil {
			if _, err := Parse(d.DeprecatedRule.CheckStr); err != nil {
				return nil, fmt.Errorf("policy: deprecated default of %q: %w", d.Name, err)
			}
		}
	}
	rs, err := e.load()
	if err != nil {
		return nil, err
	}
	e.current.Store(rs)
	return e, nil
}

// Reload reads the policy file again, as SIGHUP asks (a file that appeared
// since is read, one that went away leaves the defaults). When the file
// cannot be read or parsed, the rules in force stay and the error says why.
//
//	wsgi.Options{..., OnReset: func(context.Context) error { return enf.Reload() }}
func (e *Enforcer) Reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reloadLocked()
}

func (e *Enforcer) reloadLocked() error {
	rs, err := e.load()
	if err != nil {
		e.logger.Error("policy file not reloaded; the rules in force stay", "err", err)
		return err
	}
	e.current.Store(rs)
	e.logger.Info("policy reloaded", "policy_file", rs.path, "overrides", len(rs.fileRules))
	return nil
}

// ReloadIfChanged reloads when the policy file or a policy directory
// changed, appeared or went away since the rules in force were read, as
// oslo.policy checks before every decision. It reports whether it reloaded.
// Call it on a timer or before decisions to follow oslo; SIGHUP's Reload
// alone is enough otherwise.
func (e *Enforcer) ReloadIfChanged() (bool, error) {
	rs := e.current.Load()
	o := &e.opts
	var fp []string
	if p := findPolicyFile(o.PolicyFile, o.SearchDirs); p != "" {
		fp = append(fp, fingerprint(p))
	}
	for _, d := range o.PolicyDirs {
		if dir := findPolicyFile(d, o.SearchDirs); dir != "" {
			fp = append(fp, fingerprint(dir))
			files, _ := policyDirFiles(dir)
			for _, f := range files {
				fp = append(fp, fingerprint(f))
			}
		}
	}
	now := strings.Join(fp, "\n")
	if now == rs.fingerprint {
		return false, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if now == e.failed {
		return false, nil // this version was refused already; it was logged
	}
	if err := e.reloadLocked(); err != nil {
		e.failed = now
		return false, err
	}
	e.failed = ""
	return true, nil
}

// PolicyFile returns the path of the policy file in force, or "" when no
// file was found.
func (e *Enforcer) PolicyFile() string { return e.current.Load().path }

// Rules returns the effective rule of every name, rendered in the policy
// language: what oslopolicy-policy-generator shows.
func (e *Enforcer) Rules() map[string]string {
	rs := e.current.Load()
	out := make(map[string]string, len(rs.rules))
	for k, c := range rs.rules {
		out[k] = c.String()
	}
	return out
}

// Enforce decides action for raw credentials and target: Authorize without
// an auth.Context, for tests and tools. Go rules of New see no caller and
// refuse.
func (e *Enforcer) Enforce(action string, target Target, creds Credentials) bool {
	return e.enforce(context.Background(), action, target, creds, nil)
}

func (e *Enforcer) enforce(ctx context.Context, action string, target Target, creds Credentials, caller *auth.Context) bool {
	rs := e.current.Load()
	reg, ok := rs.registered[action]
	if !ok {
		e.logger.ErrorContext(ctx, "policy action is not registered; refusing", "action", action)
		return false
	}
	if len(reg.ScopeTypes) > 0 {
		scope := tokenScope(creds)
		if !slices.Contains(reg.ScopeTypes, scope) {
			if e.opts.EnforceScope {
				e.logger.DebugContext(ctx, "policy refused: token scope", "action", action,
					"token_scope", scope, "scope_types", reg.ScopeTypes)
				return false
			}
			if _, dup := e.warned.LoadOrStore("scope:"+action, true); !dup {
				e.logger.WarnContext(ctx, "policy scope check failed; allowed because enforce_scope is false",
					"action", action, "token_scope", scope, "scope_types", reg.ScopeTypes)
			}
		}
	}
	c, ok := rs.lookup(action)
	if !ok {
		return false
	}
	ev := &evaluation{target: target, creds: creds, rs: rs, caller: caller,
		onMissing: func(name string) {
			if _, dup := e.warned.LoadOrStore("missing:"+name, true); !dup {
				e.logger.WarnContext(ctx, "policy rule references a rule that is not defined; that check fails",
					"action", action, "rule", name)
			}
		},
		onDepth: func() {
			if _, dup := e.warned.LoadOrStore("depth:"+action, true); !dup {
				e.logger.WarnContext(ctx, "policy rule references nest too deep (a cycle?); that check fails", "action", action)
			}
		},
	}
	if ok := ev.decide(c); ok {
		return true
	}
	if ev.failed {
		e.logger.WarnContext(ctx, "policy check cannot be evaluated; refusing", "action", action, "reason", ev.reason)
	}
	return false
}

// tokenScope is oslo's: system when creds carry system (or system_scope),
// domain when they carry domain_id, otherwise project.
func tokenScope(creds Credentials) string {
	switch {
	case truthy(creds["system"]) || truthy(creds["system_scope"]):
		return "system"
	case truthy(creds["domain_id"]):
		return "domain"
	}
	return "project"
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	}
	return true
}

// load builds a rule set from the defaults and the policy file.
func (e *Enforcer) load() (*ruleSet, error) {
	o := &e.opts
	rs := &ruleSet{
		rules:       map[string]Check{},
		registered:  make(map[string]*RuleDefault, len(o.Defaults)),
		checks:      o.Checks,
		defaultRule: o.DefaultRule,
		fileRules:   map[string]string{},
	}
	for i := range o.Defaults {
		rs.registered[o.Defaults[i].Name] = &o.Defaults[i]
	}
	path := findPolicyFile(o.PolicyFile, o.SearchDirs)
	fileChecks := map[string]Check{}
	var fp []string
	if path != "" {
		if err := e.readRules(path, fileChecks, rs.fileRules); err != nil {
			return nil, err
		}
		rs.path = path
		fp = append(fp, fingerprint(path))
	} else if o.PolicyFile != "" {
		e.logger.Debug("policy file not found; the defaults apply", "policy_file", o.PolicyFile, "search_dirs", o.SearchDirs)
	}
	for _, d := range o.PolicyDirs {
		dir := findPolicyFile(d, o.SearchDirs)
		if dir == "" {
			continue
		}
		files, err := policyDirFiles(dir)
		if err != nil {
			return nil, err
		}
		fp = append(fp, fingerprint(dir))
		for _, f := range files {
			if err := e.readRules(f, fileChecks, rs.fileRules); err != nil {
				return nil, err
			}
			rs.dirFiles = append(rs.dirFiles, f)
			fp = append(fp, fingerprint(f))
		}
	}
	rs.fingerprint = strings.Join(fp, "\n")
	for name, c := range fileChecks {
		rs.rules[name] = c
	}
	var redundant []string
	for i := range o.Defaults {
		d := &o.Defaults[i]
		if d.DeprecatedForRemoval {
			if _, ok := fileChecks[d.Name]; ok {
				e.logger.Warn("policy rule overridden in the policy file is deprecated for removal; its value may be ignored in the future",
					"rule", d.Name, "since", d.DeprecatedSince, "reason", strings.TrimSpace(d.DeprecatedReason))
			}
		}
		if fc, ok := fileChecks[d.Name]; ok {
			if fc.String() == MustParse(d.CheckStr).String() {
				redundant = append(redundant, d.Name)
			}
			continue
		}
		rs.rules[d.Name] = e.effectiveDefault(d, fileChecks)
	}
	if len(redundant) > 0 {
		sort.Strings(redundant)
		e.logger.Warn("policy rules in the policy file are the same as the defaults; they can be removed", "rules", redundant)
	}
	e.checkRules(rs, fileChecks)
	return rs, nil
}

// effectiveDefault is oslo's _handle_deprecated_rule.
func (e *Enforcer) effectiveDefault(d *RuleDefault, fileChecks map[string]Check) Check {
	check := MustParse(d.CheckStr)
	dr := d.DeprecatedRule
	if dr == nil {
		return check
	}
	if fc, ok := fileChecks[dr.Name]; ok && dr.Name != d.Name {
		e.logger.Warn("policy rule was renamed; the policy file still sets the old name, which applies until the file uses the new one",
			"old_name", dr.Name, "name", d.Name, "since", dr.Since)
		if fc.String() != "rule:"+d.Name {
			return fc
		}
	}
	if !e.opts.EnforceNewDefaults && dr.CheckStr != d.CheckStr {
		return &OrCheck{Rules: []Check{check, MustParse(dr.CheckStr)}}
	}
	return check
}

// checkRules warns, as oslo's check_rules, about references to rules that
// are not defined and about cycles, and about rules in the policy file that
// nothing registers or references.
func (e *Enforcer) checkRules(rs *ruleSet, fileChecks map[string]Check) {
	var undefined, cyclic []string
	referenced := map[string]bool{}
	for name, c := range rs.rules {
		refs := references(c)
		for _, r := range refs {
			referenced[r] = true
		}
		for _, r := range refs {
			if _, ok := rs.rules[r]; !ok {
				undefined = append(undefined, name)
				break
			}
		}
		if cycles(rs, c, map[string]bool{}) {
			cyclic = append(cyclic, name)
		}
	}
	var unknown []string
	for name := range fileChecks {
		if rs.registered[name] == nil && !referenced[name] && name != rs.defaultRule && !e.deprecatedName(name) {
			unknown = append(unknown, name)
		}
	}
	for _, l := range [][]string{undefined, cyclic, unknown} {
		sort.Strings(l)
	}
	if len(undefined) > 0 {
		e.logger.Warn("policy rules reference a rule that is not defined; those checks fail", "rules", undefined)
	}
	if len(cyclic) > 0 {
		e.logger.Warn("policy rules are part of a cyclical reference; those checks fail", "rules", cyclic)
	}
	if len(unknown) > 0 {
		e.logger.Warn("policy file sets rules this service does not know; they have no effect", "rules", unknown)
	}
}

func (e *Enforcer) deprecatedName(name string) bool {
	for i := range e.opts.Defaults {
		if dr := e.opts.Defaults[i].DeprecatedRule; dr != nil && dr.Name == name {
			return true
		}
	}
	return false
}

// references lists the rule:name references in c.
func references(c Check) []string {
	var out []string
	var walk func(Check)
	walk = func(c Check) {
		switch x := c.(type) {
		case *KindCheck:
			if x.Kind == "rule" {
				out = append(out, x.Match)
			}
		case *NotCheck:
			walk(x.Rule)
		case *AndCheck:
			for _, r := range x.Rules {
				walk(r)
			}
		case *OrCheck:
			for _, r := range x.Rules {
				walk(r)
			}
		}
	}
	walk(c)
	return out
}

// cycles is oslo's _cycle_check.
func cycles(rs *ruleSet, c Check, seen map[string]bool) bool {
	switch x := c.(type) {
	case *KindCheck:
		if x.Kind != "rule" {
			return false
		}
		if seen[x.Match] {
			return true
		}
		seen[x.Match] = true
		if r, ok := rs.rules[x.Match]; ok {
			return cycles(rs, r, seen)
		}
	case *NotCheck:
		return cycles(rs, x.Rule, seen)
	case *AndCheck:
		return anyCycles(rs, x.Rules, seen)
	case *OrCheck:
		return anyCycles(rs, x.Rules, seen)
	}
	return false
}

func anyCycles(rs *ruleSet, rules []Check, seen map[string]bool) bool {
	for _, r := range rules {
		cp := make(map[string]bool, len(seen))
		for k := range seen {
			cp[k] = true
		}
		if cycles(rs, r, cp) {
			return true
		}
	}
	return false
}

// findPolicyFile is oslo.config's find_file: an absolute name as is, a
// relative one in the first directory that holds it.
func findPolicyFile(name string, dirs []string) string {
	if name == "" {
		return ""
	}
	try := func(n string) string {
		if filepath.IsAbs(n) {
			if exists(n) {
				return n
			}
			return ""
		}
		if dirs == nil {
			dirs = []string{"."}
		}
		for _, d := range dirs {
			p := filepath.Join(d, n)
			if exists(p) {
				if abs, err := filepath.Abs(p); err == nil {
					return abs
				}
				return p
			}
		}
		return ""
	}
	if p := try(name); p != "" {
		return p
	}
	if name == DefaultPolicyFile {
		return try("policy.json")
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

type namedValue struct {
	name  string
	value any
}

// readRules parses the policy file at path into checks and rendered, later
// files overriding earlier ones.
func (e *Enforcer) readRules(path string, checks map[string]Check, rendered map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("policy file %s: %w", path, err)
	}
	raw, isJSON, err := parseFile(data)
	if err != nil {
		return fmt.Errorf("policy file %s: %w", path, err)
	}
	if isJSON {
		e.logger.Warn("JSON formatted policy_file support is deprecated; convert it with oslopolicy-convert-json-to-yaml", "policy_file", path)
	}
	var errs []error
	for _, kv := range raw {
		c, err := parseValue(kv.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q: %w", kv.name, err))
			continue
		}
		checks[kv.name] = c
		rendered[kv.name] = c.String()
	}
	if len(errs) > 0 {
		return fmt.Errorf("policy file %s: %w", path, errors.Join(errs...))
	}
	return nil
}

// policyDirFiles lists a policy directory's files as oslo walks them: the
// regular files directly in it, sorted, without dot files.
func policyDirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("policy directory %s: %w", dir, err)
	}
	var out []string
	for _, en := range entries {
		if en.IsDir() || strings.HasPrefix(en.Name(), ".") {
			continue
		}
		out = append(out, filepath.Join(dir, en.Name()))
	}
	sort.Strings(out)
	return out, nil
}

// fingerprint identifies the version of a file or directory that was read.
func fingerprint(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return path + " -"
	}
	return fmt.Sprintf("%s %d %d", path, st.Size(), st.ModTime().UnixNano())
}

// parseFile reads a policy file's mapping of rule name to rule, in file
// order, the last of duplicate names winning (as Python's loaders do).
// JSON is YAML, so one parser reads both.
func parseFile(data []byte) ([]namedValue, bool, error) {
	isJSON := json.Valid(data) && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{"))
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, false, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, isJSON, nil // empty file: no overrides
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, isJSON, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, false, errors.New("not a mapping of rule names to rules")
	}
	var out []namedValue
	index := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, false, fmt.Errorf("line %d: a rule name must be a string", k.Line)
		}
		var val any
		if err := v.Decode(&val); err != nil {
			return nil, false, fmt.Errorf("line %d: %w", v.Line, err)
		}
		if j, dup := index[k.Value]; dup {
			out[j].value = val
			continue
		}
		index[k.Value] = len(out)
		out = append(out, namedValue{k.Value, val})
	}
	return out, isJSON, nil
}

// parseValue parses one rule from a file: a string in the policy language,
// a list in the legacy syntax, or null (allowed, as oslo reads an empty
// rule).
func parseValue(v any) (Check, error) {
	switch x := v.(type) {
	case nil:
		return TrueCheck{}, nil
	case string:
		return Parse(x)
	case []any:
		return ParseList(x)
	}
	return nil, fmt.Errorf("a rule is a string (or a list of lists of strings), not %T", v)
}
