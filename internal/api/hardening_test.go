package api

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// The tests of this file drive the router over both stores with input no
// store can take as it is (too long, not UTF-8, NUL, ids in spellings or
// ranges the columns do not hold). The answer must be nova's: a 4xx with
// its error body, or the success nova gives; never a 500.

// TestHardeningTokens: a noauth2 token whose user or project is longer than
// the varchar(255) columns it is stored in, or is not UTF-8, is a 401 on
// every route, reads and writes alike.
func TestHardeningTokens(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 64, 1<<20, 10000)
		long := strings.Repeat("u", 256)
		for _, tok := range []string{
			long + ":proj", "user:" + long, "\xff:proj", "user:\xfe\xfe", "us\xc3:proj",
		} {
			e.do("GET", "/v2.1/servers", tok, "", nil).wantFault(t, 401, "The request you have made requires authentication.")
			e.do("GET", "/v2.1/servers/detail", tok, "", nil).wantFault(t, 401, "")
			e.do("POST", "/v2.1/servers", tok, "", bootBody("vm", "1")).wantFault(t, 401, "The request you have made requires authentication.")
		}
		// At the limit it is fine: 255 characters, multi-byte ones included.
		ok := strings.Repeat("é", 255) + ":" + strings.Repeat("p", 255)
		e.do("POST", "/v2.1/servers", ok, "", bootBody("vm", "1")).want(t, 202)
		r := e.do("GET", "/v2.1/servers", ok, "", nil)
		r.want(t, 200)
		if n := len(list(t, r.Body["servers"])); n != 1 {
			t.Fatalf("%d servers listed for the long token", n)
		}
	})
}

// TestHardeningMetadata: nova's metadata schema (keys matching
// ^[a-zA-Z0-9-_:. ]{1,255}$, string values of at most 255 characters) and
// NUL characters, which no store keeps, are 400s on create.
func TestHardeningMetadata(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 64, 1<<20, 10000)
		create := func(md string) resp {
			return e.do("POST", "/v2.1/servers", alice, "",
				`{"server": {"name": "vm", "flavorRef": "1", "imageRef": "`+imageID+`", "metadata": `+md+`}}`)
		}
		create(`{"k": "v\u0000"}`).wantFault(t, 400, "")
		create(`{"k\u0000": "v"}`).wantFault(t, 400, "")
		create(`{"\u0000": ""}`).wantFault(t, 400, "")
		long := strings.Repeat("k", 256)
		create(`{"`+long+`": "v"}`).wantFault(t, 400,
			"Invalid input for field/attribute metadata. Value: {'"+long+"': 'v'}. Additional properties are not allowed ('"+long+"' was unexpected)")
		longV := strings.Repeat("v", 256)
		create(`{"k": "`+longV+`"}`).wantFault(t, 400,
			"Invalid input for field/attribute k. Value: "+longV+". '"+longV+"' is too long")
		create(`{"k": "`+strings.Repeat("é", 256)+`"}`).wantFault(t, 400, "")
		// A name too long for display_name, or holding a NUL.
		e.do("POST", "/v2.1/servers", alice, "", bootBody(strings.Repeat("n", 256), "1")).wantFault(t, 400, "")
		e.do("POST", "/v2.1/servers", alice, "", `{"server": {"name": "a\u0000b", "flavorRef": "1", "imageRef": "`+imageID+`"}}`).wantFault(t, 400, "")

		// At the limits: 255-character keys and values, multi-byte ones too.
		r := create(`{"` + strings.Repeat("k", 255) + `": "` + strings.Repeat("é", 255) + `"}`)
		r.want(t, 202)
		id := obj(t, r.Body["server"])["id"].(string)
		r = e.do("GET", "/v2.1/servers/"+id, alice, "", nil)
		r.want(t, 200)
		if md := obj(t, obj(t, r.Body["server"])["metadata"]); md[strings.Repeat("k", 255)] != strings.Repeat("é", 255) {
			t.Fatalf("metadata read back %v", md)
		}
	})
}

// TestHardeningServerIDSpellings: every route taking a server id finds the
// server by any spelling of its uuid that uuid.Parse accepts (upper case,
// braces, urn:uuid:, no hyphens) in both stores alike, and anything else is
// nova's 404 "Instance X could not be found." with X as given.
func TestHardeningServerIDSpellings(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 64, 1<<20, 10000)
		boot := func() string {
			r := e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "1"))
			r.want(t, 202)
			id := obj(t, r.Body["server"])["id"].(string)
			activate(t, e, id)
			return id
		}
		spellings := map[string]func(string) string{
			"upper":    strings.ToUpper,
			"braces":   func(id string) string { return "{" + id + "}" },
			"urn":      func(id string) string { return "urn:uuid:" + id },
			"urnUpper": func(id string) string { return "urn:uuid:" + strings.ToUpper(id) },
			"hex":      func(id string) string { return strings.ReplaceAll(id, "-", "") },
		}
		for name, spell := range spellings {
			id := boot()
			sid := spell(id)
			r := e.do("GET", "/v2.1/servers/"+sid, alice, "", nil)
			r.want(t, 200)
			if got := obj(t, r.Body["server"])["id"]; got != id {
				t.Fatalf("%s: GET /servers/%s shows id %v, want %s", name, sid, got, id)
			}
			e.do("POST", "/v2.1/servers/"+sid+"/action", alice, "", map[string]any{"os-getConsoleOutput": map[string]any{}}).want(t, 200)
			e.do("POST", "/v2.1/servers/"+sid+"/action", alice, "", map[string]any{"reboot": map[string]any{"type": "HARD"}}).want(t, 202)
			e.do("DELETE", "/v2.1/servers/"+sid, alice, "", nil).want(t, 204)
			// Paging from a marker spelled so.
			r = e.do("GET", "/v2.1/servers?marker="+strings.ReplaceAll(strings.ReplaceAll(sid, "{", "%7B"), "}", "%7D"), alice, "", nil)
			r.want(t, 200)
		}

		id := boot()
		for _, bad := range []string{
			"uuid:" + id, "urn:" + id, "{" + id, id + "}", id + "0", id[:35], strings.Repeat("x", 36),
			strings.Repeat("z", 300), "1", "0", "-1", "3000000000", "99999999999999999999999", "%C3%A9", "%E2%80%8B",
			"urn:uuid:" + strings.Repeat("g", 32), "{" + strings.Repeat("0", 36) + "}",
		} {
			shown := unescapePath(t, bad)
			msg := "Instance " + shown + " could not be found."
			e.do("GET", "/v2.1/servers/"+bad, alice, "", nil).wantFault(t, 404, msg)
			e.do("DELETE", "/v2.1/servers/"+bad, alice, "", nil).wantFault(t, 404, msg)
			e.do("POST", "/v2.1/servers/"+bad+"/action", alice, "", map[string]any{"reboot": map[string]any{"type": "HARD"}}).wantFault(t, 404, msg)
			e.do("POST", "/v2.1/servers/"+bad+"/action", alice, "", map[string]any{"os-getConsoleOutput": map[string]any{"length": 5}}).wantFault(t, 404, msg)
		}
		// Another project's server is not found however it is spelled.
		for _, spell := range spellings {
			e.do("GET", "/v2.1/servers/"+spell(id), bob, "", nil).wantFault(t, 404, "Instance "+spell(id)+" could not be found.")
		}
	})
}

// TestHardeningIntegerIDs: service and hypervisor ids beyond the integer
// column's range, negative, huge or not numbers at all are nova's 404 (and
// the 400 nova's validate_integer gives a service id that is not an
// integer), never a database error.
func TestHardeningIntegerIDs(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 64, 1<<20, 10000)
		for _, id := range []string{"3000000000", "2147483648", "-1", "-2147483649", "0", "99999999999999999999999", "9223372036854775808", "-9223372036854775809"} {
			e.do("DELETE", "/v2.1/os-services/"+id, admin, "2.52", nil).wantFault(t, 404, "Service "+id+" not found.")
			e.do("GET", "/v2.1/os-hypervisors/"+id, admin, "2.52", nil).wantFault(t, 404, "Hypervisor with ID '"+id+"' could not be found.")
			e.do("GET", "/v2.1/os-hypervisors/"+id, admin, "", nil).wantFault(t, 404, "Hypervisor with ID '"+id+"' could not be found.")
			e.do("DELETE", "/v2.1/os-services/"+id, admin, "2.53", nil).wantFault(t, 400, "Invalid uuid "+id)
			e.do("GET", "/v2.1/os-hypervisors/"+id, admin, "2.53", nil).wantFault(t, 400, "Invalid uuid "+id)
			e.do("PUT", "/v2.1/os-services/"+id, admin, "2.53", map[string]any{"status": "enabled"}).wantFault(t, 400, "Invalid uuid "+id)
			e.do("PUT", "/v2.1/os-services/"+id, admin, "2.52", map[string]any{"host": "c1", "binary": "nova-compute"}).wantFault(t, 404, "Unknown action")
			// A marker that names no hypervisor.
			e.do("GET", "/v2.1/os-hypervisors?marker="+id, admin, "2.33", nil).wantFault(t, 400, "marker ["+id+"] not found")
		}
		for _, id := range []string{"abc", "1.5", "1e3", "0x10", "%C3%A9", "1-1", "%20"} {
			e.do("DELETE", "/v2.1/os-services/"+id, admin, "2.52", nil).wantFault(t, 400, "Invalid input received: id must be an integer")
			shown := unescapePath(t, id)
			e.do("GET", "/v2.1/os-hypervisors/"+id, admin, "2.52", nil).wantFault(t, 404, "Hypervisor with ID '"+shown+"' could not be found.")
		}
	})
}

// TestHardeningQueryValues: query values no store could compare (not UTF-8,
// NUL) are 400s; values too long for any row simply match none, as in nova;
// paging values beyond int range are capped as nova's
// get_limit_and_marker caps them; a marker that names no server, whatever
// it looks like, is nova's 400.
func TestHardeningQueryValues(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 64, 1<<20, 10000)
		for _, q := range []string{"host=%ff", "host=%00", "binary=%c3", "binary=a%00b", "%ff=1", "host=%zz"} {
			e.do("GET", "/v2.1/os-services?"+q, admin, "", nil).wantFault(t, 400, "")
			e.do("GET", "/v2.1/servers?"+q, alice, "", nil).wantFault(t, 400, "")
		}
		for _, q := range []string{"host=" + strings.Repeat("h", 256), "binary=" + strings.Repeat("é", 300), "host=c1&binary=" + strings.Repeat("b", 1000)} {
			r := e.do("GET", "/v2.1/os-services?"+q, admin, "", nil)
			r.want(t, 200)
			if n := len(list(t, r.Body["services"])); n != 0 {
				t.Fatalf("?%s lists %d services", q, n)
			}
		}
		r := e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "1"))
		r.want(t, 202)
		id := obj(t, r.Body["server"])["id"].(string)
		for _, limit := range []string{"2147483648", "3000000000", "9223372036854775808", "99999999999999999999999"} {
			for _, path := range []string{"/v2.1/servers", "/v2.1/servers/detail"} {
				r := e.do("GET", path+"?limit="+limit, alice, "", nil)
				r.want(t, 200)
				if n := len(list(t, r.Body["servers"])); n != 1 {
					t.Fatalf("limit=%s: %d servers", limit, n)
				}
			}
			e.do("GET", "/v2.1/os-hypervisors?limit="+limit, admin, "2.33", nil).want(t, 200)
		}
		// nova's servers query schema (pagination_parameters: a
		// non-negative integer pattern) and its os-hypervisors schema check
		// limit alike; python3-nova's validator words it so.
		for _, limit := range []string{"-1", "-99999999999999999999999", "abc", "1.5"} {
			msg := "Invalid input for query parameters limit. Value: " + limit + ". '" + limit + "' does not match '^[0-9]*$'"
			e.do("GET", "/v2.1/servers?limit="+limit, alice, "", nil).wantFault(t, 400, msg)
			e.do("GET", "/v2.1/servers/detail?limit="+limit, alice, "", nil).wantFault(t, 400, msg)
			e.do("GET", "/v2.1/os-hypervisors?limit="+limit, admin, "2.33", nil).wantFault(t, 400, msg)
		}
		for _, marker := range []string{"not-a-uuid", "1", "urn:uuid:" + strings.Repeat("a", 32), strings.Repeat("m", 300),
			"urn:uuid:70a599e0-31e7-49b7-b260-868f441e862b", "%7B70a599e0-31e7-49b7-b260-868f441e862b%7D"} {
			shown := unescapePath(t, marker)
			e.do("GET", "/v2.1/servers?marker="+marker, alice, "", nil).wantFault(t, 400, "marker ["+shown+"] not found")
			e.do("GET", "/v2.1/servers/detail?marker="+marker, alice, "", nil).wantFault(t, 400, "marker ["+shown+"] not found")
		}
		// The server's own id, spelled as uuid.Parse allows, is a marker.
		for _, m := range []string{id, strings.ToUpper(id), "urn:uuid:" + id, "%7B" + id + "%7D"} {
			r := e.do("GET", "/v2.1/servers?marker="+m, alice, "", nil)
			r.want(t, 200)
			if n := len(list(t, r.Body["servers"])); n != 0 {
				t.Fatalf("marker=%s: %d servers after the only one", m, n)
			}
		}
	})
}

// unescapePath is what the router shows of a %-escaped path segment.
func unescapePath(t *testing.T, s string) string {
	t.Helper()
	out, err := url.PathUnescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHardeningStoreRefusalIs400: a value the compute store refuses
// (computedb.ErrInvalid, the net under the API's validation) is nova's
// InvalidInput 400 naming the field, not a 500.
func TestHardeningStoreRefusalIs400(t *testing.T) {
	err := fmt.Errorf("creating: %w", &computedb.InvalidError{Field: "display_name", Problem: "contains a NUL character"})
	fe, _ := fault.From(serverFault(err, ""))
	if fe.Code != 400 || fe.Message != "Invalid input received: display_name contains a NUL character." {
		t.Fatalf("%d %q", fe.Code, fe.Message)
	}
}

// TestHardeningUUIDSpellingsV253: from 2.53 service and hypervisor ids are
// uuids as nova's is_uuid_like reads them (urn:uuid:, braces, no hyphens,
// either case), and each such spelling names the row; anything else is
// nova's 400 "Invalid uuid". imageRef takes them too, stored canonical.
func TestHardeningUUIDSpellingsV253(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		svc, node := e.addNode("c1", 64, 1<<20, 10000)
		spell := func(id string) []string {
			return []string{strings.ToUpper(id), "%7B" + id + "%7D", "urn:uuid:" + id, strings.ReplaceAll(id, "-", ""), "uuid:" + strings.ToUpper(id)}
		}
		for _, sid := range spell(svc.UUID) {
			r := e.do("PUT", "/v2.1/os-services/"+sid, admin, "2.53", map[string]any{"status": "disabled"})
			r.want(t, 200)
			if got := obj(t, r.Body["service"])["id"]; got != svc.UUID {
				t.Fatalf("PUT /os-services/%s: id %v", sid, got)
			}
		}
		for _, nid := range spell(node.UUID) {
			r := e.do("GET", "/v2.1/os-hypervisors/"+nid, admin, "2.53", nil)
			r.want(t, 200)
			if got := obj(t, r.Body["hypervisor"])["id"]; got != node.UUID {
				t.Fatalf("GET /os-hypervisors/%s: id %v", nid, got)
			}
		}
		for _, bad := range []string{svc.UUID[:35], svc.UUID + "0", "urn:uuid:" + strings.Repeat("g", 32), "1", "%7B%7D"} {
			shown := unescapePath(t, bad)
			e.do("PUT", "/v2.1/os-services/"+bad, admin, "2.53", map[string]any{"status": "enabled"}).wantFault(t, 400, "Invalid uuid "+shown)
			e.do("DELETE", "/v2.1/os-services/"+bad, admin, "2.53", nil).wantFault(t, 400, "Invalid uuid "+shown)
			e.do("GET", "/v2.1/os-hypervisors/"+bad, admin, "2.53", nil).wantFault(t, 400, "Invalid uuid "+shown)
		}
		// A uuid that names nothing, however spelled, is nova's 404.
		other := "urn:uuid:70A599E0-31E7-49B7-B260-868F441E862B"
		e.do("DELETE", "/v2.1/os-services/"+other, admin, "2.53", nil).wantFault(t, 404, "Service "+other+" not found.")
		e.do("GET", "/v2.1/os-hypervisors/"+other, admin, "2.53", nil).wantFault(t, 404, "Hypervisor with ID '"+other+"' could not be found.")

		r := e.do("POST", "/v2.1/servers", alice, "", `{"server": {"name": "vm", "flavorRef": "1", "imageRef": "{`+strings.ToUpper(imageID)+`}"}}`)
		r.want(t, 202)
		in, err := e.compute.GetInstance(context.Background(), obj(t, r.Body["server"])["id"].(string))
		if err != nil || in.ImageRef != imageID {
			t.Fatalf("image_ref stored as %q (%v)", in.ImageRef, err)
		}
		e.do("POST", "/v2.1/servers", alice, "", `{"server": {"name": "vm", "flavorRef": "1", "imageRef": "{`+imageID[:35]+`}"}}`).wantFault(t, 400, "")
	})
}
