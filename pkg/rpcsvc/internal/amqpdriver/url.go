package amqpdriver

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gonova/gonova/pkg/internal/urlcheck"
	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// Host is one broker of a transport_url.
type Host struct {
	Host     string
	Port     int
	User     string
	Password string
}

// URL is a parsed oslo transport_url for RabbitMQ.
type URL struct {
	Hosts []Host
	Vhost string
	TLS   bool
}

// ParseURL parses `rabbit://user:pass@h1:5672,user:pass@h2:5672/vhost?ssl=1`
// (also amqp:// and amqps://). Hosts are tried in order on (re)connect.
// Errors never quote the URL or a part of its authority: a malformed URL may
// hold its password anywhere (urlcheck names the wrong part instead).
// Its errors wrap driver.ErrPermanent.
func ParseURL(raw string) (URL, error) {
	u, err := parseURL(raw)
	return u, driver.Permanent(err)
}

func parseURL(raw string) (URL, error) {
	var u URL
	if _, err := urlcheck.Parse(raw); err != nil {
		return u, fmt.Errorf("transport_url: %v", err)
	}
	scheme, rest, _ := strings.Cut(raw, "://")
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
		return u, fmt.Errorf("transport_url has no host")
	}
	for _, hp := range strings.Split(hostsPart, ",") {
		h := Host{User: "guest", Password: "guest", Port: 5672}
		if u.TLS {
			h.Port = 5671
		}
		if at := strings.LastIndex(hp, "@"); at >= 0 {
			user, pass, _ := strings.Cut(hp[:at], ":")
			if h.User, err = url.PathUnescape(user); err != nil {
				return u, fmt.Errorf("transport_url: a user name is not percent-encoded correctly")
			}
			if h.Password, err = url.PathUnescape(pass); err != nil {
				return u, fmt.Errorf("transport_url: a password is not percent-encoded correctly")
			}
			hp = hp[at+1:]
		}
		host, port := hp, ""
		if strings.HasPrefix(hp, "[") { // IPv6 literal
			end := strings.Index(hp, "]")
			if end < 0 {
				return u, fmt.Errorf("transport_url: an IPv6 host lacks its closing ]")
			}
			host, port = hp[1:end], strings.TrimPrefix(hp[end+1:], ":")
		} else if i := strings.LastIndex(hp, ":"); i >= 0 {
			host, port = hp[:i], hp[i+1:]
		}
		if host == "" {
			return u, fmt.Errorf("transport_url has an empty host")
		}
		if port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n <= 0 || n > 65535 {
				return u, fmt.Errorf("transport_url: a port is not a number from 1 to 65535")
			}
			h.Port = n
		}
		h.Host = host
		u.Hosts = append(u.Hosts, h)
	}
	return u, nil
}

// redact hides passwords in a URL for messages.
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
