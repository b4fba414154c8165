package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// MaxServerTags is nova's MAX_TAG_COUNT: the tags a server may have.
const MaxServerTags = 50

// tagStates are the vm states nova changes tags in
// (_check_instance_in_valid_state).
var tagStates = []states.VMState{states.VMActive, states.VMPaused, states.VMSuspended, states.VMStopped}

// checkTag is nova's parameter_types.tag: 1..60 characters, no ',' or '/'.
// It returns the jsonschema message, or "".
func checkTag(tag string) string {
	const pat = "^[^,/]*$"
	switch n := utf8.RuneCountInString(tag); {
	case n < 1:
		return fmt.Sprintf("%s is too short", wsgi.PyRepr(tag))
	case n > computedb.MaxTagLength:
		return fmt.Sprintf("%s is too long", wsgi.PyRepr(tag))
	case strings.ContainsAny(tag, ",/"):
		return fmt.Sprintf("%s does not match %s", wsgi.PyRepr(tag), wsgi.PyRepr(pat))
	}
	return ""
}

// tagServer is the instance a tags request names, read without the
// caller's project scope, then the policy on its project: nova's tags API
// finds the server by its instance mapping, so another project's server is
// a 403 there, not a 404.
func (h *handlers) tagServer(r *http.Request, action string) (computedb.Instance, error) {
	id := chi.URLParam(r, "id")
	in, err := h.compute.GetInstance(r.Context(), id)
	if errors.Is(err, computedb.ErrNotFound) {
		return in, fault.NotFound((&computeapi.InstanceNotFoundError{UUID: id}).Error())
	}
	if err != nil {
		return in, err
	}
	if err := h.enf.AuthorizeTarget(r.Context(), action, policy.Target{"project_id": in.ProjectID}); err != nil {
		return computedb.Instance{}, err
	}
	return in, nil
}

// checkTagState is nova's _check_instance_in_valid_state.
func checkTagState(in computedb.Instance, action, id string) error {
	if !slices.Contains(tagStates, in.VMState) {
		return fault.Conflict((&computeapi.InstanceInvalidStateError{UUID: id, Action: action, Attr: "vm_state", State: string(in.VMState)}).Error())
	}
	return nil
}

// editFault maps EditInstance's refusals: a server deleted meanwhile is
// nova's 404.
func editFault(err error, id string) error {
	if errors.Is(err, computedb.ErrNotFound) {
		return fault.NotFound((&computeapi.InstanceNotFoundError{UUID: id}).Error())
	}
	return serverFault(err, id)
}

// listServerTags is GET /servers/{id}/tags.
func (h *handlers) listServerTags(w http.ResponseWriter, r *http.Request) {
	in, err := h.tagServer(r, polTagsIndex)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": tagsView(in.Tags)})
}

func tagsView(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// showServerTag is GET /servers/{id}/tags/{tag}: 204 when the server has
// it.
func (h *handlers) showServerTag(w http.ResponseWriter, r *http.Request) {
	in, err := h.tagServer(r, polTagsShow)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	tag := chi.URLParam(r, "tag")
	if !slices.Contains(in.Tags, tag) {
		fault.Write(w, r, fault.NotFound(fmt.Sprintf("Server %s has no tag '%s'", chi.URLParam(r, "id"), tag)))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// updateServerTags is PUT /servers/{id}/tags: {"tags": [...]} replaces
// them all.
func (h *handlers) updateServerTags(w http.ResponseWriter, r *http.Request) {
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := checkKeys("", body, []string{"tags"}); err != nil {
		fault.Write(w, r, err)
		return
	}
	raw, ok := body["tags"].([]any)
	if !ok {
		fault.Write(w, r, invalidField("tags", body["tags"], fmt.Sprintf("%s is not of type 'array'", wsgi.PyRepr(body["tags"]))))
		return
	}
	if len(raw) > MaxServerTags {
		fault.Write(w, r, invalidField("tags", raw, fmt.Sprintf("%s is too long", wsgi.PyRepr(raw))))
		return
	}
	tags := make([]string, 0, len(raw))
	for i, t := range raw {
		s, isStr := t.(string)
		if !isStr {
			fault.Write(w, r, invalidField(fmt.Sprintf("tags/%d", i), t, fmt.Sprintf("%s is not of type 'string'", wsgi.PyRepr(t))))
			return
		}
		if msg := checkTag(s); msg != "" {
			fault.Write(w, r, invalidField(fmt.Sprintf("tags/%d", i), t, msg))
			return
		}
		tags = append(tags, s)
	}
	in, err := h.tagServer(r, polTagsUpdateAll)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	if err := checkTagState(in, "update tags", id); err != nil {
		fault.Write(w, r, err)
		return
	}
	out, err := h.compute.EditInstance(r.Context(), in.UUID, func(meta map[string]string, _ []string) (map[string]string, []string, error) {
		return meta, tags, nil
	})
	if err != nil {
		fault.Write(w, r, editFault(err, id))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": tagsView(out.Tags)})
}

// addServerTag is PUT /servers/{id}/tags/{tag}: 201 with a Location when
// added, 204 when the server had it.
func (h *handlers) addServerTag(w http.ResponseWriter, r *http.Request) {
	// nova's schema of this body is "null": none, or JSON null.
	data, err := io.ReadAll(r.Body)
	if err != nil {
		fault.Write(w, r, fault.BadRequest("Malformed request body"))
		return
	}
	if s := strings.TrimSpace(string(data)); s != "" && s != "null" {
		fault.Write(w, r, fault.BadRequest(fmt.Sprintf("%s is not of type 'null'", s)))
		return
	}
	in, err := h.tagServer(r, polTagsUpdate)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	id, tag := chi.URLParam(r, "id"), chi.URLParam(r, "tag")
	if err := checkTagState(in, "update tag", id); err != nil {
		fault.Write(w, r, err)
		return
	}
	if msg := checkTag(tag); msg != "" {
		fault.Write(w, r, fault.BadRequest(fmt.Sprintf("Tag '%s' is invalid. It must be a non empty string without characters '/' and ','. Validation error message: %s", tag, msg)))
		return
	}
	tooMany := fault.BadRequest(fmt.Sprintf("The number of tags exceeded the per-server limit %d", MaxServerTags))
	added := false
	_, err = h.compute.EditInstance(r.Context(), in.UUID, func(meta map[string]string, tags []string) (map[string]string, []string, error) {
		if len(tags) >= MaxServerTags {
			return nil, nil, tooMany
		}
		if !slices.Contains(tags, tag) {
			tags, added = append(tags, tag), true
		}
		return meta, tags, nil
	})
	if err != nil {
		fault.Write(w, r, editFault(err, id))
		return
	}
	if !added {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Location", baseURL(r)+"/v2.1/servers/"+id+"/tags/"+tag)
	w.WriteHeader(http.StatusCreated)
}

// deleteServerTag is DELETE /servers/{id}/tags/{tag}: 204, 404 when the
// server lacks it.
func (h *handlers) deleteServerTag(w http.ResponseWriter, r *http.Request) {
	in, err := h.tagServer(r, polTagsDelete)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	id, tag := chi.URLParam(r, "id"), chi.URLParam(r, "tag")
	if err := checkTagState(in, "delete tag", id); err != nil {
		fault.Write(w, r, err)
		return
	}
	missing := fault.NotFound(fmt.Sprintf("Instance %s has no tag '%s'", in.UUID, tag))
	_, err = h.compute.EditInstance(r.Context(), in.UUID, func(meta map[string]string, tags []string) (map[string]string, []string, error) {
		i := slices.Index(tags, tag)
		if i < 0 {
			return nil, nil, missing
		}
		return meta, slices.Delete(tags, i, i+1), nil
	})
	if err != nil {
		fault.Write(w, r, editFault(err, id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteServerTags is DELETE /servers/{id}/tags: 204.
func (h *handlers) deleteServerTags(w http.ResponseWriter, r *http.Request) {
	in, err := h.tagServer(r, polTagsDeleteAll)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	if err := checkTagState(in, "delete tags", id); err != nil {
		fault.Write(w, r, err)
		return
	}
	if _, err := h.compute.EditInstance(r.Context(), in.UUID, func(meta map[string]string, _ []string) (map[string]string, []string, error) {
		return meta, nil, nil
	}); err != nil {
		fault.Write(w, r, editFault(err, id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// requireTagsVersion serves the tags routes from 2.26 only, as nova's
// api_version("2.26"): before, they do not exist (404).
func requireTagsVersion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !microversion.FromContext(r.Context()).AtLeast(2, 26) {
			fault.Write(w, r, fault.NotFound("The resource could not be found."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkCreateTags is the "tags" of a server create (2.52): an array of at
// most 50 tags.
func checkCreateTags(v any) ([]string, error) {
	raw, ok := v.([]any)
	if !ok {
		return nil, invalidField("tags", v, fmt.Sprintf("%s is not of type 'array'", wsgi.PyRepr(v)))
	}
	if len(raw) > MaxServerTags {
		return nil, invalidField("tags", v, fmt.Sprintf("%s is too long", wsgi.PyRepr(v)))
	}
	out := make([]string, 0, len(raw))
	for i, t := range raw {
		s, isStr := t.(string)
		if !isStr {
			return nil, invalidField(fmt.Sprintf("tags/%d", i), t, fmt.Sprintf("%s is not of type 'string'", wsgi.PyRepr(t)))
		}
		if msg := checkTag(s); msg != "" {
			return nil, invalidField(fmt.Sprintf("tags/%d", i), t, msg)
		}
		out = append(out, s)
	}
	return out, nil
}
