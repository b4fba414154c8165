// Package amqpbaseline measures what a plain amqp091-go client gets out of a
// RabbitMQ broker, so that gonova's RPC benchmarks can say how close to the
// ceiling they are.
//
// Why: a figure such as "4,000 casts/s" means nothing on its own; it depends on
// the machine, the broker version and whatever else the machine is doing. The
// benchmarks in pkg/rpcsvc/interop therefore measure, in the same run and on the
// same broker, the same work done with nothing but amqp091-go, and report the
// ratio. The floor is stated as such ratios (casts at least 50% of the
// raw rate, call p50 at most 2x the raw round trip).
//
// The baseline does what an oslo.messaging peer has to do at the minimum, and
// nothing more:
//
//   - Throughput: one connection publishes N messages of a given size
//     (delivery_mode 2 like oslo, optionally with publisher confirms kept in a
//     pipelined window, optionally into a durable queue) to a queue that another
//     connection consumes with manual acks, one ack per message. The rate is N
//     over the time from the first publish to the last ack.
//   - RequestReply: a client with one exclusive reply queue for its lifetime
//     and a map from correlation id to waiting caller, and an echo server that
//     consumes a request queue, publishes the reply to the default exchange with
//     the reply queue as routing key, then acks. This is the shape of an oslo
//     call (one reply queue per process, correlation by id) without the JSON
//     envelope, dispatch or context.
//
// Neither is an RPC library: they exist to be measured against.
package amqpbaseline
