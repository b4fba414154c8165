package computedb

import (
	"slices"
)

// InstanceFlavor is what an instance keeps of its flavor beyond the sizes
// its row holds (FlavorID, VCPUs, MemoryMB, RootGB), as nova keeps the
// whole flavor in instance_extra: the server shows it (2.47) even after the
// flavor is deleted.
type InstanceFlavor struct {
	Name        string            `json:"name,omitempty"`
	EphemeralGB int64             `json:"ephemeral_gb,omitempty"`
	Swap        int64             `json:"swap,omitempty"`
	RXTXFactor  float64           `json:"rxtx_factor,omitempty"`
	ExtraSpecs  map[string]string `json:"extra_specs,omitempty"`
}

func (f InstanceFlavor) clone() InstanceFlavor {
	if f.ExtraSpecs != nil {
		f.ExtraSpecs = copyMetadata(f.ExtraSpecs)
	}
	return f
}

// InstanceEdit computes an instance's new metadata and tags from its
// current ones (private copies the function may change and return). It
// runs while the store holds the instance's row, so a check it makes (a
// limit on the number of items, a key that must exist) holds for the write
// even when other API workers edit the same server. An error it returns is
// returned by EditInstance as it is, and nothing is written.
type InstanceEdit func(metadata map[string]string, tags []string) (map[string]string, []string, error)

// MaxTagLength is nova's tag length limit, in characters.
const MaxTagLength = 60

// normalTags is tags sorted without duplicates, never nil.
func normalTags(tags []string) []string {
	out := append([]string{}, tags...)
	slices.Sort(out)
	return slices.Compact(out)
}

func checkTags(tags []string) error {
	var c checker
	for _, t := range tags {
		c.text("tag", t, MaxTagLength)
	}
	return c.err
}

// passTags applies the tags filters of f to an instance's tags.
func passTags(f *InstanceFilter, tags []string) bool {
	has := func(t string) bool { return slices.Contains(tags, t) }
	all := func(want []string) bool {
		for _, t := range want {
			if !has(t) {
				return false
			}
		}
		return true
	}
	anyOf := func(want []string) bool {
		for _, t := range want {
			if has(t) {
				return true
			}
		}
		return false
	}
	if len(f.Tags) > 0 && !all(f.Tags) {
		return false
	}
	if len(f.TagsAny) > 0 && !anyOf(f.TagsAny) {
		return false
	}
	if len(f.NotTags) > 0 && all(f.NotTags) {
		return false
	}
	if len(f.NotTagsAny) > 0 && anyOf(f.NotTagsAny) {
		return false
	}
	return true
}
