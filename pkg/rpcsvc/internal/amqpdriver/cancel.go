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

// isQuorum reports whether q is declared as a quorum queue.
func isQuorum(cfg Config, q driver.Queue) bool {
	return cfg.QuorumQueue && q.Kind == driver.Shared
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
func (c *consumer) watchCancels(ch *amqp.Channel, cancels <-chan string) {
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
		c.d.log.Warn("rpcsvc: the broker cancelled a consumer (queue deleted or failed over); subscribing again", "consumer_tag", tag, "retry_in", c.d.cfg.Reconnect.Delay)
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
