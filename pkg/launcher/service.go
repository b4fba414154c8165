package launcher

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Service is one long-running part of a process: an RPC server, an HTTP
// server, a backdoor. The launcher starts services in order and stops them in
// reverse order.
//
// The contract:
//   - Start brings the service up and returns once it is ready to do its work
//     (listeners bound, consumers subscribed). It must not block for the
//     service's lifetime. ctx bounds start-up only: it is cancelled when a
//     shutdown begins during start-up, so a service must not keep it as its
//     lifetime.
//   - Stop stops gracefully: stop taking new work, let the work in flight
//     finish, release resources. It returns when that is done, or when ctx
//     ends, after which it should cut the remaining work off and return
//     promptly with an error. Stop may be called after the service ended on
//     its own.
//   - Wait blocks until the service has ended, by Stop (nil) or on its own
//     (its error), or until ctx ends (ctx.Err()). A service ending on its own
//     stops the whole process.
//   - Reset is called on SIGHUP after the reload hook has re-read the
//     configuration, as oslo's reset(); services re-apply what may change.
//
// Name identifies the service in logs, errors and reports.
type Service interface {
	Name() string
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Wait(ctx context.Context) error
	Reset(ctx context.Context) error
}

// Binder is implemented by services that open listeners with [Listen]. The
// launcher calls Bind before starting anything, in every mode: in a single
// process, in the ProcessLauncher's parent (which never calls Start, so this
// is where the sockets that workers inherit are bound) and in each worker
// (where Listen returns the inherited socket). Binding there makes a port in
// use an error before anything is reported ready.
type Binder interface {
	Bind(ctx context.Context) error
}

// Reporter is implemented by services that add a section about their state
// to the Guru Meditation Report. The section is titled with the service's
// Name.
type Reporter interface {
	Report(w io.Writer) error
}

// Func adapts a blocking function, in the style of controller-runtime's
// Runnable, to a Service: Start runs it in a goroutine, Stop cancels its
// context and waits for it to return, Reset does nothing.
//
//	svc := launcher.Func("janitor", func(ctx context.Context) error {
//		t := time.NewTicker(time.Minute)
//		defer t.Stop()
//		for {
//			select {
//			case <-ctx.Done():
//				return nil
//			case <-t.C:
//				sweep(ctx)
//			}
//		}
//	})
//
// Since Start returns before run has done anything, a function that binds a
// port should be a full Service (or a Binder) instead.
func Func(name string, run func(ctx context.Context) error) Service {
	return &funcService{name: name, run: run, done: make(chan struct{})}
}

type funcService struct {
	name string
	run  func(context.Context) error

	once   sync.Once
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (f *funcService) Name() string { return f.name }

func (f *funcService) Start(ctx context.Context) error {
	started := false
	f.once.Do(func() {
		started = true
		// The lifetime context keeps ctx's values but not its cancellation.
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f.cancel = cancel
		go func() {
			defer close(f.done)
			f.err = f.run(rctx)
			if errors.Is(f.err, context.Canceled) && rctx.Err() != nil {
				f.err = nil // stopped by Stop
			}
		}()
	})
	if !started {
		return errors.New("launcher: service " + f.name + " started twice")
	}
	return nil
}

func (f *funcService) Stop(ctx context.Context) error {
	f.once.Do(func() { close(f.done) }) // never started: nothing to stop
	if f.cancel != nil {
		f.cancel()
	}
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *funcService) Wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *funcService) Reset(context.Context) error { return nil }
