package config

import (
	"strings"
	"testing"
)

func TestQuotaSectionDefaultsValuesAndDriver(t *testing.T) {
	d := Defaults().Quota
	if d.Instances != 10 || d.Cores != 20 || d.RAM != 51200 || d.MetadataItems != 128 || d.InjectedFiles != 5 ||
		d.InjectedFileContentBytes != 10240 || d.InjectedFilePathLength != 255 || d.KeyPairs != 100 || d.ServerGroups != 10 ||
		d.ServerGroupMembers != 10 || d.Driver != "nova.quota.DbQuotaDriver" || !d.RecheckQuota {
		t.Fatalf("defaults %+v", d)
	}
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", "[quota]\ninstances = -1\ncores = 4\ncount_usage_from_placement = true\n")
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil || c.Quota.Instances != -1 || c.Quota.Cores != 4 {
		t.Fatalf("parsed %+v, %v", c.Quota, err)
	}
	if !strings.Contains(strings.Join(c.Ignored, " "), "count_usage_from_placement") {
		t.Errorf("count_usage_from_placement not listed as ignored: %v", c.Ignored)
	}
	for body, want := range map[string]string{
		"[quota]\ninstances = -2\n":                          "instances",
		"[quota]\ndriver = nova.quota.NoopQuotaDriver\n":     "set [quota] instances, cores, ram and the other limits to -1",
		"[quota]\ndriver = nova.quota.UnifiedLimitsDriver\n": "unified limits",
		"[quota]\ndriver = mine.Driver\n":                    "DbQuotaDriver only",
		"[quota]\nno_such_option = 1\n":                      "no_such_option",
	} {
		if _, _, err := parse(t, []string{"--config-file", write(t, dir, "bad.conf", body)}, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}
