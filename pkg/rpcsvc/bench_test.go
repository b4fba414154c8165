package rpcsvc

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

type counter struct{ n atomic.Int64 }

func (c *counter) Record(context.Context, RecordArgs) error { c.n.Add(1); return nil }
func (c *counter) Echo(_ context.Context, a EchoArgs) (EchoArgs, error) {
	return a, nil
}

func benchEnv(b *testing.B, kind string) (*Client, *counter) {
	b.Helper()
	e := &env{kind: kind, url: "memory://" + testenv.UniqueName("bench_"), exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_")}
	if kind == "rabbit" {
		testenv.RequireRabbit(b)
		e.url = testenv.RabbitURL()
	}
	o := e.options()
	o.Registerer = nil
	o.ExecutorThreadPoolSize = 64
	tr, err := Open(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	c := &counter{}
	s, err := NewServer(tr, ServerConfig{Target: Target{Topic: e.topic, Server: "h"}, Endpoints: []Endpoint{{Impl: c}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
		_ = tr.Close(ctx)
		if kind == "rabbit" {
			cleanupBrokerTB(e)
		}
	})
	cl, err := NewClient(tr, ClientConfig{Target: Target{Topic: e.topic}})
	if err != nil {
		b.Fatal(err)
	}
	return cl, c
}

func cleanupBrokerTB(e *env) { cleanupBroker(nil, e) }

// BenchmarkCall: sequential call round trips.
func BenchmarkCall(b *testing.B) {
	for _, kind := range []string{"memory", "rabbit"} {
		b.Run(kind, func(b *testing.B) {
			cl, _ := benchEnv(b, kind)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var out EchoArgs
				start := time.Now()
				if err := cl.Call(ctx, "echo", EchoArgs{Value: i}, &out); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50_ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100])/1e6, "p99_ms")
		})
	}
}

// BenchmarkCastParallel: confirmed casts from parallel senders, until the
// server handled them all.
func BenchmarkCastParallel(b *testing.B) {
	for _, kind := range []string{"memory", "rabbit"} {
		b.Run(kind, func(b *testing.B) {
			cl, c := benchEnv(b, kind)
			ctx := context.Background()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := cl.Cast(ctx, "record", RecordArgs{N: 1}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			for c.n.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// BenchmarkCastPipelined: one goroutine keeps a window of 256 CastAsync
// casts in flight, until the server handled them all.
func BenchmarkCastPipelined(b *testing.B) {
	for _, kind := range []string{"memory", "rabbit"} {
		b.Run(kind, func(b *testing.B) {
			cl, c := benchEnv(b, kind)
			ctx := context.Background()
			window := make([]*Pending, 0, 256)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if len(window) == cap(window) {
					if err := window[0].Wait(ctx); err != nil {
						b.Fatal(err)
					}
					window = window[1:]
				}
				window = append(window, cl.CastAsync(ctx, "record", RecordArgs{N: 1}))
			}
			for _, p := range window {
				if err := p.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
			for c.n.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
		})
	}
}
