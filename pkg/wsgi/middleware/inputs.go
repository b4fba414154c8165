package middleware

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// Inputs refuses, with nova's 400 badRequest, a request whose path or query
// string no store could take: a path that is not UTF-8 or holds a control
// character (NUL included), a query string that does not parse (a bad
// %-escape, a ';' separator), or a query key or value that is not UTF-8 or
// holds a NUL. Postgres refuses such text with an error, and the in-memory
// stores refuse it alike; checking once here, before routing, makes the rule
// hold for every route, including routes added later. The message names what
// is wrong, never the value (it came from outside: long, binary or secret).
//
// Headers are checked where they are read: tokens by package auth, the
// microversion by package microversion, request ids by RequestID.
//
//	r.Use(middleware.Inputs)
func Inputs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg := checkInputs(r.URL); msg != "" {
			fault.WriteError(w, fault.BadRequest(msg))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func checkInputs(u *url.URL) string {
	if !utf8.ValidString(u.Path) {
		return "Invalid input: the URL path is not valid UTF-8."
	}
	if hasControl(u.Path) {
		return "Invalid input: the URL path contains a control character."
	}
	if u.RawQuery == "" {
		return ""
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "Invalid input: the query string does not parse (a bad %-escape, or ';' used as a separator)."
	}
	for k, vs := range q {
		if !utf8.ValidString(k) || strings.IndexByte(k, 0) >= 0 {
			return "Invalid input: a query parameter name is not valid UTF-8 or contains a NUL character."
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return "Invalid input for query parameter " + k + ": the value is not valid UTF-8."
			}
			if strings.IndexByte(v, 0) >= 0 {
				return "Invalid input for query parameter " + k + ": the value contains a NUL character."
			}
		}
	}
	return ""
}

// hasControl reports whether s holds an ASCII control character or DEL.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
