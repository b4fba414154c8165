package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/config"
)

const testPW = "Zq9-app-secret"

// SIGHUP: the options that changed are logged by name, never by value (a new
// password counts as a change), and a file that became bad is refused with an
// error that shows no secret; the report never shows one either.
func TestReloadShowsNamesNeverValues(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "nova.conf")
	write := func(s string) {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	write("[DEFAULT]\ntransport_url = rabbit://nova:old@mq:5672/\n")
	cfg, _, err := config.ParseWith([]string{"--config-file", f}, config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewFromConfig(context.Background(), cfg, Options{Product: "test", Output: logf})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	write("[DEFAULT]\ntransport_url = rabbit://nova:" + testPW + "@mq:5672/\n")
	if err := a.reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"[oslo_messaging_rabbit]\nrabbit_password = " + testPW + "\n",
		"[DEFAULT]\nconnection = postgresql://nova:" + testPW + "@db/nova\n",
		"[database]\nconnection = postgresql://nova:" + testPW + "@db:notaport/nova\n",
		"[DEFAULT]\ntransport_url = rabbit://nova:pa/" + testPW + "@mq:5672/\n",
		"[DEFAULT]\nrabbit_password " + testPW + "\n",
	} {
		write(bad)
		err := a.reload(context.Background())
		if err == nil {
			t.Errorf("reload of %q succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), testPW) {
			t.Errorf("reload of %q: error shows the password: %v", bad, err)
		}
	}
	if rep := a.Reporter.String(); strings.Contains(rep, testPW) || !strings.Contains(rep, "transport_url = rabbit://nova:***@mq:5672/") {
		t.Errorf("report shows the password or lacks the masked URL")
	}
	b, err := os.ReadFile(logf.Name())
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if strings.Contains(log, testPW) {
		t.Errorf("log shows the password:\n%s", log)
	}
	if !strings.Contains(log, "[DEFAULT] transport_url") {
		t.Errorf("log does not name the changed transport_url:\n%s", log)
	}
}

// Positional arguments that a binary refuses are shown masked.
func TestUnexpectedArgumentsAreMasked(t *testing.T) {
	_, err := New(context.Background(), []string{"rabbit://nova:" + testPW + "@mq/"}, Options{Product: "test", Output: quiet()})
	if err == nil || strings.Contains(err.Error(), testPW) || !strings.Contains(err.Error(), "unexpected arguments") {
		t.Fatalf("New with a stray URL argument: %v", err)
	}
}
