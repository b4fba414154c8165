package config

import (
	"strings"
	"testing"
	"time"
)

// oslo's connection options of [oslo_messaging_rabbit]: their defaults are
// the newest oslo's, kombu_reconnect_delay is a FloatOpt of seconds (0 to
// 4.5), and the values oslo's option types refuse are refused, naming the
// option.
func TestRabbitConnectionOptions(t *testing.T) {
	c, _, err := parse(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rabbit
	for _, ck := range []struct {
		name      string
		got, want any
	}{
		{"kombu_failover_strategy", r.KombuFailoverStrategy, "round-robin"},
		{"kombu_reconnect_delay", r.KombuReconnectDelay, time.Second},
		{"kombu_reconnect_splay", r.KombuReconnectSplay, time.Duration(0)},
		{"rabbit_retry_interval", r.RabbitRetryInterval, time.Second},
		{"rabbit_retry_backoff", r.RabbitRetryBackoff, 2 * time.Second},
		{"rabbit_interval_max", r.RabbitIntervalMax, 30 * time.Second},
		{"heartbeat_rate", r.HeartbeatRate, 3},
		{"enable_cancel_on_failover", r.EnableCancelOnFailover, false},
	} {
		if ck.got != ck.want {
			t.Errorf("default %s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	dir := t.TempDir()
	f := write(t, dir, "nova.conf", "[oslo_messaging_rabbit]\nkombu_failover_strategy = shuffle\nkombu_reconnect_delay = 0.25\nkombu_reconnect_splay = 1.5\n"+
		"rabbit_retry_interval = 2\nrabbit_retry_backoff = 0\nrabbit_interval_max = 10\nheartbeat_timeout_threshold = 0\nheartbeat_rate = 1\nenable_cancel_on_failover = true\n")
	c, _, err = parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r = c.Rabbit
	if r.KombuFailoverStrategy != "shuffle" || r.KombuReconnectDelay != 250*time.Millisecond || r.KombuReconnectSplay != 1500*time.Millisecond ||
		r.RabbitRetryInterval != 2*time.Second || r.RabbitRetryBackoff != 0 || r.RabbitIntervalMax != 10*time.Second ||
		r.HeartbeatTimeoutThreshold != 0 || r.HeartbeatRate != 1 || !r.EnableCancelOnFailover {
		t.Errorf("parsed %+v", r)
	}
	for line, want := range map[string]string{
		"kombu_failover_strategy = random": "kombu_failover_strategy",
		"kombu_reconnect_delay = 5":        "must be from 0 to 4.5",
		"kombu_reconnect_delay = -1":       "kombu_reconnect_delay",
		"kombu_reconnect_splay = x":        "not a number",
		"rabbit_retry_interval = 0":        "rabbit_retry_interval",
		"rabbit_interval_max = 0":          "rabbit_interval_max",
		"rabbit_retry_backoff = -1":        "rabbit_retry_backoff",
		"heartbeat_rate = 0":               "heartbeat_rate",
	} {
		f := write(t, dir, "bad.conf", "[oslo_messaging_rabbit]\n"+line+"\n")
		_, _, err := parse(t, []string{"--config-file", f}, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), strings.Fields(line)[0]) {
			t.Errorf("%s: %v, want an error naming the option and %q", line, err, want)
		}
	}
}
