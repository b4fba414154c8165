package config

import (
	"errors"
	"strings"
)

// checkRabbit refuses the [oslo_messaging_rabbit] combinations oslo.messaging
// refuses when it opens a connection (impl_rabbit.Connection and
// _get_queue_arguments raise "Configuration Error: ..."), so that a service
// stops at start with exit code 2 instead of declaring queues other services
// cannot share.
func (c *Config) checkRabbit() error {
	r := c.Rabbit
	src := "configuration"
	if len(c.Sources) > 0 {
		src = strings.Join(c.Sources, ", ")
	}
	fail := func(option, msg string) error {
		return &Error{Source: src, Section: secRabbit, Option: option, Err: errors.New(msg)}
	}
	switch {
	case r.RabbitQuorumQueue && r.RabbitHAQueues:
		return fail("rabbit_quorum_queue", "rabbit_quorum_queue and rabbit_ha_queues are both true: a queue is quorum or HA (mirrored), not both; set rabbit_ha_queues = false")
	case r.RabbitQuorumQueue && r.AmqpAutoDelete:
		// oslo declares it and RabbitMQ refuses it (invalid property
		// 'auto-delete'): say so before any queue is declared.
		return fail("rabbit_quorum_queue", "rabbit_quorum_queue and amqp_auto_delete are both true: RabbitMQ refuses auto-delete quorum queues; set amqp_auto_delete = false")
	case r.RabbitStreamFanout && !r.RabbitTransientQuorumQueue:
		return fail("rabbit_stream_fanout", "rabbit_stream_fanout needs rabbit_transient_quorum_queue = true (as oslo.messaging requires)")
	case r.RabbitStreamFanout && r.RabbitQosPrefetchCount <= 0:
		return fail("rabbit_stream_fanout", "rabbit_stream_fanout needs rabbit_qos_prefetch_count above 0: RabbitMQ delivers from a stream only to a consumer with a prefetch (basic.qos)")
	}
	return nil
}
