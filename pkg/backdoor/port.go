package backdoor

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/gonova/gonova/pkg/gmr"
)

// Port is a parsed backdoor_port: a single port (Start == End), any free port
// (both 0), or a range to take the first free port from.
type Port struct {
	Start, End int
}

func (p Port) String() string {
	if p.Start == p.End {
		return strconv.Itoa(p.Start)
	}
	return fmt.Sprintf("%d:%d", p.Start, p.End)
}

// ParsePort reads nova's backdoor_port syntax: "N", "0" or "start:end".
//
//	p, err := backdoor.ParsePort("8000:8010") // Port{8000, 8010}
func ParsePort(s string) (Port, error) {
	s = strings.TrimSpace(s)
	// The value is shown as pkg/config shows any value: with the userinfo of
	// a URL in it masked. parseOne's reasons quote nothing.
	bad := func(why string) error {
		return fmt.Errorf("backdoor_port %q: %s; want a port number, 0 for any free port, or start:end for the first free port in a range", gmr.MaskURL(s), why)
	}
	if s == "" {
		return Port{}, bad("empty")
	}
	lo, hi, isRange := strings.Cut(s, ":")
	start, err := parseOne(lo)
	if err != nil && isRange {
		return Port{}, bad("the range start is " + err.Error())
	}
	if err != nil {
		return Port{}, bad(err.Error())
	}
	if !isRange {
		return Port{start, start}, nil
	}
	end, err := parseOne(hi)
	if err != nil {
		return Port{}, bad("the range end is " + err.Error())
	}
	if start == 0 || end == 0 {
		return Port{}, bad("a range cannot include port 0")
	}
	if end < start {
		return Port{}, bad(fmt.Sprintf("range end %d is below its start %d", end, start))
	}
	return Port{start, end}, nil
}

func parseOne(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("%d is out of range 0-65535", n)
	}
	return n, nil
}

// Listen binds 127.0.0.1 on the port p describes. For a range it tries each
// port in turn and fails, naming the range, when all are in use.
func Listen(p Port) (net.Listener, error) {
	var lastErr error
	for port := p.Start; port <= p.End; port++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			return l, nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if p.Start != p.End {
		return nil, fmt.Errorf("backdoor: no free port in %s: %w", p, lastErr)
	}
	return nil, fmt.Errorf("backdoor: port %s: %w", p, lastErr)
}
