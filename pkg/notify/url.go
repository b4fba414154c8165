package notify

// The transport_url parsing below is the same as pkg/rpcsvc's RabbitMQ
// driver's (internal there); the two should share one exported parser.

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// brokerHost is one broker of a transport_url.
type brokerHost struct {
	Host     string
	Port     int
	User     string
	Password string
}

// brokerURL is a parsed oslo transport_url for RabbitMQ.
type brokerURL struct {
	Hosts []brokerHost
	Vhost string
	TLS   bool
}

// parseURL parses `rabbit://user:pass@h1:5672,user:pass@h2:5672/vhost?ssl=1`
// (also amqp:// and amqps://). Hosts are tried in order on (re)connect.
func parseURL(raw string) (brokerURL, error) {
	var u brokerURL
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return u, fmt.Errorf("transport_url %q has no scheme://", redact(raw))
	}
	switch scheme {
	case "rabbit", "amqp":
	case "amqps":
		u.TLS = true
	default:
		return u, fmt.Errorf("transport_url scheme %q is not rabbit, amqp or amqps", scheme)
	}
	hostsPart, pathQuery := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hostsPart, pathQuery = rest[:i], rest[i:]
	}
	path, query, _ := strings.Cut(pathQuery, "?")
	path = strings.TrimPrefix(path, "/")
	vhost, err := url.PathUnescape(path)
	if err != nil {
		return u, fmt.Errorf("transport_url virtual host %q: %v", path, err)
	}
	if vhost == "" {
		vhost = "/"
	}
	u.Vhost = vhost
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return u, fmt.Errorf("transport_url query: %v", err)
		}
		if v := q.Get("ssl"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return u, fmt.Errorf("transport_url ssl=%q is not a boolean", v)
			}
			u.TLS = u.TLS || b
		}
	}
	if hostsPart == "" {
		return u, fmt.Errorf("transport_url %q has no host", redact(raw))
	}
	for _, hp := range strings.Split(hostsPart, ",") {
		h := brokerHost{User: "guest", Password: "guest", Port: 5672}
		if u.TLS {
			h.Port = 5671
		}
		if at := strings.LastIndex(hp, "@"); at >= 0 {
			user, pass, _ := strings.Cut(hp[:at], ":")
			if h.User, err = url.PathUnescape(user); err != nil {
				return u, fmt.Errorf("transport_url user: %v", err)
			}
			if h.Password, err = url.PathUnescape(pass); err != nil {
				return u, fmt.Errorf("transport_url password: %v", err)
			}
			hp = hp[at+1:]
		}
		host, port := hp, ""
		if strings.HasPrefix(hp, "[") { // IPv6 literal
			end := strings.Index(hp, "]")
			if end < 0 {
				return u, fmt.Errorf("transport_url host %q: missing ]", hp)
			}
			host, port = hp[1:end], strings.TrimPrefix(hp[end+1:], ":")
		} else if i := strings.LastIndex(hp, ":"); i >= 0 {
			host, port = hp[:i], hp[i+1:]
		}
		if host == "" {
			return u, fmt.Errorf("transport_url %q has an empty host", redact(raw))
		}
		if port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n <= 0 || n > 65535 {
				return u, fmt.Errorf("transport_url port %q is not a port number", port)
			}
			h.Port = n
		}
		h.Host = host
		u.Hosts = append(u.Hosts, h)
	}
	return u, nil
}

// redact hides passwords in a brokerURL for messages.
func redact(raw string) string {
	out := []byte(raw)
	// Replace every ":secret@" between the scheme and the path.
	start := strings.Index(raw, "://")
	if start < 0 {
		return raw
	}
	end := len(raw)
	if i := strings.IndexAny(raw[start+3:], "/?"); i >= 0 {
		end = start + 3 + i
	}
	res := string(out[:start+3])
	for i, hp := range strings.Split(raw[start+3:end], ",") {
		if i > 0 {
			res += ","
		}
		if at := strings.LastIndex(hp, "@"); at >= 0 {
			user, _, hasPass := strings.Cut(hp[:at], ":")
			if hasPass {
				hp = user + ":***" + hp[at:]
			}
		}
		res += hp
	}
	return res + raw[end:]
}
