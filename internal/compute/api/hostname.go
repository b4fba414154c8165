package computeapi

import (
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
