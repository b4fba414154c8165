package computedb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Flavor is one flavors row with its extra specs, as nova's API database
// holds it. FlavorID is the id the API shows (nova's flavorid); ID is the
// row's, which only nova's flavor access messages repeat.
type Flavor struct {
	ID          int64
	FlavorID    string
	Name        string
	MemoryMB    int64
	VCPUs       int
	RootGB      int64
	EphemeralGB int64
	Swap        int64 // MiB
	RXTXFactor  float64
	IsPublic    bool
	Disabled    bool
	// Description is nil when the flavor has none (nova 2.55).
	Description *string
	// ExtraSpecs is never nil on a stored flavor.
	ExtraSpecs map[string]string
	CreatedAt  time.Time
	UpdatedAt  *time.Time
}

// FlavorScope is who asks for a flavor: an admin sees every flavor; anyone
// else the public ones and the private ones its project was given access
// to, as nova's _flavor_get_query_from_db.
type FlavorScope struct {
	Admin     bool
	ProjectID string
}

// FlavorFilter selects flavors as nova's FlavorList.get_all does.
type FlavorFilter struct {
	Scope FlavorScope
	// IsPublic, when set, keeps the flavors whose is_public is *IsPublic;
	// true also keeps the private flavors Scope.ProjectID has access to
	// (nova's is_public filter).
	IsPublic *bool
	// Disabled, when set, keeps the flavors whose disabled is *Disabled.
	Disabled *bool
	// MinMemoryMB and MinRootGB, when set, are lower bounds (inclusive).
	MinMemoryMB, MinRootGB *int64
	// SortKey is one of FlavorSortKeys ("" is flavorid); id follows it in
	// the same direction.
	SortKey  string
	SortDesc bool
	Limit    int // 0: no limit
	// Marker is the flavorid of the last flavor of the previous page,
	// looked up in Scope; an unknown one is ErrNotFound.
	Marker string
}

// FlavorSortKeys are the columns a flavor list sorts by (nova's
// VALID_SORT_KEYS).
var FlavorSortKeys = []string{"created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id",
	"is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap", "updated_at", "vcpu_weight", "vcpus"}

// FlavorExistsError is nova's FlavorExists (a name in use) or FlavorIdExists
// (a flavorid in use); errors.Is(err, ErrConflict) holds.
type FlavorExistsError struct {
	Name     string // set when the name is taken
	FlavorID string // set when the flavorid is taken
}

func (e *FlavorExistsError) Error() string {
	if e.FlavorID != "" {
		return fmt.Sprintf("Flavor with ID %s already exists.", e.FlavorID)
	}
	return fmt.Sprintf("Flavor with name %s already exists.", e.Name)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *FlavorExistsError) Is(target error) bool { return target == ErrConflict }

// ErrExtraSpecNotFound means the flavor has no extra spec of that key.
var ErrExtraSpecNotFound = errors.New("computedb: no such extra spec")

// ErrFlavorAccessNotFound means the project has no access to the flavor.
var ErrFlavorAccessNotFound = errors.New("computedb: no such flavor access")

// FlavorStore keeps flavors, their extra specs and their access lists.
// Every flavorid lookup is in the caller's FlavorScope where the API looks
// it up so; the writes are the admin's and see every flavor.
type FlavorStore interface {
	// CreateFlavor stores f (FlavorID and Name must be new:
	// *FlavorExistsError otherwise) with its ExtraSpecs.
	CreateFlavor(ctx context.Context, f Flavor) (Flavor, error)
	// GetFlavor returns the flavor of flavorID the scope sees, or
	// ErrNotFound.
	GetFlavor(ctx context.Context, flavorID string, scope FlavorScope) (Flavor, error)
	// ListFlavors returns the flavors f selects, in its order.
	ListFlavors(ctx context.Context, f FlavorFilter) ([]Flavor, error)
	// UpdateFlavorDescription sets the description (nil clears it).
	UpdateFlavorDescription(ctx context.Context, flavorID string, description *string) (Flavor, error)
	// DeleteFlavor removes the flavor, its extra specs and access list.
	DeleteFlavor(ctx context.Context, flavorID string) error
	// SetFlavorExtraSpecs adds or replaces the given extra specs.
	SetFlavorExtraSpecs(ctx context.Context, flavorID string, specs map[string]string) (Flavor, error)
	// DeleteFlavorExtraSpec removes one: ErrExtraSpecNotFound when the
	// flavor has none of that key.
	DeleteFlavorExtraSpec(ctx context.Context, flavorID, key string) error
	// FlavorProjects lists the projects with access to the flavor, sorted.
	FlavorProjects(ctx context.Context, flavorID string) ([]string, error)
	// AddFlavorProject gives project access: ErrConflict when it has it.
	AddFlavorProject(ctx context.Context, flavorID, project string) error
	// RemoveFlavorProject takes it away: ErrFlavorAccessNotFound when it
	// had none.
	RemoveFlavorProject(ctx context.Context, flavorID, project string) error
}

// MaxFlavorValue is the largest integer of a flavor (nova's db MAX_INT).
const MaxFlavorValue = math.MaxInt32

// checkFlavor validates f as the columns hold it.
func checkFlavor(f Flavor) error {
	var c checker
	if f.FlavorID == "" || f.Name == "" {
		return invalid("flavor", "needs a flavorid and a name")
	}
	c.text("flavorid", f.FlavorID, MaxFieldLength)
	c.text("name", f.Name, MaxFieldLength)
	c.int32("memory_mb", f.MemoryMB)
	c.int32("vcpus", int64(f.VCPUs))
	c.int32("root_gb", f.RootGB)
	c.int32("ephemeral_gb", f.EphemeralGB)
	c.int32("swap", f.Swap)
	if f.Description != nil {
		c.text("description", *f.Description, 65535)
	}
	if c.err == nil && (math.IsNaN(f.RXTXFactor) || math.IsInf(f.RXTXFactor, 0)) {
		c.err = invalid("rxtx_factor", "is not a finite number")
	}
	c.metadata(f.ExtraSpecs)
	return c.err
}

func checkSpecs(specs map[string]string) error {
	var c checker
	for k, v := range specs {
		c.text("extra spec key", k, MaxFieldLength)
		c.text("extra spec value", v, MaxFieldLength)
	}
	return c.err
}

func (f *FlavorFilter) checkSort() error {
	if f.SortKey == "" {
		f.SortKey = "flavorid"
	}
	for _, k := range FlavorSortKeys {
		if k == f.SortKey {
			return nil
		}
	}
	return invalid("sort_key", "is not a flavor column")
}

// cloneFlavor shares no map or pointer with f.
func cloneFlavor(f Flavor) Flavor {
	f.ExtraSpecs = copyMetadata(f.ExtraSpecs)
	if f.Description != nil {
		d := *f.Description
		f.Description = &d
	}
	if f.UpdatedAt != nil {
		t := *f.UpdatedAt
		f.UpdatedAt = &t
	}
	return f
}
