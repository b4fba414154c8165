package rpcsvc

import (
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/amqpdriver"
)

// Zero connection options take oslo's defaults; negative ones are the
// options' 0 ("none"); what oslo refuses is refused at Open, naming the
// option.
func TestConnectionOptions(t *testing.T) {
	o, err := Options{TransportURL: "memory://x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := amqpdriver.DefaultReconnect
	if got := o.reconnect(); got != want {
		t.Errorf("default reconnect %+v, want oslo's %+v", got, want)
	}
	if got := o.heartbeat(); got != (amqpdriver.Heartbeat{Timeout: 60 * time.Second, Rate: 3}) {
		t.Errorf("default heartbeat %+v", got)
	}
	o, err = Options{TransportURL: "memory://x", HeartbeatTimeoutThreshold: -1, KombuReconnectDelay: -1, RabbitRetryBackoff: -1,
		KombuFailoverStrategy: "shuffle", KombuReconnectSplay: time.Second, ReconnectMaxInterval: 2 * time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if r := o.reconnect(); r.Delay != 0 || r.Backoff != 0 || r.Strategy != "shuffle" || r.Splay != time.Second || r.Cap != 2*time.Second {
		t.Errorf("reconnect %+v", r)
	}
	if h := o.heartbeat(); h.Timeout != 0 {
		t.Errorf("heartbeat %+v, want disabled", h)
	}
	for option, bad := range map[string]Options{
		"kombu_failover_strategy": {KombuFailoverStrategy: "random"},
		"rabbit_retry_interval":   {RabbitRetryInterval: time.Millisecond},
		"heartbeat_rate":          {HeartbeatRate: -2},
	} {
		bad.TransportURL = "memory://x"
		if _, err := bad.withDefaults(); err == nil || !strings.Contains(err.Error(), option) {
			t.Errorf("%s: %v, want an error naming it", option, err)
		}
	}
}
