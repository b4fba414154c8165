package api

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

const otherImage = "155d900f-4e14-4e4c-a73d-069cbf4541e6"

// filterEnv is alice's servers in every state a filter separates, bob's
// one, and one of alice's deleted; on one backend, at microversions up to
// 2.93.
type filterEnv struct {
	*env
	ids map[string]string // by name
}

func newFilterEnv(t *testing.T, b backend) *filterEnv {
	e := newEnv(t, b, func(d *Deps, _ *computeapi.Options) { d.MaxMicroversion = microversion.MustParse("2.93") })
	e.addNode("c1", 64, 1<<20, 10000)
	e.addNode("c2", 64, 1<<20, 10000)
	fe := &filterEnv{env: e, ids: map[string]string{}}
	e.do("POST", "/v2.1/os-keypairs", alice, "", map[string]any{"keypair": map[string]any{"name": "kp1", "public_key": testPublicKey}}).want(t, 200)
	type row struct {
		name, token, flavor, image string
		vm                         states.VMState
		task                       states.TaskState
		power                      states.PowerState
		host                       string
	}
	for _, r := range []row{
		{"flt-a", alice, "1", imageID, states.VMActive, states.TaskNone, states.PowerRunning, "c1"},
		{"flt-ab", alice, "2", imageID, states.VMActive, states.TaskRebooting, states.PowerRunning, "c2"},
		{"flt-b", alice, "1", otherImage, states.VMStopped, states.TaskNone, states.PowerShutdown, "c1"},
		{"other", alice, "2", imageID, states.VMError, states.TaskNone, states.PowerNoState, "c2"},
		{"gone", alice, "1", imageID, states.VMActive, states.TaskNone, states.PowerRunning, "c1"},
		{"bobs", bob, "1", imageID, states.VMActive, states.TaskNone, states.PowerRunning, "c1"},
	} {
		body := bootBody(r.name, r.flavor)
		body["server"].(map[string]any)["imageRef"] = r.image
		if r.name == "flt-b" {
			body["server"].(map[string]any)["key_name"] = "kp1"
		}
		resp := e.do("POST", "/v2.1/servers", r.token, "", body)
		resp.want(t, 202)
		id := obj(t, resp.Body["server"])["id"].(string)
		vm, task, power, host, node := r.vm, r.task, r.power, r.host, r.host+".node"
		if _, err := e.compute.UpdateInstance(context.Background(), id, computedb.InstanceUpdate{
			VMState: &vm, TaskState: &task, PowerState: &power, Host: &host, Node: &node}); err != nil {
			t.Fatal(err)
		}
		fe.ids[r.name] = id
		time.Sleep(2 * time.Millisecond) // distinct created_at and updated_at
	}
	if err := e.compute.DeleteInstance(context.Background(), fe.ids["gone"]); err != nil {
		t.Fatal(err)
	}
	// Tags, set through the tags API (2.26).
	for name, tags := range map[string][]string{"flt-a": {"a", "b"}, "flt-ab": {"b"}, "flt-b": {"a", "c"}, "bobs": {"a"}} {
		token := alice
		if name == "bobs" {
			token = bob
		}
		e.do("PUT", "/v2.1/servers/"+fe.ids[name]+"/tags", token, "2.26", map[string]any{"tags": tags}).want(t, 200)
	}
	return fe
}

// names lists a GET's server names, in order.
func (fe *filterEnv) names(t *testing.T, path, token, version string) string {
	t.Helper()
	r := fe.do("GET", path, token, version, nil)
	r.want(t, 200)
	var out []string
	for _, s := range list(t, r.Body["servers"]) {
		out = append(out, obj(t, s)["name"].(string))
	}
	return strings.Join(out, ",")
}

func sortedCSV(s string) string {
	if s == "" {
		return ""
	}
	parts := strings.Split(s, ",")
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// TestServerListFilters: every filter of nova's server list, through the
// HTTP API, on both stores. Each row names what it filters; want is the
// sorted names ("" for none), and "*" is alice's whole live list.
func TestServerListFilters(t *testing.T) {
	const all = "flt-a,flt-ab,flt-b,other"
	cases := []struct {
		query, token, version, want string
	}{
		// name: a Python regex, re.search (not the whole list!)
		{"name=flt-a", alice, "", "flt-a,flt-ab"},
		{"name=^flt-a$", alice, "", "flt-a"},
		{"name=" + url.QueryEscape(`^flt-\w$`), alice, "", "flt-a,flt-b"},
		{"name=(?i)FLT-B", alice, "", "flt-b"},
		{"name=nomatch", alice, "", ""},
		{"name=flt-a&name=flt-b", alice, "", "flt-b"}, // the last value, as webob's dict
		{"display_name=flt-b", alice, "", "*"},        // alias; not a non-admin filter: ignored...
		{"display_name=^flt-b", admin, "", ""},        // ...an admin's own project has none
		// status: nova's status -> vm_state/task_state map
		{"status=SHUTOFF", alice, "", "flt-b"},
		{"status=shutoff", alice, "", "flt-b"},
		{"status=ACTIVE", alice, "", "flt-a,flt-ab"}, // ACTIVE is the vm state: rebooting too
		{"status=REBOOT", alice, "", "flt-ab"},
		{"status=ERROR&status=SHUTOFF", alice, "", "flt-b,other"},
		{"status=BUILD", alice, "", ""},
		{"status=BOGUS", alice, "", ""},         // an unknown status: an empty list before 2.38
		{"status=DELETED", admin, "", ""},       // admin's own project: none deleted
		{"flavor=2", alice, "", "flt-ab,other"}, // flavorid
		{"flavor=42", alice, "", ""},
		{"image=" + otherImage, alice, "", "flt-b"},
		{"ip=10.0.0.1", alice, "", ""}, // no instance has an address
		{"ip6=fe80::1", alice, "2.5", ""},
		{"ip6=fe80::1", alice, "2.4", all},    // not a filter before 2.5: dropped
		{"reservation_id=^q-", alice, "", ""}, // every reservation id is r-...: servers_multiple_test.go matches them
		{"locked=true", alice, "2.73", ""},
		{"locked=false", alice, "2.73", all},
		{"locked=true", alice, "2.72", all},
		{"tags=a", alice, "2.26", "flt-a,flt-b"},
		{"tags=a,b", alice, "2.26", "flt-a"}, // all of them
		{"tags=A", alice, "2.26", ""},        // tags are case-sensitive
		{"tags-any=a,b", alice, "2.26", "flt-a,flt-ab,flt-b"},
		{"tags-any=zz", alice, "2.26", ""},
		{"not-tags=a,b", alice, "2.26", "flt-ab,flt-b,other"}, // not all of them
		{"not-tags-any=a", alice, "2.26", "flt-ab,other"},     // none of them
		{"not-tags-any=a,b", alice, "2.26", "other"},
		{"tags=a&not-tags-any=c", alice, "2.26", "flt-a"},
		{"tags=b&tags-any=a,c", alice, "2.26", "flt-a"},
		{"all_tenants=1&tags=a", admin, "2.26", "bobs,flt-a,flt-b"},
		{"tags=a", alice, "2.25", all},
		{"changes-since=2000-01-01T00:00:00Z", alice, "", "flt-a,flt-ab,flt-b,gone,other"}, // deleted ones too
		{"changes-since=2999-01-01", alice, "", ""},
		{"changes-before=2000-01-01T00:00:00Z", alice, "2.66", ""},
		{"changes-before=2999-01-01T00:00:00Z", alice, "2.66", "flt-a,flt-ab,flt-b,gone,other"},
		{"changes-before=2000-01-01", alice, "2.65", all}, // unknown before 2.66: dropped
		// admin-only filters: dropped for others (every microversion)...
		{"host=c1", alice, "", all},
		{"host=c1", alice, "2.75", all},
		{"node=c2", alice, "", all},
		{"vm_state=stopped", alice, "", all},
		{"deleted=true", alice, "", all},
		{"user_id=nobody", alice, "", all},
		{"all_tenants=1&host=c2", admin, "", "flt-ab,other"},
		{"all_tenants=1&host=c1", admin, "", "bobs,flt-a,flt-b"},
		{"all_tenants=1&host=", admin, "", ""},
		{"all_tenants=1&node=" + url.QueryEscape("^c2"), admin, "", "flt-ab,other"},
		{"all_tenants=1&project_id=proj-b", admin, "", "bobs"},
		{"all_tenants=1&tenant_id=proj-b", admin, "", "bobs"},
		{"all_tenants=1&user_id=bob", admin, "", "bobs"},
		{"all_tenants=1&vm_state=stopped", admin, "", "flt-b"},
		{"all_tenants=1&task_state=rebooting", admin, "", "flt-ab"},
		{"all_tenants=1&power_state=4", admin, "", "flt-b"},
		{"all_tenants=1&display_name=" + url.QueryEscape("^flt-a"), admin, "", "flt-a,flt-ab"},
		{"all_tenants=1&availability_zone=nova&name=bobs", admin, "", "bobs"},
		{"all_tenants=1&key_name=k", admin, "", "flt-b"}, // a regex
		{"all_tenants=1&key_name=^kp2", admin, "", ""},
		{"key_name=kp1", alice, "2.83", "flt-b"}, // a user's filter from 2.83
		{"key_name=kp1", alice, "2.82", all},
		{"all_tenants=1&description=x&name=bobs", admin, "", "bobs"}, // not a column: nova ignores it
		{"all_tenants=1&deleted=true", admin, "", "gone"},
		{"all_tenants=1&deleted=false&name=gone", admin, "", ""},
		{"all_tenants=1&status=DELETED", admin, "", "gone"},
		{"tenant_id=proj-b", admin, "", ""}, // without all_tenants: the caller's project
		{"project_id=proj-a", bob, "", "bobs"},
		// 2.75 keeps unknown parameters out, but known ones are still dropped for non-admins
		{"foo=1", alice, "2.74", all},
		{"_foo=1", alice, "2.75", all},
	}
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			fe := newFilterEnv(t, b)
			for _, c := range cases {
				for _, path := range []string{"/v2.1/servers?", "/v2.1/servers/detail?"} {
					want := c.want
					if want == "*" {
						want = all
					}
					if got := sortedCSV(fe.names(t, path+c.query, c.token, c.version)); got != want {
						t.Errorf("%s%s (%s, %s): %q, want %q", path, c.query, c.token, c.version, got, want)
					}
				}
			}
			// an uuid filter, any case
			if got := fe.names(t, "/v2.1/servers?all_tenants=1&uuid="+strings.ToUpper(fe.ids["bobs"]), admin, ""); got != "bobs" {
				t.Errorf("uuid filter: %q", got)
			}
		})
	}
}

// TestServerListFilterErrors: nova's 400s and 403s for bad filters.
func TestServerListFilterErrors(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) { serverListFilterErrors(t, b) })
	}
}

func serverListFilterErrors(t *testing.T, b backend) {
	{
		e2 := newEnv(t, b, func(d *Deps, _ *computeapi.Options) { d.MaxMicroversion = microversion.MustParse("2.75") })
		for _, c := range []struct {
			query, token, version string
			code                  int
			msg                   string
		}{
			{"name=(", alice, "", 400, "Invalid input for query parameters name. Value: (. '(' is not a 'regex'"},
			{"name=", alice, "", 400, "Invalid input for query parameters name. Value: . '' is not a 'regex'"},
			{"name=ok&name=(", alice, "", 400, "Invalid input for query parameters name. Value: (. '(' is not a 'regex'"},
			{"name=" + url.QueryEscape(`(a)\1`), alice, "", 400, `Invalid input for query parameters name. Value: (a)\1. regular expressions with back-references are not supported in gonova's filters`},
			{"node=(", alice, "", 400, "Invalid input for query parameters node. Value: (. '(' is not a 'regex'"},
			{"changes-since=yesterday", alice, "", 400, "Invalid input for query parameters changes-since. Value: yesterday. 'yesterday' is not a 'date-time'"},
			{"changes-since=2020-02-30", alice, "", 400, "Invalid input for query parameters changes-since. Value: 2020-02-30. '2020-02-30' is not a 'date-time'"},
			{"changes-since=2020-01-02&changes-before=2020-01-01", alice, "2.66", 400, "The value of changes-since must be less than or equal to changes-before."},
			{"status=BOGUS", alice, "2.38", 400, "Invalid status value"},
			{"status=DELETED", alice, "", 403, "Only administrators may list deleted instances"},
			{"locked=maybe", alice, "2.73", 400, "Unrecognized value 'maybe', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"},
			{"foo=1", alice, "2.75", 400, "'foo' does not match any of the regexes: '^_'"},
			{"foo=1&bar=2", admin, "2.75", 400, "'bar', 'foo' do not match any of the regexes: '^_'"},
			{"metadata=x", admin, "", 400, "Invalid filter field: metadata."},
			{"_secret=1", admin, "", 400, "Invalid filter field: _secret."},
			{"sort_key=bogus", alice, "2.75", 400, ""},
			{"sort_key=id", alice, "2.75", 400, ""},
			{"sort_key=host", alice, "", 403, "Only administrators can sort servers by host"},
			{"sort_key=node", alice, "", 403, "Only administrators can sort servers by node"},
			{"sort_dir=up", alice, "", 400, "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'"},
			{"sort_key=display_name&sort_dir=asc&sort_dir=desc", alice, "", 400, "Invalid input received: Sort direction size exceeds sort key size"},
			{"limit=x", alice, "", 400, "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'"},
			{"marker=6f1b7d2c-3c53-4b1e-9d0a-1d1a4c9e8f00", alice, "", 400, "marker [6f1b7d2c-3c53-4b1e-9d0a-1d1a4c9e8f00] not found"},
			{"all_tenants=1", alice, "", 403, "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed."},
			{"name=%ff", alice, "", 400, ""}, // refused before the handler (pkg/wsgi)
		} {
			e2.do("GET", "/v2.1/servers?"+c.query, c.token, c.version, nil).wantFault(t, c.code, c.msg)
		}
		r := e2.do("GET", "/v2.1/servers?sort_key=bogus", alice, "2.1", nil)
		r.wantFault(t, 400, "")
		if !strings.HasPrefix(string(r.Raw), `{"badRequest": {"code": 400, "message": "Invalid input for query parameters sort_key. Value: bogus. 'bogus' is not one of ['access_ip_v4', `) &&
			!strings.Contains(string(r.Raw), "'bogus' is not one of ['access_ip_v4', ") {
			t.Errorf("sort_key message %s", r.Raw)
		}
	}
}

// TestServerListSortAndPaging: sort keys and directions, nova's defaults
// and ignored keys, and paging through a filtered, sorted list.
func TestServerListSortAndPaging(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			fe := newFilterEnv(t, b)
			for _, c := range []struct{ query, token, version, want string }{
				{"", alice, "", "other,flt-b,flt-ab,flt-a"}, // created_at desc, id desc
				{"sort_key=display_name", alice, "", "other,flt-b,flt-ab,flt-a"},
				{"sort_key=display_name&sort_dir=asc", alice, "", "flt-a,flt-ab,flt-b,other"},
				{"sort_key=vm_state&sort_dir=asc&sort_key=display_name&sort_dir=desc", alice, "", "flt-ab,flt-a,other,flt-b"},
				{"sort_key=id&sort_dir=asc", alice, "", "other,flt-b,flt-ab,flt-a"},         // ignored, with its direction
				{"sort_key=key_name&sort_dir=asc", alice, "", "flt-b,flt-a,flt-ab,other"},   // NULL last, then the defaults, ascending
				{"sort_key=locked&sort_dir=asc", alice, "2.73", "flt-a,flt-ab,flt-b,other"}, // valid from 2.73
				{"sort_key=host&sort_dir=asc&sort_key=display_name&sort_dir=asc&all_tenants=1", admin, "", "bobs,flt-a,flt-b,flt-ab,other"},
			} {
				if got := fe.names(t, "/v2.1/servers?"+c.query, c.token, c.version); got != c.want {
					t.Errorf("?%s: %s, want %s", c.query, got, c.want)
				}
			}
			// Paging a filtered, sorted list: the next link keeps the filter.
			var got []string
			path := "/v2.1/servers?name=flt&sort_key=display_name&sort_dir=asc&limit=2"
			for page := 0; path != "" && page < 5; page++ {
				r := fe.do("GET", path, alice, "", nil)
				r.want(t, 200)
				for _, s := range list(t, r.Body["servers"]) {
					got = append(got, obj(t, s)["name"].(string))
				}
				path = ""
				if links, ok := r.Body["servers_links"]; ok {
					href := obj(t, list(t, links)[0])["href"].(string)
					if !strings.Contains(href, "name=flt") || !strings.Contains(href, "sort_key=display_name") {
						t.Errorf("next link lost the filter: %s", href)
					}
					path = href[strings.Index(href, "/v2.1/"):]
				}
			}
			if strings.Join(got, ",") != "flt-a,flt-ab,flt-b" {
				t.Errorf("paged: %v", got)
			}
		})
	}
}

// TestStatusMapIsTheViews: the status filter's map is the one the views
// render by (states.ServerStatus), so ?status=X finds what shows as X.
func TestStatusMapIsTheViews(t *testing.T) {
	for vm, tasks := range statusMap {
		for task, want := range tasks {
			ts := states.TaskState(task)
			if task == "default" {
				ts = states.TaskNone
			}
			if got := states.ServerStatus(vm, ts); got != want {
				t.Errorf("vm %s task %s: the filter says %s, the view %s", vm, task, want, got)
			}
		}
	}
	if vm, task := statesFromStatuses([]string{"resize"}); strings.Join(vm, ",") != "active,stopped" ||
		strings.Join(task, ",") != "resize_finish,resize_migrated,resize_migrating,resize_prep" {
		t.Errorf("RESIZE: %v %v", vm, task)
	}
}
