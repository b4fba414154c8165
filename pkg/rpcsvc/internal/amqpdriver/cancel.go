package amqpdriver

import (
	amqp "github.com/rabbitmq/amqp091-go"
)

// consumeArgs are the basic.consume arguments oslo sends:
// x-cancel-on-ha-failover with enable_cancel_on_failover, so that RabbitMQ
// cancels the consumers of a mirrored queue whose master moved, instead of
// letting them wait on a queue process that is gone; the consumer then
// subscribes again (watchCancels).
func consumeArgs(cfg Config) amqp.Table {
	if !cfg.CancelOnFailover {
		return nil
	}
	return amqp.Table{"x-cancel-on-ha-failover": true}
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
