// Package urlcheck splits the URLs gonova reads from nova.conf (transport_url,
// [database] connection) and says in its own words what is wrong with one.
//
// Why: a malformed URL may hold its password anywhere, and the parsers of the
// standard library, pgx and amqp091 echo their input in their errors. An
// error from this package never contains any part of the value; it names the
// part that is wrong (scheme, user name, password, host N, port of host N,
// path, query) instead. Callers check a value here before handing it to those
// parsers, and never wrap their errors.
package urlcheck

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Host is one host of a URL's comma-separated host list.
type Host struct {
	User, Password       string // percent-decoded
	HasUser, HasPassword bool
	Host                 string // without the brackets of an IPv6 literal; empty when not given
	Port                 int    // 0 when not given
}

// URL is a URL split as oslo's transport_url and libpq URLs are laid out:
// scheme://[user[:password]@]host[:port][,...][/path][?query].
type URL struct {
	Scheme string
	Hosts  []Host
	Path   string // percent-decoded, without the leading '/'
	Query  url.Values
}

// ErrNotURL is wrapped by the error for a value without scheme://.
var ErrNotURL = errors.New("not a URL")

// Parse splits v. Its errors never contain any part of v.
//
//	u, err := urlcheck.Parse("rabbit://nova:pw@mq1:5672,nova:pw@mq2:5672/nova")
//	// u.Hosts[1].Host == "mq2", u.Path == "nova"
//	_, err = urlcheck.Parse("postgresql://nova:pw@db:notaport/nova")
//	// err: "the port of host 1 is not a number from 1 to 65535"
func Parse(v string) (URL, error) {
	var u URL
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok {
		return u, fmt.Errorf("%w: expected scheme://host", ErrNotURL)
	}
	if !validScheme(scheme) {
		return u, fmt.Errorf("%w: the part before :// is not a scheme (letters, digits, '+', '-', '.')", ErrNotURL)
	}
	u.Scheme = scheme

	authority, after := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, after = rest[:i], rest[i:]
	}
	if strings.Contains(after, "@") {
		// "u:pa/ss@h", "u:p?w@h": a parser would take part of the password
		// for a host. Refuse rather than guess.
		return u, errors.New("an '@' follows the host list: a '/', '?' or '#' in a user name or password must be percent-encoded (%2F, %3F, %23)")
	}
	if strings.Contains(after, "#") {
		return u, errors.New("a '#' after the host list: gonova's URLs have no fragment; percent-encode it as %23")
	}
	path, query, _ := strings.Cut(after, "?")
	path = strings.TrimPrefix(path, "/")
	p, err := url.PathUnescape(path)
	if err != nil {
		return u, errors.New("the path is not percent-encoded correctly (a '%' must start %XX)")
	}
	u.Path = p
	if u.Query, err = url.ParseQuery(query); err != nil {
		return u, errors.New("the query is not name=value&... percent-encoded correctly")
	}

	frags := strings.Split(authority, ",")
	bare, withPass, withoutPass := false, false, false
	for i, f := range frags {
		n := i + 1
		var h Host
		if at := strings.LastIndex(f, "@"); at >= 0 {
			if bare {
				// "u:12,34@h": the first fragment looked like host:port but
				// was the start of a password holding ','.
				return u, fmt.Errorf("host %d has a user name but an earlier host has none: a ',' in a password must be percent-encoded (%%2C); otherwise give every host its user name", n)
			}
			user, pass, hasPass := strings.Cut(f[:at], ":")
			if hasPass {
				withPass = true
			} else {
				withoutPass = true
			}
			if withPass && withoutPass {
				return u, errors.New("some hosts have a password and some do not: a ',' in a password must be percent-encoded (%2C)")
			}
			if h.User, err = url.PathUnescape(user); err != nil {
				return u, fmt.Errorf("the user name of host %d is not percent-encoded correctly (a '%%' must start %%XX)", n)
			}
			if h.Password, err = url.PathUnescape(pass); err != nil {
				return u, fmt.Errorf("the password of host %d is not percent-encoded correctly (a '%%' must start %%XX; write '%%' itself as %%25)", n)
			}
			h.HasUser, h.HasPassword = true, hasPass
			f = f[at+1:]
		} else if len(frags) > 1 {
			bare = true
		}
		host, port, err := splitHostPort(f, n)
		if err != nil {
			return u, err
		}
		h.Host, h.Port = host, port
		u.Hosts = append(u.Hosts, h)
	}
	return u, nil
}

func splitHostPort(hp string, n int) (string, int, error) {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.Index(hp, "]")
		if end < 0 {
			return "", 0, fmt.Errorf("host %d: an IPv6 address lacks its closing ']'", n)
		}
		host = hp[1:end]
		tail := hp[end+1:]
		if tail != "" {
			if !strings.HasPrefix(tail, ":") {
				return "", 0, fmt.Errorf("host %d: only ':port' may follow an IPv6 address in brackets", n)
			}
			port = tail[1:]
		}
		zone, _, _ := strings.Cut(host, "%")
		if net.ParseIP(zone) == nil {
			return "", 0, fmt.Errorf("host %d is not a valid IPv6 address", n)
		}
	} else {
		if strings.Count(hp, ":") > 1 {
			return "", 0, fmt.Errorf("host %d: an IPv6 address must be in brackets ([::1]:5672)", n)
		}
		if i := strings.LastIndex(hp, ":"); i >= 0 {
			host, port = hp[:i], hp[i+1:]
			if port == "" {
				return "", 0, fmt.Errorf("the port of host %d is empty", n)
			}
		}
		if !validHostName(host) {
			return "", 0, fmt.Errorf("host %d is not a valid host name or IP address", n)
		}
	}
	if port == "" {
		return host, 0, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return "", 0, fmt.Errorf("the port of host %d is not a number from 1 to 65535", n)
	}
	return host, p, nil
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// validHostName accepts DNS names (with '_' as some resolvers do), IPv4
// addresses and the empty string (no host: the caller decides).
func validHostName(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}
