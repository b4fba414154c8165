package computedb

import (
	"context"
	"errors"
)

// DefaultFlavors is nova's classic default flavor set, the m1.* flavors its
// old `nova-manage` created (ids 1-5). gonova creates them only when asked:
// `nova-manage flavor create-defaults` or `[gonova] default_flavors`.
var DefaultFlavors = []Flavor{
	{FlavorID: "1", Name: "m1.tiny", MemoryMB: 512, RootGB: 1, VCPUs: 1, RXTXFactor: 1.0, IsPublic: true},
	{FlavorID: "2", Name: "m1.small", MemoryMB: 2048, RootGB: 20, VCPUs: 1, RXTXFactor: 1.0, IsPublic: true},
	{FlavorID: "3", Name: "m1.medium", MemoryMB: 4096, RootGB: 40, VCPUs: 2, RXTXFactor: 1.0, IsPublic: true},
	{FlavorID: "4", Name: "m1.large", MemoryMB: 8192, RootGB: 80, VCPUs: 4, RXTXFactor: 1.0, IsPublic: true},
	{FlavorID: "5", Name: "m1.xlarge", MemoryMB: 16384, RootGB: 160, VCPUs: 8, RXTXFactor: 1.0, IsPublic: true},
}

// CreateDefaultFlavors creates the DefaultFlavors that do not exist and
// returns how many it created. It is idempotent and safe in several
// processes at once: a flavor whose id or name exists already (created by
// a sibling, or by an admin) is left as it is.
func CreateDefaultFlavors(ctx context.Context, s FlavorStore) (int, error) {
	n := 0
	for _, f := range DefaultFlavors {
		f.ExtraSpecs = map[string]string{}
		_, err := s.CreateFlavor(ctx, f)
		var exists *FlavorExistsError
		switch {
		case errors.As(err, &exists):
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}
