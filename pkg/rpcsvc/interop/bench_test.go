package interop

import (
	"context"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/internal/amqpbaseline"
	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// Benchmarks: run them all in one go, with a fixed count so that every row
// does the same amount of work (the Python rows start a subprocess per run):
//
//	go test ./pkg/rpcsvc/interop/ -run '^$' -bench . -benchtime 5000x
//
// Every row reports its ratio to the raw amqp091-go equivalent of its work
// with the same count (pkg/internal/amqpbaseline) on the same broker: the
// machine is shared, so only a baseline taken next to the measurement is
// comparable. The cast and Python rows measure it, untimed, right before
// their own run; the gonova call rows interleave it call by call. The
// targets: pipelined casts at least 0.5 of raw, 16 senders at least 0.7,
// the draining server at least 0.75 (ratio_vs_raw); call p50 at most 1.3x
// and p99 at most 1.5x of the raw round trip (p50_vs_raw, p99_vs_raw).

// benchBodySize is about the size of a gonova bench_cast message: the
// envelope, _unique_id and a flattened empty context.
const benchBodySize = 400

// rawCasts measures raw publish+consume with acks of n messages, untimed.
func rawCasts(b *testing.B, n int, opts amqpbaseline.ThroughputOptions) float64 {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts.URL, opts.Messages, opts.BodySize = testenv.RabbitURL(), n, benchBodySize
	r, err := amqpbaseline.Throughput(ctx, opts)
	if err != nil {
		b.Fatalf("raw amqp091-go baseline: %v", err)
	}
	return r.PerSecond()
}

// rawRoundTrips measures n raw request-reply round trips, untimed.
func rawRoundTrips(b *testing.B, n int) amqpbaseline.Latencies {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rr, err := amqpbaseline.NewRequestReply(ctx, testenv.RabbitURL(), testenv.UniqueName("gonova_interop_rr_"))
	if err != nil {
		b.Fatal(err)
	}
	defer rr.Close()
	lat, err := rr.RoundTrips(ctx, n, 50, benchBodySize)
	if err != nil {
		b.Fatalf("raw amqp091-go baseline: %v", err)
	}
	return lat
}

func reportCasts(b *testing.B, perS, rawPerS, rawConfirmPerS float64) {
	b.ReportMetric(perS, "casts/s")
	b.ReportMetric(rawPerS, "raw_casts/s")
	b.ReportMetric(perS/rawPerS, "ratio_vs_raw")
	if rawConfirmPerS > 0 {
		b.ReportMetric(perS/rawConfirmPerS, "ratio_vs_raw_confirm")
	}
}

// reportSyncConfirm reports the rate beside raw amqp091-go senders that
// make Cast's promise: the same number of goroutines, each publishing one
// message and waiting for its confirm before the next. The other raw rows
// publish without waiting (fire and forget, or a 256-deep window), which
// no number of goroutines calling a confirmed Cast can do.
func reportSyncConfirm(b *testing.B, perS, rawSyncPerS float64) {
	b.ReportMetric(rawSyncPerS, "raw_sync_confirm_casts/s")
	b.ReportMetric(perS/rawSyncPerS, "ratio_vs_raw_sync_confirm")
}

// osloPath turns a raw baseline into one on the path gonova's casts take:
// through a topic exchange, as oslo.messaging's control exchange is, with
// the mandatory flag gonova sets. The other raw rows publish to the default
// exchange, which the broker routes for less work per message.
func osloPath(opts amqpbaseline.ThroughputOptions) amqpbaseline.ThroughputOptions {
	opts.TopicExchange, opts.Mandatory = true, true
	return opts
}

// reportOsloPath reports the rate beside the raw baseline on gonova's path
// (osloPath) under the metric name.
func reportOsloPath(b *testing.B, perS, rawPerS float64, name string) {
	b.ReportMetric(rawPerS, "raw_"+name+"_casts/s")
	b.ReportMetric(perS/rawPerS, "ratio_vs_raw_"+name)
}

func reportCalls(b *testing.B, p50, p99 time.Duration, raw amqpbaseline.Latencies) {
	b.ReportMetric(amqpbaseline.Millis(p50), "p50_ms")
	b.ReportMetric(amqpbaseline.Millis(p99), "p99_ms")
	b.ReportMetric(amqpbaseline.Millis(raw.Quantile(0.5)), "raw_p50_ms")
	b.ReportMetric(amqpbaseline.Millis(raw.Quantile(0.99)), "raw_p99_ms")
	b.ReportMetric(float64(p50)/float64(raw.Quantile(0.5)), "p50_vs_raw")
	b.ReportMetric(float64(p99)/float64(raw.Quantile(0.99)), "p99_vs_raw")
}

// BenchmarkCast: casts handled per second by one server.
//
//   - gonova/pipelined: one goroutine keeps 256 CastAsync casts in flight
//     (the raw confirm baseline's window), each confirmed; measured as
//     senders=N, also beside the confirm baseline on gonova's path
//     (ratio_vs_raw_topic_confirm).
//   - gonova/senders=N: N goroutines of one Go client cast b.N messages (each
//     Cast waits for the broker's confirm); the rate runs from the first cast
//     sent to the last one handled. Raw: publish+consume with acks, without
//     and with pipelined confirms, and from N goroutines each waiting for
//     its confirm (ratio_vs_raw_sync_confirm: the same promise as Cast);
//     that last one again through a topic exchange with the mandatory flag,
//     the path gonova's casts take (ratio_vs_raw_topic_sync_confirm).
//   - gonova/drain: b.N casts are queued first, then a fresh server is
//     started; the rate runs from Start to the last one handled: the server
//     alone. Raw: the same prefilled queue consumed with acks.
//   - python_*: pyclient.py's sequential casts, measured the same way as
//     senders=1.
func BenchmarkCast(b *testing.B) {
	topic := testenv.UniqueName("bench_cast_")
	srvTr := openTransport(b, optsForTests())
	ep := startGoServer(b, srvTr, topic, "gohost1")
	cliTr := openTransport(b, optsForTests())
	cl := newClient(b, cliTr, topic).Prepare(rpcsvc.CallOptions{Server: "gohost1"})

	castAll := func(ctx context.Context, cl *rpcsvc.Client, n, senders int) error {
		var wg sync.WaitGroup
		errs := make(chan error, senders)
		for s := range senders {
			wg.Go(func() {
				for i := s; i < n; i += senders {
					if err := cl.Cast(ctx, "bench_cast", benchCastArgs{I: i}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		return <-errs
	}

	gonova := func(senders int) func(b *testing.B) {
		return func(b *testing.B) {
			raw := rawCasts(b, b.N, amqpbaseline.ThroughputOptions{})
			rawConfirm := rawCasts(b, b.N, amqpbaseline.ThroughputOptions{Confirms: true})
			rawSync := rawCasts(b, b.N, amqpbaseline.ThroughputOptions{Confirms: true, Senders: senders})
			rawSyncTopic := rawCasts(b, b.N, osloPath(amqpbaseline.ThroughputOptions{Confirms: true, Senders: senders}))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if _, err := ep.BenchReset(ctx); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			if err := castAll(ctx, cl, b.N, senders); err != nil {
				b.Fatal(err)
			}
			if n, err := ep.waitCount(ctx, b.N); err != nil {
				b.Fatalf("server handled %d of %d casts: %v", n, b.N, err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			reportCasts(b, float64(b.N)/elapsed.Seconds(), raw, rawConfirm)
			reportSyncConfirm(b, float64(b.N)/elapsed.Seconds(), rawSync)
			reportOsloPath(b, float64(b.N)/elapsed.Seconds(), rawSyncTopic, "topic_sync_confirm")
		}
	}
	// pipelined: one goroutine keeps a window of CastAsync casts in flight,
	// the window of the raw confirm baseline (amqpbaseline's ConfirmWindow).
	castPipelined := func(ctx context.Context, cl *rpcsvc.Client, n, window int) error {
		inflight := make([]*rpcsvc.Pending, 0, window)
		for i := 0; i < n; i++ {
			if len(inflight) == window {
				if err := inflight[0].Wait(ctx); err != nil {
					return err
				}
				inflight = inflight[1:]
			}
			inflight = append(inflight, cl.CastAsync(ctx, "bench_cast", benchCastArgs{I: i}))
		}
		for _, p := range inflight {
			if err := p.Wait(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	b.Run("gonova/pipelined", func(b *testing.B) {
		raw := rawCasts(b, b.N, amqpbaseline.ThroughputOptions{})
		rawConfirm := rawCasts(b, b.N, amqpbaseline.ThroughputOptions{Confirms: true})
		rawConfirmTopic := rawCasts(b, b.N, osloPath(amqpbaseline.ThroughputOptions{Confirms: true}))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if _, err := ep.BenchReset(ctx); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		start := time.Now()
		if err := castPipelined(ctx, cl, b.N, 256); err != nil {
			b.Fatal(err)
		}
		if n, err := ep.waitCount(ctx, b.N); err != nil {
			b.Fatalf("server handled %d of %d casts: %v", n, b.N, err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		reportCasts(b, float64(b.N)/elapsed.Seconds(), raw, rawConfirm)
		reportOsloPath(b, float64(b.N)/elapsed.Seconds(), rawConfirmTopic, "topic_confirm")
	})
	b.Run("gonova/senders=1", gonova(1))
	b.Run("gonova/senders=16", gonova(16))
	b.Run("gonova/senders=64", gonova(64))

	b.Run("gonova/drain", func(b *testing.B) {
		raw := rawCasts(b, b.N, amqpbaseline.ThroughputOptions{Prefill: true})
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// A server that declares the queues, then stops: casts queue up.
		drainTopic := testenv.UniqueName("bench_drain_")
		tr := openTransport(b, optsForTests())
		target := rpcsvc.Target{Topic: drainTopic, Server: "gohostd"}
		newSrv := func(ep *goEndpoint) *rpcsvc.Server {
			srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{Target: target, Endpoints: []rpcsvc.Endpoint{{Version: "1.3", Impl: ep}}})
			if err != nil {
				b.Fatal(err)
			}
			return srv
		}
		first := newSrv(newGoEndpoint("gohostd"))
		if err := first.Start(ctx); err != nil {
			b.Fatal(err)
		}
		if err := first.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		dcl := newClient(b, cliTr, drainTopic).Prepare(rpcsvc.CallOptions{Server: "gohostd"})
		if err := castAll(ctx, dcl, b.N, 16); err != nil {
			b.Fatal(err)
		}
		dep := newGoEndpoint("gohostd")
		srv := newSrv(dep)
		b.StartTimer()
		start := time.Now()
		if err := srv.Start(ctx); err != nil {
			b.Fatal(err)
		}
		n, err := dep.waitCount(ctx, b.N)
		elapsed := time.Since(start)
		b.StopTimer()
		if stopErr := srv.Stop(ctx); stopErr != nil {
			b.Error(stopErr)
		}
		if err != nil {
			b.Fatalf("server handled %d of %d casts: %v", n, b.N, err)
		}
		reportCasts(b, float64(b.N)/elapsed.Seconds(), raw, 0)
	})

	if !pythonAvailable(b) {
		return
	}
	pyTopic := testenv.UniqueName("bench_py_")
	startPyServer(b, testExchange, pyTopic, "pyhost1")
	pyRow := func(topic, server string) func(b *testing.B) {
		return func(b *testing.B) {
			raw := rawCasts(b, b.N, amqpbaseline.ThroughputOptions{})
			rawConfirm := rawCasts(b, b.N, amqpbaseline.ThroughputOptions{Confirms: true})
			var r pyBenchResult
			pyClient(b, testExchange, topic, "bench", &r, "--server", server,
				"--calls", "10", "--warmup", "10", "--casts", strconv.Itoa(b.N), "--timeout", "300")
			if err := r.check(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(1e9/r.CastsPerS, "ns/op") // the subprocess's start-up is not the cast rate
			reportCasts(b, r.CastsPerS, raw, rawConfirm)
		}
	}
	b.Run("python_oslo", pyRow(pyTopic, "pyhost1"))
	b.Run("python_client_to_gonova", pyRow(topic, "gohost1"))
}

// BenchmarkCall: b.N sequential calls of add(a, b); latency percentiles beside
// raw request-reply round trips.
//
// The gonova rows interleave: each iteration makes one gonova call and one
// raw amqp091-go round trip (pkg/internal/amqpbaseline's RequestReply, on
// connections of its own), taking turns at going first, so both see the
// same moment of the broker and the machine. Measured one after the other,
// the raw p99 alone moved 2.6x between three runs in a row, and the
// ratio with it. ns/op is gonova's calls alone; -benchmem's allocations
// include the raw client's. The Python rows run in a subprocess and keep
// the raw round trips measured just before them.
func BenchmarkCall(b *testing.B) {
	topic := testenv.UniqueName("bench_call_")
	srvTr := openTransport(b, optsForTests())
	startGoServer(b, srvTr, topic, "gohost1")
	cliTr := openTransport(b, optsForTests())
	cl := newClient(b, cliTr, topic).Prepare(rpcsvc.CallOptions{Server: "gohost1"})

	goCalls := func(cl *rpcsvc.Client) func(b *testing.B) {
		return func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			rr, err := amqpbaseline.NewRequestReply(ctx, testenv.RabbitURL(), testenv.UniqueName("gonova_interop_rr_"))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = rr.Close() }()
			rawBody := make([]byte, benchBodySize)
			for i := range rawBody {
				rawBody[i] = 'x'
			}
			var sum int
			call := func(i int) time.Duration {
				start := time.Now()
				if err := cl.Call(ctx, "add", addArgs{A: i, B: 1}, &sum); err != nil {
					b.Fatal(err)
				}
				d := time.Since(start)
				if sum != i+1 {
					b.Fatalf("add(%d, 1) = %d", i, sum)
				}
				return d
			}
			rawCall := func() time.Duration {
				start := time.Now()
				got, err := rr.Call(ctx, rawBody)
				if err != nil {
					b.Fatalf("raw amqp091-go baseline: %v", err)
				}
				d := time.Since(start)
				if len(got) != len(rawBody) {
					b.Fatalf("raw amqp091-go baseline: echo returned %d bytes, sent %d", len(got), len(rawBody))
				}
				return d
			}
			// Warm up both: the reply queues are declared on the first call.
			for i := range 50 {
				call(i)
				rawCall()
			}
			lat := make(amqpbaseline.Latencies, 0, b.N)
			raw := make(amqpbaseline.Latencies, 0, b.N)
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%2 == 1 {
					raw = append(raw, rawCall())
				}
				d := call(i)
				lat = append(lat, d)
				total += d
				if i%2 == 0 {
					raw = append(raw, rawCall())
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
			reportCalls(b, lat.Quantile(0.5), lat.Quantile(0.99), raw)
		}
	}
	b.Run("gonova", goCalls(cl))

	if !pythonAvailable(b) {
		return
	}
	pyTopic := testenv.UniqueName("bench_py_")
	startPyServer(b, testExchange, pyTopic, "pyhost1")
	b.Run("gonova_client_to_python", goCalls(newClient(b, cliTr, pyTopic).Prepare(rpcsvc.CallOptions{Server: "pyhost1"})))
	pyRow := func(topic, server string) func(b *testing.B) {
		return func(b *testing.B) {
			raw := rawRoundTrips(b, b.N)
			var r pyBenchResult
			pyClient(b, testExchange, topic, "bench", &r, "--server", server,
				"--calls", strconv.Itoa(b.N), "--casts", "10", "--timeout", "300")
			if err := r.check(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(1e9/r.CallsPerS, "ns/op")
			reportCalls(b, msDuration(r.CallP50Ms), msDuration(r.CallP99Ms), raw)
		}
	}
	b.Run("python_oslo", pyRow(pyTopic, "pyhost1"))
	b.Run("python_client_to_gonova", pyRow(topic, "gohost1"))
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// pythonAvailable reports whether Debian's python3 can import
// oslo_messaging. Without it the Python rows are left out with a log line
// (the other rows stand); in CI its absence fails the benchmark.
func pythonAvailable(b *testing.B) bool {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.PythonPath, "-c", "import oslo_messaging").CombinedOutput()
	if err == nil {
		return true
	}
	if testenv.InCI() {
		b.Fatalf("python3-oslo.messaging is required in CI: %v: %s", err, out)
	}
	b.Logf("Python rows left out: python3-oslo.messaging not available (%v)", err)
	return false
}
