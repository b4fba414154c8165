package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseVersion parses an oslo RPC API version "major.minor" (a bare "major"
// means minor 0; a third component, as oslo allows, is accepted and ignored).
func ParseVersion(v string) (major, minor int, err error) {
	var nums [2]int
	rest := v
	for i := 0; ; i++ {
		p, tail, more := strings.Cut(rest, ".")
		n, err := strconv.Atoi(p)
		if i > 2 || err != nil || n < 0 || p == "" || (len(p) > 1 && p[0] == '+') {
			return 0, 0, fmt.Errorf("version %q is not major.minor", v)
		}
		if i < 2 {
			nums[i] = n
		}
		if !more {
			return nums[0], nums[1], nil
		}
		rest = tail
	}
}

// VersionCompatible reports whether a server at version have can serve a
// request for version want: same major, want's minor <= have's minor. An empty
// want means "1.0", as in oslo.
func VersionCompatible(have, want string) bool {
	if want == "" {
		want = "1.0"
	}
	if have == "" {
		have = "1.0"
	}
	hm, hn, err := ParseVersion(have)
	if err != nil {
		return false
	}
	wm, wn, err := ParseVersion(want)
	if err != nil {
		return false
	}
	return hm == wm && wn <= hn
}
