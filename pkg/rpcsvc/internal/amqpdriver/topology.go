package amqpdriver

import (
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// The declarations below are oslo.messaging's (impl_rabbit.py of the newest
// release, 18.x: Connection.declare_topic_consumer, declare_fanout_consumer,
// declare_direct_consumer, topic_send, fanout_send and
// _get_queue_arguments), so that a gonova service and a Python one declare
// every queue and exchange alike and neither is refused with
// PRECONDITION_FAILED:
//
//	entity            durable                          auto_delete       arguments
//	control exchange  durable_queues || quorum         amqp_auto_delete  -
//	<topic>[.<host>]  durable_queues || quorum         amqp_auto_delete  ha, quorum(+limits)
//	<topic>_fanout ex transient_quorum || stream       true              -
//	fanout queue      transient_quorum || stream       false             ha, transient quorum(+limits), x-expires
//	fanout stream     true                             false             x-queue-type stream, x-max-age
//	reply_<id>        transient_quorum                 false             ha, transient quorum(+limits), x-expires
//
// None is exclusive. oslo 14.0.3 (Debian's) declares the same without the
// options it lacks (transient quorum queues and streams: there fanout and
// reply queues are never durable).

// declaration is how one queue is declared.
type declaration struct {
	Durable    bool
	AutoDelete bool
	Args       amqp.Table
	// Stream marks the shared fanout stream: consumed with x-stream-offset.
	Stream bool
}

// isStream tells whether q is declared as the topic's fanout stream.
func (cfg Config) isStream(q driver.Queue) bool {
	return cfg.StreamFanout && q.Kind == driver.Transient && q.ExchangeKind == driver.Fanout
}

// queueDeclaration is oslo's declaration of q under cfg.
func queueDeclaration(cfg Config, q driver.Queue) declaration {
	switch {
	case q.Kind == driver.Shared:
		return declaration{
			Durable:    cfg.DurableQueues || cfg.QuorumQueue,
			AutoDelete: cfg.AutoDelete,
			Args:       queueArgs(cfg, cfg.QuorumQueue, 0),
		}
	case cfg.isStream(q):
		args := amqp.Table{"x-queue-type": "stream"}
		if cfg.TransientTTL > 0 {
			// oslo: f"{rabbit_transient_queues_ttl}s", a string.
			args["x-max-age"] = fmt.Sprintf("%ds", int64(cfg.TransientTTL/time.Second))
		}
		return declaration{Durable: true, Args: args, Stream: true}
	default: // Transient (fanout) and Reply
		return declaration{
			Durable: cfg.TransientQuorum,
			Args:    queueArgs(cfg, cfg.TransientQuorum, cfg.TransientTTL),
		}
	}
}

// queueArgs is oslo's _get_queue_arguments without streams: x-ha-policy,
// the quorum type and limits, x-expires.
func queueArgs(cfg Config, quorum bool, ttl time.Duration) amqp.Table {
	args := amqp.Table{}
	if cfg.HAQueues {
		args["x-ha-policy"] = "all"
	}
	if quorum {
		args["x-queue-type"] = "quorum"
		if cfg.DeliveryLimit > 0 {
			args["x-delivery-limit"] = pyInt(int64(cfg.DeliveryLimit))
		}
		if cfg.MaxMemoryLength > 0 {
			args["x-max-in-memory-length"] = pyInt(int64(cfg.MaxMemoryLength))
		}
		if cfg.MaxMemoryBytes > 0 {
			args["x-max-in-memory-bytes"] = pyInt(int64(cfg.MaxMemoryBytes))
		}
	}
	if s := int64(ttl / time.Second); s > 0 {
		args["x-expires"] = pyInt(s * 1000)
	}
	if len(args) == 0 {
		return nil
	}
	return args
}

// pyInt encodes n as py-amqp does a Python int: a signed 32-bit field when
// it fits, else a 64-bit one. RabbitMQ compares integer arguments by value
// across widths, but the broker then shows the same types for both peers.
func pyInt(n int64) any {
	if n >= -2147483647 && n <= 2147483647 {
		return int32(n)
	}
	return n
}

// exchangeDeclaration is oslo's declaration of an exchange of kind.
func exchangeDeclaration(cfg Config, kind driver.ExchangeKind) (typ string, durable, autoDelete bool) {
	if kind == driver.Fanout {
		// fanout_send declares it durable = rabbit_transient_quorum_queue,
		// the consumer durable = transient_quorum or stream: the same, as
		// streams need transient quorum queues.
		return amqp.ExchangeFanout, cfg.TransientQuorum || cfg.StreamFanout, true
	}
	return amqp.ExchangeTopic, cfg.DurableQueues || cfg.QuorumQueue, cfg.AutoDelete
}

func declareExchange(ch *amqp.Channel, cfg Config, name string, kind driver.ExchangeKind) error {
	typ, durable, autoDelete := exchangeDeclaration(cfg, kind)
	if err := ch.ExchangeDeclare(name, typ, durable, autoDelete, false, false, nil); err != nil {
		return fmt.Errorf("declaring exchange %q: %w", name, explainExchange(err, name, typ, durable, autoDelete))
	}
	return nil
}

func declareQueue(ch *amqp.Channel, cfg Config, q driver.Queue) error {
	d := queueDeclaration(cfg, q)
	if _, err := ch.QueueDeclare(q.Name, d.Durable, d.AutoDelete, false, false, d.Args); err != nil {
		return fmt.Errorf("declaring queue %q: %w", q.Name, explainQueue(err, q.Name, d))
	}
	if q.Kind == driver.Reply {
		return nil
	}
	if err := declareExchange(ch, cfg, q.Exchange, q.ExchangeKind); err != nil {
		return err
	}
	key := q.Name
	if q.ExchangeKind == driver.Fanout {
		key = strings.TrimSuffix(q.Exchange, "_fanout")
	}
	if err := ch.QueueBind(q.Name, key, q.Exchange, false, nil); err != nil {
		return fmt.Errorf("binding queue %q to %q: %w", q.Name, q.Exchange, explain(err, q.Name))
	}
	return nil
}
