package ovo

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is an object version "major.minor", as oslo's VERSION strings.
type Version struct {
	Major, Minor int
}

// ParseVersion parses "major.minor" (both non-negative decimal integers).
func ParseVersion(s string) (Version, error) {
	maj, min, ok := strings.Cut(s, ".")
	if !ok {
		return Version{}, fmt.Errorf("version %q is not major.minor", s)
	}
	a, err1 := parseUint(maj)
	b, err2 := parseUint(min)
	if err1 != nil || err2 != nil {
		return Version{}, fmt.Errorf("version %q is not major.minor", s)
	}
	return Version{a, b}, nil
}

func parseUint(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, strconv.ErrSyntax
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// MustParseVersion is ParseVersion for constants; it panics on a malformed version.
func MustParseVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

func (v Version) String() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// Compare returns -1, 0 or 1 as v is older than, equal to or newer than o.
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
