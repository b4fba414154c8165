package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// RabbitEntity is a queue or an exchange as the broker has it, read with
// rabbitmqctl (RabbitMQ has no management API here).
type RabbitEntity struct {
	Name       string
	Type       string // queue: classic, quorum or stream; exchange: topic, fanout...
	Durable    bool
	AutoDelete bool
	Exclusive  bool // queues only
	// Arguments as "name=type:value", sorted (type as rabbitmqctl shows it:
	// longstr, signedint, long...).
	Arguments []string
}

func (e RabbitEntity) String() string {
	return fmt.Sprintf("%s type=%s durable=%t auto_delete=%t exclusive=%t args=%v", e.Name, e.Type, e.Durable, e.AutoDelete, e.Exclusive, e.Arguments)
}

// VhostOf is the virtual host of a broker URL (amqp://u:p@h:port/vhost).
func VhostOf(tb testing.TB, rawURL string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	v := strings.TrimPrefix(u.Path, "/")
	if v == "" {
		return "/"
	}
	return v
}

// RabbitQueues lists the queues of vhost, sorted by name.
func RabbitQueues(tb testing.TB, vhost string) []RabbitEntity {
	tb.Helper()
	return rabbitList(tb, "list_queues", vhost, "name", "type", "durable", "auto_delete", "exclusive", "arguments")
}

// RabbitExchanges lists the exchanges of vhost that the broker did not make
// itself (amq.* and the default exchange are left out), sorted by name.
func RabbitExchanges(tb testing.TB, vhost string) []RabbitEntity {
	tb.Helper()
	all := rabbitList(tb, "list_exchanges", vhost, "name", "type", "durable", "auto_delete", "arguments")
	var out []RabbitEntity
	for _, e := range all {
		if e.Name != "" && !strings.HasPrefix(e.Name, "amq.") {
			out = append(out, e)
		}
	}
	return out
}

func rabbitList(tb testing.TB, cmd, vhost string, cols ...string) []RabbitEntity {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"-q", cmd, "-p", vhost, "--formatter", "json"}, cols...)
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).Output()
	if err != nil {
		tb.Fatalf("rabbitmqctl %s: %v", strings.Join(args, " "), err)
	}
	var rows []struct {
		Name       string  `json:"name"`
		Type       string  `json:"type"`
		Durable    bool    `json:"durable"`
		AutoDelete bool    `json:"auto_delete"`
		Exclusive  any     `json:"exclusive"` // "" for quorum and stream queues
		Arguments  [][]any `json:"arguments"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber() // 1800000, not 1.8e+06
	if err := dec.Decode(&rows); err != nil {
		tb.Fatalf("rabbitmqctl %s: %v: %s", cmd, err, out)
	}
	es := make([]RabbitEntity, 0, len(rows))
	for _, r := range rows {
		e := RabbitEntity{Name: r.Name, Type: r.Type, Durable: r.Durable, AutoDelete: r.AutoDelete, Exclusive: r.Exclusive == true}
		for _, a := range r.Arguments {
			if len(a) == 3 {
				e.Arguments = append(e.Arguments, fmt.Sprintf("%v=%v:%v", a[0], a[1], a[2]))
			}
		}
		sort.Strings(e.Arguments)
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	return es
}

// RabbitConnectionValue polls rabbitmqctl list_connections (for up to 20
// s: a connection is listed once its handshake is done) for the connection
// whose keyCol satisfies match, and returns its valCol, a one-word column
// such as timeout. keyCol may hold spaces (client_properties).
func RabbitConnectionValue(tb testing.TB, keyCol, valCol string, match func(key string) bool) string {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, "rabbitmqctl", "list_connections", "--quiet", "--no-table-headers", keyCol, valCol).CombinedOutput()
		cancel()
		if err != nil {
			tb.Fatalf("rabbitmqctl list_connections: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			val := f[len(f)-1]
			if match(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), val))) {
				return val
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no connection listed with a matching %s:\n%s", keyCol, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
