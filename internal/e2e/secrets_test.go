package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secretPW is the password every configuration below hides somewhere. It
// must appear in no output of any binary: not on stdout, not on stderr (the
// log), not in the Guru Meditation Report.
const secretPW = "Zq9-e2e-secret"

// secretsConf writes a nova.conf for the secrets tests: the in-memory store,
// the in-process transport, one API worker on a free port, plus extra lines
// per section (DEFAULT first) and raw text appended at the end.
func secretsConf(t *testing.T, extra map[string]string, raw string) string {
	t.Helper()
	sections := []string{"DEFAULT", "api", "database", "oslo_messaging_rabbit", "gonova", "keystone_authtoken"}
	base := map[string]string{
		"DEFAULT": fmt.Sprintf("host = secrets-test\nosapi_compute_listen = 127.0.0.1\nosapi_compute_listen_port = %s\n"+
			"osapi_compute_workers = 1\ntransport_url = memory://secrets\nreport_interval = 1\nperiodic_fuzzy_delay = 0\n"+
			"graceful_shutdown_timeout = 20\n", portOf(t, freeAddr(t))),
		"api":    "auth_strategy = noauth2\n",
		"gonova": "metrics_listen =\n",
	}
	var b strings.Builder
	for _, s := range sections {
		if base[s] == "" && extra[s] == "" {
			continue
		}
		fmt.Fprintf(&b, "[%s]\n%s%s", s, base[s], extra[s])
	}
	b.WriteString(raw)
	p := filepath.Join(t.TempDir(), "nova.conf")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func portOf(t *testing.T, addr string) string {
	_, p := splitHostPort(t, addr)
	return p
}

// assertNoSecret fails the test if the password, or a recognisable part of
// it, is anywhere in out.
func assertNoSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, part := range []string{secretPW, "e2e-secret"} {
		if strings.Contains(out, part) {
			t.Errorf("%s shows the password (%q):\n%s", what, part, tail(out, 40))
			return
		}
	}
}

// Every binary refuses a bad configuration without showing the password in
// it: an unknown or misplaced option, URLs that do not parse, a database and
// a broker that do not answer, a line the INI parser refuses, a flag or an
// argument holding a URL.
func TestSecretsNeverShownWhenStartUpFails(t *testing.T) {
	type startCase struct {
		name  string
		extra map[string]string
		raw   string
		args  []string // after --config-file FILE (and before nova-manage's command)
		want  string   // what the output says is wrong (all binaries unless manageWant)
		// manageWant replaces want for nova-manage, which uses no transport.
		manageWant string
	}
	cases := []startCase{
		{name: "unknown option", extra: map[string]string{"oslo_messaging_rabbit": "rabbit_password = " + secretPW + "\n"},
			want: "rabbit_password: unknown option"},
		{name: "misplaced option", extra: map[string]string{"DEFAULT": "connection = postgresql://nova:" + secretPW + "@127.0.0.1:1/nova\n"},
			want: "belongs in [database]"},
		{name: "database URL port", extra: map[string]string{"database": "connection = postgresql://nova:" + secretPW + "@db:notaport/nova\n"},
			want: "port of host 1"},
		{name: "database URL pgx refuses", extra: map[string]string{"database": "connection = postgresql://nova:a@" + secretPW + "@127.0.0.1:1/nova?sslmode=bogus\n"},
			want: "sslmode"},
		{name: "transport URL slash in password", raw: "[DEFAULT]\ntransport_url = rabbit://nova:" + secretPW + "/x@mq:99999/\n",
			want: "follows the host list"},
		{name: "transport URL bad host", raw: "[DEFAULT]\ntransport_url = rabbit://nova:" + secretPW + "@mq host:5672/\n",
			want: "not a valid host name"},
		{name: "unreachable database", extra: map[string]string{"database": "connection = postgresql://nova:" + secretPW + "@127.0.0.1:1/nova?connect_timeout=2\n"},
			want: "did not answer"},
		{name: "unreachable broker", raw: "[DEFAULT]\ntransport_url = rabbit://nova:" + secretPW + "@127.0.0.1:1/\n",
			want: "no broker answered", manageWant: "not set to a Postgres URL"},
		{name: "INI line without =", raw: "[oslo_messaging_rabbit]\nrabbit_password " + secretPW + "\n",
			want: "no '=' on the line"},
		{name: "unknown flag", args: []string{"--transport_url=rabbit://nova:" + secretPW + "@127.0.0.1:1/"},
			want: "--transport_url: unknown flag"},
	}
	bins := []string{"nova-api", "nova-compute", "nova-all", "nova-manage"}
	for _, c := range cases {
		for _, bin := range bins {
			t.Run(c.name+"/"+bin, func(t *testing.T) {
				conf := secretsConf(t, c.extra, c.raw)
				args := append([]string{"--config-file", conf}, c.args...)
				if bin == "nova-manage" {
					args = append(args, "db", "version")
				}
				p := startArgs(t, bin, bin, args...)
				select {
				case <-p.done:
				case <-time.After(30 * time.Second):
					t.Fatalf("%s did not exit on a bad configuration", bin)
				}
				out := p.out.String()
				if p.cmd.ProcessState.ExitCode() == 0 {
					t.Errorf("%s exited 0 on a bad configuration:\n%s", bin, tail(out, 20))
				}
				want := c.want
				if bin == "nova-manage" && c.manageWant != "" {
					want = c.manageWant
				}
				if !strings.Contains(out, want) {
					t.Errorf("%s does not say %q:\n%s", bin, want, tail(out, 20))
				}
				assertNoSecret(t, bin, out)
			})
		}
	}
	// A URL typed as an argument is refused, masked.
	for _, bin := range bins {
		t.Run("stray argument/"+bin, func(t *testing.T) {
			args := []string{"--config-file", secretsConf(t, nil, "")}
			if bin == "nova-manage" {
				args = append(args, "db", "sync")
			}
			p := startArgs(t, bin, bin, append(args, "rabbit://nova:"+secretPW+"@mq/")...)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("%s did not exit on a stray argument", bin)
			}
			if p.cmd.ProcessState.ExitCode() == 0 {
				t.Errorf("%s exited 0 on a stray argument", bin)
			}
			assertNoSecret(t, bin, p.out.String())
		})
	}
}

// A running service whose file becomes bad: each SIGHUP is refused with an
// error in the log that shows no password, the Guru Meditation Report
// (SIGUSR2) shows none either, and nor does the rest of the log.
func TestSecretsNeverShownWhenReloadFails(t *testing.T) {
	type runCase struct {
		bin     string
		workers int
	}
	bad := []struct {
		extra   map[string]string
		raw     string
		replace [2]string // old, new line
		want    string    // in the refusal
	}{
		{extra: map[string]string{"oslo_messaging_rabbit": "rabbit_password = " + secretPW + "\n"}, want: "rabbit_password: unknown option"},
		{extra: map[string]string{"DEFAULT": "connection = postgresql://nova:" + secretPW + "@db/nova\n"}, want: "belongs in [database]"},
		{extra: map[string]string{"database": "connection = postgresql://nova:" + secretPW + "@db:notaport/nova\n"}, want: "port of host 1"},
		{replace: [2]string{"transport_url = memory://secrets", "transport_url = rabbit://nova:" + secretPW + "/x@mq:5672/"}, want: "follows the host list"},
		{raw: "[DEFAULT]\nrabbit_password " + secretPW + "\n", want: "no '=' on the line"},
	}
	for _, rc := range []runCase{{"nova-compute", 1}, {"nova-all", 1}, {"nova-api", 1}, {"nova-api", 2}} {
		t.Run(fmt.Sprintf("%s/workers=%d", rc.bin, rc.workers), func(t *testing.T) {
			// The running configuration holds a password in a section that
			// belongs to another part of nova: accepted, listed by name only.
			good := map[string]string{"keystone_authtoken": "auth_url = http://keystone:5000\npassword = " + secretPW + "\n"}
			conf := secretsConf(t, good, "")
			if rc.workers > 1 {
				body, _ := os.ReadFile(conf)
				body = []byte(strings.Replace(string(body), "osapi_compute_workers = 1", fmt.Sprintf("osapi_compute_workers = %d", rc.workers), 1))
				if err := os.WriteFile(conf, body, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			p := start(t, rc.bin, rc.bin, conf)
			processes := rc.workers // processes that reload: one, or the parent and each worker
			if rc.workers > 1 {
				processes++
			}
			waitOutput(t, p, "all services started", rc.workers, 30*time.Second)
			if rc.workers > 1 {
				waitOutput(t, p, "all workers started", 1, 30*time.Second)
			}
			goodBody, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			const refused = "reloading configuration failed"
			for i, b := range bad {
				// Each bad file is the good one with one bad part added.
				body := withLines(string(goodBody), b.extra) + b.raw
				if b.replace[0] != "" {
					body = strings.Replace(body, b.replace[0], b.replace[1], 1)
				}
				if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
					t.Fatal(err)
				}
				waitOutput(t, p, refused, (i+1)*processes, 30*time.Second)
				out := p.out.String()
				assertNoSecret(t, fmt.Sprintf("%s after bad file %d", rc.bin, i+1), out)
				if strings.Count(out, b.want) < processes {
					t.Errorf("%s: the refusal of bad file %d does not say %q", rc.bin, i+1, b.want)
				}
			}
			if err := p.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
				t.Fatal(err)
			}
			waitOutput(t, p, "\ngoroutine 1 [", 1, 30*time.Second)
			if code := p.stop(t, 30*time.Second); code != 0 {
				t.Errorf("%s exited %d after SIGTERM", rc.bin, code)
			}
			out := p.out.String()
			if !strings.Contains(out, "[keystone_authtoken]") || !strings.Contains(out, "transport_url = memory://secrets") {
				t.Errorf("the log or the report lacks the ignored section or the configuration:\n%s", tail(out, 60))
			}
			assertNoSecret(t, rc.bin, out)
		})
	}
}

// withLines inserts lines at the start of their sections of an INI text,
// appending sections it lacks.
func withLines(body string, extra map[string]string) string {
	for sec, lines := range extra {
		h := "[" + sec + "]\n"
		if strings.Contains(body, h) {
			body = strings.Replace(body, h, h+lines, 1)
		} else {
			body += h + lines
		}
	}
	return body
}

// waitOutput waits until p's output holds want at least n times.
func waitOutput(t *testing.T, p *proc, want string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if strings.Count(p.out.String(), want) >= n {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited while waiting for %q x%d: %v\n%s", p.name, want, n, p.err, tail(p.out.String(), 40))
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s: %q x%d not within %v (have %d)\n%s", p.name, want, n, within, strings.Count(p.out.String(), want), tail(p.out.String(), 40))
}
