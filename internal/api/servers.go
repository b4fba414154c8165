package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// serverCreate is a validated POST /servers body.
type serverCreate struct {
	name       string
	flavorID   string
	imageRef   string
	adminPass  string
	hasPass    bool
	metadata   map[string]string
	diskConfig string
	// zone is availability_zone as given (nil: none).
	zone *string
	// description (2.19) and hostname (2.90); "" none.
	description, hostname string
	keyName               string
	tags                  []string // 2.52
	group                 string   // the scheduler hint "group": a server group's uuid
	// destHost and destNode are 2.74's host and hypervisor_hostname.
	destHost, destNode string
	multiple           multipleCreate
	networks           any // as validated, for checkNetworksForMany
}

var metadataKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9-_:. ]{1,255}$`)

// serverCreateKeys are the keys of "server" gonova accepts. nova knows more
// (block devices, personality, key_name, user_data, ...); gonova has no
// storage or driver support for them and refuses them as unexpected rather
// than dropping them silently. min_count, max_count and
// return_reservation_id are nova's multiple create (servers_multiple.go).
var serverCreateKeys = []string{"imageRef", "adminPass", "metadata", "networks", "OS-DCF:diskConfig",
	"min_count", "max_count", "return_reservation_id", "availability_zone", "key_name"}

// parseServerCreate validates body as nova's create schema (the subset
// gonova serves) does. A missing image (c.imageRef "") is for the caller
// to refuse: nova does after the policy check.
func parseServerCreate(body map[string]any, v microversion.Version) (serverCreate, error) {
	var c serverCreate
	if err := checkKeys("", body, []string{"server"}, "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"); err != nil {
		return c, err
	}
	for _, k := range []string{"os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"} {
		if raw, ok := body[k]; ok {
			hints, err := checkObject(k, raw)
			if err != nil {
				return c, err
			}
			if c.group, err = checkGroupHint(hints); err != nil {
				return c, err
			}
		}
	}
	srv, err := checkObject("server", body["server"])
	if err != nil {
		return c, err
	}
	required := []string{"name", "flavorRef"}
	if v.AtLeast(2, 37) {
		required = append(required, "networks")
	}
	allowed := append(serverCreateKeysAt(v), serverCreateKeys...)
	if v.AtLeast(2, 52) {
		allowed = append(allowed, "tags")
	}
	if err := checkKeys("server", srv, required, allowed...); err != nil {
		return c, err
	}
	if err := parseCreateAt(srv, &c); err != nil {
		return c, err
	}
	if raw, ok := srv["key_name"]; ok {
		if c.keyName, err = checkName("key_name", raw); err != nil {
			return c, err
		}
	}
	if raw, ok := srv["tags"]; ok {
		if c.tags, err = checkCreateTags(raw); err != nil {
			return c, err
		}
	}
	if c.name, err = checkName("name", srv["name"]); err != nil {
		return c, err
	}
	if c.flavorID, err = checkFlavorRef(srv["flavorRef"]); err != nil {
		return c, err
	}
	if raw, ok := srv["imageRef"]; ok {
		s, isStr := raw.(string)
		canon, like := uuidLike(s)
		if !isStr || (s != "" && !like) {
			return c, invalidField("imageRef", raw, fmt.Sprintf("%s is not valid under any of the given schemas", wsgi.PyRepr(raw)))
		}
		c.imageRef = canon
	}
	if raw, ok := srv["adminPass"]; ok {
		if c.adminPass, err = (stringRule{}).check("adminPass", raw); err != nil {
			return c, err
		}
		c.hasPass = true
	}
	if raw, ok := srv["metadata"]; ok {
		if c.metadata, err = checkMetadata(raw); err != nil {
			return c, err
		}
	}
	if raw, ok := srv["networks"]; ok {
		if err := checkNetworks(raw, v); err != nil {
			return c, err
		}
		c.networks = raw
	}
	if c.multiple, err = checkMultipleCreate(srv); err != nil {
		return c, err
	}
	if raw, ok := srv["availability_zone"]; ok {
		z, err := checkName("availability_zone", raw)
		if err != nil {
			return c, err
		}
		c.zone = &z
	}
	c.diskConfig = "MANUAL"
	if raw, ok := srv["OS-DCF:diskConfig"]; ok {
		if c.diskConfig, err = (stringRule{enum: []string{"AUTO", "MANUAL"}}).check("OS-DCF:diskConfig", raw); err != nil {
			return c, err
		}
	}
	return c, nil
}

// checkName is nova's parameter_types.name: 1..255 printable characters,
// not starting or ending with whitespace.
func checkName(field string, v any) (string, error) {
	s, err := (stringRule{min: 1, max: 255}).check(field, v)
	if err != nil {
		return "", err
	}
	bad := fault.BadRequest("An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.")
	for _, r := range s {
		if unicode.In(r, unicode.C) || (unicode.In(r, unicode.Z) && !unicode.In(r, unicode.Zs)) {
			return "", bad
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) || unicode.In(first, unicode.Zs) || unicode.In(last, unicode.Zs) {
		return "", bad
	}
	return s, nil
}

// checkFlavorRef is nova's flavor_ref (string or integer, minLength 1)
// followed by get_id_from_href: the last path segment of a URL or the id.
func checkFlavorRef(v any) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		if x == "" {
			return "", invalidField("flavorRef", v, "'' is too short")
		}
		s = x
	case float64:
		if x != float64(int64(x)) {
			return "", invalidField("flavorRef", v, fmt.Sprintf("%s is not of type 'string', 'integer'", wsgi.PyRepr(v)))
		}
		s = wsgi.PyRepr(x)
	default:
		return "", invalidField("flavorRef", v, fmt.Sprintf("%s is not of type 'string', 'integer'", wsgi.PyRepr(v)))
	}
	if u, err := url.Parse(s); err == nil {
		p := u.Path
		if i := strings.LastIndex(p, "/"); i >= 0 {
			p = p[i+1:]
		}
		s = p
	}
	return s, nil
}

// checkMetadata is nova's parameter_types.metadata.
func checkMetadata(v any) (map[string]string, error) {
	m, err := checkObject("metadata", v)
	if err != nil {
		return nil, err
	}
	var extra []string
	out := make(map[string]string, len(m))
	for k, val := range m {
		if !metadataKeyPattern.MatchString(k) {
			extra = append(extra, k)
			continue
		}
		s, err := (stringRule{max: 255}).check(k, val)
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	if len(extra) > 0 {
		return nil, checkKeys("metadata", m, nil, keysOf(out)...)
	}
	return out, nil
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checkNetworks validates "networks": a list of {uuid, port, fixed_ip}
// (tag from 2.32), or from 2.37 the strings "auto" and "none". gonova has
// no networking service: the value is validated and not used.
func checkNetworks(v any, mv microversion.Version) error {
	if s, ok := v.(string); ok && mv.AtLeast(2, 37) {
		if s == "auto" || s == "none" {
			return nil
		}
		return invalidField("networks", v, fmt.Sprintf("%s is not valid under any of the given schemas", wsgi.PyRepr(v)))
	}
	list, ok := v.([]any)
	if !ok {
		return invalidField("networks", v, fmt.Sprintf("%s is not of type 'array'", wsgi.PyRepr(v)))
	}
	allowed := []string{"fixed_ip", "port", "uuid"}
	if mv.AtLeast(2, 32) {
		allowed = append(allowed, "tag")
	}
	for _, item := range list {
		obj, err := checkObject("networks", item)
		if err != nil {
			return err
		}
		if err := checkKeys("networks", obj, nil, allowed...); err != nil {
			return err
		}
		for _, k := range allowed {
			if raw, ok := obj[k]; ok && raw != nil {
				if _, err := (stringRule{}).check(k, raw); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// passwordGroups are nova's DEFAULT_PASSWORD_SYMBOLS.
var passwordGroups = []string{"23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz"}

// generatePassword is nova's generate_password(12): one symbol of each
// group, the rest from all, shuffled, from a cryptographic source.
func generatePassword() string {
	pick := func(s string) byte {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(s))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		return s[n.Int64()]
	}
	all := strings.Join(passwordGroups, "")
	b := make([]byte, 0, 12)
	for _, g := range passwordGroups {
		b = append(b, pick(g))
	}
	for len(b) < 12 {
		b = append(b, pick(all))
	}
	for i := len(b) - 1; i > 0; i-- {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		j := n.Int64()
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func caller(r *http.Request) *auth.Context {
	c, _ := auth.FromContext(r.Context())
	return c
}

// isAdmin is nova's context.is_admin for the caller, as requestContext
// set it: it sees and acts on every project's servers.
func (h *handlers) isAdmin(r *http.Request) bool {
	c := caller(r)
	return c != nil && c.IsAdmin
}

// computeCaller is the caller as internal/compute/api reads it.
func (h *handlers) computeCaller(r *http.Request) computeapi.Caller {
	c := caller(r)
	if c == nil {
		return computeapi.Caller{}
	}
	return computeapi.Caller{UserID: c.UserID, ProjectID: c.ProjectID, RequestID: c.RequestID, Admin: h.isAdmin(r)}
}

// instanceTarget is the target nova checks an action on a server against:
// the instance's project, and for some actions (delete) its user.
func instanceTarget(in computedb.Instance, withUser bool) policy.Target {
	t := policy.Target{"project_id": in.ProjectID}
	if withUser {
		t["user_id"] = in.UserID
	}
	return t
}

// createServer is POST /servers: validate, then compute.API's create (store
// the min_count..max_count instances, place them, cast
// build_and_run_instance to each), and answer 202 with the first server, or
// with the reservation id when return_reservation_id is true. When no host
// fits, the instances go to ERROR (nova's NoValidHost) and the answer is
// still 202, as in nova.
func (h *handlers) createServer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	req, err := parseServerCreate(body, microversion.FromContext(ctx))
	if err == nil {
		err = req.multiple.checkCount() // servers.py, after the schema
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	// As nova: the schema first (400), then the policy on the caller's
	// project and the requested zone (gonova's schema takes none), then
	// the image and the flavor.
	var target policy.Target // nil without a caller: AuthorizeTarget's 401
	if c := caller(r); c != nil {
		target = policy.Target{"project_id": c.ProjectID, "user_id": c.UserID, "availability_zone": nil}
		if req.zone != nil {
			target["availability_zone"] = *req.zone
		}
	}
	if err := h.enf.AuthorizeTarget(ctx, polServersCreate, target); err != nil {
		fault.Write(w, r, err)
		return
	}
	place, err := h.createPlacement(r, req.zone, target)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := h.requestedDestination(r, req, target, &place); err != nil {
		fault.Write(w, r, err)
		return
	}
	if req.imageRef == "" {
		fault.Write(w, r, fault.BadRequest("Missing imageRef attribute"))
		return
	}
	flavor, err := h.compute.GetFlavor(ctx, req.flavorID, h.flavorScope(r))
	if errors.Is(err, computedb.ErrNotFound) {
		fault.Write(w, r, fault.BadRequest("Invalid flavorRef provided."))
		return
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if flavor.Disabled { // nova's FlavorNotFound for a disabled flavor
		fault.Write(w, r, fault.BadRequest("Invalid flavorRef provided."))
		return
	}
	if req.keyName != "" {
		if _, err := h.compute.GetKeyPair(ctx, caller(r).UserID, req.keyName); errors.Is(err, computedb.ErrNotFound) {
			fault.Write(w, r, fault.BadRequest("Invalid key_name provided."))
			return
		} else if err != nil {
			fault.Write(w, r, err)
			return
		}
	}
	if _, err := h.checkImage(r, req.imageRef, imageFlavor{MemoryMB: flavor.MemoryMB, RootGB: flavor.RootGB}, createImageCheck); err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := h.checkZoneAvailable(r, place); err != nil {
		fault.Write(w, r, err)
		return
	}
	if req.hostname != "" && req.multiple.maxCount > 1 {
		fault.Write(w, r, fault.BadRequest("Unable to allocate a single hostname to multiple instances"))
		return
	}
	if err := checkNetworksForMany(req.networks, req.multiple.maxCount); err != nil {
		fault.Write(w, r, err)
		return
	}
	if !req.hasPass {
		req.adminPass = generatePassword()
	}
	res, err := h.capi.CreateServers(ctx, h.computeCaller(r), computeapi.CreateRequest{
		Name: req.name, ImageRef: req.imageRef, Metadata: req.metadata, KeyName: req.keyName, Tags: req.tags,
		Description: req.description, Hostname: req.hostname, Group: req.group,
		Flavor: computeapi.Flavor{ID: flavor.FlavorID, Name: flavor.Name, VCPUs: flavor.VCPUs, MemoryMB: flavor.MemoryMB, RootGB: flavor.RootGB,
			EphemeralGB: flavor.EphemeralGB, Swap: flavor.Swap, RXTXFactor: flavor.RXTXFactor, ExtraSpecs: flavor.ExtraSpecs},
		AvailabilityZone: place.zone, ForcedHost: place.host, ForcedNode: place.node,
		MinCount: req.multiple.minCount, MaxCount: req.multiple.maxCount,
	})
	if err != nil {
		fault.Write(w, r, serverFault(err, ""))
		return
	}
	if req.multiple.returnReservationID {
		writeReservation(w, res.ReservationID)
		return
	}
	inst := res.Instances[0]
	w.Header().Set("Location", serverLinks(baseURL(r), inst.UUID)[0].Href)
	writeJSON(w, http.StatusAccepted, createdView(r, inst, req.adminPass, req.diskConfig))
}

// getServer returns the instance the caller may see, or nova's 404, then
// checks action on it, as nova's handlers do: _get_server (scoped to the
// caller's project unless it is an admin), then context.can(action,
// target). So another project's server is 404 whatever the policy says,
// and the policy refuses (403) only what the caller could see.
func (h *handlers) getServer(r *http.Request, id, action string, withUser bool) (computedb.Instance, error) {
	in, err := h.capi.Get(r.Context(), h.computeCaller(r), id)
	if err != nil {
		return in, serverFault(err, id)
	}
	if err := h.enf.AuthorizeTarget(r.Context(), action, instanceTarget(in, withUser)); err != nil {
		return computedb.Instance{}, err
	}
	return in, nil
}

// hostStatusPolicy is what the caller may see of host_status: nova's
// _get_host_status_unknown_only.
type hostStatusPolicy int

const (
	hostStatusHidden      hostStatusPolicy = iota // no host_status field
	hostStatusAll                                 // every status
	hostStatusUnknownOnly                         // the field only when UNKNOWN
)

// viewContext decides what the caller sees of servers: for one instance
// (GET /servers/{id}) on a target of its project, for a list (nil) on the
// caller's own, as nova's views check os-extended-server-attributes and
// servers:show:host_status[:unknown-only].
func (h *handlers) viewContext(r *http.Request, in *computedb.Instance) (viewContext, error) {
	ctx := r.Context()
	var target policy.Target
	if in != nil {
		target = instanceTarget(*in, false)
	}
	vc := viewContext{base: baseURL(r), version: microversion.FromContext(ctx),
		extendedAttrs: h.enf.Allowed(ctx, polExtendedAttrs, target)}
	if vc.version.AtLeast(2, 47) {
		vc.flavorExtraSpecs = h.enf.Allowed(ctx, polServerFlavorSpecs, target)
	}
	var err error
	if vc.zones, err = h.zones(ctx); err != nil {
		return vc, err
	}
	if !vc.version.AtLeast(2, 16) {
		return vc, nil
	}
	switch {
	case h.enf.Allowed(ctx, polHostStatus, target):
		vc.hostStatusShown = hostStatusAll
	case h.enf.Allowed(ctx, polHostStatusUnknown, target):
		vc.hostStatusShown = hostStatusUnknownOnly
	default:
		return vc, nil
	}
	vc.hostStatus, err = h.capi.HostStatuses(ctx)
	return vc, err
}

// showServer is GET /servers/{id}.
func (h *handlers) showServer(w http.ResponseWriter, r *http.Request) {
	in, err := h.getServer(r, chi.URLParam(r, "id"), polServersShow, false)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	vc, err := h.viewContext(r, &in)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	view := laterShowFields(vc, serverDetail(vc, in))
	if err := h.addServerGroups(r, in, view); err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server": view})
}

// deleteServer is DELETE /servers/{id}: compute.API's delete (locally when
// the instance's compute is down or gone, otherwise a terminate_instance
// cast), answered 204.
func (h *handlers) deleteServer(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polServersDelete, true)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := h.capi.Delete(r.Context(), h.computeCaller(r), in); err != nil {
		fault.Write(w, r, serverFault(err, id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
