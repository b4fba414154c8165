package api

import (
	"context"
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
	"github.com/google/uuid"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/scheduler"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/service/servicegroup"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
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
}

var metadataKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9-_:. ]{1,255}$`)

// serverCreateKeys are the keys of "server" gonova accepts. nova knows more
// (block devices, personality, key_name, user_data, ...); gonova has no
// storage or driver support for them and refuses them as unexpected rather
// than dropping them silently.
var serverCreateKeys = []string{"imageRef", "adminPass", "metadata", "networks", "OS-DCF:diskConfig"}

// parseServerCreate validates body as nova's create schema (the subset
// gonova serves) and nova's create code do.
func parseServerCreate(body map[string]any, v microversion.Version) (serverCreate, error) {
	var c serverCreate
	if err := checkKeys("", body, []string{"server"}, "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"); err != nil {
		return c, err
	}
	for _, k := range []string{"os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"} {
		if raw, ok := body[k]; ok {
			if _, err := checkObject(k, raw); err != nil {
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
	if err := checkKeys("server", srv, required, serverCreateKeys...); err != nil {
		return c, err
	}
	if c.name, err = checkName("name", srv["name"]); err != nil {
		return c, err
	}
	if c.flavorID, err = checkFlavorRef(srv["flavorRef"]); err != nil {
		return c, err
	}
	if raw, ok := srv["imageRef"]; ok {
		s, isStr := raw.(string)
		if !isStr || (s != "" && !isUUIDLike(s)) {
			return c, invalidField("imageRef", raw, fmt.Sprintf("%s is not valid under any of the given schemas", wsgi.PyRepr(raw)))
		}
		if s != "" {
			c.imageRef = strings.ToLower(s)
			if u, err := uuid.Parse(s); err == nil {
				c.imageRef = u.String()
			}
		}
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
	}
	c.diskConfig = "MANUAL"
	if raw, ok := srv["OS-DCF:diskConfig"]; ok {
		if c.diskConfig, err = (stringRule{enum: []string{"AUTO", "MANUAL"}}).check("OS-DCF:diskConfig", raw); err != nil {
			return c, err
		}
	}
	if c.imageRef == "" {
		return c, fault.BadRequest("Missing imageRef attribute")
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

// allowed reports whether the caller passes the rule of action.
func (h *handlers) allowed(r *http.Request, action string) bool {
	return h.enf.Authorize(r.Context(), action) == nil
}

// createServer is POST /servers: validate, store the instance (building,
// scheduling), place it, cast build_and_run_instance, answer 202. When no
// host fits, the instance goes to ERROR (nova's NoValidHost) and the answer
// is still 202, as in nova.
func (h *handlers) createServer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	req, err := parseServerCreate(body, microversion.FromContext(ctx))
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	flavor, ok := h.flavors.get(req.flavorID)
	if !ok {
		fault.Write(w, r, fault.BadRequest("Invalid flavorRef provided."))
		return
	}
	if !req.hasPass {
		req.adminPass = generatePassword()
	}
	c := caller(r)
	inst, err := h.compute.CreateInstance(ctx, computedb.Instance{
		UUID: uuid.NewString(), DisplayName: req.name, UserID: c.UserID, ProjectID: c.ProjectID,
		VMState: states.VMBuilding, TaskState: states.TaskScheduling, FlavorID: flavor.ID,
		VCPUs: flavor.VCPUs, MemoryMB: flavor.RAM, RootGB: flavor.Disk, ImageRef: req.imageRef,
		Metadata: req.metadata,
	})
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	log := h.log.With("instance_uuid", inst.UUID, "request_id", c.RequestID)
	log.InfoContext(ctx, "server created", "name", inst.DisplayName, "flavor", flavor.Name, "project_id", inst.ProjectID)
	// The boot goes on when the client hangs up: only the RPC timeout bounds it.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.rpcTimeout)
	defer cancel()
	placed, err := h.sched.Schedule(bctx, inst)
	switch {
	case errors.Is(err, scheduler.ErrNoValidHost):
		log.WarnContext(ctx, "setting instance to ERROR state", "reason", err.Error())
		h.setError(bctx, inst.UUID, err.Error())
	case errors.Is(err, computedb.ErrNotFound):
		log.InfoContext(ctx, "server deleted while it was scheduled")
	case err != nil:
		h.setError(bctx, inst.UUID, "Scheduling failed: "+err.Error())
		fault.Write(w, r, err)
		return
	default:
		if err := h.rpc.BuildAndRunInstance(bctx, placed); err != nil {
			log.ErrorContext(ctx, "build_and_run_instance cast failed; setting instance to ERROR state",
				"host", placed.Host, "error", err)
			h.setError(bctx, inst.UUID, fmt.Sprintf("Could not send the build request to host %s: %v", placed.Host, err))
		}
	}
	w.Header().Set("Location", serverLinks(baseURL(r), inst.UUID)[0].Href)
	writeJSON(w, http.StatusAccepted, createdView(r, inst, req.adminPass, req.diskConfig))
}

// setError puts an instance in vm_state error with no task, recording why
// as its fault (code 500, as nova records scheduling and build failures).
func (h *handlers) setError(ctx context.Context, id, reason string) {
	st, none := states.VMError, states.TaskNone
	f := &computedb.Fault{Code: http.StatusInternalServerError, Message: reason}
	if _, err := h.compute.UpdateInstance(ctx, id, computedb.InstanceUpdate{VMState: &st, TaskState: &none, Fault: f}); err != nil &&
		!errors.Is(err, computedb.ErrNotFound) {
		h.log.ErrorContext(ctx, "could not set instance to ERROR state", "instance_uuid", id, "error", err)
	}
}

// getServer returns the instance the caller may see, or nova's 404.
func (h *handlers) getServer(r *http.Request, id string) (computedb.Instance, error) {
	in, err := h.compute.GetInstance(r.Context(), id)
	if errors.Is(err, computedb.ErrNotFound) {
		return in, fault.NotFound(fmt.Sprintf("Instance %s could not be found.", id))
	}
	if err != nil {
		return in, err
	}
	if c := caller(r); !policyAdmin(c) && in.ProjectID != c.ProjectID {
		return computedb.Instance{}, fault.NotFound(fmt.Sprintf("Instance %s could not be found.", id))
	}
	return in, nil
}

func policyAdmin(c *auth.Context) bool { return c != nil && (c.IsAdmin || c.HasRole("admin")) }

// hostStatuses maps each compute host to nova's host_status.
func (h *handlers) hostStatuses(r *http.Request) (map[string]string, error) {
	svcs, now, err := h.computeServices(r)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(svcs))
	for host, s := range svcs {
		switch {
		case s.ForcedDown:
			out[host] = "DOWN"
		case !servicegroup.IsUp(s, now, h.downTime):
			out[host] = "UNKNOWN"
		case s.Disabled:
			out[host] = "MAINTENANCE"
		default:
			out[host] = "UP"
		}
	}
	return out, nil
}

func (h *handlers) viewContext(r *http.Request) (viewContext, error) {
	vc := viewContext{base: baseURL(r), version: microversion.FromContext(r.Context()),
		admin: h.allowed(r, polExtendedAttrs), flavorsByID: h.flavors}
	if vc.admin && vc.version.AtLeast(2, 16) {
		var err error
		if vc.hostStatus, err = h.hostStatuses(r); err != nil {
			return vc, err
		}
	}
	return vc, nil
}

// showServer is GET /servers/{id}.
func (h *handlers) showServer(w http.ResponseWriter, r *http.Request) {
	in, err := h.getServer(r, chi.URLParam(r, "id"))
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	vc, err := h.viewContext(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"server": serverDetail(vc, in)})
}

// listServers is GET /servers and /servers/detail: the caller's project,
// or every project for an admin asking all_tenants; newest first; paged by
// limit and marker with a servers_links "next" link when the page is full.
func (h *handlers) listServers(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query()
		limit, marker, _, err := h.pageParams(q)
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		f := computedb.InstanceFilter{ProjectID: caller(r).ProjectID, Limit: limit, Marker: marker}
		if vs, ok := q["all_tenants"]; ok {
			all := true
			if s := lastValue(vs); s != "" {
				if all, err = checkBoolean("all_tenants", s); err != nil {
					fault.Write(w, r, fault.BadRequest(fmt.Sprintf("Invalid input received: Unrecognized value '%s', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'", s)))
					return
				}
			}
			if all {
				action := polServersAllIndex
				if detail {
					action = polServersAllDetail
				}
				if err := h.enf.Authorize(ctx, action); err != nil {
					fault.Write(w, r, err)
					return
				}
				f.ProjectID = ""
			}
		}
		if limit == 0 {
			writeJSON(w, http.StatusOK, map[string]any{"servers": []any{}})
			return
		}
		list, err := h.compute.ListInstances(ctx, f)
		if errors.Is(err, computedb.ErrNotFound) {
			fault.Write(w, r, fault.BadRequest(fmt.Sprintf("marker [%s] not found", marker)))
			return
		}
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		resp := map[string]any{}
		if detail {
			vc, err := h.viewContext(r)
			if err != nil {
				fault.Write(w, r, err)
				return
			}
			out := make([]map[string]any, len(list))
			for i, in := range list {
				out[i] = serverDetail(vc, in)
			}
			resp["servers"] = out
		} else {
			base := baseURL(r)
			out := make([]serverBrief, len(list))
			for i, in := range list {
				out[i] = serverBrief{ID: in.UUID, Name: in.DisplayName, Links: serverLinks(base, in.UUID)}
			}
			resp["servers"] = out
		}
		if len(list) > 0 && len(list) == limit {
			path := "/v2.1/servers"
			if detail {
				path += "/detail"
			}
			resp["servers_links"] = []link{nextLink(r, path, limit, list[len(list)-1].UUID)}
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// deleteServer is DELETE /servers/{id}: an instance with no host, or whose
// compute is down or gone, is deleted here (nova's local delete); otherwise
// its task state becomes deleting and terminate_instance is cast to its
// host, which removes the row.
func (h *handlers) deleteServer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, err := h.getServer(r, chi.URLParam(r, "id"))
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	local := in.Host == ""
	if !local {
		svc, err := h.services.GetByHostBinary(ctx, in.Host, registry.BinaryCompute)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			local = true
		case err != nil:
			fault.Write(w, r, err)
			return
		default:
			now, err := h.services.Now(ctx)
			if err != nil {
				fault.Write(w, r, err)
				return
			}
			local = !servicegroup.IsUp(svc, now, h.downTime)
		}
	}
	log := h.log.With("instance_uuid", in.UUID, "host", in.Host)
	if local {
		if err := h.compute.DeleteInstance(ctx, in.UUID); err != nil && !errors.Is(err, computedb.ErrNotFound) {
			fault.Write(w, r, err)
			return
		}
		log.InfoContext(ctx, "server deleted locally (no reachable compute)")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	st := states.TaskDeleting
	in, err = h.compute.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{TaskState: &st})
	if errors.Is(err, computedb.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent) // deleted meanwhile
		return
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.rpcTimeout)
	defer cancel()
	if err := h.rpc.TerminateInstance(cctx, in); err != nil {
		fault.Write(w, r, fmt.Errorf("casting terminate_instance to %s: %w", in.Host, err))
		return
	}
	log.InfoContext(ctx, "server delete cast to its compute")
	w.WriteHeader(http.StatusNoContent)
}
