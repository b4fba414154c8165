// Package clustertest holds gonova's RPC tests on a real 3-node RabbitMQ
// cluster (pkg/testenv/rabbitcluster) with quorum queues: failover of the
// node leading the compute queue during a stream of casts and calls, with
// the node stopped and restarted, and Python oslo.messaging sharing the
// quorum queues. They start and stop brokers, so they are serial tests
// (TestSerial*, GONOVA_SERIAL_FAULTS=1, make test-serial). The package has
// no code of its own.
package clustertest
