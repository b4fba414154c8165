package rpcsvc

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/amqpdriver"
)

// Options configure a Transport. Field comments name the oslo option each one
// carries, so the caller can fill them from nova.conf; zero values take oslo's
// defaults (control_exchange takes nova's).
type Options struct {
	// TransportURL is transport_url (DEFAULT): rabbit://, amqp://, amqps:// or
	// memory://.
	TransportURL string
	// ControlExchange is control_exchange (DEFAULT), default "nova".
	ControlExchange string
	// ResponseTimeout is rpc_response_timeout (DEFAULT), default 60s.
	ResponseTimeout time.Duration
	// ExecutorThreadPoolSize is executor_thread_pool_size (DEFAULT), default 64:
	// handlers run at once per server.
	ExecutorThreadPoolSize int
	// DurableQueues is amqp_durable_queues (oslo_messaging_rabbit).
	DurableQueues bool
	// AutoDelete is amqp_auto_delete (oslo_messaging_rabbit).
	AutoDelete bool
	// QuorumQueue is rabbit_quorum_queue (oslo_messaging_rabbit).
	QuorumQueue bool
	// QosPrefetchCount is rabbit_qos_prefetch_count (oslo_messaging_rabbit);
	// 0 means ExecutorThreadPoolSize.
	QosPrefetchCount int
	// HeartbeatTimeoutThreshold is heartbeat_timeout_threshold
	// (oslo_messaging_rabbit), default 60s: the AMQP heartbeat proposed to
	// the broker, as oslo proposes it. Negative disables heartbeats (the
	// option's 0).
	HeartbeatTimeoutThreshold time.Duration
	// HeartbeatRate is heartbeat_rate (oslo_messaging_rabbit), default 3
	// (see amqpdriver.Heartbeat: accepted, no effect on the wire).
	HeartbeatRate int
	// KombuFailoverStrategy is kombu_failover_strategy
	// (oslo_messaging_rabbit): round-robin (default) or shuffle, the order
	// in which the hosts of a multi-host TransportURL are tried after a
	// connection is lost.
	KombuFailoverStrategy string
	// KombuReconnectDelay is kombu_reconnect_delay, default 1s: the wait
	// after a lost connection, after each failed reconnect and before
	// re-subscribing a consumer the broker cancelled. Negative means none
	// (the option's 0).
	KombuReconnectDelay time.Duration
	// KombuReconnectSplay is kombu_reconnect_splay: up to this much random
	// time is added to each KombuReconnectDelay wait. Default none.
	KombuReconnectSplay time.Duration
	// RabbitRetryInterval, RabbitRetryBackoff and RabbitIntervalMax are
	// rabbit_retry_interval (default 1s), rabbit_retry_backoff (2s;
	// negative means 0) and rabbit_interval_max (30s): the wait after each
	// round of failed reconnects over every host grows linearly from the
	// first by the second up to the third (kombu's retry_over_time).
	RabbitRetryInterval, RabbitRetryBackoff, RabbitIntervalMax time.Duration
	// EnableCancelOnFailover is enable_cancel_on_failover: consume with
	// x-cancel-on-ha-failover. Whether set or not, a consumer the broker
	// cancels (basic.cancel) subscribes again after KombuReconnectDelay.
	EnableCancelOnFailover bool
	// TransientQueuesTTL is rabbit_transient_queues_ttl (oslo_messaging_rabbit),
	// default 1800s: x-expires of fanout and reply queues (x-max-age of the
	// fanout stream with StreamFanout); negative declares none (oslo's 0).
	TransientQueuesTTL time.Duration
	// TransientQuorumQueue is rabbit_transient_quorum_queue: reply and
	// fanout queues are quorum queues (durable) too.
	TransientQuorumQueue bool
	// QuorumDeliveryLimit, QuorumMaxMemoryLength and QuorumMaxMemoryBytes
	// are rabbit_quorum_delivery_limit, rabbit_quorum_max_memory_length and
	// rabbit_quorum_max_memory_bytes: x-delivery-limit,
	// x-max-in-memory-length and x-max-in-memory-bytes of every quorum
	// queue; 0 declares none.
	QuorumDeliveryLimit   int
	QuorumMaxMemoryLength int
	QuorumMaxMemoryBytes  int
	// HAQueues is rabbit_ha_queues: x-ha-policy all.
	HAQueues bool
	// StreamFanout is rabbit_stream_fanout: one `<topic>_fanout` stream
	// queue per topic, shared by its servers, instead of a queue per server.
	// It needs TransientQuorumQueue and a QosPrefetchCount above 0, as in
	// oslo. The in-process transport (memory://) ignores it.
	StreamFanout bool
	// UseQueueManager is use_queue_manager: reply and fanout queues are
	// named `<Hostname>:<ProcessName>:<n>` (oslo's QManager) instead of a
	// random uuid, so a restarted process reuses its queues.
	UseQueueManager bool
	// Hostname and ProcessName are hostname and processname
	// (oslo_messaging_rabbit); empty: the machine's host name and the
	// program's file name.
	Hostname    string
	ProcessName string
	// TLS is the TLS configuration of oslo_messaging_rabbit's ssl options
	// (config.Config.RabbitTLS): set, it turns TLS on for every broker of
	// TransportURL; nil, only amqps:// or ?ssl=1 do (with the system's roots).
	TLS *tls.Config

	// MaxDeliveryAttempts (gonova) is how many times a cast whose handler
	// panics or returns a Retryable error is tried before it is dead-lettered.
	// Default 5.
	MaxDeliveryAttempts int
	// DedupCacheSize (gonova) bounds the _unique_id cache per server.
	// Default 8192.
	DedupCacheSize int
	// PublishChannels (gonova) is the size of the confirm-mode channel pool
	// used for publishing. Default 8.
	PublishChannels int
	// ReconnectMaxInterval (gonova), when positive, caps every single wait
	// of the reconnect schedule above (tests use it to reconnect quickly).
	// Default none: oslo's schedule as configured.
	ReconnectMaxInterval time.Duration
	// UnroutableTimeout (gonova, [gonova] rpc_unroutable_timeout) is how long
	// a cast or call that the broker returns (no queue bound for it) is
	// published again, with backoff, before it fails with an
	// *UnroutableError. Servers re-declare non-durable queues after a broker
	// restart once reconnected (see RabbitRetryInterval). Default 10s; negative
	// fails at the first return.
	UnroutableTimeout time.Duration
	// UnavailableTimeout (gonova, [gonova] rpc_unavailable_timeout) is how
	// long a cast or call waits for the broker (reconnecting, or a publish
	// not confirmed) before it fails with an *UnavailableError. 0 (the
	// default) waits until the caller's context ends.
	UnavailableTimeout time.Duration

	// Logger receives the transport's logs; nil uses slog.Default().
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// DefaultUnroutableTimeout is Options.UnroutableTimeout's default.
const DefaultUnroutableTimeout = 10 * time.Second

func (o Options) withDefaults() (Options, error) {
	if o.TransportURL == "" {
		return o, fmt.Errorf("rpcsvc: transport_url is not set")
	}
	if o.ControlExchange == "" {
		o.ControlExchange = "nova"
	}
	if o.ResponseTimeout == 0 {
		o.ResponseTimeout = 60 * time.Second
	}
	if o.ExecutorThreadPoolSize == 0 {
		o.ExecutorThreadPoolSize = 64
	}
	if o.HeartbeatTimeoutThreshold == 0 {
		o.HeartbeatTimeoutThreshold = 60 * time.Second
	}
	if o.TransientQueuesTTL == 0 {
		o.TransientQueuesTTL = 1800 * time.Second
	}
	if o.MaxDeliveryAttempts == 0 {
		o.MaxDeliveryAttempts = 5
	}
	if o.DedupCacheSize == 0 {
		o.DedupCacheSize = 8192
	}
	if o.PublishChannels == 0 {
		o.PublishChannels = 8
	}
	if o.HeartbeatRate == 0 {
		o.HeartbeatRate = amqpdriver.DefaultHeartbeatRate
	}
	if o.KombuFailoverStrategy == "" {
		o.KombuFailoverStrategy = amqpdriver.RoundRobin
	}
	if o.KombuReconnectDelay == 0 {
		o.KombuReconnectDelay = amqpdriver.DefaultReconnect.Delay
	}
	if o.RabbitRetryInterval == 0 {
		o.RabbitRetryInterval = amqpdriver.DefaultReconnect.Interval
	}
	if o.RabbitRetryBackoff == 0 {
		o.RabbitRetryBackoff = amqpdriver.DefaultReconnect.Backoff
	}
	if o.RabbitIntervalMax == 0 {
		o.RabbitIntervalMax = amqpdriver.DefaultReconnect.IntervalMax
	}
	if o.UnroutableTimeout == 0 {
		o.UnroutableTimeout = DefaultUnroutableTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.ResponseTimeout < 0:
		return o, fmt.Errorf("rpcsvc: rpc_response_timeout must be positive, got %s", o.ResponseTimeout)
	case o.ExecutorThreadPoolSize < 0:
		return o, fmt.Errorf("rpcsvc: executor_thread_pool_size must be positive, got %d", o.ExecutorThreadPoolSize)
	case o.QosPrefetchCount < 0:
		return o, fmt.Errorf("rpcsvc: rabbit_qos_prefetch_count must not be negative, got %d", o.QosPrefetchCount)
	case o.TransientQueuesTTL > 0 && o.TransientQueuesTTL < time.Second:
		return o, fmt.Errorf("rpcsvc: rabbit_transient_queues_ttl must be at least 1s, got %s", o.TransientQueuesTTL)
	case o.QuorumDeliveryLimit < 0 || o.QuorumMaxMemoryLength < 0 || o.QuorumMaxMemoryBytes < 0:
		return o, fmt.Errorf("rpcsvc: rabbit_quorum_delivery_limit, rabbit_quorum_max_memory_length and rabbit_quorum_max_memory_bytes must not be negative")
	case o.QuorumQueue && o.HAQueues:
		return o, fmt.Errorf("rpcsvc: rabbit_quorum_queue and rabbit_ha_queues are both set: a queue is quorum or HA (mirrored), not both")
	case o.QuorumQueue && o.AutoDelete:
		return o, fmt.Errorf("rpcsvc: rabbit_quorum_queue and amqp_auto_delete are both set: RabbitMQ refuses auto-delete quorum queues")
	case o.StreamFanout && !o.TransientQuorumQueue:
		return o, fmt.Errorf("rpcsvc: rabbit_stream_fanout needs rabbit_transient_quorum_queue")
	case o.StreamFanout && o.QosPrefetchCount <= 0:
		return o, fmt.Errorf("rpcsvc: rabbit_stream_fanout needs rabbit_qos_prefetch_count above 0")
	case o.MaxDeliveryAttempts < 1:
		return o, fmt.Errorf("rpcsvc: MaxDeliveryAttempts must be at least 1, got %d", o.MaxDeliveryAttempts)
	case o.UnavailableTimeout < 0:
		return o, fmt.Errorf("rpcsvc: UnavailableTimeout must not be negative, got %s", o.UnavailableTimeout)
	case o.DedupCacheSize < 1 || o.PublishChannels < 1:
		return o, fmt.Errorf("rpcsvc: DedupCacheSize and PublishChannels must be positive")
	}
	if err := o.reconnect().Validate(); err != nil {
		return o, fmt.Errorf("rpcsvc: %w", err)
	}
	if err := o.heartbeat().Validate(); err != nil {
		return o, fmt.Errorf("rpcsvc: %w", err)
	}
	return o, nil
}

// reconnect is the driver's reconnect schedule of these (defaulted)
// options.
func (o Options) reconnect() amqpdriver.Reconnect {
	return amqpdriver.Reconnect{
		Strategy: o.KombuFailoverStrategy,
		Delay:    max(o.KombuReconnectDelay, 0),
		Splay:    o.KombuReconnectSplay,
		Interval: o.RabbitRetryInterval,
		Backoff:  max(o.RabbitRetryBackoff, 0),
		// rabbit_interval_max
		IntervalMax: o.RabbitIntervalMax,
		Cap:         o.ReconnectMaxInterval,
	}
}

// heartbeat is the driver's heartbeat of these (defaulted) options.
func (o Options) heartbeat() amqpdriver.Heartbeat {
	return amqpdriver.Heartbeat{Timeout: max(o.HeartbeatTimeoutThreshold, 0), Rate: o.HeartbeatRate}
}

func (o Options) prefetch() int {
	if o.QosPrefetchCount > 0 {
		return o.QosPrefetchCount
	}
	return o.ExecutorThreadPoolSize
}
