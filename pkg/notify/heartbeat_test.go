package notify

import (
	"context"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/testenv"
)

// heartbeat_timeout_threshold reaches the notification connections as it
// reaches the RPC ones: proposed to the broker as the AMQP heartbeat (oslo
// proposes the threshold itself, not half of it), and the option's 0
// disables heartbeats, although RabbitMQ proposes 60 s. Read back from the
// broker's side, for the notifier and the subscriber.
func TestHeartbeatTimeoutThresholdOnTheWire(t *testing.T) {
	testenv.RequireRabbit(t)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Fatal("rabbitmqctl not found: run scripts/services.sh")
	}
	for _, tc := range []struct {
		option time.Duration // nova.conf's value
		want   string        // the broker's timeout, seconds
	}{{7 * time.Second, "7"}, {0, "0"}} {
		c := config.Defaults()
		c.Default.TransportURL = testenv.OsloURL(testVhost(t))
		c.Notifications.Driver = []string{"messagingv2"}
		c.Rabbit.HeartbeatTimeoutThreshold = tc.option

		o := OptionsFromConfig(c, "compute.hb")
		o.Logger = testLogger(t)
		n := newTestNotifier(t, o.TransportURL, o)
		if got := brokerTimeoutOf(t, n.conn); got != tc.want {
			t.Errorf("heartbeat_timeout_threshold = %s: the broker runs the notifier's connection with timeout %s, want %s", tc.option, got, tc.want)
		}
		s := newTestSubscriber(t, c.NotificationTransportURL(), SubscriberConfigFromConfig(c, ""))
		if got := brokerTimeoutOf(t, s.conn); got != tc.want {
			t.Errorf("heartbeat_timeout_threshold = %s: the broker runs the subscriber's connection with timeout %s, want %s", tc.option, got, tc.want)
		}
	}
}

// brokerTimeoutOf is the heartbeat timeout RabbitMQ runs c's connection
// with (rabbitmqctl list_connections), found by its client port.
func brokerTimeoutOf(t *testing.T, c *conn) string {
	t.Helper()
	ac, _, err := c.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(ac.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	return testenv.RabbitConnectionValue(t, "peer_port", "timeout", func(p string) bool { return p == port })
}
