package config

import (
	"errors"
	"strings"
	"testing"
)

// [upgrade_levels] compute and [workarounds]
// disable_compute_service_check_for_ffu are read; the other options nova has
// in those sections are accepted and listed as ignored; a typo is refused.
func TestUpgradeLevelsAndWorkarounds(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", "[upgrade_levels]\ncompute = auto\nconductor = 1.0\nscheduler = auto\n"+
		"[workarounds]\ndisable_compute_service_check_for_ffu = true\ndisable_rootwrap = true\n")
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.UpgradeLevels.Compute != "auto" || !c.Workarounds.DisableComputeServiceCheckForFFU {
		t.Fatalf("UpgradeLevels = %+v, Workarounds = %+v", c.UpgradeLevels, c.Workarounds)
	}
	got := strings.Join(c.Ignored, ";")
	for _, w := range []string{"[upgrade_levels] conductor", "[upgrade_levels] scheduler", "[workarounds] disable_rootwrap"} {
		if !strings.Contains(got, w) {
			t.Errorf("Ignored = %q lacks %q", got, w)
		}
	}
	if strings.Contains(got, "[upgrade_levels] compute") || strings.Contains(got, "[upgrade_levels];") {
		t.Errorf("Ignored = %q lists what gonova reads", got)
	}

	d := Defaults()
	if d.UpgradeLevels.Compute != "" || d.Workarounds.DisableComputeServiceCheckForFFU {
		t.Errorf("defaults: %+v %+v, want no cap and the check on", d.UpgradeLevels, d.Workarounds)
	}

	typo := write(t, dir, "typo.conf", "[upgrade_levels]\ncompte = auto\n")
	if _, _, err := parse(t, []string{"--config-file", typo}, nil); !errors.Is(err, ErrUnknown) {
		t.Errorf("[upgrade_levels] compte: %v, want an unknown option", err)
	}
}

func TestUpgradeLevelValues(t *testing.T) {
	for _, ok := range []string{"", "auto", "6.0", "6.1", "5.13", "zed", "wallaby", "icehouse"} {
		if err := validUpgradeLevel(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"6", "6.", ".1", "6.0.1", "6.x", "Zed", "auto ", "-1.0", "6.+1", "zed-compat"} {
		if err := validUpgradeLevel(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Through the parser: the option and the value's problem are named.
	f := write(t, t.TempDir(), "nova.conf", "[upgrade_levels]\ncompute = 6.x\n")
	_, _, err := parse(t, []string{"--config-file", f}, map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "compute") || !strings.Contains(err.Error(), "not a version") {
		t.Errorf("compute = 6.x: %v", err)
	}
	c, _, err := parse(t, nil, map[string]string{"OS_UPGRADE_LEVELS__COMPUTE": "6.0"})
	if err != nil || c.UpgradeLevels.Compute != "6.0" {
		t.Errorf("from the environment: %+v, %v", c.UpgradeLevels, err)
	}
}
