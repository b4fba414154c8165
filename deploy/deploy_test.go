// Package deploy holds the deployment files (compose, Dockerfile, systemd
// units, Prometheus rules, Grafana dashboard); this test keeps them honest:
// they parse, they name what exists, and every metric they query is one the
// code registers.
package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gonova/gonova/pkg/testenv"
)

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestComposeHasEveryService(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Image      string            `yaml:"image"`
			Build      map[string]string `yaml:"build"`
			Entrypoint []string          `yaml:"entrypoint"`
		} `yaml:"services"`
	}
	readYAML(t, "docker-compose.yml", &c)
	for _, name := range []string{"postgres", "rabbitmq", "db-sync", "nova-api", "nova-compute-1", "nova-compute-2", "prometheus", "grafana"} {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("compose lacks service %s", name)
			continue
		}
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(s.Build["context"], s.Build["dockerfile"])); err != nil {
				t.Errorf("service %s builds from a missing Dockerfile: %v", name, err)
			}
		}
		for _, e := range s.Entrypoint {
			if bin, ok := strings.CutPrefix(e, "/usr/local/bin/"); ok {
				if _, err := os.Stat(filepath.Join("..", "cmd", bin)); err != nil {
					t.Errorf("service %s runs %s, which has no cmd/%s", name, e, bin)
				}
			}
		}
	}
}

type rulesFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRulesLoadAndCoverTheRequiredCases(t *testing.T) {
	var rf rulesFile
	readYAML(t, "prometheus/alerts.yml", &rf)
	seen := map[string]bool{}
	var exprs []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			seen[r.Alert] = true
			if r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %q needs expr, labels.severity and annotations.summary", r.Alert)
			}
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("rule %q: unbalanced parentheses in %q", r.Alert, r.Expr)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	for _, want := range []string{"NovaServiceDown", "NovaHeartbeatsFailing", "NovaRPCErrorsRising", "NovaPeriodicTaskFailing"} {
		if !seen[want] {
			t.Errorf("alerts lack %s", want)
		}
	}
	checkMetricsExist(t, "prometheus/alerts.yml", exprs)
}

// TestPromtool runs Prometheus's own checks: the rules and the config parse,
// every alert fires on the series it is meant for and stays quiet on the
// others (alerts_test.yml), and every dashboard query is valid PromQL.
func TestPromtool(t *testing.T) {
	promtool := testenv.RequirePromtool(t)
	run := func(t *testing.T, dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Run("check rules", func(t *testing.T) { run(t, "prometheus", "check", "rules", "alerts.yml") })
	t.Run("test rules", func(t *testing.T) { run(t, "prometheus", "test", "rules", "alerts_test.yml") })
	// --syntax-only: the rule file path is where compose mounts it.
	t.Run("check config", func(t *testing.T) { run(t, "prometheus", "check", "config", "--syntax-only", "prometheus.yml") })
	t.Run("dashboard queries", func(t *testing.T) {
		// promtool has no PromQL check of its own: each dashboard query
		// becomes a recording rule, which check rules parses.
		var rules strings.Builder
		rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
		for i, e := range dashboardExprs(t) {
			e = grafanaVars.Replace(e)
			q, err := json.Marshal(e) // a JSON string is a YAML string
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&rules, "      - record: dashboard_query_%d\n        expr: %s\n", i, q)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "dashboard_rules.yml"), []byte(rules.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, dir, "check", "rules", "dashboard_rules.yml")
	})
}

// grafanaVars replaces Grafana's template variables with values Prometheus
// accepts, so the queries can be parsed as PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

func TestPrometheusScrapesEveryService(t *testing.T) {
	var p struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &p)
	jobs := map[string]bool{}
	for _, s := range p.ScrapeConfigs {
		jobs[s.JobName] = true
	}
	if !jobs["nova-api"] || !jobs["nova-compute"] || len(p.RuleFiles) == 0 {
		t.Fatalf("jobs %v rule files %v", jobs, p.RuleFiles)
	}
}

func TestGrafanaDashboardQueriesKnownMetrics(t *testing.T) {
	checkMetricsExist(t, "grafana/dashboards/gonova.json", dashboardExprs(t))
}

// dashboardExprs returns every panel's queries; a panel without one fails t.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("grafana/dashboards/gonova.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

func TestSystemdUnits(t *testing.T) {
	for _, unit := range []string{"systemd/nova-api.service", "systemd/nova-compute.service"} {
		b, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, want := range []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %s", unit, want)
			}
		}
		m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\d+)$`).FindStringSubmatch(s)
		if m == nil {
			t.Errorf("%s has no TimeoutStopSec", unit)
		} else if n, _ := strconv.Atoi(m[1]); n <= 180 {
			t.Errorf("%s: TimeoutStopSec must exceed graceful_shutdown_timeout (180 s), got %v", unit, m)
		}
	}
}

var metricName = regexp.MustCompile(`\bgonova_[a-z_]+`)

// checkMetricsExist fails for any gonova_ metric a query names that no Go
// source in the repository mentions: a renamed metric must not leave a silent
// alert or an empty panel behind.
func checkMetricsExist(t *testing.T, file string, exprs []string) {
	t.Helper()
	var src strings.Builder
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "deploy") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			src.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code := src.String()
	for _, e := range exprs {
		for _, m := range metricName.FindAllString(e, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
			if !strings.Contains(code, `"`+base+`"`) && !strings.Contains(code, strings.TrimPrefix(base, "gonova_")) {
				t.Errorf("%s queries %s, which no Go source registers", file, m)
			}
		}
	}
}
