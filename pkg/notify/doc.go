// Package notify is oslo.messaging's notifications for Go: a Notifier with
// oslo's drivers, and a Listener with oslo's endpoints, pools, filters and
// requeue, wire-compatible with Python oslo.messaging notifiers and
// listeners on the same RabbitMQ broker. Both are also watermill
// message.Publisher and message.Subscriber, so a Go program can consume
// nova's notifications with watermill's Router and its middleware.
//
// # Why
//
// nova reports what happens to instances and services as notifications
// (`compute.instance.create.end`, `service.update`), which ceilometer,
// billing and audit tools consume. A gonova service must send them exactly
// as Python nova does, so that those consumers do not notice which one sent
// them, and Go programs should be able to read them without reimplementing
// the format. oslo's Python notifier publishes and returns ("at most once");
// this package returns only once the broker confirmed the notification, and
// resends across reconnects.
//
// # Usage
//
//	n, err := notify.NewNotifier(ctx, notify.OptionsFromConfig(cfg, "compute."+cfg.Default.Host))
//	defer n.Close()
//	ctx = rpcsvc.NewContext(ctx, rpcsvc.Context{RequestID: "req-1", ProjectID: "p"})
//	err = n.Info(ctx, "compute.instance.create.end", payload) // any JSON-marshalable value
//	// nova's versioned notifier: other topics, the same connection.
//	v := n.WithTopics("versioned_notifications").Prepare("nova-compute:" + cfg.Default.Host)
//
//	sub, err := notify.NewSubscriber(ctx, notify.SubscriberConfigFromConfig(cfg, "billing")) // pool "billing"
//	defer sub.Close()
//	l, err := notify.NewListener(sub, []string{"notifications"}, notify.Endpoint{
//		Filter:   notify.MustFilter(notify.FilterRules{EventType: `^compute\.instance\.`}),
//		Handlers: map[notify.Priority]notify.Handler{notify.Info: func(ctx context.Context, n *notify.Notification) notify.Result {
//			return notify.Handled // or notify.Requeue
//		}},
//	})
//	err = l.Start(ctx)
//	defer l.Stop()
//
//	// watermill: the Subscriber's topics are <topic>.<priority>.
//	router.AddConsumerHandler("billing", "notifications.info", sub, func(m *message.Message) error {
//		n, err := notify.FromMessage(m) // or m.Payload and m.Metadata.Get(notify.MetaEventType)
//		...
//	})
//
// # Drivers and options
//
// [oslo_messaging_notifications] in nova.conf (pkg/config): driver
// (multi-valued: messagingv2, messaging, log, noop; none sends nothing, as in
// oslo), topics (default notifications), transport_url (default [DEFAULT]
// transport_url) and retry (-1: resend until the caller's context ends; N:
// N more attempts, then the notification is logged, counted as a failure
// and returned as an error). messagingv2 wraps the message in oslo's 2.0
// envelope ({"oslo.version": "2.0", "oslo.message": "<JSON text>"});
// messaging sends the dict itself (1.0), for old consumers. log writes the
// message as JSON to the Logger at the level of its priority, with oslo's
// logger name `oslo.messaging.notification.<event_type>` and the values of
// secret-looking keys masked (oslo's mask_dict_password keys).
//
// # Wire format and topology
//
// A message has message_id (a UUID), publisher_id, event_type, priority
// (upper-case: INFO, WARN, ERROR, ...), payload, timestamp (UTC, Python's
// str(datetime): "2026-12-01 10:00:00.123456") and the request context as
// `_context_<key>` keys, redacted of tokens as oslo redacts it, plus
// `_unique_id`, by which oslo's listeners drop duplicates. It is published
// to the control exchange (topic; nova's default "nova") with the routing key
// `<topic>.<priority>` (lower-case), content type application/json,
// delivery mode 2. Before the first publish on each connection, the queue
// `<topic>.<priority>` is declared and bound, as oslo's notifier declares it,
// so notifications wait for listeners that start later.
//
// A listener without a pool consumes `<topic>.<priority>` itself: all such
// listeners, Python or Go, compete for its messages. A listener in a pool
// consumes a queue named after the pool (oslo's naming: queue_name = pool),
// bound to each `<topic>.<priority>` it listens to: each pool gets every
// notification, the listeners of one pool share them. Exchanges and queues
// are durable when amqp_durable_queues (or rabbit_quorum_queue, which adds
// x-queue-type quorum) is set, auto-delete with amqp_auto_delete: the
// settings must match the other services on the broker, or the broker
// refuses the declaration (PreconditionError names the option to align).
//
// # Delivery guarantees
//
// Notify returns nil only after the broker confirmed the message (publisher
// confirms). A publish whose confirm was lost with the connection is sent
// again on the next connection with the same message_id and _unique_id:
// delivery is at least once, and a consumer may see a duplicate (oslo's
// Python listener drops it by _unique_id; a Go consumer can use the
// message_id).
//
// Whether a confirmed notification survives a broker restart depends on
// amqp_durable_queues. With it (or rabbit_quorum_queue) the queue is durable
// and the message persistent, and the broker confirms only once it is on
// disk: nothing confirmed is lost. oslo's default, amqp_durable_queues =
// false, declares non-durable queues: a broker restart deletes them with
// every notification waiting in them, confirmed or not (publishes then
// re-declare them). Connection cuts, with the broker up, lose nothing either
// way. The tests restart a private RabbitMQ node to show both.
//
// A Subscriber acknowledges a message when its handler Acks it (watermill)
// or a Listener's handlers return; Nack, a Requeue result or a panic put it
// back on the queue, redelivered to this or another consumer (a handler that
// always requeues makes it loop). Messages are handed out without waiting for
// the previous ack, up to SubscriberConfig.Prefetch at once. A message that
// is not a notification is logged and acknowledged (dropped), as oslo's
// dispatcher drops one of unknown priority.
//
// # Closing
//
// watermill's own subscribers drop in-flight messages when closed; this one
// drains in order: it cancels its consumers first, returns what the client
// library still buffers to the queue (basic.nack, requeue), waits up to
// CloseTimeout for the messages already handed out to be acked or nacked,
// and only then closes its channels and connection. A message still
// unsettled at the deadline is requeued by the broker when the channel
// closes: none is lost. The output channels close after the drain, so
// watermill's Router closes a handler's publisher only after its last
// message was handled. A Publisher from Notifier.Publisher ignores Close
// (the Router closes publishers on its own schedule); close the Notifier.
//
// # Reconnecting
//
// Each Notifier and Subscriber owns one supervised connection that
// reconnects with capped exponential backoff, trying the transport_url's
// hosts in turn. Publishers re-declare their queues on every new connection;
// subscriptions re-declare and consume again, so a non-durable queue lost in
// a broker restart comes back.
//
// # Why amqp091-go and not watermill-amqp
//
// For the reasons pkg/rpcsvc's doc gives: watermill-amqp's subscriber hands
// out one message at a time, its reconnect races with publishers, Publish
// can block forever when channels fail to reopen, declarations are not
// repeated after a reconnect, and returns are not reported. Only watermill's
// message package (Publisher, Subscriber, Message, Router) is used.
//
// # Logging
//
// log/slog through Options.Logger and SubscriberConfig.Logger. Error: a
// notification given up (with event_type, topic, message_id), a
// subscription's declaration refused (PRECONDITION_FAILED), a Listener
// handler's panic (with the stack). Warn: lost connections and reconnect
// attempts, a message that is not a notification, messages still unsettled
// at CloseTimeout. Info: reconnected. The log driver logs each notification
// at its priority's level.
//
// # Metrics
//
// Registered on Options.Registerer / SubscriberConfig.Registerer (nothing
// when nil; several instances share the series):
//   - gonova_notifications_sent_total{event_type,outcome}: per driver and
//     topic; outcome success (confirmed, or logged) or failure (given up).
//     Both series of an event type are created at zero with its first
//     notification.
//   - gonova_notifications_received_total{outcome}: messages received by
//     subscribers and listeners; outcome handled (acked), requeued or
//     rejected (not a notification). Created at zero.
//   - gonova_notifications_reconnects_total: broker reconnections.
package notify
