package api

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// The resize actions' policies (nova's servers policies).
const (
	polServersResize        = "os_compute_api:servers:resize"
	polServersConfirmResize = "os_compute_api:servers:confirm_resize"
	polServersRevertResize  = "os_compute_api:servers:revert_resize"
)

func init() {
	extraActions["resize"] = actionHandler{parse: parseResize, run: (*handlers).resize}
	extraActions["confirmResize"] = actionHandler{parse: noSchema, run: (*handlers).confirmResize}
	extraActions["revertResize"] = actionHandler{parse: noSchema, run: (*handlers).revertResize}
}

// parseResize is nova's resize schema: {"resize": {"flavorRef": string or
// integer (not empty), "OS-DCF:diskConfig": "AUTO" | "MANUAL"}}, nothing
// else. It returns the flavor id.
func parseResize(v any, _ microversion.Version) (any, error) {
	obj, err := checkObject("resize", v)
	if err != nil {
		return nil, err
	}
	if err := checkKeys("resize", obj, []string{"flavorRef"}, "flavorRef", "OS-DCF:diskConfig"); err != nil {
		return nil, err
	}
	id, err := checkFlavorRef(obj["flavorRef"])
	if err != nil {
		return nil, err
	}
	if raw, ok := obj["OS-DCF:diskConfig"]; ok {
		if _, err := (stringRule{enum: []string{"AUTO", "MANUAL"}}).check("OS-DCF:diskConfig", raw); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// resize is the resize action: the server, the resize policy on its user
// and project, compute.API's resize with the flavor (a disabled or unknown
// one is nova's FlavorNotFound, after the state checks); 202.
func (h *handlers) resize(w http.ResponseWriter, r *http.Request, arg any) error {
	ref := arg.(string)
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polServersResize, true)
	if err != nil {
		return err
	}
	req := computeapi.ResizeRequest{Instance: in, FlavorRef: ref}
	f, err := h.compute.GetFlavor(r.Context(), ref, h.flavorScope(r))
	switch {
	case err == nil && !f.Disabled:
		req.Flavor = &computeapi.Flavor{ID: f.FlavorID, Name: f.Name, VCPUs: f.VCPUs, MemoryMB: f.MemoryMB, RootGB: f.RootGB,
			EphemeralGB: f.EphemeralGB, Swap: f.Swap, RXTXFactor: f.RXTXFactor, ExtraSpecs: f.ExtraSpecs}
	case err != nil && !errors.Is(err, computedb.ErrNotFound):
		return err
	}
	if err := h.capi.Resize(r.Context(), h.computeCaller(r), req); err != nil {
		return serverFault(err, id)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// confirmResize is the confirmResize action: the confirm_resize policy on
// the server's project; 204, as nova.
func (h *handlers) confirmResize(w http.ResponseWriter, r *http.Request, _ any) error {
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polServersConfirmResize, false)
	if err != nil {
		return err
	}
	if err := h.capi.ConfirmResize(r.Context(), h.computeCaller(r), in); err != nil {
		return serverFault(err, id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revertResize is the revertResize action: the revert_resize policy on the
// server's project; 202.
func (h *handlers) revertResize(w http.ResponseWriter, r *http.Request, _ any) error {
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polServersRevertResize, false)
	if err != nil {
		return err
	}
	if err := h.capi.RevertResize(r.Context(), h.computeCaller(r), in); err != nil {
		return serverFault(err, id)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
