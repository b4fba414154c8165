package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// nova's os-aggregates policies, each checked on the empty target.
const (
	polAggregatesIndex       = "os_compute_api:os-aggregates:index"
	polAggregatesCreate      = "os_compute_api:os-aggregates:create"
	polAggregatesShow        = "os_compute_api:os-aggregates:show"
	polAggregatesUpdate      = "os_compute_api:os-aggregates:update"
	polAggregatesDelete      = "os_compute_api:os-aggregates:delete"
	polAggregatesAddHost     = "os_compute_api:os-aggregates:add_host"
	polAggregatesRemoveHost  = "os_compute_api:os-aggregates:remove_host"
	polAggregatesSetMetadata = "os_compute_api:os-aggregates:set_metadata"
)

// aggregateView is nova's _marshall_aggregate: every field of the
// Aggregate object (uuid from 2.41), naive timestamps, never soft-deleted.
func aggregateView(a computedb.Aggregate, v microversion.Version, withHosts bool) map[string]any {
	var az any
	if z := a.AvailabilityZone(); z != "" {
		az = z
	}
	m := map[string]any{
		"id": a.ID, "name": a.Name, "availability_zone": az,
		"created_at": a.CreatedAt.UTC().Format(novaTimeLayout), "updated_at": nullTime(a.UpdatedAt, novaTimeLayout),
		"deleted": false, "deleted_at": nil,
	}
	if withHosts {
		m["hosts"] = a.Hosts
		m["metadata"] = a.Metadata
	}
	if v.AtLeast(2, 41) {
		m["uuid"] = a.UUID
	}
	return m
}

// aggregateID is nova's utils.validate_integer(id, 'id').
func aggregateID(r *http.Request) (int64, error) {
	s := chi.URLParam(r, "id")
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, nil // an integer, of no row: not found
	}
	if err != nil {
		return 0, fault.BadRequest("Invalid input received: id must be an integer")
	}
	return n, nil
}

func aggregateNotFound(id string) error {
	return fault.NotFound(fmt.Sprintf("Aggregate %s could not be found.", id))
}

// printableName is the check behind nova's name formats: printable
// characters (no control, no separator but spaces), without ':' when
// noColon.
func printableName(s string, noColon bool) bool {
	for _, r := range s {
		if unicode.In(r, unicode.C) || (unicode.In(r, unicode.Z) && !unicode.In(r, unicode.Zs)) || (noColon && r == ':') {
			return false
		}
	}
	return true
}

func isSpaceRune(r rune) bool { return unicode.IsSpace(r) || unicode.In(r, unicode.Zs) }

// checkNameFormat is nova's 'name' / 'az_name' formats (no leading or
// trailing whitespace) and, with trailingSpaces, the
// '*_with_leading_trailing_spaces' ones (at least one non-space).
func checkNameFormat(field string, v any, az, trailingSpaces bool) (string, error) {
	s, err := (stringRule{min: 1, max: 255}).check(field, v)
	if err != nil {
		return "", err
	}
	reason := "printable characters. Can not start or end with whitespace."
	switch {
	case az && trailingSpaces:
		reason = "printable characters except :, with at least one non space character"
	case az:
		reason = "printable characters except :.Can not start or end with whitespace."
	case trailingSpaces:
		reason = "printable characters with at least one non space character"
	}
	bad := fault.BadRequest("An invalid 'name' value was provided. The name must be: " + reason)
	if !printableName(s, az) {
		return "", bad
	}
	if trailingSpaces {
		if strings.TrimFunc(s, isSpaceRune) == "" {
			return "", bad
		}
		return s, nil
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if isSpaceRune(first) || isSpaceRune(last) {
		return "", bad
	}
	return s, nil
}

// checkZoneName is the aggregates schemas' availability_zone:
// oneOf [az_name, null], whose failure jsonschema reports without saying
// which branch failed.
func checkZoneName(raw any) (string, error) {
	s, err := checkNameFormat("availability_zone", raw, true, false)
	if err != nil {
		return "", invalidField("availability_zone", raw, wsgi.PyRepr(raw)+" is not valid under any of the given schemas")
	}
	return s, nil
}

// normalizeName is nova's common.normalize_name: surrounding whitespace
// stripped.
func normalizeName(s string) string { return strings.TrimFunc(s, isSpaceRune) }

// aggregateBody validates {"<key>": {...}} as nova's aggregates schemas:
// the inner object's properties first, then its keys, then the body's.
func aggregateBody(body map[string]any, key string, inner func(obj map[string]any) error) error {
	if raw, ok := body[key]; ok {
		obj, err := checkObject(key, raw)
		if err != nil {
			return err
		}
		if err := inner(obj); err != nil {
			return err
		}
	}
	return checkKeys("", body, []string{key})
}

// listAggregates is GET /os-aggregates.
func (h *handlers) listAggregates(w http.ResponseWriter, r *http.Request) {
	aggs, err := h.compute.ListAggregates(r.Context())
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	v := microversion.FromContext(r.Context())
	out := make([]map[string]any, 0, len(aggs))
	for _, a := range aggs {
		out = append(out, aggregateView(a, v, true))
	}
	writeJSON(w, http.StatusOK, map[string]any{"aggregates": out})
}

// createAggregate is POST /os-aggregates.
func (h *handlers) createAggregate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var name, az string
	body, err := h.decodeObject(r)
	if err == nil {
		err = aggregateBody(body, "aggregate", func(obj map[string]any) error {
			var err error
			if hasKey(obj, "name") {
				if name, err = checkNameFormat("name", obj["name"], false, false); err != nil {
					return err
				}
			}
			if raw, ok := obj["availability_zone"]; ok && raw != nil {
				if az, err = checkZoneName(raw); err != nil {
					return err
				}
			}
			return checkKeys("aggregate", obj, []string{"name"}, "availability_zone")
		})
	}
	if err == nil {
		err = h.enf.AuthorizeTarget(ctx, polAggregatesCreate, policy.Target{})
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	name, az = normalizeName(name), normalizeName(az)
	var md map[string]string
	if az != "" {
		md = map[string]string{computedb.MetadataAvailabilityZone: az}
	}
	a, err := h.compute.CreateAggregate(ctx, name, md)
	if errors.Is(err, computedb.ErrAggregateNameExists) {
		err = fault.Conflict(fmt.Sprintf("Aggregate %s already exists.", name))
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	h.log.InfoContext(ctx, "aggregate created", "aggregate_id", a.ID, "name", a.Name, "availability_zone", az)
	writeJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(a, microversion.FromContext(ctx), false)})
}

// oneAggregate checks action's policy, then the id, then finds it.
func (h *handlers) oneAggregate(r *http.Request, action string) (computedb.Aggregate, error) {
	if err := h.enf.AuthorizeTarget(r.Context(), action, policy.Target{}); err != nil {
		return computedb.Aggregate{}, err
	}
	id, err := aggregateID(r)
	if err != nil {
		return computedb.Aggregate{}, err
	}
	a, err := h.compute.GetAggregate(r.Context(), id)
	if errors.Is(err, computedb.ErrNotFound) {
		return a, aggregateNotFound(chi.URLParam(r, "id"))
	}
	return a, err
}

// showAggregate is GET /os-aggregates/{id}.
func (h *handlers) showAggregate(w http.ResponseWriter, r *http.Request) {
	a, err := h.oneAggregate(r, polAggregatesShow)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(a, microversion.FromContext(r.Context()), true)})
}

// deleteAggregate is DELETE /os-aggregates/{id}: 200 without a body, as
// nova; refused while the aggregate has hosts.
func (h *handlers) deleteAggregate(w http.ResponseWriter, r *http.Request) {
	a, err := h.oneAggregate(r, polAggregatesDelete)
	if err == nil {
		err = h.compute.DeleteAggregate(r.Context(), a.ID)
	}
	switch {
	case errors.Is(err, computedb.ErrAggregateNotEmpty):
		err = fault.BadRequest(fmt.Sprintf("Cannot remove host from aggregate %d. Reason: Host aggregate is not empty.", a.ID))
	case errors.Is(err, computedb.ErrNotFound):
		err = aggregateNotFound(chi.URLParam(r, "id"))
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "aggregate deleted", "aggregate_id", a.ID, "name", a.Name)
	w.WriteHeader(http.StatusOK)
}

// updateAggregate is PUT /os-aggregates/{id}: name and/or
// availability_zone. As nova, the name is saved before the zone is
// checked.
func (h *handlers) updateAggregate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var name, az *string
	body, err := h.decodeObject(r)
	if err == nil {
		err = aggregateBody(body, "aggregate", func(obj map[string]any) error {
			if raw, ok := obj["name"]; ok {
				s, err := checkNameFormat("name", raw, false, true)
				if err != nil {
					return err
				}
				s = normalizeName(s)
				name = &s
			}
			if raw, ok := obj["availability_zone"]; ok {
				s := ""
				if raw != nil {
					var err error
					if s, err = checkZoneName(raw); err != nil {
						return err
					}
				}
				az = &s
			}
			if err := checkKeys("aggregate", obj, nil, "name", "availability_zone"); err != nil {
				return err
			}
			if name == nil && az == nil {
				return invalidField("aggregate", obj, fmt.Sprintf("%s is not valid under any of the given schemas", wsgi.PyRepr(obj)))
			}
			return nil
		})
	}
	var a computedb.Aggregate
	if err == nil {
		a, err = h.oneAggregate(r, polAggregatesUpdate)
	}
	if err == nil && name != nil {
		a, err = h.compute.RenameAggregate(ctx, a.ID, *name)
		if errors.Is(err, computedb.ErrAggregateNameExists) {
			err = fault.Conflict(fmt.Sprintf("Aggregate %s already exists.", *name))
		}
	}
	if err == nil && az != nil {
		a, err = h.setAggregateZone(ctx, a, map[string]*string{computedb.MetadataAvailabilityZone: az},
			"Cannot update aggregate %d. Reason: %s.")
	}
	if errors.Is(err, computedb.ErrNotFound) {
		err = aggregateNotFound(chi.URLParam(r, "id"))
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	h.log.InfoContext(ctx, "aggregate updated", "aggregate_id", a.ID, "name", a.Name, "availability_zone", a.AvailabilityZone())
	writeJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(a, microversion.FromContext(ctx), true)})
}

// setAggregateZone writes metadata after nova's is_safe_to_update_az
// with check_no_instances_in_az; refusal is the message format of the
// action (aggregate id, reason), a 400.
func (h *handlers) setAggregateZone(ctx context.Context, a computedb.Aggregate, md map[string]*string, refusal string) (computedb.Aggregate, error) {
	if reason, err := h.unsafeZoneChange(ctx, a, md, a.Hosts, true); err != nil {
		return a, err
	} else if reason != "" {
		return a, fault.BadRequest(fmt.Sprintf(refusal, a.ID, reason))
	}
	return h.compute.UpdateAggregateMetadata(ctx, a.ID, md)
}

// unsafeZoneChange is nova's is_safe_to_update_az: the reason the metadata
// md may not be given to aggregate a with hosts, "" when it may.
func (h *handlers) unsafeZoneChange(ctx context.Context, a computedb.Aggregate, md map[string]*string, hosts []string, checkInstances bool) (string, error) {
	zp, ok := md[computedb.MetadataAvailabilityZone]
	if !ok {
		return "", nil
	}
	if zp == nil || *zp == "" {
		return fmt.Sprintf("Aggregate %s does not support empty named availability zone", a.Name), nil
	}
	zone := *zp
	aggs, err := h.compute.ListAggregates(ctx)
	if err != nil {
		return "", err
	}
	var conflicting []any
	for _, o := range aggs {
		if o.ID == a.ID || o.AvailabilityZone() == "" || o.AvailabilityZone() == zone {
			continue
		}
		for _, host := range hosts {
			if containsString(o.Hosts, host) {
				conflicting = append(conflicting, o.AvailabilityZone())
				break
			}
		}
	}
	if len(conflicting) > 0 {
		return fmt.Sprintf("One or more hosts already in availability zone(s) %s", wsgi.PyRepr(conflicting)), nil
	}
	if checkInstances && a.AvailabilityZone() != zone {
		for _, host := range hosts {
			n, err := h.compute.CountInstancesByHost(ctx, host)
			if err != nil {
				return "", err
			}
			if n > 0 {
				return "One or more hosts contain instances in this zone", nil
			}
		}
	}
	return "", nil
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// aggregateAction is POST /os-aggregates/{id}/action: add_host,
// remove_host, set_metadata.
func (h *handlers) aggregateAction(w http.ResponseWriter, r *http.Request) {
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if len(body) != 1 {
		fault.Write(w, r, fault.BadRequest("Malformed message body: too many body keys"))
		return
	}
	switch {
	case hasKey(body, "add_host"):
		err = h.aggregateHost(w, r, body, "add_host")
	case hasKey(body, "remove_host"):
		err = h.aggregateHost(w, r, body, "remove_host")
	case hasKey(body, "set_metadata"):
		err = h.aggregateSetMetadata(w, r, body)
	default:
		for k := range body {
			err = fault.BadRequest("There is no such action: " + k)
		}
	}
	if err != nil {
		fault.Write(w, r, err)
	}
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// aggregateHost is the add_host and remove_host actions.
func (h *handlers) aggregateHost(w http.ResponseWriter, r *http.Request, body map[string]any, action string) error {
	ctx := r.Context()
	var host string
	if err := aggregateBody(body, action, func(obj map[string]any) error {
		if raw, ok := obj["host"]; ok {
			var err error
			if host, err = fqdnRule.check("host", raw); err != nil {
				return err
			}
		}
		return checkKeys(action, obj, []string{"host"})
	}); err != nil {
		return err
	}
	pol := polAggregatesAddHost
	if action == "remove_host" {
		pol = polAggregatesRemoveHost
	}
	if err := h.enf.AuthorizeTarget(ctx, pol, policy.Target{}); err != nil {
		return err
	}
	id, err := aggregateID(r)
	if err != nil {
		return err
	}
	idText := chi.URLParam(r, "id")
	cannotRemove := fault.NotFound(fmt.Sprintf("Cannot remove host %s in aggregate %s", host, idText))
	// nova's _get_service_in_cell_by_host: the host must run nova-compute.
	if _, err := h.services.GetByHostBinary(ctx, host, registry.BinaryCompute); err != nil {
		if !errors.Is(err, registry.ErrNotFound) && !errors.Is(err, registry.ErrInvalid) {
			return err
		}
		if action == "remove_host" {
			return cannotRemove
		}
		return fault.NotFound(fmt.Sprintf("Compute host %s could not be found.", host))
	}
	a, err := h.compute.GetAggregate(ctx, id)
	if errors.Is(err, computedb.ErrNotFound) {
		if action == "remove_host" {
			return cannotRemove
		}
		return aggregateNotFound(idText)
	}
	if err != nil {
		return err
	}
	if action == "add_host" {
		md := map[string]*string{}
		if z := a.AvailabilityZone(); z != "" {
			md[computedb.MetadataAvailabilityZone] = &z
		}
		reason, err := h.unsafeZoneChange(ctx, a, md, []string{host}, false)
		if err != nil {
			return err
		}
		if reason != "" {
			return fault.Conflict(fmt.Sprintf("Cannot add host to aggregate %d. Reason: %s.", a.ID, reason))
		}
		a, err = h.compute.AddAggregateHost(ctx, a.ID, host)
		switch {
		case errors.Is(err, computedb.ErrAggregateHostExists):
			return fault.Conflict(fmt.Sprintf("Aggregate %d already has host %s.", id, host))
		case errors.Is(err, computedb.ErrNotFound):
			return aggregateNotFound(idText)
		case err != nil:
			return err
		}
	} else {
		a, err = h.compute.RemoveAggregateHost(ctx, a.ID, host)
		switch {
		case errors.Is(err, computedb.ErrAggregateHostNotFound), errors.Is(err, computedb.ErrNotFound):
			return cannotRemove
		case err != nil:
			return err
		}
	}
	h.log.InfoContext(ctx, "aggregate host "+strings.TrimSuffix(action, "_host")+"ed", "aggregate_id", a.ID, "host", host)
	writeJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(a, microversion.FromContext(ctx), true)})
	return nil
}

// aggregateSetMetadata is the set_metadata action: keys set, null values
// removed.
func (h *handlers) aggregateSetMetadata(w http.ResponseWriter, r *http.Request, body map[string]any) error {
	ctx := r.Context()
	md := map[string]*string{}
	if err := aggregateBody(body, "set_metadata", func(obj map[string]any) error {
		if raw, ok := obj["metadata"]; ok {
			m, err := checkObject("metadata", raw)
			if err != nil {
				return err
			}
			var bad []string
			for k := range m {
				if !metadataKeyPattern.MatchString(k) {
					bad = append(bad, k)
				}
			}
			for k, val := range m {
				if !metadataKeyPattern.MatchString(k) {
					continue
				}
				if val == nil {
					md[k] = nil
					continue
				}
				s, ok := val.(string)
				if !ok {
					return invalidField(k, val, fmt.Sprintf("%s is not of type 'string', 'null'", wsgi.PyRepr(val)))
				}
				if utf8.RuneCountInString(s) > 255 {
					return invalidField(k, val, fmt.Sprintf("%s is too long", wsgi.PyRepr(s)))
				}
				md[k] = &s
			}
			if len(bad) > 0 {
				slices.Sort(bad)
				q := make([]string, len(bad))
				for i, k := range bad {
					q[i] = wsgi.PyRepr(k)
				}
				verb := "does"
				if len(bad) > 1 {
					verb = "do"
				}
				return invalidField("metadata", m, fmt.Sprintf("%s %s not match any of the regexes: %s",
					strings.Join(q, ", "), verb, wsgi.PyRepr(metadataKeyPattern.String())))
			}
		}
		return checkKeys("set_metadata", obj, []string{"metadata"})
	}); err != nil {
		return err
	}
	a, err := h.oneAggregate(r, polAggregatesSetMetadata)
	if err != nil {
		return err
	}
	a, err = h.setAggregateZone(ctx, a, md, "Cannot update metadata of aggregate %d. Reason: %s.")
	if errors.Is(err, computedb.ErrNotFound) {
		return aggregateNotFound(chi.URLParam(r, "id"))
	}
	if err != nil {
		return err
	}
	h.log.InfoContext(ctx, "aggregate metadata set", "aggregate_id", a.ID, "keys", len(md))
	writeJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(a, microversion.FromContext(ctx), true)})
	return nil
}
