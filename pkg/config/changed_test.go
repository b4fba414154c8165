package config

import (
	"strings"
	"testing"
)

// SIGHUP's "options changed" log compares values, not masks: a new password
// is a change; only names are returned.
func TestChangedNamesOptionsWhoseValuesDiffer(t *testing.T) {
	a, b := Defaults(), Defaults()
	a.Default.TransportURL = "rabbit://nova:old@mq:5672/"
	b.Default.TransportURL = "rabbit://nova:" + pw + "@mq:5672/"
	b.Default.ReportInterval = a.Default.ReportInterval * 2
	got := strings.Join(a.Changed(b), ", ")
	if got != "[DEFAULT] transport_url, [DEFAULT] report_interval" && got != "[DEFAULT] report_interval, [DEFAULT] transport_url" {
		t.Errorf("Changed = %q", got)
	}
	if strings.Contains(got, pw) {
		t.Errorf("Changed leaks: %q", got)
	}
}
