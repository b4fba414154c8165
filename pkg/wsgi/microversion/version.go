package microversion

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// Version is a microversion "Major.Minor". The zero Version is null: no
// version was negotiated.
type Version struct {
	Major, Minor int
}

var (
	// Min is the lowest compute microversion, and the one a request without a
	// version header gets.
	Min = Version{2, 1}
	// DefaultMax is the highest microversion gonova implements and
	// advertises: the one constant to raise when a version's changes are
	// all implemented (never above NovaMax).
	DefaultMax = Version{2, 93}
	// NovaMax is the highest microversion nova 26 (Zed) serves. A
	// Negotiator serves up to any Options.Max; this is the ceiling the
	// compute API's handlers implement version rules for.
	NovaMax = Version{2, 93}
)

// versionPattern is nova's APIVersionRequest format.
var versionPattern = regexp.MustCompile(`^([1-9][0-9]*)\.([1-9][0-9]*|0)$`)

// ErrInvalid is wrapped by Parse's errors.
var ErrInvalid = errors.New("invalid microversion")

// Parse parses "X.Y" as nova does: no leading zeros, no spaces, no signs.
//
//	v, err := microversion.Parse("2.53")
func Parse(s string) (Version, error) {
	m := versionPattern.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%w: %q", ErrInvalid, s)
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil { // only on overflow
		return Version{}, fmt.Errorf("%w: %q is out of range", ErrInvalid, s)
	}
	return Version{major, minor}, nil
}

// MustParse is Parse that panics; for constants.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String returns "X.Y", or "" for the null Version.
func (v Version) String() string {
	if v.IsNull() {
		return ""
	}
	return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor)
}

// IsNull reports whether v is the zero Version.
func (v Version) IsNull() bool { return v == Version{} }

// Compare returns -1, 0 or +1 as v is lower than, equal to or higher than o.
func (v Version) Compare(o Version) int {
	switch {
	case v.Major != o.Major:
		if v.Major < o.Major {
			return -1
		}
		return 1
	case v.Minor < o.Minor:
		return -1
	case v.Minor > o.Minor:
		return 1
	}
	return 0
}

// AtLeast reports whether v >= major.minor.
//
//	if microversion.FromContext(ctx).AtLeast(2, 11) { item["forced_down"] = svc.ForcedDown }
func (v Version) AtLeast(major, minor int) bool {
	return v.Compare(Version{major, minor}) >= 0
}

// Before reports whether v < major.minor.
func (v Version) Before(major, minor int) bool { return !v.AtLeast(major, minor) }

// Matches reports whether min <= v <= max; a null max has no upper bound, as
// in nova's APIVersionRequest.matches. A null v matches nothing.
func (v Version) Matches(min, max Version) bool {
	if v.IsNull() {
		return false
	}
	if max.IsNull() {
		return v.Compare(min) >= 0
	}
	return v.Compare(min) >= 0 && v.Compare(max) <= 0
}

type versionKey struct{}

// NewContext returns ctx carrying v.
func NewContext(ctx context.Context, v Version) context.Context {
	return context.WithValue(ctx, versionKey{}, v)
}

// FromContext returns the negotiated version, or the null Version when the
// request did not go through a Negotiator.
func FromContext(ctx context.Context) Version {
	v, _ := ctx.Value(versionKey{}).(Version)
	return v
}
