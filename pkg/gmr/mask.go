package gmr

import (
	"regexp"
	"strings"
)

// Masked replaces a secret in reports and logs, as oslo does.
const Masked = "***"

// secretWords are the option-name fragments that mark a value as secret. They
// match oslo's secret options (password, admin_password, transport_url's
// password, metadata_proxy_shared_secret, memcache_secret_key, token, ...).
var secretWords = []string{"password", "passwd", "secret", "token", "credential", "private_key", "api_key"}

// IsSecret reports whether an option or parameter name looks secret.
func IsSecret(name string) bool {
	n := strings.ToLower(name)
	if n == "pwd" || n == "pass" {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// MaskValue returns the value as it may be shown for the option called name:
// Masked when the name looks secret (see IsSecret), otherwise the value with
// any password inside it masked by MaskURL.
//
//	gmr.MaskValue("admin_password", "s3cret")                 // "***"
//	gmr.MaskValue("transport_url", "rabbit://nova:pw@mq:5672/") // "rabbit://nova:***@mq:5672/"
func MaskValue(name, value string) string {
	if value != "" && IsSecret(name) {
		return Masked
	}
	return MaskURL(value)
}

// kvSecret matches key=value pairs whose key is secret, as found in libpq
// key/value DSNs ("host=db password=x") and URL query strings ("?password=x").
var kvSecret = regexp.MustCompile(`(?i)\b([a-z_]*(?:password|passwd|pwd|secret|token)[a-z_]*)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]+)`)

// MaskURL masks passwords in a URL, a multi-host oslo transport URL, or a
// key/value DSN, and returns the rest unchanged:
//
//	gmr.MaskURL("rabbit://a:p1@h1:5672,b:p2@h2:5672/nova") // "rabbit://a:***@h1:5672,b:***@h2:5672/nova"
//	gmr.MaskURL("postgresql://nova:pw@db/nova?sslmode=disable") // "postgresql://nova:***@db/nova?sslmode=disable"
//	gmr.MaskURL("host=db user=nova password=pw")            // "host=db user=nova password=***"
//
// net/url cannot be used: it rejects oslo's "user:pass@h1,user:pass@h2"
// authorities, and it would leave an unparsable URL unmasked. When the
// authority cannot be split with certainty (a password holding an unescaped
// ',' or '/'), MaskURL masks more rather than less.
func MaskURL(s string) string {
	if s == "" {
		return s
	}
	s = maskAuthority(s)
	return kvSecret.ReplaceAllString(s, "${1}${2}"+Masked)
}

func maskAuthority(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	head, rest := s[:i+3], s[i+3:]
	// The userinfo ends at the last '@' before the query or fragment; the
	// authority ends at the first '/' after it. Looking for the '@' first
	// keeps an unescaped '/' inside a password from hiding it.
	scope := rest
	if q := strings.IndexAny(scope, "?#"); q >= 0 {
		scope = scope[:q]
	}
	lastAt := strings.LastIndex(scope, "@")
	if lastAt < 0 {
		return s
	}
	end := len(scope)
	if j := strings.IndexByte(scope[lastAt:], '/'); j >= 0 {
		end = lastAt + j
	}
	authority, tail := rest[:end], rest[end:]

	hosts := strings.Split(authority, ",")
	var out []string
	bare := false // an earlier fragment had no userinfo
	for _, h := range hosts {
		at := strings.LastIndex(h, "@")
		if at >= 0 && bare && !strings.Contains(h[:at], ":") {
			// "user:12,34@host": the first fragment looked like host:port
			// but was the start of a password.
			return head + maskWhole(authority) + tail
		}
		if at < 0 {
			bare = true
			if strings.Contains(h, ":") && !hostPort(h) {
				// A fragment that is neither user:pass@host nor host:port:
				// a password holding ','. Mask the whole userinfo.
				return head + maskWhole(authority) + tail
			}
			out = append(out, h)
			continue
		}
		ui := h[:at]
		if c := strings.IndexByte(ui, ':'); c >= 0 {
			ui = ui[:c+1] + Masked
		}
		out = append(out, ui+h[at:])
	}
	return head + strings.Join(out, ",") + tail
}

// maskWhole masks everything between the first ':' and the last '@'.
func maskWhole(authority string) string {
	at := strings.LastIndex(authority, "@")
	c := strings.IndexByte(authority, ':')
	if c < 0 || c > at {
		return authority
	}
	return authority[:c+1] + Masked + authority[at:]
}

// hostPort reports whether h looks like host:port or [v6]:port.
func hostPort(h string) bool {
	c := strings.LastIndexByte(h, ':')
	if c < 0 || c == len(h)-1 {
		return false
	}
	for _, r := range h[c+1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	host := h[:c]
	if strings.HasPrefix(host, "[") {
		return strings.HasSuffix(host, "]")
	}
	return host != "" && !strings.ContainsAny(host, ":")
}
