// Package interop proves, against a real RabbitMQ and real Python
// oslo.messaging peers, that pkg/rpcsvc speaks oslo.messaging's wire format,
// and measures how fast it does so.
//
// Why: rpcsvc's own tests check the format against what its authors read in
// oslo.messaging's sources. Only a Python peer can say whether a Python nova
// service would really accept a Go reply, rebuild a Go failure as a
// RemoteError, match a context, or find its reply queue. The tests here run
// Debian's python3-oslo.messaging (testdata/pyserver.py, testdata/pyclient.py)
// in both directions: a Python client calling and casting to a Go server, and
// a Go client calling and casting to a Python server, including fanout casts,
// remote errors with class, module, message and traceback, and the request
// context (`_context_*`).
//
// The benchmarks put gonova's cast throughput and call latency beside a raw
// amqp091-go client doing the same minimum work (pkg/internal/amqpbaseline) and
// beside Python oslo.messaging talking to itself, all measured in the same
// run on the same broker, and report the ratios. The package has no non-test
// code: it is a test suite, kept apart from pkg/rpcsvc so that its Python
// subprocesses and broker topology stay out of rpcsvc's unit tests.
//
// # Running
//
//	go test ./pkg/rpcsvc/interop/                        # skips without RabbitMQ or Python; fails under CI=true
//	go test ./pkg/rpcsvc/interop/ -run '^$' -bench . -benchtime 5000x
//
// Python peers run with /usr/bin/python3 (Debian's, which sees
// python3-oslo.messaging). Each test package run uses its own control
// exchange and topics (testenv.UniqueName), so it can run beside others.
package interop
