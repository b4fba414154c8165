package api

import (
	"net/http"
	"strings"

	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// legacyV2 serves nova's legacy v2 compatible API
// ('openstack_compute_api_v21_legacy_v2_compatible'): /v2/<path> is the
// v2.1 API's /v2.1/<path>, with the microversion headers of the request
// dropped (so every request is 2.1) and those of the response removed, as
// nova's LegacyV2CompatibleWrapper does. /v2 and /v2/ are the v2.0
// version document. It runs before routing, so the /v2.1 routes, their
// policies and their faults are the ones served.
//
// Differs from nova: the links in bodies name /v2.1, and the relaxed
// validation of legacy v2 (extra body keys allowed) is not applied.
func legacyV2(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/v2/")
		if !ok || rest == "" {
			next.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/v2.1/" + rest
		if r2.URL.RawPath != "" {
			r2.URL.RawPath = "/v2.1/" + strings.TrimPrefix(r2.URL.RawPath, "/v2/")
		}
		r2.Header.Del(microversion.HeaderAPIVersion)
		r2.Header.Del(microversion.HeaderLegacyAPIVersion)
		next.ServeHTTP(&legacyWriter{ResponseWriter: w}, r2)
	})
}

// legacyWriter removes the microversion headers, and their names from
// Vary, before the response's header is sent.
type legacyWriter struct {
	http.ResponseWriter
	wrote bool
}

func (lw *legacyWriter) WriteHeader(code int) {
	if !lw.wrote {
		lw.wrote = true
		h := lw.Header()
		h.Del(microversion.HeaderAPIVersion)
		h.Del(microversion.HeaderLegacyAPIVersion)
		var keep []string
		for _, v := range h.Values("Vary") {
			for _, f := range strings.Split(v, ",") {
				f = strings.TrimSpace(f)
				if f != "" && !strings.EqualFold(f, microversion.HeaderAPIVersion) && !strings.EqualFold(f, microversion.HeaderLegacyAPIVersion) {
					keep = append(keep, f)
				}
			}
		}
		h.Del("Vary")
		if len(keep) > 0 {
			h.Set("Vary", strings.Join(keep, ","))
		}
	}
	lw.ResponseWriter.WriteHeader(code)
}

func (lw *legacyWriter) Write(b []byte) (int, error) {
	if !lw.wrote {
		lw.WriteHeader(http.StatusOK)
	}
	return lw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (lw *legacyWriter) Unwrap() http.ResponseWriter { return lw.ResponseWriter }
