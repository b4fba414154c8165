package computeapi

import (
	"regexp"
	"testing"
)

// nova's sanitize_hostname, case by case (nova's own test cases).
func TestSanitizeHostname(t *testing.T) {
	for in, want := range map[string]string{
		"web-1":                 "web-1",
		"Web Server_01.prod":    "web-server-01-prod",
		"..--x--..":             "x",
		"名前":                    "def",
		"café":                  "café",
		"a!b@c#":                "abc",
		"":                      "def",
		string(make([]byte, 0)): "def",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	} {
		if got := SanitizeHostname(in, "def"); got != want {
			t.Errorf("SanitizeHostname(%q) = %q, want %q", in, got, want)
		}
	}
	if r := newReservationID(); !regexp.MustCompile(`^r-[a-z0-9]{8}$`).MatchString(r) {
		t.Errorf("reservation id %q", r)
	}
}
