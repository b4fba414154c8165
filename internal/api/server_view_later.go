package api

import "github.com/gonova/gonova/internal/computedb"

// laterServerFields adds to a server's view the fields nova shows from
// microversions after 2.53, where the view itself has none yet: the
// defaults nova shows for a server that has none of them (no trusted
// certificates, no server group, no lock reason). A field the view already
// set (its branch shows the real value) is kept. Found by tempest's
// response schemas (internal/e2e's TestTempestResponseSchemas with the
// maximum raised to 2.93).
func laterServerFields(vc viewContext, _ computedb.Instance, m map[string]any) {
	set := func(k string, v any) {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	if vc.version.AtLeast(2, 63) {
		set("trusted_image_certificates", nil)
	}
	if vc.version.AtLeast(2, 73) {
		set("locked_reason", nil)
	}
}

// laterShowFields adds what nova shows of one server (GET /servers/{id},
// and the rebuild and update answers) but not in lists: from 2.71 the ids
// of its server groups (none here; kept when the view set them).
func laterShowFields(vc viewContext, m map[string]any) map[string]any {
	if _, ok := m["server_groups"]; !ok && vc.version.AtLeast(2, 71) {
		m["server_groups"] = []string{}
	}
	return m
}
