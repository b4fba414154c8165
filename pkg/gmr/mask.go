package gmr

import (
	"regexp"
	"strings"
)

// Masked replaces a secret in reports and logs, as oslo does.
const Masked = "***"

// secretWords are the option-name fragments that mark a whole value as
// secret. They match oslo's secret options (password, admin_password,
// metadata_proxy_shared_secret, memcache_secret_key, token, ...); "key" also
// covers api_key, private_key and the like.
var secretWords = []string{"password", "passwd", "secret", "token", "credential", "key"}

// urlWords are the option-name fragments of options that hold URLs or DSNs
// with credentials in them (transport_url, [database] connection, auth_url).
var urlWords = []string{"url", "uri", "connection", "dsn"}

// IsSecret reports whether an option or parameter name looks secret: its whole
// value is never shown.
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

// IsURLOption reports whether an option name looks like it holds a URL or a
// DSN with credentials (transport_url, connection, auth_url): its value is
// shown only through MaskSecretURL.
func IsURLOption(name string) bool {
	n := strings.ToLower(name)
	for _, w := range urlWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// MaskValue returns the value as it may be shown for the option called name:
// Masked when the name looks secret (see IsSecret), MaskSecretURL when it
// looks like a URL option (see IsURLOption), otherwise the value with any
// password of a URL or DSN inside it masked by MaskURL.
//
//	gmr.MaskValue("admin_password", "s3cret")                 // "***"
//	gmr.MaskValue("transport_url", "rabbit://nova:pw@mq:5672/") // "rabbit://nova:***@mq:5672/"
//	gmr.MaskValue("connection", "nova:pw@db/nova")              // "***" (not a URL: cannot tell)
func MaskValue(name, value string) string {
	if value == "" {
		return value
	}
	if IsSecret(name) {
		return Masked
	}
	if IsURLOption(name) {
		return MaskSecretURL(value)
	}
	return MaskURL(value)
}

// MaskSecretURL is MaskURL for a value that is known to carry credentials (a
// transport_url or a database connection): when the value is not
// scheme://... and holds no key=value password that MaskURL would mask, it
// cannot be told apart from a password and is replaced by Masked as a whole.
//
//	gmr.MaskSecretURL("rabbit://nova:pw@mq/") // "rabbit://nova:***@mq/"
//	gmr.MaskSecretURL("rabbit:/nova:pw@mq/")  // "***"
//	gmr.MaskSecretURL("memory://")            // "memory://"
func MaskSecretURL(v string) string {
	if v == "" {
		return v
	}
	if strings.Contains(v, "://") {
		return MaskURL(v)
	}
	if m := MaskURL(v); m != v {
		return m // a key/value DSN: host=db password=***
	}
	return Masked
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
	// A later URL in the same value ("tried a://h then b://u:p@h2") is masked
	// on its own: this one ends before the word that holds the next "://".
	limit := len(rest)
	if j := strings.Index(rest, "://"); j >= 0 {
		limit = j
		if sp := strings.LastIndexAny(rest[:j], " \t\n"); sp >= 0 {
			limit = sp
		}
	}
	// The userinfo ends at the last '@' before the query or fragment; the
	// authority ends at the first '/' after it. Looking for the '@' first
	// keeps an unescaped '/' inside a password from hiding it.
	scope := rest[:limit]
	if q := strings.IndexAny(scope, "?#"); q >= 0 {
		scope = scope[:q]
	}
	lastAt := strings.LastIndex(scope, "@")
	if lastAt < 0 {
		// No '@' before a '?' or '#': either there is no userinfo, or the
		// password holds an unescaped '?' or '#' ("u:p?w@h"). An '@' after
		// them is taken for the end of a userinfo: this masks more rather
		// than less.
		scope = rest[:limit]
		if lastAt = strings.LastIndex(scope, "@"); lastAt < 0 {
			return head + rest[:limit] + maskAuthority(rest[limit:])
		}
	}
	end := len(scope)
	if j := strings.IndexByte(scope[lastAt:], '/'); j >= 0 {
		end = lastAt + j
	}
	authority, tail := rest[:end], maskAuthority(rest[end:])

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
