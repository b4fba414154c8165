// Package e2e runs gonova's binaries as real processes against the real
// Postgres and RabbitMQ (and the Python oslo.messaging peer), and drives them
// the way an operator and an OpenStack client would: over HTTP, over RPC, and
// with signals.
//
// Why a package of its own: these tests cross every package; they build the
// binaries once (TestMain) and each test gets its own database and its own
// control exchange, so they run beside every other package's tests.
package e2e
