package api

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// nova validates the extra specs a flavor is given from 2.86
// (nova.api.validation.extra_specs): a key of a namespace nova knows must be
// one of that namespace's keys, with a value of its type; a key of another
// namespace, or without one, is the operator's own and is allowed. gonova
// keeps nova's rules for the keys below: every key of the hw, hw_rng,
// hw_video, quota, os, accel, pci_passthrough and vmware namespaces, and the
// resources, trait, capabilities and aggregate_instance_extra_specs
// patterns (trait and resource class names are any upper-case name, where
// nova knows os-traits' and placement's lists). extra_specs_referee_test.go
// checks every key nova 26 registers against nova's own validators.

type specKind int

const (
	specStr specKind = iota
	specInt
	specBool
)

// specRule is one extra spec: its name (a regular expression, fully
// matched) and its value.
type specRule struct {
	name    *regexp.Regexp
	kind    specKind
	enum    []string
	pattern string // a str value's pattern, fully matched
	min     *int64
	max     *int64
}

func i64(n int64) *int64 { return &n }

const cpuSet = `\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*`

// specRules is the table: name pattern, then the value's rule.
var specRules = func() []specRule {
	type r = struct {
		name    string
		kind    specKind
		enum    []string
		pattern string
		min     *int64
		max     *int64
	}
	rows := []r{
		{"hw:cpu_realtime", specBool, nil, "", nil, nil},
		{"hw:cpu_realtime_mask", specStr, nil, `(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*`, nil, nil},
		{"hw:hide_hypervisor_id", specBool, nil, "", nil, nil},
		{"hw:cpu_policy", specStr, []string{"dedicated", "shared", "mixed"}, "", nil, nil},
		{"hw:cpu_thread_policy", specStr, []string{"prefer", "isolate", "require"}, "", nil, nil},
		{"hw:emulator_threads_policy", specStr, []string{"isolate", "share"}, "", nil, nil},
		{"hw:cpu_dedicated_mask", specStr, nil, cpuSet, nil, nil},
		{"hw:mem_page_size", specStr, nil, `(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)`, nil, nil},
		{"hw:locked_memory", specBool, nil, "", nil, nil},
		{"hw:numa_nodes", specInt, nil, "", i64(1), nil},
		{`hw:numa_cpus\.\d+`, specStr, nil, cpuSet, nil, nil},
		{`hw:numa_mem\.\d+`, specInt, nil, "", i64(1), nil},
		{"hw:pci_numa_affinity_policy", specStr, []string{"required", "preferred", "legacy", "socket"}, "", nil, nil},
		{"hw:cpu_sockets", specInt, nil, "", i64(1), nil},
		{"hw:cpu_cores", specInt, nil, "", i64(1), nil},
		{"hw:cpu_threads", specInt, nil, "", i64(1), nil},
		{"hw:max_cpu_sockets", specInt, nil, "", i64(1), nil},
		{"hw:max_cpu_cores", specInt, nil, "", i64(1), nil},
		{"hw:max_cpu_threads", specInt, nil, "", i64(1), nil},
		{"hw:boot_menu", specBool, nil, "", nil, nil},
		{"hw:vif_multiqueue_enabled", specBool, nil, "", nil, nil},
		{"hw:mem_encryption", specBool, nil, "", nil, nil},
		{"hw:pmem", specStr, nil, `([a-zA-Z0-9_]+(,)?)+`, nil, nil},
		{"hw:pmu", specBool, nil, "", nil, nil},
		{"hw:serial_port_count", specInt, nil, "", i64(0), nil},
		{"hw:tpm_model", specStr, []string{"tpm-tis", "tpm-crb"}, "", nil, nil},
		{"hw:tpm_version", specStr, []string{"1.2", "2.0"}, "", nil, nil},
		{"hw:watchdog_action", specStr, []string{"none", "pause", "poweroff", "reset", "disabled"}, "", nil, nil},
		{"hw:viommu_model", specStr, []string{"intel", "smmuv3", "virtio", "auto"}, "", nil, nil},
		{"hw:ephemeral_encryption", specBool, nil, "", nil, nil},
		{"hw:ephemeral_encryption_format", specStr, []string{"plain", "luks", "luksv2"}, "", nil, nil},
		{"hw_rng:allowed", specBool, nil, "", nil, nil},
		{"hw_rng:rate_bytes", specInt, nil, "", i64(0), nil},
		{"hw_rng:rate_period", specInt, nil, "", i64(0), nil},
		{"hw_video:ram_max_mb", specInt, nil, "", i64(0), nil},
		{"quota:(cpu|memory|disk_io|vif)_limit", specInt, nil, "", i64(0), nil},
		{"quota:(cpu|memory|disk_io|vif)_reservation", specInt, nil, "", nil, nil},
		{"quota:(cpu|memory|disk_io|vif)_shares_level", specStr, []string{"custom", "high", "normal", "low"}, "", nil, nil},
		{"quota:(cpu|memory|disk_io|vif)_shares_share", specInt, nil, "", i64(0), nil},
		{"quota:cpu_shares", specInt, nil, "", i64(0), nil},
		{"quota:cpu_period", specInt, nil, "", i64(0), nil},
		{"quota:cpu_quota", specInt, nil, "", nil, nil},
		{"quota:disk_(read|write|total)_(bytes|iops)_sec", specInt, nil, "", i64(0), nil},
		{"quota:vif_(inbound|outbound)_(average|peak|burst)", specInt, nil, "", i64(0), nil},
		{"resources([a-zA-Z0-9_-]{1,64})?:[A-Z0-9_]+", specInt, nil, "", nil, nil},
		{"trait([a-zA-Z0-9_-]{1,64})?:[A-Z0-9_]+", specStr, []string{"required", "forbidden"}, "", nil, nil},
		{"accel:device_profile", specStr, nil, "", nil, nil},
		{"os:secure_boot", specStr, []string{"disabled", "required"}, "", nil, nil},
		{"os:resolution", specStr, []string{"1024x768", "1280x1024", "1600x1200", "1920x1200", "2560x1600", "3840x2160"}, "", nil, nil},
		{"os:monitors", specInt, nil, "", i64(1), i64(8)},
		{"os:vram", specStr, []string{"64", "128", "256", "512", "1024"}, "", nil, nil},
		{"hide_hypervisor_id", specBool, nil, "", nil, nil},
		{"group_policy", specStr, []string{"isolate", "none"}, "", nil, nil},
		{"pci_passthrough:alias", specStr, nil, `[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*`, nil, nil},
		{`capabilities:\w+(:\w+)*`, specStr, nil, "", nil, nil},
		{"aggregate_instance_extra_specs:.+", specStr, nil, "", nil, nil},
		{"vmware:hw_version", specStr, nil, "", nil, nil},
		{"vmware:storage_policy", specStr, nil, "", nil, nil},
	}
	out := make([]specRule, len(rows))
	for i, x := range rows {
		out[i] = specRule{name: regexp.MustCompile(`^(?:` + x.name + `)$`), kind: x.kind, enum: x.enum, pattern: x.pattern, min: x.min, max: x.max}
	}
	return out
}()

// specNamespaces are the namespaces nova knows: a key in one of them that
// no rule names is refused.
var specNamespaces = regexp.MustCompile(`^(?:hw|hw_rng|hw_video|quota|resources([a-zA-Z0-9_-]{1,64})?|trait([a-zA-Z0-9_-]{1,64})?|accel|os|pci_passthrough|capabilities|aggregate_instance_extra_specs|vmware)$`)

// validateExtraSpec is nova's validators.validate (2.86): "" or the 400's
// message.
func validateExtraSpec(name, value string) string {
	for _, rule := range specRules {
		if rule.name.MatchString(name) {
			return rule.check(value)
		}
	}
	ns, _, ok := strings.Cut(name, ":")
	if !ok || !specNamespaces.MatchString(ns) {
		return ""
	}
	return fmt.Sprintf("Validation failed; extra spec '%s' does not appear to be a valid extra spec.", name)
}

func (rule specRule) check(value string) string {
	switch rule.kind {
	case specInt:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return fmt.Sprintf("Validation failed; '%s' is not a valid integer value.", value)
		}
		if rule.max != nil && *rule.max < n {
			return fmt.Sprintf("Validation failed; '%s' is greater than the max value of '%d'.", value, *rule.max)
		}
		if rule.min != nil && *rule.min > n {
			return fmt.Sprintf("Validation failed; '%s' is less than the min value of '%d'.", value, *rule.min)
		}
	case specBool:
		if _, ok := strictBool(value); !ok {
			return fmt.Sprintf("Validation failed; '%s' is not a valid boolean-like value.", value)
		}
	default:
		if rule.pattern != "" {
			if !regexp.MustCompile(`^(?:` + rule.pattern + `)$`).MatchString(value) {
				return fmt.Sprintf("Validation failed; '%s' is not of the format '%s'.", value, rule.pattern)
			}
		} else if rule.enum != nil && !slices.Contains(rule.enum, value) {
			return fmt.Sprintf("Validation failed; '%s' is not one of: %s.", value, strings.Join(rule.enum, ", "))
		}
	}
	return ""
}
