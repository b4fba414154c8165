package api

import (
	"fmt"
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// Flavor is a nova flavor. gonova serves nova's historical default set (the
// m1.* flavors that `nova-manage` once created), read-only.
type Flavor struct {
	ID        string
	Name      string
	RAM       int64 // MiB
	Disk      int64 // GiB
	VCPUs     int
	Ephemeral int64
	Swap      int64 // MiB; 0 is shown as "" as nova does
	RXTX      float64
	Public    bool
	Disabled  bool
}

// DefaultFlavors is nova's classic default flavor set.
var DefaultFlavors = []Flavor{
	{ID: "1", Name: "m1.tiny", RAM: 512, Disk: 1, VCPUs: 1, RXTX: 1.0, Public: true},
	{ID: "2", Name: "m1.small", RAM: 2048, Disk: 20, VCPUs: 1, RXTX: 1.0, Public: true},
	{ID: "3", Name: "m1.medium", RAM: 4096, Disk: 40, VCPUs: 2, RXTX: 1.0, Public: true},
	{ID: "4", Name: "m1.large", RAM: 8192, Disk: 80, VCPUs: 4, RXTX: 1.0, Public: true},
	{ID: "5", Name: "m1.xlarge", RAM: 16384, Disk: 160, VCPUs: 8, RXTX: 1.0, Public: true},
}

// flavorCatalog looks flavors up by id.
type flavorCatalog struct{ byID map[string]Flavor }

func newFlavorCatalog(fs []Flavor) flavorCatalog {
	c := flavorCatalog{byID: make(map[string]Flavor, len(fs))}
	for _, f := range fs {
		c.byID[f.ID] = f
	}
	return c
}

func (c flavorCatalog) get(id string) (Flavor, bool) {
	f, ok := c.byID[id]
	return f, ok
}

// sorted returns the flavors ordered as nova lists them by default (flavorid).
func (c flavorCatalog) sorted() []Flavor {
	out := make([]Flavor, 0, len(c.byID))
	for _, f := range c.byID {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// listFlavors is GET /flavors and /flavors/detail.
func (h *handlers) listFlavors(detail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		base := baseURL(r)
		fs := h.flavors.sorted()
		if detail {
			out := make([]flavorView, len(fs))
			for i, f := range fs {
				out[i] = newFlavorView(base, "", f)
			}
			writeJSON(w, http.StatusOK, map[string]any{"flavors": out})
			return
		}
		out := make([]flavorBrief, len(fs))
		for i, f := range fs {
			out[i] = flavorBrief{ID: f.ID, Name: f.Name, Links: flavorLinks(base, "", f.ID)}
		}
		writeJSON(w, http.StatusOK, map[string]any{"flavors": out})
	}
}

// showFlavor is GET /flavors/{id}.
func (h *handlers) showFlavor(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	f, ok := h.flavors.get(id)
	if !ok {
		fault.Write(w, r, fault.NotFound(fmt.Sprintf("Flavor %s could not be found.", id)))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flavor": newFlavorView(baseURL(r), "", f)})
}
