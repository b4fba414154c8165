package computeapi

import (
	"crypto/rand"
	"math/big"
	"regexp"
	"strings"
)

var (
	hostnameSeparators = regexp.MustCompile(`[ _.]`)
	hostnameInvalid    = regexp.MustCompile(`[^\p{L}\p{N}_.-]+`)
)

// SanitizeHostname is nova's utils.sanitize_hostname: the name without
// characters beyond Latin-1, cut to 63, spaces, underscores and dots made
// hyphens, anything but word characters, dots and hyphens removed, lower
// case, without leading or trailing dots and hyphens; def when nothing is
// left.
func SanitizeHostname(name, def string) string {
	var b strings.Builder
	for _, r := range name {
		if r <= 0xFF {
			b.WriteRune(r)
		}
	}
	h := truncate63(b.String())
	h = hostnameSeparators.ReplaceAllString(h, "-")
	h = hostnameInvalid.ReplaceAllString(h, "")
	h = strings.Trim(strings.ToLower(h), ".-")
	if h == "" {
		return truncate63(def)
	}
	return h
}

func truncate63(s string) string {
	if r := []rune(s); len(r) > 63 {
		return string(r[:63])
	}
	return s
}

// newReservationID is nova's utils.generate_uid('r'): "r-" and 8 random
// lower-case letters and digits.
func newReservationID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("r-")
	for i := 0; i < 8; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b = append(b, alphabet[n.Int64()])
	}
	return string(b)
}
