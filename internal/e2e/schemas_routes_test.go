package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// schemaFixture is what the routes' preps share: the admin client and the
// servers the requests act on.
type schemaFixture struct {
	admin   apiClient
	server  string // ACTIVE, for metadata, tags, reboot, console, PUT
	actions string // moved between states by the power actions' preps
	project string // the admin's project (noauth2 admin:admin)
}

var schemaSeq atomic.Int64

// uniq is a name no earlier request of the test used.
func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, schemaSeq.Add(1)) }

// mustDo is an admin request of a prep that must succeed.
func (f *schemaFixture) mustDo(t *testing.T, c apiClient, method, path string, body, out any) {
	t.Helper()
	if _, err := c.do(method, path, body, out); err != nil {
		t.Fatalf("prep: %v", err)
	}
}

// newFlavor makes a flavor (private when asked) with extra spec
// hw:cpu_policy=shared and returns its id.
func (f *schemaFixture) newFlavor(t *testing.T, public bool) string {
	t.Helper()
	var out struct {
		Flavor struct {
			ID string `json:"id"`
		} `json:"flavor"`
	}
	f.mustDo(t, f.admin, http.MethodPost, "/v2.1/flavors", map[string]any{"flavor": map[string]any{
		"name": uniq("schema-flavor"), "ram": 64, "vcpus": 1, "disk": 1, "os-flavor-access:is_public": public}}, &out)
	f.mustDo(t, f.admin, http.MethodPost, "/v2.1/flavors/"+out.Flavor.ID+"/os-extra_specs",
		map[string]any{"extra_specs": map[string]any{"hw:cpu_policy": "shared"}}, nil)
	return out.Flavor.ID
}

// publicKey is a fresh ed25519 public key in authorized_keys form.
func publicKey() string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// keypairBody is a create body: a generated key up to 2.91, an imported
// one from 2.92 (where nova requires public_key).
func keypairBody(v microversion.Version) any {
	k := map[string]any{"name": uniq("schema-key")}
	if v.AtLeast(2, 92) {
		k["public_key"] = publicKey()
	}
	return map[string]any{"keypair": k}
}

func (f *schemaFixture) newKeypair(t *testing.T, c apiClient) string {
	t.Helper()
	v := microversion.MustParse(c.version)
	body := keypairBody(v)
	f.mustDo(t, c, http.MethodPost, "/v2.1/os-keypairs", body, nil)
	return body.(map[string]any)["keypair"].(map[string]any)["name"].(string)
}

func (f *schemaFixture) newAggregate(t *testing.T) string {
	t.Helper()
	var out struct {
		Aggregate struct {
			ID int `json:"id"`
		} `json:"aggregate"`
	}
	f.mustDo(t, f.admin, http.MethodPost, "/v2.1/os-aggregates",
		map[string]any{"aggregate": map[string]any{"name": uniq("schema-agg"), "availability_zone": nil}}, &out)
	return fmt.Sprint(out.Aggregate.ID)
}

func serverGroupBody(v microversion.Version) any {
	g := map[string]any{"name": uniq("schema-group")}
	if v.AtLeast(2, 64) {
		g["policy"] = "anti-affinity"
	} else {
		g["policies"] = []string{"anti-affinity"}
	}
	return map[string]any{"server_group": g}
}

func (f *schemaFixture) newServerGroup(t *testing.T, c apiClient) string {
	t.Helper()
	var out struct {
		Group struct {
			ID string `json:"id"`
		} `json:"server_group"`
	}
	f.mustDo(t, c, http.MethodPost, "/v2.1/os-server-groups", serverGroupBody(microversion.MustParse(c.version)), &out)
	return out.Group.ID
}

// settle waits until the server has status and no task.
func (f *schemaFixture) settle(t *testing.T, id, status string) {
	t.Helper()
	eventually(t, 30*time.Second, "server "+id+" "+status, func() error {
		var s struct {
			Server struct {
				Status string  `json:"status"`
				Task   *string `json:"OS-EXT-STS:task_state"`
			} `json:"server"`
		}
		if _, err := f.admin.do(http.MethodGet, "/v2.1/servers/"+id, nil, &s); err != nil {
			return err
		}
		if s.Server.Status == "ERROR" {
			t.Fatalf("server %s went to ERROR", id)
		}
		if s.Server.Status != status || s.Server.Task != nil {
			return fmt.Errorf("status %s task %v", s.Server.Status, s.Server.Task)
		}
		return nil
	})
}

// toState brings the actions server to status (through ACTIVE) and waits
// for it, so that each power action is requested where nova allows it.
func (f *schemaFixture) toState(t *testing.T, want string) {
	t.Helper()
	// The previous action first ends (its task cleared).
	var status string
	eventually(t, 30*time.Second, "server "+f.actions+" without a task", func() error {
		var s struct {
			Server struct {
				Status string  `json:"status"`
				Task   *string `json:"OS-EXT-STS:task_state"`
			} `json:"server"`
		}
		if _, err := f.admin.do(http.MethodGet, "/v2.1/servers/"+f.actions, nil, &s); err != nil {
			return err
		}
		if s.Server.Task != nil {
			return fmt.Errorf("task %s", *s.Server.Task)
		}
		status = s.Server.Status
		return nil
	})
	if status == want {
		return
	}
	back := map[string]string{"SHUTOFF": "os-start", "PAUSED": "unpause", "SUSPENDED": "resume"}
	if a, ok := back[status]; ok {
		f.mustDo(t, f.admin, http.MethodPost, "/v2.1/servers/"+f.actions+"/action", map[string]any{a: nil}, nil)
		f.settle(t, f.actions, "ACTIVE")
	}
	to := map[string]string{"SHUTOFF": "os-stop", "PAUSED": "pause", "SUSPENDED": "suspend"}
	if a, ok := to[want]; ok {
		f.mustDo(t, f.admin, http.MethodPost, "/v2.1/servers/"+f.actions+"/action", map[string]any{a: nil}, nil)
	}
	f.settle(t, f.actions, want)
}

// powerAction is the route of one power action of the actions server,
// requested from the state nova allows it in.
func powerAction(action, from string) schemaRoute {
	return schemaRoute{method: "POST", path: "/v2.1/servers/{actions}/action", schema: "servers.server_actions_common_schema",
		body: bodyOf(map[string]any{action: nil}),
		prep: func(t *testing.T, f *schemaFixture, _ apiClient) map[string]string {
			f.toState(t, from)
			return nil
		}}
}

func prepFlavor(public bool) func(*testing.T, *schemaFixture, apiClient) map[string]string {
	return func(t *testing.T, f *schemaFixture, _ apiClient) map[string]string {
		return map[string]string{"{flavor}": f.newFlavor(t, public)}
	}
}

func prepKeypair(t *testing.T, f *schemaFixture, c apiClient) map[string]string {
	return map[string]string{"{keypair}": f.newKeypair(t, c)}
}

func prepAggregate(t *testing.T, f *schemaFixture, _ apiClient) map[string]string {
	return map[string]string{"{aggregate}": f.newAggregate(t)}
}

// prepAggregateWithHost is an aggregate holding the compute host.
func prepAggregateWithHost(t *testing.T, f *schemaFixture, _ apiClient) map[string]string {
	id := f.newAggregate(t)
	f.mustDo(t, f.admin, http.MethodPost, "/v2.1/os-aggregates/"+id+"/action",
		map[string]any{"add_host": map[string]any{"host": "schema-compute"}}, nil)
	return map[string]string{"{aggregate}": id}
}

func prepServerGroup(t *testing.T, f *schemaFixture, c apiClient) map[string]string {
	return map[string]string{"{group}": f.newServerGroup(t, c)}
}

// prepMetadataItem sets metadata key k on the server (for show and delete).
func prepMetadataItem(t *testing.T, f *schemaFixture, _ apiClient) map[string]string {
	f.mustDo(t, f.admin, http.MethodPut, "/v2.1/servers/"+f.server+"/metadata/k", map[string]any{"meta": map[string]any{"k": "v"}}, nil)
	return nil
}

// prepTag puts tag t1 on the server (for check and delete).
func prepTag(t *testing.T, f *schemaFixture, c apiClient) map[string]string {
	f.mustDo(t, c, http.MethodPut, "/v2.1/servers/"+f.server+"/tags/t1", nil, nil)
	return nil
}

// prepRebuild waits for the server to be ACTIVE again after the previous
// rebuild.
func prepRebuild(t *testing.T, f *schemaFixture, _ apiClient) map[string]string {
	f.settle(t, f.server, "ACTIVE")
	return nil
}

// prepInstanceAction is the request id of the server's create action.
func prepInstanceAction(t *testing.T, f *schemaFixture, c apiClient) map[string]string {
	var out struct {
		Actions []struct {
			RequestID string `json:"request_id"`
		} `json:"instanceActions"`
	}
	f.mustDo(t, c, http.MethodGet, "/v2.1/servers/"+f.server+"/os-instance-actions", nil, &out)
	if len(out.Actions) == 0 {
		t.Fatalf("server %s has no instance actions", f.server)
	}
	return map[string]string{"{request}": out.Actions[len(out.Actions)-1].RequestID}
}

func prepProject(_ *testing.T, f *schemaFixture, _ apiClient) map[string]string {
	return map[string]string{"{project}": f.project}
}

const (
	keypairsClient     = "keypairs_client.KeyPairsClient"
	aggregatesClient   = "aggregates_client.AggregatesClient"
	limitsClient       = "limits_client.LimitsClient"
	quotasClient       = "quotas_client.QuotasClient"
	quotaClassesClient = "quota_classes_client.QuotaClassesClient"
	serverGroupsClient = "server_groups_client.ServerGroupsClient"
)

// hostsKnownDifference: nova's compute drivers but the fake one (libvirt,
// the one nova deploys, included) have no host power action nor host
// enable: the base driver's NotImplementedError is nova-api's 501, which
// gonova answers too; tempest's schemas, written against the fake driver,
// want 200.
const hostsKnownDifference = "known difference (nova with libvirt answers 501 as gonova does; tempest's schema wants the fake driver's 200)"

// servedSchemaRoutes are the routes of flavors' writes, extra specs and
// access, key pairs, server metadata and tags, hypervisors' later routes,
// availability zones, aggregates, os-hosts, limits, quotas, tenant usage,
// server groups, server actions, rebuild, update and instance actions.
var servedSchemaRoutes = []schemaRoute{
	// Flavors.
	{method: "POST", path: "/v2.1/flavors", schema: "flavors.create_update_get_flavor_details", client: flavorsClient,
		body: func(microversion.Version) any {
			return map[string]any{"flavor": map[string]any{"name": uniq("schema-flavor"), "ram": 64, "vcpus": 1, "disk": 1}}
		}},
	{method: "PUT", path: "/v2.1/flavors/{flavor}", schema: "flavors.create_update_get_flavor_details", client: flavorsClient, min: "2.55",
		body: bodyOf(map[string]any{"flavor": map[string]any{"description": "schema test"}}), prep: prepFlavor(true)},
	{method: "DELETE", path: "/v2.1/flavors/{flavor}", schema: "flavors.delete_flavor", client: flavorsClient, prep: prepFlavor(true)},
	{method: "GET", path: "/v2.1/flavors/{flavor}/os-extra_specs", schema: "flavors_extra_specs.set_get_flavor_extra_specs", prep: prepFlavor(true)},
	{method: "POST", path: "/v2.1/flavors/{flavor}/os-extra_specs", schema: "flavors_extra_specs.set_get_flavor_extra_specs", prep: prepFlavor(true),
		body: bodyOf(map[string]any{"extra_specs": map[string]any{"hw:numa_nodes": "1"}})},
	{method: "GET", path: "/v2.1/flavors/{flavor}/os-extra_specs/hw:cpu_policy", schema: "flavors_extra_specs.set_get_flavor_extra_specs_key", prep: prepFlavor(true)},
	{method: "PUT", path: "/v2.1/flavors/{flavor}/os-extra_specs/hw:cpu_policy", schema: "flavors_extra_specs.set_get_flavor_extra_specs_key", prep: prepFlavor(true),
		body: bodyOf(map[string]any{"hw:cpu_policy": "dedicated"})},
	{method: "DELETE", path: "/v2.1/flavors/{flavor}/os-extra_specs/hw:cpu_policy", schema: "flavors_extra_specs.unset_flavor_extra_specs", prep: prepFlavor(true)},
	{method: "GET", path: "/v2.1/flavors/{flavor}/os-flavor-access", schema: "flavors_access.add_remove_list_flavor_access", prep: prepFlavor(false)},
	{method: "POST", path: "/v2.1/flavors/{flavor}/action", schema: "flavors_access.add_remove_list_flavor_access", prep: prepFlavor(false),
		body: bodyOf(map[string]any{"addTenantAccess": map[string]any{"tenant": "schema-project"}})},
	{method: "POST", path: "/v2.1/flavors/{flavor}/action", schema: "flavors_access.add_remove_list_flavor_access",
		body: bodyOf(map[string]any{"removeTenantAccess": map[string]any{"tenant": "schema-project"}}),
		prep: func(t *testing.T, f *schemaFixture, c apiClient) map[string]string {
			id := f.newFlavor(t, false)
			f.mustDo(t, f.admin, http.MethodPost, "/v2.1/flavors/"+id+"/action", map[string]any{"addTenantAccess": map[string]any{"tenant": "schema-project"}}, nil)
			return map[string]string{"{flavor}": id}
		}},

	// Key pairs.
	{method: "POST", path: "/v2.1/os-keypairs", schema: "keypairs.create_keypair", client: keypairsClient, body: keypairBody},
	{method: "GET", path: "/v2.1/os-keypairs", schema: "keypairs.list_keypairs", client: keypairsClient, prep: prepKeypair},
	{method: "GET", path: "/v2.1/os-keypairs/{keypair}", schema: "keypairs.get_keypair", client: keypairsClient, prep: prepKeypair},
	{method: "DELETE", path: "/v2.1/os-keypairs/{keypair}", schema: "keypairs.delete_keypair", client: keypairsClient, prep: prepKeypair},

	// Server metadata.
	{method: "GET", path: "/v2.1/servers/{server}/metadata", schema: "servers.list_server_metadata", client: serversClient},
	{method: "PUT", path: "/v2.1/servers/{server}/metadata", schema: "servers.set_server_metadata", client: serversClient,
		body: bodyOf(map[string]any{"metadata": map[string]any{"a": "1"}})},
	{method: "POST", path: "/v2.1/servers/{server}/metadata", schema: "servers.update_server_metadata", client: serversClient,
		body: bodyOf(map[string]any{"metadata": map[string]any{"b": "2"}})},
	{method: "PUT", path: "/v2.1/servers/{server}/metadata/k", schema: "servers.set_show_server_metadata_item", client: serversClient,
		body: bodyOf(map[string]any{"meta": map[string]any{"k": "v"}})},
	{method: "GET", path: "/v2.1/servers/{server}/metadata/k", schema: "servers.set_show_server_metadata_item", client: serversClient, prep: prepMetadataItem},
	{method: "DELETE", path: "/v2.1/servers/{server}/metadata/k", schema: "servers.delete_server_metadata_item", client: serversClient, prep: prepMetadataItem},

	// Server tags (2.26).
	{method: "PUT", path: "/v2.1/servers/{server}/tags", schema: "servers.update_all_tags", client: serversClient, min: "2.26",
		body: bodyOf(map[string]any{"tags": []string{"t1", "t2"}})},
	{method: "GET", path: "/v2.1/servers/{server}/tags", schema: "servers.list_tags", client: serversClient, min: "2.26", prep: prepTag},
	{method: "GET", path: "/v2.1/servers/{server}/tags/t1", schema: "servers.check_tag_existence", client: serversClient, min: "2.26", prep: prepTag},
	// A new tag each time: nova answers 201 with a Location for a new tag
	// (what tempest's schema wants) and 204 without one for a present tag.
	{method: "PUT", path: "/v2.1/servers/{server}/tags/{tag}", schema: "servers.update_tag", client: serversClient, min: "2.26",
		prep: func(*testing.T, *schemaFixture, apiClient) map[string]string {
			return map[string]string{"{tag}": uniq("tag")}
		}},
	{method: "DELETE", path: "/v2.1/servers/{server}/tags/t1", schema: "servers.delete_tag", client: serversClient, min: "2.26", prep: prepTag},
	{method: "DELETE", path: "/v2.1/servers/{server}/tags", schema: "servers.delete_all_tags", client: serversClient, min: "2.26"},

	// Hypervisors' later routes.
	{method: "GET", path: "/v2.1/os-hypervisors/statistics", schema: "hypervisors.get_hypervisor_statistics", client: hypervisorClient, max: "2.87"},
	{method: "GET", path: "/v2.1/os-hypervisors/{hypervisor}/uptime", schema: "hypervisors.get_hypervisor_uptime", client: hypervisorClient, max: "2.87"},
	{method: "GET", path: "/v2.1/os-hypervisors/schema-compute/servers", schema: "hypervisors.get_hypervisors_servers", client: hypervisorClient, max: "2.52"},
	{method: "GET", path: "/v2.1/os-hypervisors/schema-compute/search", schema: "hypervisors.list_search_hypervisors", client: hypervisorClient, max: "2.52"},
	{method: "GET", path: "/v2.1/os-hypervisors?hypervisor_hostname_pattern=schema-compute&with_servers=true", schema: "hypervisors.list_search_hypervisors",
		client: hypervisorClient, min: "2.53"},

	// Availability zones.
	{method: "GET", path: "/v2.1/os-availability-zone", schema: "availability_zone.list_availability_zone_list"},
	{method: "GET", path: "/v2.1/os-availability-zone/detail", schema: "availability_zone.list_availability_zone_list_detail"},

	// Aggregates.
	{method: "POST", path: "/v2.1/os-aggregates", schema: "aggregates.create_aggregate", client: aggregatesClient,
		body: func(microversion.Version) any {
			return map[string]any{"aggregate": map[string]any{"name": uniq("schema-agg"), "availability_zone": "schema-az"}}
		}},
	{method: "GET", path: "/v2.1/os-aggregates", schema: "aggregates.list_aggregates", client: aggregatesClient, prep: prepAggregateWithHost},
	{method: "GET", path: "/v2.1/os-aggregates/{aggregate}", schema: "aggregates.get_aggregate", client: aggregatesClient, prep: prepAggregateWithHost},
	{method: "PUT", path: "/v2.1/os-aggregates/{aggregate}", schema: "aggregates.update_aggregate", client: aggregatesClient, prep: prepAggregate,
		body: func(microversion.Version) any {
			return map[string]any{"aggregate": map[string]any{"name": uniq("schema-agg")}}
		}},
	{method: "DELETE", path: "/v2.1/os-aggregates/{aggregate}", schema: "aggregates.delete_aggregate", client: aggregatesClient, prep: prepAggregate},
	{method: "POST", path: "/v2.1/os-aggregates/{aggregate}/action", schema: "aggregates.aggregate_add_remove_host", client: aggregatesClient, prep: prepAggregate,
		body: bodyOf(map[string]any{"add_host": map[string]any{"host": "schema-compute"}})},
	{method: "POST", path: "/v2.1/os-aggregates/{aggregate}/action", schema: "aggregates.aggregate_add_remove_host", client: aggregatesClient, prep: prepAggregateWithHost,
		body: bodyOf(map[string]any{"remove_host": map[string]any{"host": "schema-compute"}})},
	{method: "POST", path: "/v2.1/os-aggregates/{aggregate}/action", schema: "aggregates.aggregate_set_metadata", client: aggregatesClient, prep: prepAggregate,
		body: bodyOf(map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"k": "v"}}})},

	// os-hosts (until 2.42).
	{method: "GET", path: "/v2.1/os-hosts", schema: "hosts.list_hosts", max: "2.42"},
	{method: "GET", path: "/v2.1/os-hosts/schema-compute", schema: "hosts.get_host_detail", max: "2.42"},
	{method: "PUT", path: "/v2.1/os-hosts/schema-compute", schema: "hosts.update_host", max: "2.42",
		body: bodyOf(map[string]any{"status": "enable"}), pending: hostsKnownDifference},
	{method: "GET", path: "/v2.1/os-hosts/schema-compute/startup", schema: "hosts.startup_host", max: "2.42", pending: hostsKnownDifference},
	{method: "GET", path: "/v2.1/os-hosts/schema-compute/shutdown", schema: "hosts.shutdown_host", max: "2.42", pending: hostsKnownDifference},
	{method: "GET", path: "/v2.1/os-hosts/schema-compute/reboot", schema: "hosts.reboot_host", max: "2.42", pending: hostsKnownDifference},

	// Limits, quotas, quota classes, tenant usage.
	{method: "GET", path: "/v2.1/limits", schema: "limits.get_limit", client: limitsClient},
	{method: "GET", path: "/v2.1/os-quota-sets/{project}", schema: "quotas.get_quota_set", client: quotasClient, prep: prepProject},
	{method: "GET", path: "/v2.1/os-quota-sets/{project}/defaults", schema: "quotas.get_quota_set", client: quotasClient, prep: prepProject},
	{method: "GET", path: "/v2.1/os-quota-sets/{project}/detail", schema: "quotas.get_quota_set_details", client: quotasClient, prep: prepProject},
	{method: "PUT", path: "/v2.1/os-quota-sets/{project}", schema: "quotas.update_quota_set", client: quotasClient, prep: prepProject,
		body: bodyOf(map[string]any{"quota_set": map[string]any{"instances": 50}})},
	{method: "DELETE", path: "/v2.1/os-quota-sets/{project}", schema: "quotas.delete_quota", client: quotasClient, prep: prepProject},
	{method: "GET", path: "/v2.1/os-quota-class-sets/default", schema: "quota_classes.get_quota_class_set", client: quotaClassesClient},
	{method: "PUT", path: "/v2.1/os-quota-class-sets/default", schema: "quota_classes.update_quota_class_set", client: quotaClassesClient,
		body: bodyOf(map[string]any{"quota_class_set": map[string]any{"instances": 10}})},
	{method: "GET", path: "/v2.1/os-simple-tenant-usage?detailed=1", schema: "tenant_usages.list_tenant_usage"},
	{method: "GET", path: "/v2.1/os-simple-tenant-usage/{project}", schema: "tenant_usages.get_tenant_usage", prep: prepProject},

	// Server groups.
	{method: "POST", path: "/v2.1/os-server-groups", schema: "server_groups.create_show_server_group", client: serverGroupsClient,
		body: serverGroupBody},
	{method: "GET", path: "/v2.1/os-server-groups", schema: "server_groups.list_server_groups", client: serverGroupsClient, prep: prepServerGroup},
	{method: "GET", path: "/v2.1/os-server-groups/{group}", schema: "server_groups.create_show_server_group", client: serverGroupsClient, prep: prepServerGroup},
	{method: "DELETE", path: "/v2.1/os-server-groups/{group}", schema: "server_groups.delete_server_group", client: serverGroupsClient, prep: prepServerGroup},

	// Server actions.
	powerAction("os-stop", "ACTIVE"),
	powerAction("os-start", "SHUTOFF"),
	powerAction("pause", "ACTIVE"),
	powerAction("unpause", "PAUSED"),
	powerAction("suspend", "ACTIVE"),
	powerAction("resume", "SUSPENDED"),
	powerAction("lock", "ACTIVE"),
	powerAction("unlock", "ACTIVE"),
	// Resize (m1.tiny to m1.small) of a fresh server each time, then
	// confirm and revert of one waiting in VERIFY_RESIZE.
	{method: "POST", path: "/v2.1/servers/{resize}/action", schema: "servers.server_actions_common_schema", prep: prepResize(false),
		body: bodyOf(map[string]any{"resize": map[string]any{"flavorRef": "2"}})},
	{method: "POST", path: "/v2.1/servers/{resize}/action", schema: "servers.server_actions_confirm_resize", prep: prepResize(true),
		body: bodyOf(map[string]any{"confirmResize": nil})},
	{method: "POST", path: "/v2.1/servers/{resize}/action", schema: "servers.server_actions_common_schema", prep: prepResize(true),
		body: bodyOf(map[string]any{"revertResize": nil})},
	{method: "POST", path: "/v2.1/servers/{server}/action", schema: "servers.rebuild_server_with_admin_pass", client: serversClient, prep: prepRebuild,
		body: bodyOf(map[string]any{"rebuild": map[string]any{"imageRef": "70a599e0-31e7-49b7-b260-868f441e862b"}})},
	{method: "PUT", path: "/v2.1/servers/{server}", schema: "servers.update_server", client: serversClient, prep: prepRebuild,
		body: bodyOf(map[string]any{"server": map[string]any{"name": "schema-renamed"}})},
	{method: "GET", path: "/v2.1/servers/{server}/os-instance-actions", schema: "servers.list_instance_actions", client: serversClient},
	{method: "GET", path: "/v2.1/servers/{server}/os-instance-actions/{request}", schema: "servers.show_instance_action", client: serversClient,
		prep: prepInstanceAction},
}

// prepResize makes an ACTIVE m1.tiny server for {resize}; resized, it is
// then resized to m1.small and waits in VERIFY_RESIZE.
func prepResize(resized bool) func(t *testing.T, f *schemaFixture, c apiClient) map[string]string {
	return func(t *testing.T, f *schemaFixture, _ apiClient) map[string]string {
		id := createServer(t, f.admin, uniq("schema-resize"))
		f.settle(t, id, "ACTIVE")
		if resized {
			f.mustDo(t, f.admin, http.MethodPost, "/v2.1/servers/"+id+"/action", map[string]any{"resize": map[string]any{"flavorRef": "2"}}, nil)
			f.settle(t, id, "VERIFY_RESIZE")
		}
		return map[string]string{"{resize}": id}
	}
}
