package api

import (
	"slices"
	"strings"
	"testing"
)

func TestQuotaClassSets(t *testing.T) {
	runBoth293(t, func(t *testing.T, e *env) {
		r := e.do("GET", "/v2.1/os-quota-class-sets/default", admin, "2.1", nil)
		r.want(t, 200)
		qc := obj(t, r.Body["quota_class_set"])
		if got := sortedKeysOf(qc); !slices.Equal(got, without(allQuotaKeys, "server_groups", "server_group_members")) {
			t.Errorf("2.1 keys %v", got)
		}
		if qc["id"] != "default" || qc["instances"] != 10.0 {
			t.Errorf("2.1 %s", r.Raw)
		}
		qc = obj(t, e.do("GET", "/v2.1/os-quota-class-sets/default", admin, "2.50", nil).Body["quota_class_set"])
		if got := sortedKeysOf(qc); !slices.Equal(got, without(allQuotaKeys, "fixed_ips", "floating_ips", "security_group_rules", "security_groups")) {
			t.Errorf("2.50 keys %v", got)
		}
		e.do("GET", "/v2.1/os-quota-class-sets/default", alice, "", nil).want(t, 403)
		e.do("PUT", "/v2.1/os-quota-class-sets/default", alice, "", map[string]any{"quota_class_set": map[string]any{"instances": 1}}).want(t, 403)
		e.do("PUT", "/v2.1/os-quota-class-sets/default", admin, "2.50", map[string]any{"quota_class_set": map[string]any{"fixed_ips": 1}}).want(t, 400)
		e.do("PUT", "/v2.1/os-quota-class-sets/"+strings.Repeat("c", 256), admin, "", map[string]any{"quota_class_set": map[string]any{"instances": 1}}).wantFault(t, 400,
			"quota_class_name has 256 characters, more than 255.")

		// The class "default" replaces [quota]'s defaults everywhere: shown,
		// and enforced at create.
		r = e.do("PUT", "/v2.1/os-quota-class-sets/default", admin, "", map[string]any{"quota_class_set": map[string]any{"instances": 1}})
		r.want(t, 200)
		if qc := obj(t, r.Body["quota_class_set"]); qc["instances"] != 1.0 || qc["id"] != nil {
			t.Errorf("update %s", r.Raw)
		}
		if qs := obj(t, e.do("GET", "/v2.1/os-quota-sets/proj-a/defaults", alice, "", nil).Body["quota_set"]); qs["instances"] != 1.0 {
			t.Errorf("defaults after the class update %v", qs)
		}
		if qs := obj(t, e.do("GET", "/v2.1/os-quota-sets/proj-a", alice, "", nil).Body["quota_set"]); qs["instances"] != 1.0 {
			t.Errorf("show after the class update %v", qs)
		}
		e.addNode("h1", 64, 1<<20, 1000)
		e.do("POST", "/v2.1/servers", alice, "", bootBody("a", "1")).want(t, 202)
		e.do("POST", "/v2.1/servers", alice, "", bootBody("b", "1")).wantFault(t, 403,
			"Quota exceeded for instances: Requested 1, but already used 1 of 1 instances")
		// Another class: its own limits over the defaults.
		r = e.do("PUT", "/v2.1/os-quota-class-sets/gold", admin, "", map[string]any{"quota_class_set": map[string]any{"cores": "40", "networks": 3}})
		r.want(t, 200)
		if qc := obj(t, r.Body["quota_class_set"]); qc["cores"] != 40.0 || qc["instances"] != 1.0 {
			t.Errorf("gold %s", r.Raw)
		}
	})
}
