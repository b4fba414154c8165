package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// TestOpenStackClientQuotasLimitsUsageServerGroups runs Debian's openstack
// client (OSC 6.0, at its default microversion, 2.15 and 2.50/2.53: the
// binary serves up to 2.53) through the quota, limits, usage and server
// group commands against nova-api (auth_strategy = keystone): each must
// exit 0 and show what gonova stored.
func TestOpenStackClientQuotasLimitsUsageServerGroups(t *testing.T) {
	testenv.RequireCommand(t, openstackCLI, oscHint)
	k := testenv.Keystone(t)
	d := newDeployment(t)
	apiAddr := freeAddr(t)
	host, port := splitHostPort(t, apiAddr)
	api := start(t, "nova-api", "nova-api", writeConf(t, "api.conf", map[string]map[string]string{
		"DEFAULT": {"host": "api-host", "transport_url": d.rabbit, "control_exchange": d.exchange,
			"osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1",
			"report_interval": "1", "rpc_response_timeout": "10", "graceful_shutdown_timeout": "20"},
		"api":      {"auth_strategy": "keystone"},
		"database": {"connection": d.dbURL},
		"quota":    {"server_groups": "3"},
		"keystone_authtoken": {"www_authenticate_uri": k.AuthURL, "auth_url": k.AuthURL, "auth_type": "password",
			"username": k.ServiceUser, "password": k.ServicePassword, "project_name": k.ServiceProject,
			"user_domain_name": "Default", "project_domain_name": "Default", "region_name": k.Region, "interface": "public"},
	}))
	waitHealthy(t, api, "http://"+apiAddr, 30*time.Second)
	region := registerCatalog(t, k, "http://"+apiAddr+"/v2.1", testenv.Glance(t).URL)
	user := k.NewUser(t, "member")
	env := oscEnv(t, k, user.Name, user.Password, user.ProjectName, region)
	adminEnv := oscEnv(t, k, k.AdminUser, k.AdminPassword, k.AdminProject, region)

	// quota show (the defaults, server_groups from the conf), quota set as
	// the admin, quota show again, --default, --class, list --compute.
	var q map[string]any
	oscJSON(t, env, &q, "quota", "show", user.ProjectID)
	if q["instances"] != 10.0 || q["cores"] != 20.0 || q["ram"] != 51200.0 || q["server-groups"] != 3.0 {
		t.Errorf("quota show: %v", q)
	}
	osc(t, adminEnv, "quota", "set", "--instances", "4", "--cores", "9", user.ProjectID)
	oscJSON(t, env, &q, "quota", "show", user.ProjectID)
	if q["instances"] != 4.0 || q["cores"] != 9.0 {
		t.Errorf("quota show after set: %v", q)
	}
	oscJSON(t, env, &q, "quota", "show", "--default", user.ProjectID)
	if q["instances"] != 10.0 {
		t.Errorf("quota show --default: %v", q)
	}
	oscJSON(t, adminEnv, &q, "--os-compute-api-version", "2.50", "quota", "show", "--class", "default")
	if q["instances"] != 10.0 || q["server-groups"] != 3.0 {
		t.Errorf("quota show --class default: %v", q)
	}
	var quotas []map[string]any
	oscJSON(t, adminEnv, &quotas, "quota", "list", "--compute", "--project", user.ProjectID)
	if len(quotas) != 1 || quotas[0]["Instances"] != 4.0 || quotas[0]["Cores"] != 9.0 || quotas[0]["Server Groups"] != 3.0 {
		t.Errorf("quota list --compute: %v", quotas)
	}

	// limits show --absolute.
	var limits []map[string]any
	oscJSON(t, env, &limits, "limits", "show", "--absolute")
	got := map[string]any{}
	for _, l := range limits {
		got[fmt.Sprint(l["Name"])] = l["Value"]
	}
	if got["maxTotalInstances"] != 4.0 || got["maxTotalCores"] != 9.0 || got["totalInstancesUsed"] != 0.0 {
		t.Errorf("limits show --absolute: %v", limits)
	}

	// server group create (2.1 and 2.15), list, show, delete.
	var g map[string]any
	oscJSON(t, env, &g, "server", "group", "create", "--policy", "anti-affinity", "osc-g1")
	id, _ := g["id"].(string)
	if id == "" || g["name"] != "osc-g1" {
		t.Fatalf("server group create: %v", g)
	}
	oscJSON(t, env, &g, "--os-compute-api-version", "2.15", "server", "group", "create", "--policy", "soft-affinity", "osc-g2")
	var groups []map[string]any
	oscJSON(t, env, &groups, "server", "group", "list")
	if len(groups) != 2 {
		t.Errorf("server group list: %v", groups)
	}
	oscJSON(t, env, &g, "--os-compute-api-version", "2.53", "server", "group", "show", id)
	if g["id"] != id {
		t.Errorf("server group show: %v", g)
	}
	osc(t, env, "server", "group", "delete", id)
	oscJSON(t, env, &groups, "server", "group", "list")
	if len(groups) != 1 {
		t.Errorf("server group list after delete: %v", groups)
	}

	// usage list (admin) and usage show (the project's own).
	var usages []map[string]any
	oscJSON(t, adminEnv, &usages, "usage", "list")
	var u map[string]any
	oscJSON(t, env, &u, "usage", "show", "--project", user.ProjectID)
}
