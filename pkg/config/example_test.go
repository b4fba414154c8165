package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gonova/gonova/pkg/config"
)

// A binary calls config.Parse(os.Args[1:]); ParseWith takes the same
// command line and lets a test choose the environment and default files.
func ExampleParseWith() {
	dir, _ := os.MkdirTemp("", "nova-conf")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "nova.conf")
	_ = os.WriteFile(path, []byte("[DEFAULT]\nreport_interval = 5\n"), 0o600)

	env := map[string]string{"OS_DEFAULT__DEBUG": "true"}
	cfg, rest, err := config.ParseWith([]string{"--config-file", path, "extra"}, config.ParseOptions{
		Env:          func(k string) string { return env[k] },
		DefaultFiles: []string{}, // read no /etc/nova/nova.conf
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Default.ReportInterval, cfg.Default.Debug, rest)

	_ = os.WriteFile(path, []byte("[DEFAULT]\nreport_interval = -5\n"), 0o600)
	_, _, err = config.ParseWith([]string{"--config-file", path}, config.ParseOptions{
		Env: func(string) string { return "" }, DefaultFiles: []string{},
	})
	fmt.Println(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))
	// Output:
	// 5s true [extra]
	// nova.conf: [DEFAULT] report_interval = "-5": must be at least 1
}
