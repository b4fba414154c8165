package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func parse(t *testing.T, args []string, env map[string]string) (*Config, []string, error) {
	t.Helper()
	return ParseWith(args, ParseOptions{Env: func(k string) string { return env[k] }, DefaultFiles: []string{}})
}

func TestDefaultsMatchNova(t *testing.T) {
	c, rest, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Fatalf("rest = %v", rest)
	}
	d := c.Default
	checks := []struct {
		name      string
		got, want any
	}{
		{"report_interval", d.ReportInterval, 10 * time.Second},
		{"service_down_time", d.ServiceDownTime, 60 * time.Second},
		{"periodic_enable", d.PeriodicEnable, true},
		{"periodic_fuzzy_delay", d.PeriodicFuzzyDelay, 60 * time.Second},
		{"graceful_shutdown_timeout", d.GracefulShutdownTimeout, 180 * time.Second},
		{"enable_new_services", d.EnableNewServices, true},
		{"run_external_periodic_tasks", d.RunExternalPeriodicTasks, true},
		{"control_exchange", d.ControlExchange, "nova"},
		{"rpc_response_timeout", d.RPCResponseTimeout, 60 * time.Second},
		{"executor_thread_pool_size", d.ExecutorThreadPoolSize, 64},
		{"osapi_compute_listen", d.OsapiComputeListen, "0.0.0.0"},
		{"osapi_compute_listen_port", d.OsapiComputeListenPort, 8774},
		{"auth_strategy", c.API.AuthStrategy, "keystone"},
		{"amqp_durable_queues", c.Rabbit.AmqpDurableQueues, false},
		{"heartbeat_timeout_threshold", c.Rabbit.HeartbeatTimeoutThreshold, 60 * time.Second},
		{"rabbit_transient_queues_ttl", c.Rabbit.RabbitTransientQueuesTTL, 1800 * time.Second},
		{"max_request_body_size", c.Middleware.MaxRequestBodySize, int64(114688)},
		{"policy_file", c.Policy.PolicyFile, "policy.yaml"},
		{"enforce_scope", c.Policy.EnforceScope, false},
		{"enforce_new_defaults", c.Policy.EnforceNewDefaults, false},
		{"policy_default_rule", c.Policy.PolicyDefaultRule, "default"},
		{"policy_dirs", c.Policy.PolicyDirs, "policy.d"},
		{"cpu_allocation_ratio", d.CPUAllocationRatio, 0.0},
		{"initial_cpu_allocation_ratio", d.InitialCPUAllocationRatio, 16.0},
		{"initial_ram_allocation_ratio", d.InitialRAMAllocationRatio, 1.5},
		{"initial_disk_allocation_ratio", d.InitialDiskAllocationRatio, 1.0},
		{"reserved_host_memory_mb", d.ReservedHostMemoryMB, int64(512)},
		{"reserved_host_disk_mb", d.ReservedHostDiskMB, int64(0)},
		{"reserved_host_cpus", d.ReservedHostCPUs, 0},
		{"fake_driver_vcpus", c.Gonova.FakeDriverVCPUs, 0},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if d.Host == "" {
		t.Error("host defaults to the hostname, got empty")
	}
	if d.OsapiComputeWorkers < 1 {
		t.Errorf("osapi_compute_workers = %d, want CPU count", d.OsapiComputeWorkers)
	}
}

func TestLaterFilesWinAndConfigDirOrder(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.ini", "[DEFAULT]\nreport_interval = 5\nhost = alpha\n")
	b := write(t, dir, "b.ini", "[DEFAULT]\nreport_interval = 7\n")
	cd := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(cd, 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, cd, "20-last.conf", "[DEFAULT]\nhost = gamma\n")
	write(t, cd, "10-first.conf", "[DEFAULT]\nhost = beta\n[database]\nconnection = postgresql+psycopg2://nova:pw@db/nova\n")
	write(t, cd, "ignored.txt", "[nonsense\n")

	c, rest, err := parse(t, []string{"--config-file", a, "db", "--config-file=" + b, "--config-dir", cd, "sync"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Default.ReportInterval != 7*time.Second {
		t.Errorf("report_interval = %v, want the later file's 7s", c.Default.ReportInterval)
	}
	if c.Default.Host != "gamma" {
		t.Errorf("host = %q, want gamma (config-dir files in lexical order, after the files)", c.Default.Host)
	}
	if strings.Join(rest, " ") != "db sync" {
		t.Errorf("rest = %v", rest)
	}
	if len(c.Sources) != 4 {
		t.Errorf("sources = %v", c.Sources)
	}
	if got := NormalizeDatabaseURL(c.Database.Connection); got != "postgresql://nova:pw@db/nova" {
		t.Errorf("normalized connection = %q", got)
	}
}

func TestEnvironmentBeatsFilesAndFlagBeatsEnvironment(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", "[DEFAULT]\nreport_interval = 5\ndebug = false\n[oslo_messaging_rabbit]\namqp_durable_queues = false\n")
	env := map[string]string{
		"OS_DEFAULT__REPORT_INTERVAL":                   "3",
		"OS_DEFAULT__DEBUG":                             "false",
		"OS_OSLO_MESSAGING_RABBIT__AMQP_DURABLE_QUEUES": "true",
	}
	c, _, err := parse(t, []string{"--config-file", f, "--debug"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Default.ReportInterval != 3*time.Second || !c.Rabbit.AmqpDurableQueues {
		t.Errorf("environment did not override the file: %+v %+v", c.Default.ReportInterval, c.Rabbit.AmqpDurableQueues)
	}
	if !c.Default.Debug {
		t.Error("--debug did not override the environment")
	}
}

func TestWrongValuesNameFileSectionOptionAndProblem(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		body string
		want []string
	}{
		{"[DEFAULT]\nreport_interval = -5\n", []string{"[DEFAULT] report_interval", `"-5"`, "at least 1"}},
		{"[DEFAULT]\nreport_interval = ten\n", []string{"report_interval", "not a whole number"}},
		{"[DEFAULT]\ntransport_url = kafka://h\n", []string{"transport_url", "unsupported scheme"}},
		{"[DEFAULT]\ntransport_url = rabbit://u:secret@h:99999/\n", []string{"transport_url", "u:***@", "port"}},
		{"[database]\nconnection = mysql+pymysql://nova:hunter2@db/nova\n", []string{"[database] connection", "nova:***@", "postgresql"}},
		{"[DEFAULT]\nperiodic_enable = maybe\n", []string{"periodic_enable", "not a boolean"}},
		{"[DEFAULT]\nreport_intervall = 5\n", []string{"[DEFAULT] report_intervall", "unknown option"}},
		{"[DEFAULT]\nauth_strategy = noauth2\n", []string{"auth_strategy", "belongs in [api]"}},
		{"[api]\nauth_strategy = none\n", []string{"auth_strategy", "keystone, noauth2"}},
		{"[nonsense]\nx = 1\n", []string{"[nonsense]", "unknown section"}},
		{"[DEFAULT]\nbackdoor_port = 9:3\n", []string{"backdoor_port", "start:end"}},
		{"[gonova]\nmetrics_listen = nope\n", []string{"metrics_listen", "host:port"}},
	}
	for i, tc := range cases {
		f := write(t, dir, "bad.conf", tc.body)
		_, _, err := parse(t, []string{"--config-file", f}, nil)
		if err == nil {
			t.Errorf("case %d (%q): no error", i, tc.body)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, f+": ") {
			t.Errorf("case %d: error %q does not start with the file name", i, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("case %d: error %q lacks %q", i, msg, w)
			}
		}
		if strings.Contains(msg, "secret") || strings.Contains(msg, "hunter2") {
			t.Errorf("case %d: error %q leaks a password", i, msg)
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("case %d: error is %T, want *config.Error", i, err)
		}
	}
}

func TestBadEnvironmentAndFlagsAreNamed(t *testing.T) {
	_, _, err := parse(t, nil, map[string]string{"OS_DEFAULT__SERVICE_DOWN_TIME": "0"})
	if err == nil || !strings.Contains(err.Error(), "environment OS_DEFAULT__SERVICE_DOWN_TIME: [DEFAULT] service_down_time") {
		t.Errorf("env error = %v", err)
	}
	_, _, err = parse(t, []string{"--workers", "3"}, nil)
	if err == nil || !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "--config-file") {
		t.Errorf("unknown flag error = %v", err)
	}
	_, _, err = parse(t, []string{"--config-file", "/does/not/exist.conf"}, nil)
	if err == nil || !strings.Contains(err.Error(), "/does/not/exist.conf") {
		t.Errorf("missing file error = %v", err)
	}
	_, _, err = parse(t, []string{"--config-file"}, nil)
	if err == nil || !strings.Contains(err.Error(), "needs a value") {
		t.Errorf("missing value error = %v", err)
	}
}

func TestOtherNovaSectionsAndOptionsAreIgnoredAndListed(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", "[DEFAULT]\nstate_path = /var/lib/nova\ncompute_driver = libvirt.LibvirtDriver\n[placement]\nauth_url = http://keystone:5000\npassword = x\n")
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Ignored, ";")
	for _, w := range []string{"[DEFAULT] state_path", "[DEFAULT] compute_driver", "[placement]"} {
		if !strings.Contains(got, w) {
			t.Errorf("Ignored = %q lacks %q", got, w)
		}
	}
}

func TestKeystoneAuthtoken(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", `[keystone_authtoken]
www_authenticate_uri = http://keystone.example:5000
auth_url = http://keystone:5000/v3
auth_type = password
username = nova
password = hunter2
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionOne
memcached_servers = mc1:11211, mc2:11211
service_token_roles = service,admin
token_cache_time = -1
memcache_security_strategy = ENCRYPT
auth_version = v3
`)
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := c.KeystoneAuthtoken
	if k.AuthURL != "http://keystone:5000/v3" || k.Username != "nova" || k.Password != "hunter2" || k.ProjectName != "service" ||
		k.UserDomainName != "Default" || k.RegionName != "RegionOne" || k.TokenCacheTime != -1 || k.Interface != "internal" ||
		!k.IncludeServiceCatalog || !k.ServiceTokenRolesRequired || k.DelayAuthDecision {
		t.Errorf("parsed %+v", k)
	}
	if strings.Join(k.MemcachedServers, ";") != "mc1:11211;mc2:11211" || strings.Join(k.ServiceTokenRoles, ";") != "service;admin" {
		t.Errorf("lists: %q %q", k.MemcachedServers, k.ServiceTokenRoles)
	}
	got := strings.Join(c.Ignored, ";")
	if !strings.Contains(got, "[keystone_authtoken] memcache_security_strategy") || !strings.Contains(got, "[keystone_authtoken] auth_version") {
		t.Errorf("Ignored = %q", got)
	}
	if s := c.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "password = ***") {
		t.Errorf("String does not mask the password:\n%s", s)
	}
	d := Defaults().KeystoneAuthtoken
	if d.TokenCacheTime != 300 || strings.Join(d.ServiceTokenRoles, ",") != "service" || d.AuthType != "password" || d.Password != "" {
		t.Errorf("defaults %+v", d)
	}
	f = write(t, dir, "bad.conf", "[keystone_authtoken]\npassword = hunter2\ninterface = private\n")
	if _, _, err := parse(t, []string{"--config-file", f}, nil); err == nil || !strings.Contains(err.Error(), "interface") {
		t.Errorf("interface = private: %v", err)
	}
}

func TestMaskURL(t *testing.T) {
	cases := map[string]string{
		"rabbit://nova:s3cret@h1:5672,nova:other@h2:5672/vh": "rabbit://nova:***@h1:5672,nova:***@h2:5672/vh",
		"postgresql://nova:pw@db:5432/nova?sslmode=disable":  "postgresql://nova:***@db:5432/nova?sslmode=disable",
		"rabbit://guest@h/":        "rabbit://guest@h/",
		"memory://":                "memory://",
		"rabbit://:p@h/":           "rabbit://:***@h/",
		"amqps://u:p%40ss@h:5671/": "amqps://u:***@h:5671/",
	}
	for in, want := range cases {
		if got := MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStringMasksSecrets(t *testing.T) {
	c, _, err := parse(t, nil, map[string]string{
		"OS_DEFAULT__TRANSPORT_URL": "rabbit://nova:topsecret@mq:5672/",
		"OS_DATABASE__CONNECTION":   "postgresql://nova:dbsecret@db/nova",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if strings.Contains(s, "topsecret") || strings.Contains(s, "dbsecret") {
		t.Fatalf("String leaks a secret:\n%s", s)
	}
	if !strings.Contains(s, "transport_url = rabbit://nova:***@mq:5672/") || !strings.Contains(s, "[database]\nconnection = postgresql://nova:***@db/nova") {
		t.Fatalf("String lacks masked URLs:\n%s", s)
	}
}

func TestReloadRereadsFiles(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", "[DEFAULT]\ndebug = false\n")
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "nova.conf", "[DEFAULT]\ndebug = true\n")
	nc, err := c.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if !nc.Default.Debug || c.Default.Debug {
		t.Fatalf("reload: new debug=%v old debug=%v", nc.Default.Debug, c.Default.Debug)
	}
	write(t, dir, "nova.conf", "[DEFAULT]\nreport_interval = 0\n")
	if _, err := c.Reload(); err == nil {
		t.Fatal("reload of a bad file succeeded")
	}
}

func TestSampleParsesBackToDefaults(t *testing.T) {
	var b strings.Builder
	if err := WriteSample(&b); err != nil {
		t.Fatal(err)
	}
	// Uncomment every option line: the result must parse and equal the defaults.
	var lines []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "#") && strings.Contains(l, " = ") && !strings.HasPrefix(l, "# ") {
			l = strings.TrimPrefix(l, "#")
		}
		lines = append(lines, l)
	}
	dir := t.TempDir()
	f := write(t, dir, "sample.conf", strings.Join(lines, "\n"))
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatalf("sample does not parse: %v", err)
	}
	d := Defaults()
	c.Default.Host, d.Default.Host = "", ""
	c.Default.OsapiComputeWorkers, d.Default.OsapiComputeWorkers = 0, 0
	if c.String() != d.String() {
		t.Fatalf("sample values differ from defaults:\n%s\nvs\n%s", c.String(), d.String())
	}
	for _, o := range options {
		if !strings.Contains(b.String(), "#"+o.name+" = ") {
			t.Errorf("sample lacks %s", o.key())
		}
	}
}

var update = flag.Bool("update", false, "rewrite deploy/nova.conf.sample")

// The checked-in sample must be what WriteSample produces, so that a new option
// cannot be added without documenting it for operators.
func TestSampleFileInDeployIsCurrent(t *testing.T) {
	const path = "../../deploy/nova.conf.sample"
	var b strings.Builder
	if err := WriteSample(&b); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `make sample-config`", err)
	}
	if string(want) != b.String() {
		t.Fatal("deploy/nova.conf.sample is stale: run `make sample-config`")
	}
}

func TestOsloPolicySection(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", `[oslo_policy]
policy_file = /etc/nova/my-policy.yaml
enforce_scope = true
enforce_new_defaults = True
policy_dirs = /etc/nova/policy.d
remote_content_type = application/json
`)
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Policy
	if p.PolicyFile != "/etc/nova/my-policy.yaml" || !p.EnforceScope || !p.EnforceNewDefaults || p.PolicyDefaultRule != "default" ||
		p.PolicyDirs != "/etc/nova/policy.d" {
		t.Errorf("%+v", p)
	}
	if !strings.Contains(strings.Join(c.Ignored, ","), "[oslo_policy] remote_content_type") {
		t.Errorf("remote_content_type not listed as ignored: %v", c.Ignored)
	}
	write(t, dir, "bad.conf", "[oslo_policy]\nenforce_scop = true\n")
	if _, _, err := parse(t, []string{"--config-file", filepath.Join(dir, "bad.conf")}, nil); !errors.Is(err, ErrUnknown) {
		t.Errorf("typo in [oslo_policy]: %v", err)
	}
}

// ConfigDirs is oslo.config's find_file order: the config dir, the
// directories of the config files (last first), then the project's
// standard directories.
func TestConfigDirs(t *testing.T) {
	a, b, d := t.TempDir(), t.TempDir(), t.TempDir()
	fa, fb := write(t, a, "nova.conf", ""), write(t, b, "extra.conf", "")
	c, _, err := ParseWith([]string{"--config-file", fa, "--config-dir", d, "--config-file", fb},
		ParseOptions{Env: func(k string) string { return map[string]string{"HOME": "/home/op"}[k] }, DefaultFiles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{d, b, a, "/home/op/.nova", "/home/op", "/etc/nova", "/etc"}
	if got := c.ConfigDirs(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ConfigDirs = %v, want %v", got, want)
	}
	def := write(t, b, "nova-default.conf", "")
	c, _, err = ParseWith(nil, ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{def}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ConfigDirs(); strings.Join(got, "|") != strings.Join([]string{b, "/etc/nova", "/etc"}, "|") {
		t.Errorf("ConfigDirs without flags = %v", got)
	}
}

func TestNotificationOptions(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", "[DEFAULT]\ntransport_url = rabbit://u:p@h1:5672/\nreport_interval = 5\nreport_interval = 6\n"+
		"[oslo_messaging_notifications]\ndriver = messagingv2\ndriver = log\ntopics = notifications, versioned_notifications\nretry = 3\n")
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Notifications
	if strings.Join(n.Driver, " ") != "messagingv2 log" || strings.Join(n.Topics, " ") != "notifications versioned_notifications" || n.Retry != 3 {
		t.Errorf("notifications = %+v", n)
	}
	if c.Default.ReportInterval != 6*time.Second {
		t.Errorf("a repeated single-valued option: report_interval = %v, want the last line's 6s", c.Default.ReportInterval)
	}
	if got := c.NotificationTransportURL(); got != "rabbit://u:p@h1:5672/" {
		t.Errorf("transport_url falls back to [DEFAULT]'s, got %q", got)
	}
	d := Defaults()
	if len(d.Notifications.Driver) != 0 || strings.Join(d.Notifications.Topics, ",") != "notifications" || d.Notifications.Retry != -1 {
		t.Errorf("defaults = %+v", d.Notifications)
	}
	bad := write(t, dir, "bad.conf", "[oslo_messaging_notifications]\ndriver = routing\n")
	if _, _, err := parse(t, []string{"--config-file", bad}, nil); err == nil {
		t.Error("driver = routing accepted; gonova has no routing driver")
	}
}

// nova's [notifications]: its defaults, its values, its deprecated [DEFAULT]
// names, and an option gonova does not know is ignored, not refused.
func TestNovaNotificationOptions(t *testing.T) {
	d := Defaults().NovaNotifications
	if d.NotificationFormat != "unversioned" || strings.Join(d.VersionedNotificationsTopics, ",") != "versioned_notifications" ||
		d.NotifyOnStateChange != "" || d.DefaultLevel != "INFO" || d.BdmsInNotifications || d.Versioned() || !d.Unversioned() {
		t.Errorf("defaults = %+v", d)
	}
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", "[notifications]\nnotification_format = both\nversioned_notifications_topics = a, b\n"+
		"notify_on_state_change = vm_and_task_state\ndefault_level = WARN\nbdms_in_notifications = true\nsome_future_option = 1\n")
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := c.NovaNotifications
	if n.NotificationFormat != "both" || strings.Join(n.VersionedNotificationsTopics, " ") != "a b" || n.NotifyOnStateChange != "vm_and_task_state" ||
		n.DefaultLevel != "WARN" || !n.BdmsInNotifications || !n.Versioned() || !n.Unversioned() {
		t.Errorf("[notifications] = %+v", n)
	}
	if !slices.Contains(c.Ignored, "[notifications] some_future_option") {
		t.Errorf("Ignored = %v", c.Ignored)
	}
	old := write(t, dir, "old.conf", "[DEFAULT]\nnotification_format = versioned\ndefault_notification_level = ERROR\n")
	c, _, err = parse(t, []string{"--config-file", old}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.NovaNotifications.NotificationFormat != "versioned" || c.NovaNotifications.DefaultLevel != "ERROR" || c.NovaNotifications.Unversioned() {
		t.Errorf("deprecated [DEFAULT] names: %+v", c.NovaNotifications)
	}
	for _, bad := range []string{"[notifications]\nnotification_format = json\n", "[DEFAULT]\nnotification_format = json\n", "[notifications]\nnotify_on_state_change = task_state\n"} {
		if _, _, err := parse(t, []string{"--config-file", write(t, dir, "bad.conf", bad)}, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAllocationRatiosAreNonNegativeNumbers(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", "[DEFAULT]\ncpu_allocation_ratio = 4.0\nram_allocation_ratio = 1\n[gonova]\nfake_driver_vcpus = 4\n")
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil || c.Default.CPUAllocationRatio != 4 || c.Default.RAMAllocationRatio != 1 || c.Gonova.FakeDriverVCPUs != 4 {
		t.Fatalf("parsed %+v, %v", c.Default, err)
	}
	for v, want := range map[string]string{"-1": "must be at least 0", "many": "not a number", "NaN": "not a number"} {
		f := write(t, dir, "bad.conf", "[DEFAULT]\ncpu_allocation_ratio = "+v+"\n")
		if _, _, err := parse(t, []string{"--config-file", f}, nil); err == nil || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), "cpu_allocation_ratio") {
			t.Errorf("cpu_allocation_ratio = %s: %v, want %q", v, err, want)
		}
	}
}

// my_ip is read (the compute's host_ip), and must be an IP address.
func TestMyIP(t *testing.T) {
	dir := t.TempDir()
	c, _, err := parse(t, []string{"--config-file", write(t, dir, "a.conf", "[DEFAULT]\nmy_ip = 10.0.0.5\n")}, nil)
	if err != nil || c.Default.MyIP != "10.0.0.5" {
		t.Fatalf("my_ip = %q, %v", c.Default.MyIP, err)
	}
	if _, _, err := parse(t, []string{"--config-file", write(t, dir, "b.conf", "[DEFAULT]\nmy_ip = host.example\n")}, nil); err == nil {
		t.Fatal("a host name as my_ip was accepted")
	}
}
