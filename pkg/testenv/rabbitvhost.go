package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// OsloURL is u (an amqp:// or amqps:// URL) in oslo.messaging's spelling,
// rabbit://, for the Python peers.
func OsloURL(u string) string {
	for _, scheme := range []string{"amqp://", "amqps://"} {
		if rest, ok := strings.CutPrefix(u, scheme); ok {
			return "rabbit://" + rest
		}
	}
	return u
}

// Test vhosts: oslo names notification and topic queues after the topic
// alone, so a test that shares the broker with others needs a virtual host
// of its own. rabbitmqctl takes seconds a call, so vhosts are made in
// batches by one `rabbitmqctl eval` and deleted together by
// DeleteRabbitVhosts, which a package's TestMain calls.
var vhosts struct {
	sync.Mutex
	free    []string
	created []string
}

const vhostBatch = 16

// RabbitVhost returns the test broker's URL (amqp://) on a fresh virtual
// host that guest may use. It skips the test (fails it in CI) without
// RabbitMQ or rabbitmqctl.
func RabbitVhost(t testing.TB) string {
	t.Helper()
	RequireRabbit(t)
	vhosts.Lock()
	defer vhosts.Unlock()
	if len(vhosts.free) == 0 {
		if _, err := exec.LookPath("rabbitmqctl"); err != nil {
			missing(t, "rabbitmqctl", "it makes the test's RabbitMQ vhosts: run scripts/services.sh")
		}
		prefix := UniqueName("gonova_vhost_")
		batch := make([]string, vhostBatch)
		for i := range batch {
			batch[i] = fmt.Sprintf("%s_%d", prefix, i)
		}
		err := rabbitmqctl("eval", `lists:foreach(fun(N) -> ok = rabbit_vhost:add(N, <<"gonova-test">>), `+
			`ok = rabbit_auth_backend_internal:set_permissions(<<"guest">>, N, <<".*">>, <<".*">>, <<".*">>, <<"gonova-test">>) end, `+
			erlBinaries(batch)+`), ok.`)
		if err != nil {
			t.Fatalf("making test vhosts: %v", err)
		}
		vhosts.free = batch
		vhosts.created = append(vhosts.created, batch...)
	}
	v := vhosts.free[0]
	vhosts.free = vhosts.free[1:]
	u, err := url.Parse(RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + v
	return u.String()
}

// DeleteRabbitVhosts deletes every vhost RabbitVhost made in this process.
func DeleteRabbitVhosts() error {
	vhosts.Lock()
	defer vhosts.Unlock()
	if len(vhosts.created) == 0 {
		return nil
	}
	err := rabbitmqctl("eval", `lists:foreach(fun(N) -> rabbit_vhost:delete(N, <<"gonova-test">>) end, `+erlBinaries(vhosts.created)+`), ok.`)
	vhosts.created, vhosts.free = nil, nil
	return err
}

func rabbitmqctl(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %v: %s", args[0], err, out)
	}
	return nil
}

func erlBinaries(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `<<"` + n + `">>`
	}
	return "[" + strings.Join(q, ", ") + "]"
}
