package api

import "net/http"

// versions is GET /: the list of API versions (nova's v2.0 entry is left
// out: gonova does not serve the legacy /v2 endpoint it would point to).
func (h *handlers) versions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"versions": []versionDoc{v21Doc(baseURL(r), h.minV.String(), h.maxV.String(), false)},
	})
}

// version is GET /v2.1 and /v2.1/: the detailed v2.1 document.
func (h *handlers) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"version": v21Doc(baseURL(r), h.minV.String(), h.maxV.String(), true),
	})
}
