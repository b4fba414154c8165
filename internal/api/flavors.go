package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// Flavors are kept in the store (computedb.FlavorStore), as nova keeps them
// in its API database: an admin creates and deletes them (os-flavor-manage),
// sets their extra specs and, for a private flavor, the projects that may
// use it (os-flavor-access). nova has no flavors until someone creates
// them: `nova-manage flavor create-defaults` or `[gonova] default_flavors`
// create nova's classic m1.* set (computedb.DefaultFlavors).

// flavorQueryParams are the query parameters of GET /flavors[/detail]
// (nova's index_query); from 2.75 any other one is a 400.
var flavorQueryParams = []string{"limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir"}

// flavorScope is who the caller is to the flavor store.
func (h *handlers) flavorScope(r *http.Request) computedb.FlavorScope {
	s := computedb.FlavorScope{Admin: h.isAdmin(r)}
	if c := caller(r); c != nil {
		s.ProjectID = c.ProjectID
	}
	return s
}

// parseFlavorList is nova's FlavorsController._get_flavors: the query
// schema, then the filters an admin or a user may use.
func (h *handlers) parseFlavorList(r *http.Request) (computedb.FlavorFilter, bool, error) {
	q := r.URL.Query()
	v := microversion.FromContext(r.Context())
	f := computedb.FlavorFilter{Scope: h.flavorScope(r)}
	if v.AtLeast(2, 75) {
		if err := checkQueryKeys(q, flavorQueryParams...); err != nil {
			return f, false, err
		}
	}
	for _, k := range []string{"sort_key", "sort_dir"} {
		enum := computedb.FlavorSortKeys
		if k == "sort_dir" {
			enum = []string{"asc", "desc"}
		}
		for _, val := range q[k] {
			if _, err := (stringRule{enum: enum}).check(k, val); err != nil {
				return f, false, invalidQuery(k, val, fmt.Sprintf("%s is not one of [%s]", wsgi.PyRepr(val), quoteAll(enum)))
			}
		}
	}
	f.SortKey = lastValue(q["sort_key"])
	f.SortDesc = lastValue(q["sort_dir"]) == "desc"
	limit, marker, paged, err := h.pageParams(q)
	if err != nil {
		return f, false, err
	}
	f.Limit, f.Marker = limit, marker
	yes, no := true, false
	if f.Scope.Admin {
		f.IsPublic = &yes
		if vs, ok := q["is_public"]; ok {
			s := lastValue(vs)
			if strings.ToLower(s) == "none" {
				f.IsPublic = nil
			} else if b, ok := strictBool(s); ok {
				f.IsPublic = &b
			} else {
				return f, false, fault.BadRequest(fmt.Sprintf("Invalid is_public filter [%s]", s))
			}
		}
	} else {
		f.IsPublic, f.Disabled = &yes, &no
	}
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"minRam", &f.MinMemoryMB}, {"minDisk", &f.MinRootGB}} {
		if vs, ok := q[p.name]; ok {
			s := lastValue(vs)
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return f, false, fault.BadRequest(fmt.Sprintf("Invalid %s filter [%s]", p.name, s))
			}
			*p.dst = &n
		}
	}
	return f, paged, nil
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = wsgi.PyRepr(v)
	}
	return strings.Join(q, ", ")
}

// listFlavors is GET /flavors and /flavors/detail.
func (h *handlers) listFlavors(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		f, _, err := h.parseFlavorList(r)
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		var list []computedb.Flavor
		if f.Limit > 0 { // limit=0 is an empty page, as nova's paginate_query
			list, err = h.compute.ListFlavors(ctx, f)
		} else if f.Marker != "" {
			_, err = h.compute.ListFlavors(ctx, f) // the marker must still exist
		}
		if errors.Is(err, computedb.ErrNotFound) {
			fault.Write(w, r, fault.BadRequest(fmt.Sprintf("marker [%s] not found", f.Marker)))
			return
		}
		if err != nil {
			fault.Write(w, r, err)
			return
		}
		fv := h.flavorViewOptions(r)
		out := make([]map[string]any, len(list))
		for i, fl := range list {
			if detail {
				out[i] = fv.show(fl)
			} else {
				out[i] = fv.brief(fl)
			}
		}
		resp := map[string]any{"flavors": out}
		if f.Limit > 0 && len(list) == f.Limit {
			path := "/v2.1/flavors"
			if detail {
				path += "/detail"
			}
			resp["flavors_links"] = []link{nextLink(r, path, f.Limit, list[len(list)-1].FlavorID)}
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// flavorView decides what a flavor body shows at the request's version.
type flavorView struct {
	base        string
	version     microversion.Version
	description bool // 2.55
	extraSpecs  bool // 2.61 and os-flavor-extra-specs:index
}

func (h *handlers) flavorViewOptions(r *http.Request) flavorView {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	fv := flavorView{base: baseURL(r), version: v, description: v.AtLeast(2, 55)}
	if v.AtLeast(2, 61) {
		var target policy.Target
		if c := caller(r); c != nil {
			target = policy.Target{"project_id": c.ProjectID}
		}
		fv.extraSpecs = h.enf.Allowed(ctx, polFlavorSpecsIndex, target)
	}
	return fv
}

func flavorLinks(base, id string) []link {
	return []link{
		{Href: base + "/v2.1/flavors/" + id, Rel: "self"},
		{Href: base + "/flavors/" + id, Rel: "bookmark"},
	}
}

func nullableString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// brief is a flavor as GET /flavors lists it.
func (fv flavorView) brief(f computedb.Flavor) map[string]any {
	m := map[string]any{"id": f.FlavorID, "name": f.Name, "links": flavorLinks(fv.base, f.FlavorID)}
	if fv.description {
		m["description"] = nullableString(f.Description)
	}
	return m
}

// show is nova's ViewBuilder.show: swap 0 is "" before 2.75.
func (fv flavorView) show(f computedb.Flavor) map[string]any {
	var swap any = ""
	if f.Swap > 0 || fv.version.AtLeast(2, 75) {
		swap = f.Swap
	}
	m := map[string]any{
		"id": f.FlavorID, "name": f.Name, "ram": f.MemoryMB, "disk": f.RootGB, "swap": swap,
		"OS-FLV-EXT-DATA:ephemeral": f.EphemeralGB, "OS-FLV-DISABLED:disabled": f.Disabled,
		"vcpus": f.VCPUs, "os-flavor-access:is_public": f.IsPublic, "rxtx_factor": f.RXTXFactor,
		"links": flavorLinks(fv.base, f.FlavorID),
	}
	if fv.description {
		m["description"] = nullableString(f.Description)
	}
	if fv.extraSpecs {
		specs := f.ExtraSpecs
		if specs == nil {
			specs = map[string]string{}
		}
		m["extra_specs"] = specs
	}
	return m
}

// getFlavor is nova's common.get_flavor: the flavor the caller sees, or
// nova's 404.
func (h *handlers) getFlavor(r *http.Request, id string) (computedb.Flavor, error) {
	f, err := h.compute.GetFlavor(r.Context(), id, h.flavorScope(r))
	if errors.Is(err, computedb.ErrNotFound) {
		return f, fault.NotFound(fmt.Sprintf("Flavor %s could not be found.", id))
	}
	return f, err
}

// showFlavor is GET /flavors/{id}.
func (h *handlers) showFlavor(w http.ResponseWriter, r *http.Request) {
	f, err := h.getFlavor(r, chi.URLParam(r, "id"))
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flavor": h.flavorViewOptions(r).show(f)})
}

// flavorIDRule is the schema of a flavor's "id" string: 1..255 of
// [a-zA-Z0-9. _-], not starting or ending with a space.
func checkFlavorID(v any) (string, error) {
	const pat = `^(?! )[a-zA-Z0-9. _-]+(?<! )$`
	switch x := v.(type) {
	case nil:
		return "", nil
	case float64:
		if x == 0 {
			return "", nil // falsy: nova generates one
		}
		return wsgi.PyRepr(x), nil
	case string:
		if x == "" {
			return "", invalidField("id", v, "'' is too short")
		}
		if len([]rune(x)) > 255 {
			return "", invalidField("id", v, fmt.Sprintf("%s is too long", wsgi.PyRepr(x)))
		}
		ok := x[0] != ' ' && x[len(x)-1] != ' '
		for _, c := range x {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == ' ' || c == '_' || c == '-') {
				ok = false
			}
		}
		if !ok {
			return "", invalidField("id", v, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(x), wsgi.PyRepr(pat)))
		}
		return x, nil
	}
	return "", invalidField("id", v, fmt.Sprintf("%s is not of type 'string', 'number', 'null'", wsgi.PyRepr(v)))
}

// checkFlavorInt is nova's flavor_param_positive / _non_negative (an
// integer or a string of digits, minimum min, maximum 2147483647) followed
// by utils.validate_integer.
func checkFlavorInt(name string, v any, minimum int64) (int64, error) {
	const pat = `^[0-9]+$`
	var n int64
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return 0, invalidField(name, v, fmt.Sprintf("%s is not of type 'integer', 'string'", wsgi.PyRepr(v)))
		}
		if x < float64(minimum) {
			return 0, invalidField(name, v, fmt.Sprintf("%s is less than the minimum of %d", wsgi.PyRepr(v), minimum))
		}
		if x > computedb.MaxFlavorValue {
			return 0, invalidField(name, v, fmt.Sprintf("%s is greater than the maximum of %d", wsgi.PyRepr(v), computedb.MaxFlavorValue))
		}
		n = int64(x)
	case string:
		if !integerPatterns[nonNegativePattern].MatchString(x) || x == "" {
			return 0, invalidField(name, v, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(x), wsgi.PyRepr(pat)))
		}
		p, err := strconv.ParseInt(x, 10, 64)
		if err != nil || p > computedb.MaxFlavorValue {
			return 0, fault.BadRequest(fmt.Sprintf("Invalid input received: %s must be <= %d", name, computedb.MaxFlavorValue))
		}
		if p < minimum {
			return 0, fault.BadRequest(fmt.Sprintf("Invalid input received: %s must be >= %d", name, minimum))
		}
		n = p
	default:
		return 0, invalidField(name, v, fmt.Sprintf("%s is not of type 'integer', 'string'", wsgi.PyRepr(v)))
	}
	return n, nil
}

// maxRXTX is nova's SQL_SP_FLOAT_MAX.
const maxRXTX = 3.40282e+38

func checkRXTX(v any) (float64, error) {
	const pat = `^[0-9]+(\.[0-9]+)?$`
	var f float64
	switch x := v.(type) {
	case float64:
		if x <= 0 {
			return 0, invalidField("rxtx_factor", v, fmt.Sprintf("%s is less than or equal to the minimum of 0", wsgi.PyRepr(v)))
		}
		if x > maxRXTX {
			return 0, invalidField("rxtx_factor", v, fmt.Sprintf("%s is greater than the maximum of 3.40282e+38", wsgi.PyRepr(v)))
		}
		f = x
	case string:
		ok := x != ""
		parts := strings.SplitN(x, ".", 2)
		for i, p := range parts {
			if p == "" || strings.Trim(p, "0123456789") != "" {
				ok = false
			}
			_ = i
		}
		if !ok {
			return 0, invalidField("rxtx_factor", v, fmt.Sprintf("%s does not match %s", wsgi.PyRepr(x), wsgi.PyRepr(pat)))
		}
		p, err := strconv.ParseFloat(x, 64)
		if err != nil || p <= 0 || p > maxRXTX {
			return 0, fault.BadRequest("Invalid input received: 'rxtx_factor' argument must be a float between 0 and 3.40282e+38")
		}
		f = p
	default:
		return 0, invalidField("rxtx_factor", v, fmt.Sprintf("%s is not of type 'number', 'string'", wsgi.PyRepr(v)))
	}
	return f, nil
}

// checkFlavorDescription is nova's flavor_description: null or 0..65535
// printable characters.
func checkFlavorDescription(v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	s, err := (stringRule{max: 65535}).check("description", v)
	if err != nil {
		return nil, err
	}
	for _, c := range s {
		if unicode.In(c, unicode.C) || (unicode.In(c, unicode.Z) && !unicode.In(c, unicode.Zs)) {
			return nil, invalidField("description", v, fmt.Sprintf("%s does not match the printable characters pattern", wsgi.PyRepr(s)))
		}
	}
	return &s, nil
}

// parseFlavorCreate validates POST /flavors as nova's create (create_v2_55
// from 2.55: description).
func parseFlavorCreate(body map[string]any, v microversion.Version) (computedb.Flavor, error) {
	f := computedb.Flavor{RXTXFactor: 1.0, IsPublic: true}
	if err := checkKeys("", body, []string{"flavor"}); err != nil {
		return f, err
	}
	fb, err := checkObject("flavor", body["flavor"])
	if err != nil {
		return f, err
	}
	allowed := []string{"id", "OS-FLV-EXT-DATA:ephemeral", "swap", "rxtx_factor", "os-flavor-access:is_public"}
	if v.AtLeast(2, 55) {
		allowed = append(allowed, "description")
	}
	if err := checkKeys("flavor", fb, []string{"name", "ram", "vcpus", "disk"}, allowed...); err != nil {
		return f, err
	}
	if f.Name, err = checkName("name", fb["name"]); err != nil {
		return f, err
	}
	if f.FlavorID, err = checkFlavorID(fb["id"]); err != nil {
		return f, err
	}
	if f.MemoryMB, err = checkFlavorInt("ram", fb["ram"], 1); err != nil {
		return f, err
	}
	vcpus, err := checkFlavorInt("vcpus", fb["vcpus"], 1)
	if err != nil {
		return f, err
	}
	f.VCPUs = int(vcpus)
	if f.RootGB, err = checkFlavorInt("disk", fb["disk"], 0); err != nil {
		return f, err
	}
	if raw, ok := fb["OS-FLV-EXT-DATA:ephemeral"]; ok {
		if f.EphemeralGB, err = checkFlavorInt("OS-FLV-EXT-DATA:ephemeral", raw, 0); err != nil {
			return f, err
		}
	}
	if raw, ok := fb["swap"]; ok {
		if f.Swap, err = checkFlavorInt("swap", raw, 0); err != nil {
			return f, err
		}
	}
	if raw, ok := fb["rxtx_factor"]; ok {
		if f.RXTXFactor, err = checkRXTX(raw); err != nil {
			return f, err
		}
	}
	if raw, ok := fb["os-flavor-access:is_public"]; ok {
		if f.IsPublic, err = checkBoolean("os-flavor-access:is_public", raw); err != nil {
			return f, err
		}
	}
	if raw, ok := fb["description"]; ok {
		if f.Description, err = checkFlavorDescription(raw); err != nil {
			return f, err
		}
	}
	if f.FlavorID == "" {
		f.FlavorID = uuid.NewString()
	}
	return f, nil
}

// createFlavor is POST /flavors: 200 with the flavor, 409 when its name or
// id is taken.
func (h *handlers) createFlavor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	f, err := parseFlavorCreate(body, microversion.FromContext(ctx))
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := h.enf.AuthorizeTarget(ctx, polFlavorCreate, policy.Target{}); err != nil {
		fault.Write(w, r, err)
		return
	}
	f.ExtraSpecs = map[string]string{}
	created, err := h.compute.CreateFlavor(ctx, f)
	var exists *computedb.FlavorExistsError
	if errors.As(err, &exists) {
		fault.Write(w, r, fault.Conflict(exists.Error()))
		return
	}
	if err != nil {
		fault.Write(w, r, serverFault(err, ""))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flavor": h.flavorViewOptions(r).show(created)})
}

// updateFlavor is PUT /flavors/{id} (2.55): the description only.
func (h *handlers) updateFlavor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !microversion.FromContext(ctx).AtLeast(2, 55) {
		fault.Write(w, r, fault.NotFound("The resource could not be found."))
		return
	}
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := checkKeys("", body, []string{"flavor"}); err != nil {
		fault.Write(w, r, err)
		return
	}
	fb, err := checkObject("flavor", body["flavor"])
	if err == nil {
		err = checkKeys("flavor", fb, []string{"description"})
	}
	var desc *string
	if err == nil {
		desc, err = checkFlavorDescription(fb["description"])
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := h.enf.AuthorizeTarget(ctx, polFlavorUpdate, policy.Target{}); err != nil {
		fault.Write(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	if _, err := h.getFlavor(r, id); err != nil {
		fault.Write(w, r, err)
		return
	}
	f, err := h.compute.UpdateFlavorDescription(ctx, id, desc)
	if errors.Is(err, computedb.ErrNotFound) {
		err = fault.NotFound(fmt.Sprintf("Flavor %s could not be found.", id))
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	fv := h.flavorViewOptions(r)
	fv.description = true
	writeJSON(w, http.StatusOK, map[string]any{"flavor": fv.show(f)})
}

// deleteFlavor is DELETE /flavors/{id}: 202, as nova.
func (h *handlers) deleteFlavor(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := h.enf.AuthorizeTarget(ctx, polFlavorDelete, policy.Target{}); err != nil {
		fault.Write(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	err := h.compute.DeleteFlavor(ctx, id)
	if errors.Is(err, computedb.ErrNotFound) {
		err = fault.NotFound(fmt.Sprintf("Flavor %s could not be found.", id))
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
