package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// DefaultMetadataItemsLimit is nova's [quota] metadata_items: the metadata
// items a server may have.
const DefaultMetadataItemsLimit = 128

// metadataStates are the vm states nova changes metadata in (with no task
// state): its check_instance_state on update_instance_metadata and
// delete_instance_metadata.
var metadataStates = []states.VMState{states.VMActive, states.VMPaused, states.VMSuspended, states.VMStopped}

// metadataLimit is the limit for project.
func (h *handlers) metadataLimit(ctx context.Context, project string) int {
	if h.metadataLimitFn == nil {
		return DefaultMetadataItemsLimit
	}
	return h.metadataLimitFn(ctx, project)
}

// checkEditableState is nova's check_instance_state(vm_state=..., task_state=None)
// for action on in (the URL's id in the message).
func checkEditableState(in computedb.Instance, action, id string) error {
	if !slices.Contains(metadataStates, in.VMState) {
		return fault.Conflict((&computeapi.InstanceInvalidStateError{UUID: id, Action: action, Attr: "vm_state", State: string(in.VMState)}).Error())
	}
	if in.TaskState != states.TaskNone {
		return fault.Conflict((&computeapi.InstanceInvalidStateError{UUID: id, Action: action, Attr: "task_state", State: string(in.TaskState)}).Error())
	}
	return nil
}

// metadataLimitError is nova's MetadataLimitExceeded, a 403.
func metadataLimitError(limit int) error {
	return fault.Forbidden(fmt.Sprintf("Maximum number of metadata items exceeds %d", limit))
}

// errMetadataItemNotFound is nova's 404 for a key the server lacks.
var errMetadataItemNotFound = fault.NotFound("Metadata item was not found")

// parseMetadataBody is the create and update_all schema: {"metadata": {...}}.
func parseMetadataBody(h *handlers, r *http.Request) (map[string]string, error) {
	body, err := h.decodeObject(r)
	if err != nil {
		return nil, err
	}
	if err := checkKeys("", body, []string{"metadata"}); err != nil {
		return nil, err
	}
	return checkMetadata(body["metadata"])
}

// listServerMetadata is GET /servers/{id}/metadata.
func (h *handlers) listServerMetadata(w http.ResponseWriter, r *http.Request) {
	in, err := h.getServer(r, chi.URLParam(r, "id"), polMetadataIndex, false)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"metadata": metadataView(in.Metadata)})
}

// showServerMetadata is GET /servers/{id}/metadata/{key}.
func (h *handlers) showServerMetadata(w http.ResponseWriter, r *http.Request) {
	in, err := h.getServer(r, chi.URLParam(r, "id"), polMetadataShow, false)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	key := chi.URLParam(r, "key")
	v, ok := in.Metadata[key]
	if !ok {
		fault.Write(w, r, errMetadataItemNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: v}})
}

// editMetadata changes the server's metadata as nova's
// update_instance_metadata: merged into (replace false) or replacing
// (true) what it has, within the limit, in one step of the store.
func (h *handlers) editMetadata(r *http.Request, in computedb.Instance, set map[string]string, replace bool) (map[string]string, error) {
	ctx := r.Context()
	if err := computeapi.CheckLock(h.computeCaller(r), in); err != nil {
		return nil, serverFault(err, in.UUID)
	}
	if err := checkEditableState(in, "update metadata", in.UUID); err != nil {
		return nil, err
	}
	limit := h.metadataLimit(ctx, in.ProjectID)
	out, err := h.compute.EditInstance(ctx, in.UUID, func(meta map[string]string, tags []string) (map[string]string, []string, error) {
		if replace {
			meta = map[string]string{}
		}
		for k, v := range set {
			meta[k] = v
		}
		if limit >= 0 && len(meta) > limit {
			return nil, nil, metadataLimitError(limit)
		}
		return meta, tags, nil
	})
	if err != nil {
		return nil, editFault(err, in.UUID)
	}
	return out.Metadata, nil
}

// createServerMetadata is POST /servers/{id}/metadata: merge.
func (h *handlers) createServerMetadata(w http.ResponseWriter, r *http.Request) {
	h.writeServerMetadata(w, r, polMetadataCreate, false)
}

// updateAllServerMetadata is PUT /servers/{id}/metadata: replace.
func (h *handlers) updateAllServerMetadata(w http.ResponseWriter, r *http.Request) {
	h.writeServerMetadata(w, r, polMetadataUpdateAll, true)
}

func (h *handlers) writeServerMetadata(w http.ResponseWriter, r *http.Request, action string, replace bool) {
	set, err := parseMetadataBody(h, r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	in, err := h.getServer(r, chi.URLParam(r, "id"), action, false)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	meta, err := h.editMetadata(r, in, set, replace)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"metadata": meta})
}

// updateServerMetadataItem is PUT /servers/{id}/metadata/{key} with
// {"meta": {key: value}}.
func (h *handlers) updateServerMetadataItem(w http.ResponseWriter, r *http.Request) {
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if err := checkKeys("", body, []string{"meta"}); err != nil {
		fault.Write(w, r, err)
		return
	}
	meta, err := checkMetadata(body["meta"])
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	switch raw, _ := body["meta"].(map[string]any); {
	case len(raw) < 1:
		fault.Write(w, r, invalidField("meta", raw, "{} does not have enough properties"))
		return
	case len(raw) > 1:
		fault.Write(w, r, invalidField("meta", raw, fmt.Sprintf("%s has too many properties", wsgi.PyRepr(raw))))
		return
	}
	in, err := h.getServer(r, chi.URLParam(r, "id"), polMetadataUpdate, false)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if _, ok := meta[chi.URLParam(r, "key")]; !ok {
		fault.Write(w, r, fault.BadRequest("Request body and URI mismatch"))
		return
	}
	if _, err := h.editMetadata(r, in, meta, false); err != nil {
		fault.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"meta": meta})
}

// deleteServerMetadataItem is DELETE /servers/{id}/metadata/{key}: 204.
func (h *handlers) deleteServerMetadataItem(w http.ResponseWriter, r *http.Request) {
	id, key := chi.URLParam(r, "id"), chi.URLParam(r, "key")
	in, err := h.getServer(r, id, polMetadataDelete, false)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if _, ok := in.Metadata[key]; !ok {
		fault.Write(w, r, errMetadataItemNotFound)
		return
	}
	if err := computeapi.CheckLock(h.computeCaller(r), in); err != nil {
		fault.Write(w, r, serverFault(err, id))
		return
	}
	if err := checkEditableState(in, "delete metadata", id); err != nil {
		fault.Write(w, r, err)
		return
	}
	_, err = h.compute.EditInstance(r.Context(), in.UUID, func(meta map[string]string, tags []string) (map[string]string, []string, error) {
		if _, ok := meta[key]; !ok {
			return nil, nil, errMetadataItemNotFound // removed meanwhile
		}
		delete(meta, key)
		return meta, tags, nil
	})
	if err != nil {
		if !errors.Is(err, errMetadataItemNotFound) {
			err = editFault(err, id)
		}
		fault.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
