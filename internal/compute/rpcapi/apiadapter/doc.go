// Package apiadapter makes the compute RPC client (package rpcapi) the
// api.ComputeAPI that nova-api's handlers send work through.
//
// # Why
//
// The handlers (internal/api) think in instances rows and HTTP statuses; the
// RPC client thinks in hosts, uuids and nova's remote exceptions. This small
// package is the one place that translates: the host comes from the row, an
// absent tail length becomes "the whole log", and the compute's
// InstanceNotFound and InstanceInvalidState become the errors the handlers
// map to 404 and 409, as nova's console-output handler does. Keeping it out of
// both internal/api and rpcapi lets each of those stay free of the other.
//
// # Logging
//
// The package does not log; the handlers log what it returns.
//
// # Metrics
//
// None; pkg/rpcsvc measures the calls.
package apiadapter
