package api

import "net/http"

// versions is GET /: nova's list of API versions, v2.0 (the legacy v2
// compatible API under /v2/) then v2.1. nova negotiates no microversion
// here, so the answer has no version headers.
func (h *handlers) versions(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"versions": []versionDoc{v20Doc(base, false), v21Doc(base, h.minV.String(), h.maxV.String(), false)},
	})
}

// version is GET /v2.1 and /v2.1/: the detailed v2.1 document, with the
// negotiated version's headers as nova's VersionsV2 sends them.
func (h *handlers) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"version": v21Doc(baseURL(r), h.minV.String(), h.maxV.String(), true),
	})
}

// versionV20 is GET /v2 and /v2/: nova's VersionsV2 behind the legacy v2
// wrapper, which answers the v2.0 document.
func (h *handlers) versionV20(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": v20Doc(baseURL(r), true)})
}
