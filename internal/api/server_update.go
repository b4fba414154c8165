package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"unicode"

	"github.com/go-chi/chi/v5"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// checkDescription is nova's parameter_types.description (2.19): a string
// of at most 255 printable characters, or null (no description: "").
func checkDescription(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	s, err := (stringRule{max: 255}).check("description", v)
	if err != nil {
		return "", err
	}
	for _, r := range s {
		if unicode.In(r, unicode.C) {
			return "", invalidField("description", v, fmt.Sprintf("%s does not match the description pattern (printable characters only)", wsgi.PyRepr(s)))
		}
	}
	return s, nil
}

// checkAccessIP is nova's accessIPv4/accessIPv6: an address of that family
// or the empty string. gonova keeps no access addresses: the value is
// checked and not stored (the server shows "").
func checkAccessIP(name string, v any, family int) error {
	s, err := (stringRule{}).check(name, v)
	if err != nil || s == "" {
		return err
	}
	ok := false
	if ip := parseIP(s); ip != nil {
		ok = (family == 4) == (ip.To4() != nil)
	}
	if !ok {
		return invalidField(name, v, fmt.Sprintf("%s is not a 'ipv%d'", wsgi.PyRepr(s), family))
	}
	return nil
}

// serverUpdate is a validated PUT /servers/{id} body.
type serverUpdate struct {
	name, description, hostname *string
}

// parseServerUpdate is nova's update schema: "server" with name,
// OS-DCF:diskConfig, accessIPv4, accessIPv6, 2.19 description, 2.90
// hostname; nothing else.
func parseServerUpdate(body map[string]any, mv microversion.Version) (serverUpdate, error) {
	var u serverUpdate
	if err := checkKeys("", body, []string{"server"}); err != nil {
		return u, err
	}
	srv, err := checkObject("server", body["server"])
	if err != nil {
		return u, err
	}
	allowed := []string{"name", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"}
	if mv.AtLeast(2, 19) {
		allowed = append(allowed, "description")
	}
	if mv.AtLeast(2, 90) {
		allowed = append(allowed, "hostname")
	}
	if err := checkKeys("server", srv, nil, allowed...); err != nil {
		return u, err
	}
	return parseServerEdit(srv)
}

// parseServerEdit validates what update and rebuild share (the keys the
// caller's schema allowed): name, 2.19 description and 2.90 hostname are
// kept; OS-DCF:diskConfig and the access addresses are checked and not
// stored (gonova keeps neither).
func parseServerEdit(obj map[string]any) (serverUpdate, error) {
	var u serverUpdate
	if raw, ok := obj["name"]; ok {
		n, err := checkName("name", raw)
		if err != nil {
			return u, err
		}
		u.name = &n
	}
	if raw, ok := obj["description"]; ok {
		d, err := checkDescription(raw)
		if err != nil {
			return u, err
		}
		u.description = &d
	}
	if raw, ok := obj["OS-DCF:diskConfig"]; ok {
		if _, err := (stringRule{enum: []string{"AUTO", "MANUAL"}}).check("OS-DCF:diskConfig", raw); err != nil {
			return u, err
		}
	}
	for name, fam := range map[string]int{"accessIPv4": 4, "accessIPv6": 6} {
		if raw, ok := obj[name]; ok {
			if err := checkAccessIP(name, raw, fam); err != nil {
				return u, err
			}
		}
	}
	if raw, ok := obj["hostname"]; ok {
		h, err := checkHostname(raw)
		if err != nil {
			return u, err
		}
		u.hostname = &h
	}
	return u, nil
}

// updateServer is PUT /servers/{id}: the body first (a malformed one is a
// 400 whatever the id), then the server and the update policy on its user
// and project, then the new name and description; 200 with the server
// (from 2.75 every field GET shows, before it the fields nova's update
// view has). nova checks no lock here.
func (h *handlers) updateServer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	req, err := parseServerUpdate(body, microversion.FromContext(ctx))
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polServersUpdate, true)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if req.name != nil || req.description != nil || req.hostname != nil {
		in, err = h.compute.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{DisplayName: req.name, Description: req.description,
			Hostname: req.hostname})
		if err != nil {
			fault.Write(w, r, serverFault(translateNotFound(err, in.UUID), id))
			return
		}
	}
	vc, err := h.actionViewContext(r, &in)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	view := actionView(vc, in)
	if err := h.addServerGroups(r, in, view); err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server": view})
}

// actionViewContext is the view of a server a PUT or rebuild answers: from
// 2.75 the one GET shows (the policies decide the extended attributes and
// host_status), before it without them.
func (h *handlers) actionViewContext(r *http.Request, in *computedb.Instance) (viewContext, error) {
	if microversion.FromContext(r.Context()).AtLeast(2, 75) {
		return h.viewContext(r, in)
	}
	return viewContext{base: baseURL(r), version: microversion.FromContext(r.Context())}, nil
}

// limitedKeys are what nova's update and rebuild views leave out before
// 2.75 (show_AZ, show_config_drive, show_keypair, show_srv_usg,
// show_sec_grp, show_extended_status, show_extended_volumes False).
var limitedKeys = []string{"OS-EXT-AZ:availability_zone", "config_drive", "key_name", "OS-SRV-USG:launched_at",
	"OS-SRV-USG:terminated_at", "security_groups", "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state",
	"OS-EXT-STS:power_state", "os-extended-volumes:volumes_attached"}

// actionView is the server as PUT and rebuild answer it.
func actionView(vc viewContext, in computedb.Instance) map[string]any {
	m := serverDetail(vc, in)
	if !vc.version.AtLeast(2, 75) {
		for _, k := range limitedKeys {
			delete(m, k)
		}
	}
	return m
}

// checkHostname is nova's parameter_types.fqdn (2.90's hostname).
func checkHostname(v any) (string, error) { return fqdnRule.check("hostname", v) }

func parseIP(s string) net.IP { return net.ParseIP(s) }

// translateNotFound is compute.API's InstanceNotFound for a row gone
// between the lookup and a write.
func translateNotFound(err error, uuid string) error {
	if errors.Is(err, computedb.ErrNotFound) {
		return &computeapi.InstanceNotFoundError{UUID: uuid}
	}
	return err
}

// serverCreateKeysAt are the create keys of later microversions that
// server_update.go's rules check: 2.19 description, 2.63
// trusted_image_certificates, 2.90 hostname.
func serverCreateKeysAt(v microversion.Version) []string {
	var out []string
	if v.AtLeast(2, 19) {
		out = append(out, "description")
	}
	if v.AtLeast(2, 63) {
		out = append(out, "trusted_image_certificates")
	}
	if v.AtLeast(2, 74) {
		out = append(out, "host", "hypervisor_hostname")
	}
	if v.AtLeast(2, 90) {
		out = append(out, "hostname")
	}
	return out
}

// parseCreateAt validates the keys serverCreateKeysAt allows (those absent
// at the microversion were refused before): description and hostname are
// kept; trusted_image_certificates is validated as nova's schema (a list
// of 1-50 unique non-empty strings, or null) and refused when it asks for
// certificate validation, which gonova's computes cannot do.
func parseCreateAt(srv map[string]any, c *serverCreate) error {
	if raw, ok := srv["description"]; ok {
		d, err := checkDescription(raw)
		if err != nil {
			return err
		}
		c.description = d
	}
	if raw, ok := srv["hostname"]; ok {
		h, err := checkHostname(raw)
		if err != nil {
			return err
		}
		c.hostname = h
	}
	// 2.74's requested destination (parameter_types.fqdn).
	for key, dst := range map[string]*string{"host": &c.destHost, "hypervisor_hostname": &c.destNode} {
		if raw, ok := srv[key]; ok {
			v, err := (stringRule{min: 1, max: 255}).check(key, raw)
			if err != nil {
				return err
			}
			*dst = v
		}
	}
	if raw, ok := srv["trusted_image_certificates"]; ok && raw != nil {
		list, isList := raw.([]any)
		if !isList {
			return invalidField("trusted_image_certificates", raw, fmt.Sprintf("%s is not of type 'array', 'null'", wsgi.PyRepr(raw)))
		}
		if len(list) == 0 {
			return invalidField("trusted_image_certificates", raw, "[] is too short")
		}
		if len(list) > 50 {
			return invalidField("trusted_image_certificates", raw, fmt.Sprintf("%s is too long", wsgi.PyRepr(raw)))
		}
		for _, item := range list {
			if _, err := (stringRule{min: 1}).check("trusted_image_certificates", item); err != nil {
				return err
			}
		}
		return fault.BadRequest("Image certificate validation (trusted_image_certificates) is not supported by gonova's computes.")
	}
	return nil
}
