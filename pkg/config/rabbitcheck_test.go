package config

import (
	"errors"
	"strings"
	"testing"
)

// The combinations oslo.messaging refuses at start (impl_rabbit.py:
// "Configuration Error: ...") are refused by Parse, naming the options;
// the ones it accepts parse.
func TestRabbitCombinationsOsloRefuses(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string // in the error; nil: accepted
	}{
		{"quorum with ha", "rabbit_quorum_queue = true\nrabbit_ha_queues = true\n", []string{"rabbit_quorum_queue", "rabbit_ha_queues"}},
		{"stream without transient quorum", "rabbit_stream_fanout = true\nrabbit_qos_prefetch_count = 10\n", []string{"rabbit_stream_fanout", "rabbit_transient_quorum_queue"}},
		{"stream without prefetch", "rabbit_stream_fanout = true\nrabbit_transient_quorum_queue = true\n", []string{"rabbit_stream_fanout", "rabbit_qos_prefetch_count"}},
		{"quorum auto-delete", "rabbit_quorum_queue = true\namqp_auto_delete = true\n", []string{"rabbit_quorum_queue", "amqp_auto_delete"}},
		{"stream", "rabbit_stream_fanout = true\nrabbit_transient_quorum_queue = true\nrabbit_qos_prefetch_count = 10\n", nil},
		{"quorum with limits", "rabbit_quorum_queue = true\nrabbit_quorum_delivery_limit = 5\nrabbit_quorum_max_memory_length = 10\nrabbit_quorum_max_memory_bytes = 1000\n", nil},
		{"ha alone", "rabbit_ha_queues = true\n", nil},
		{"no x-expires", "rabbit_transient_queues_ttl = 0\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := write(t, t.TempDir(), "nova.conf", "[oslo_messaging_rabbit]\n"+c.body)
			_, _, err := parse(t, []string{"--config-file", f}, nil)
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Section != "oslo_messaging_rabbit" || ce.Source != f {
				t.Fatalf("err = %v, want a *config.Error of [oslo_messaging_rabbit] from %s", err, f)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not name %s", err, w)
				}
			}
		})
	}
}

// oslo 2023.1 renamed rabbit_quroum_max_memory_*; the newest release removed
// the misspelt names, and so does gonova: they are unknown options.
func TestQuorumMemoryOptionsHaveTheirNewNames(t *testing.T) {
	f := write(t, t.TempDir(), "nova.conf", "[oslo_messaging_rabbit]\nrabbit_quorum_max_memory_length = 7\nrabbit_quorum_max_memory_bytes = 8\n")
	c, _, err := parse(t, []string{"--config-file", f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rabbit.RabbitQuorumMaxMemoryLength != 7 || c.Rabbit.RabbitQuorumMaxMemoryBytes != 8 {
		t.Fatalf("got %d/%d, want 7/8", c.Rabbit.RabbitQuorumMaxMemoryLength, c.Rabbit.RabbitQuorumMaxMemoryBytes)
	}
	f = write(t, t.TempDir(), "nova.conf", "[oslo_messaging_rabbit]\nrabbit_quroum_max_memory_length = 7\n")
	if _, _, err := parse(t, []string{"--config-file", f}, nil); !errors.Is(err, ErrUnknown) {
		t.Fatalf("the misspelt name: err = %v, want ErrUnknown", err)
	}
}
