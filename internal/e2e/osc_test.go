package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/endpoints"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/regions"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/services"

	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// Debian's OpenStack clients, which run on Debian's python3.
const (
	openstackCLI = "/usr/bin/openstack"
	oscHint      = "run scripts/services.sh (apt-get install python3-openstackclient python3-novaclient)"
)

// oscEnv is the environment an operator's openrc sets: a password login at
// Keystone, and the catalog's compute endpoint of region. Everything else
// of the caller's environment named OS_* is dropped, and HOME is a fresh
// directory so no clouds.yaml or cache of the machine's counts.
func oscEnv(t *testing.T, k testenv.KeystoneEnv, user, password, project, region string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+t.TempDir(),
		"OS_AUTH_URL="+k.AuthURL, "OS_AUTH_TYPE=password", "OS_IDENTITY_API_VERSION=3",
		"OS_USERNAME="+user, "OS_PASSWORD="+password, "OS_PROJECT_NAME="+project,
		"OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default",
		"OS_REGION_NAME="+region, "OS_INTERFACE=public")
}

// osc runs the openstack client with env and args; a non-zero exit fails
// the test with the client's output.
func osc(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openstackCLI, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("openstack %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.Bytes(), tail(stderr.String(), 80))
	}
	t.Logf("openstack %s:\n%s", strings.Join(args, " "), stdout.Bytes())
	return stdout.Bytes()
}

// oscJSON runs osc with -f json and decodes its output into out.
func oscJSON(t *testing.T, env []string, out any, args ...string) {
	t.Helper()
	b := osc(t, env, append(args, "-f", "json")...)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("openstack %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, b)
	}
}

// oscFails runs the openstack client, which must exit non-zero, and
// returns its standard error.
func oscFails(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openstackCLI, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("openstack %s succeeded, want a failure", strings.Join(args, " "))
	}
	t.Logf("openstack %s (fails, as expected): %s", strings.Join(args, " "), stderr.Bytes())
	return stderr.String()
}

// novaServer is what testdata/novaclient/create_server.py prints.
type novaServer struct {
	ID, Name, Status, Endpoint string
	APIVersion                 string `json:"api_version"`
}

// novaclientCreate creates a server with python-novaclient (flavor 1,
// image imageID) at microversion.
func novaclientCreate(t *testing.T, env []string, name, imageID, microversion string) novaServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	py := exec.CommandContext(ctx, testenv.PythonPath, "testdata/novaclient/create_server.py", name, imageID, "1", microversion)
	py.Env = env
	var stderr bytes.Buffer
	py.Stderr = &stderr
	out, err := py.Output()
	if err != nil {
		t.Fatalf("novaclient create: %v\n%s", err, tail(stderr.String(), 60))
	}
	var s novaServer
	if err := json.Unmarshal(out, &s); err != nil || s.ID == "" {
		t.Fatalf("novaclient create printed %q (%v)", out, err)
	}
	t.Logf("novaclient created %+v", s)
	return s
}

// registerCatalog adds, as the admin, a region of the test's own with a
// public compute endpoint at computeURL, a public image endpoint at
// glanceURL and Keystone's own (the catalog's compute, image and identity
// services exist already: scripts/services.sh registers them), so that
// clients given that region find this nova-api, OSC the real Glance (its
// server commands build an image client, and resolve --image there) and
// Keystone (--project and --user are looked up there).
//
// Everything is deleted when the test ends. It returns the region.
func registerCatalog(t *testing.T, k testenv.KeystoneEnv, computeURL, glanceURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc := k.Admin(t)
	serviceID := func(typ string) string {
		pages, err := services.List(sc, services.ListOpts{ServiceType: typ}).AllPages(ctx)
		if err != nil {
			t.Fatalf("keystone: list services: %v", err)
		}
		svcs, err := services.ExtractServices(pages)
		if err != nil || len(svcs) == 0 {
			t.Fatalf("keystone: no %s service in the catalog (%v); scripts/services.sh registers it", typ, err)
		}
		return svcs[0].ID
	}
	region, err := regions.Create(ctx, sc, regions.CreateOpts{ID: testenv.UniqueName("gonova-osc-"), Description: "gonova e2e " + t.Name()}).Extract()
	if err != nil {
		t.Fatalf("keystone: create region: %v", err)
	}
	t.Cleanup(func() { _ = regions.Delete(context.Background(), sc, region.ID).ExtractErr() })
	// Cleanups run last-in first-out: endpoints go before their region.
	for svc, url := range map[string]string{serviceID("compute"): computeURL, serviceID("image"): glanceURL, serviceID("identity"): k.AuthURL} {
		ep, err := endpoints.Create(ctx, sc, endpoints.CreateOpts{
			Availability: gophercloud.AvailabilityPublic, Region: region.ID, URL: url, ServiceID: svc,
		}).Extract()
		if err != nil {
			t.Fatalf("keystone: create endpoint: %v", err)
		}
		t.Cleanup(func() { _ = endpoints.Delete(context.Background(), sc, ep.ID).ExtractErr() })
	}
	return region.ID
}

// Debian's openstack client (OSC) and python-novaclient against gonova's
// nova-api (auth_strategy = keystone) and a nova-compute on the real
// Postgres and RabbitMQ: both log in with a password at the real Keystone
// and find this nova-api through its catalog. novaclient creates a server
// (osc_suite_test.go has OSC's own server create); OSC lists the compute
// services, lists, shows and deletes the server, whose image is in the
// real Glance (nova-api checks it there, found in the user's catalog).
func TestOpenStackClientAgainstNovaAPI(t *testing.T) {
	testenv.RequireCommand(t, openstackCLI, oscHint)
	testenv.RequirePython(t, "novaclient", "python3-novaclient")
	g := testenv.Glance(t)
	k := g.Keystone
	d := newDeployment(t)
	compute := d.startCompute(t, "osc-compute")
	apiAddr := freeAddr(t)
	host, port := splitHostPort(t, apiAddr)
	api := start(t, "nova-api", "nova-api", writeConf(t, "api.conf", map[string]map[string]string{
		"DEFAULT": {"host": "api-host", "transport_url": d.rabbit, "control_exchange": d.exchange,
			"osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1",
			"report_interval": "1", "rpc_response_timeout": "10", "graceful_shutdown_timeout": "20"},
		"api":      {"auth_strategy": "keystone"},
		"database": {"connection": d.dbURL},
		"keystone_authtoken": {"www_authenticate_uri": k.AuthURL, "auth_url": k.AuthURL, "auth_type": "password",
			"username": k.ServiceUser, "password": k.ServicePassword, "project_name": k.ServiceProject,
			"user_domain_name": "Default", "project_domain_name": "Default", "region_name": k.Region, "interface": "public"},
	}))
	waitHealthy(t, compute.proc, compute.health, 30*time.Second)
	waitHealthy(t, api, "http://"+apiAddr, 30*time.Second)
	region := registerCatalog(t, k, "http://"+apiAddr+"/v2.1", g.URL)
	user := k.NewUser(t, "member")
	userToken, _ := k.Token(t, user.Name, user.Password, user.ProjectName)
	img := g.UploadImage(t, userToken, testenv.ImageOptions{})
	env := oscEnv(t, k, user.Name, user.Password, user.ProjectName, region)
	adminEnv := oscEnv(t, k, k.AdminUser, k.AdminPassword, k.AdminProject, region)

	// compute service list (admin only in nova's policy): the compute is up
	// and has heartbeated.
	var svcs []map[string]any
	eventually(t, 15*time.Second, "nova-compute up", func() error {
		oscJSON(t, adminEnv, &svcs, "compute", "service", "list")
		for _, s := range svcs {
			if s["Binary"] == "nova-compute" && s["Host"] == "osc-compute" && s["State"] == "up" && s["Status"] == "enabled" && s["Updated At"] != nil {
				return nil
			}
		}
		return fmt.Errorf("services %v", svcs)
	})
	// OSC runs this command through openstacksdk, which negotiates the
	// newest microversion from nova-api's version document: from 2.53 the
	// service ids are UUIDs.
	if id, _ := svcs[0]["ID"].(string); len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Errorf("compute service list: ID %v is not a UUID: microversion 2.53 was not negotiated", svcs[0]["ID"])
	}

	// The newest microversion this nova-api serves, from its version
	// document (what novaclient's negotiation reads).
	var versions struct {
		Version struct{ Version, MinVersion string } `json:"version"`
	}
	if _, err := (apiClient{base: "http://" + apiAddr}).do(http.MethodGet, "/v2.1/", nil, &versions); err != nil || versions.Version.Version == "" {
		t.Fatalf("version document: %v %+v", err, versions)
	}
	// What novaclient (and OSC) can use of it: novaclient's own maximum
	// when that is older.
	clientMax := novaclientMax(t)
	maxVersion := lowerVersion(versions.Version.Version, clientMax)

	// novaclient creates a server on the same Keystone and catalog, at the
	// microversion it negotiates with this nova-api ("2.latest").
	name := testenv.UniqueName("osc-vm-")
	created := novaclientCreate(t, env, name, img.ID, "2.latest")
	if created.Endpoint != "http://"+apiAddr+"/v2.1" || created.APIVersion != maxVersion {
		t.Fatalf("novaclient used endpoint %q at %s, want this nova-api's at %s", created.Endpoint, created.APIVersion, maxVersion)
	}

	// server show (OSC's default microversion, 2.1) until ACTIVE; the
	// server is the user's.
	var show map[string]any
	eventually(t, 30*time.Second, "server ACTIVE in openstack server show", func() error {
		oscJSON(t, env, &show, "server", "show", created.ID)
		if show["status"] == "ERROR" {
			t.Fatalf("server went to ERROR: %v", show)
		}
		if show["status"] != "ACTIVE" {
			return fmt.Errorf("status %v", show["status"])
		}
		return nil
	})
	if show["id"] != created.ID || show["name"] != name || show["project_id"] != user.ProjectID || show["user_id"] != user.ID ||
		show["flavor"] != "m1.tiny (1)" || show["OS-EXT-STS:vm_state"] != "active" {
		t.Errorf("server show: %v, want id %s name %s project %s user %s flavor m1.tiny (1)", show, created.ID, name, user.ProjectID, user.ID)
	}
	// At the newest microversion the flavor is embedded (2.47) and the
	// server has tags (2.26).
	oscJSON(t, env, &show, "--os-compute-api-version", maxVersion, "server", "show", created.ID)
	if fl, ok := show["flavor"].(map[string]any); !ok || fl["original_name"] != "m1.tiny" || show["tags"] == nil {
		t.Errorf("server show at %s: %v", maxVersion, show)
	}

	// server list shows it, ACTIVE.
	var list []map[string]any
	oscJSON(t, env, &list, "server", "list")
	if len(list) != 1 || list[0]["ID"] != created.ID || list[0]["Name"] != name || list[0]["Status"] != "ACTIVE" || list[0]["Flavor"] != "m1.tiny" {
		t.Errorf("server list: %v, want only %s (%s) ACTIVE m1.tiny", list, created.ID, name)
	}

	// OSC's "2.latest" is not negotiated: OSC sends novaclient's newest
	// microversion; nova-api refuses it as nova does (406 with the range
	// it serves) when it is newer than its own, and serves it otherwise.
	if microversion.MustParse(clientMax).Compare(microversion.MustParse(versions.Version.Version)) > 0 {
		if out := oscFails(t, env, "--os-compute-api-version", "2.latest", "server", "list"); !strings.Contains(out, "is not supported by the API. Minimum is 2.1 and maximum is "+versions.Version.Version+". (HTTP 406)") {
			t.Errorf("server list at 2.latest: %s", out)
		}
	} else {
		oscJSON(t, env, &list, "--os-compute-api-version", "2.latest", "server", "list")
		if len(list) != 1 || list[0]["ID"] != created.ID {
			t.Errorf("server list at 2.latest (%s): %v, want %s", clientMax, list, created.ID)
		}
	}

	// server delete --wait returns once the server is gone.
	osc(t, env, "server", "delete", "--wait", created.ID)
	oscJSON(t, env, &list, "server", "list")
	if len(list) != 0 {
		t.Errorf("server list after delete: %v", list)
	}
	c := apiClient{base: "http://" + apiAddr}
	c.token, _ = k.Token(t, user.Name, user.Password, user.ProjectName)
	if code, _ := c.do(http.MethodGet, "/v2.1/servers/"+created.ID, nil, nil); code != http.StatusNotFound {
		t.Errorf("GET the deleted server: %d, want 404", code)
	}

	for _, p := range []*proc{api, compute.proc} {
		if code := p.stop(t, 30*time.Second); code != 0 {
			t.Fatalf("%s exited %d after SIGTERM", p.name, code)
		}
	}
}
