package amqpdriver

import (
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
)

// consumeArgs are the basic.consume arguments of queue q:
// x-cancel-on-ha-failover with enable_cancel_on_failover, so that RabbitMQ
// cancels the consumers of a mirrored queue whose master moved, instead of
// letting them wait on a queue process that is gone; the consumer then
// subscribes again (watchCancels).
//
// Not on a quorum queue: RabbitMQ 3.x refuses the argument there
// (PRECONDITION_FAILED "invalid arg 'x-cancel-on-ha-failover' ... of queue
// type rabbit_quorum_queue", seen on 3.10) and 4.0 dropped it, as quorum
// queues keep their consumers across leader changes. oslo sends it to every
// consumer, so its enable_cancel_on_failover and rabbit_quorum_queue
// together fail to consume on RabbitMQ 3.x; gonova leaves it out of the
// quorum queues' subscriptions and keeps it on the classic ones.
func consumeArgs(cfg Config, q driver.Queue) amqp.Table {
	if !cfg.CancelOnFailover || isQuorum(cfg, q) {
		return nil
	}
	return amqp.Table{"x-cancel-on-ha-failover": true}
}

// isQuorum reports whether q is declared as a quorum queue (or the fanout
// stream, which takes no x-cancel-on-ha-failover either).
func isQuorum(cfg Config, q driver.Queue) bool {
	if q.Kind == driver.Shared {
		return cfg.QuorumQueue
	}
	return cfg.TransientQuorum || cfg.isStream(q)
}

// watchCancels handles the broker's basic.cancel of one of the consumer's
// subscriptions on ch: the queue was deleted, or failed over with
// x-cancel-on-ha-failover. amqp091-go then ends that queue's deliveries
// while the channel and the other queues go on, so the queue would never
// be consumed again. As oslo does (it reconnects after
// kombu_reconnect_delay), the consumer starts over: the channel is closed
// (unacknowledged messages return to their queues, duplicates are dropped
// by the server's _unique_id check) and run re-declares and re-subscribes
// every queue after kombu_reconnect_delay. cancels closes with the channel.
//
// A stream consumer starts again at the time of the cancel (a re-created
// stream's offsets start at 0 again; oslo resets to "last").
func (c *consumer) watchCancels(ch *amqp.Channel, cancels <-chan string, tagQueue map[string]string) {
	for tag := range cancels {
		c.mu.Lock()
		ours := c.ch == ch && !c.cancelled
		if ours {
			c.brokerCancel = true
		}
		c.mu.Unlock()
		if !ours {
			continue
		}
		q := tagQueue[tag]
		c.d.log.Warn("rpcsvc: the broker cancelled a consumer (queue deleted or failed over); declaring and subscribing again", "queue", q, "retry_in", c.d.cfg.Reconnect.Delay)
		if so := c.streams[q]; so != nil {
			so.reset()
		}
		_ = ch.Close()
	}
}

// takeBrokerCancel reports (and clears) whether the last channel ended by a
// broker's basic.cancel.
func (c *consumer) takeBrokerCancel() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.brokerCancel
	c.brokerCancel = false
	return b
}
