package nova

import (
	"net"
	"testing"
)

// my_ip: the configured address, else a detected one that parses.
func TestMyIP(t *testing.T) {
	if got := MyIP("10.0.0.5"); got != "10.0.0.5" {
		t.Fatalf("configured = %q", got)
	}
	if got := MyIP(""); net.ParseIP(got) == nil {
		t.Fatalf("detected %q is not an IP address", got)
	}
}
