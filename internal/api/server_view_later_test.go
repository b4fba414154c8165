package api

import (
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// The fields nova adds after 2.53 to a server without them: 2.63's
// trusted_image_certificates and 2.73's locked_reason (null) in show and
// detail; 2.71's server_groups ([]) in show only, as nova's views.
func TestLaterServerFields(t *testing.T) {
	e := newEnv(t, memBackend, func(d *Deps, _ *computeapi.Options) { d.MaxMicroversion = microversion.MustParse("2.93") })
	r := e.do("POST", "/v2.1/servers", alice, "2.93", map[string]any{"server": map[string]any{
		"name": "later", "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b", "flavorRef": "1", "networks": "none"}})
	r.want(t, 202)
	id := obj(t, r.Body["server"])["id"].(string)
	for _, tc := range []struct {
		version                     string
		certs, groups, lockedReason bool
	}{
		{"2.62", false, false, false},
		{"2.63", true, false, false},
		{"2.71", true, true, false},
		{"2.73", true, true, true},
		{"2.93", true, true, true},
	} {
		show := obj(t, e.do("GET", "/v2.1/servers/"+id, alice, tc.version, nil).Body["server"])
		detail := obj(t, list(t, e.do("GET", "/v2.1/servers/detail", alice, tc.version, nil).Body["servers"])[0])
		for name, s := range map[string]map[string]any{"show": show, "detail": detail} {
			if v, ok := s["trusted_image_certificates"]; ok != tc.certs || v != nil {
				t.Errorf("%s at %s: trusted_image_certificates %v (present %v), want present %v and null", name, tc.version, v, ok, tc.certs)
			}
			if v, ok := s["locked_reason"]; ok != tc.lockedReason || v != nil {
				t.Errorf("%s at %s: locked_reason %v (present %v), want present %v and null", name, tc.version, v, ok, tc.lockedReason)
			}
		}
		if g, ok := show["server_groups"]; ok != tc.groups || (ok && len(list(t, g)) != 0) {
			t.Errorf("show at %s: server_groups %v (present %v), want present %v and empty", tc.version, g, ok, tc.groups)
		}
		if _, ok := detail["server_groups"]; ok {
			t.Errorf("detail at %s has server_groups: nova shows them for one server only", tc.version)
		}
	}
}
