package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gonova/gonova/pkg/gmr"
	"github.com/gonova/gonova/pkg/logging"
)

// The helper main: the test binary re-executed with helperEnv set runs one
// of these programs instead of the tests, as a real service process would.
const (
	helperEnv       = "LAUNCHER_TEST_HELPER"
	helperLevelFile = "LAUNCHER_TEST_LEVEL_FILE" // log level, re-read on SIGHUP
	helperAddrFile  = "LAUNCHER_TEST_ADDR_FILE"  // the parent writes the shared address here
)

func helperMain(mode string) int {
	setup, err := logging.New(logging.Options{Level: slog.LevelInfo})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := setup.Logger.With("pid", os.Getpid())
	readLevel := func() (slog.Level, error) {
		b, err := os.ReadFile(os.Getenv(helperLevelFile))
		if err != nil {
			return 0, err
		}
		return logging.ParseLevel(string(b))
	}
	if lvl, err := readLevel(); err == nil {
		setup.Apply(lvl, false)
	}
	reporter := gmr.New(gmr.Options{Product: "launcher-helper", Version: "9.9.9"})
	reporter.Register("Configuration", gmr.ConfigSection(func() []gmr.Setting {
		return []gmr.Setting{
			{Name: "transport_url", Value: "rabbit://nova:hunter2@mq:5672/"},
			{Group: "database", Name: "connection", Value: "postgresql://nova:hunter2@db/nova"},
		}
	}))
	opts := Options{
		Logger:                  log,
		GracefulShutdownTimeout: 3 * time.Second,
		Reporter:                reporter,
		Reload: func(context.Context) error {
			lvl, err := readLevel()
			if err != nil {
				return err
			}
			if setup.Apply(lvl, false) {
				log.Info("log level changed", "level", lvl.String())
			}
			return nil
		},
		ParentCheckInterval: 100 * time.Millisecond,
		ForkInterval:        50 * time.Millisecond,
		RespawnDelay:        50 * time.Millisecond,
		RespawnMaxDelay:     time.Second,
	}

	var services []Service
	switch mode {
	case "inflight":
		services = []Service{&jobService{log: log, job: 700 * time.Millisecond}}
	case "stubborn":
		opts.GracefulShutdownTimeout = 300 * time.Millisecond
		services = []Service{&jobService{log: log}, &stubbornService{}}
	case "reload", "report":
		services = []Service{&jobService{log: log}}
	case "workers":
		opts.Workers = 2
		l, err := Listen("http", "tcp", "127.0.0.1:0")
		if err != nil {
			log.Error("listen", "err", err)
			return 1
		}
		if !IsWorker() {
			if err := os.WriteFile(os.Getenv(helperAddrFile), []byte(l.Addr().String()), 0o600); err != nil {
				log.Error("write addr", "err", err)
				return 1
			}
		}
		services = []Service{newPidServer(l)}
	default:
		log.Error("unknown helper mode", "mode", mode)
		return 2
	}
	err = New(opts, services...).Run(context.Background())
	if err != nil {
		log.Error("launcher ended", "err", err)
	}
	return ExitCode(err)
}

// jobService runs one job of the given length when started; Stop waits for
// it. Reset logs at Info and at Debug, so a test can see the level change.
type jobService struct {
	log  *slog.Logger
	job  time.Duration
	wg   sync.WaitGroup
	done chan struct{}
}

func (s *jobService) Name() string { return "jobs" }
func (s *jobService) Start(context.Context) error {
	s.done = make(chan struct{})
	s.log.Debug("debug line at start")
	if s.job > 0 {
		s.wg.Go(func() {
			s.log.Info("job started")
			time.Sleep(s.job)
			s.log.Info("job finished")
		})
	}
	return nil
}
func (s *jobService) Stop(ctx context.Context) error {
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	select {
	case <-finished:
		close(s.done)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (s *jobService) Wait(ctx context.Context) error {
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (s *jobService) Reset(context.Context) error {
	s.log.Info("reset called")
	s.log.Debug("debug line after reset")
	return nil
}
func (s *jobService) Report(w io.Writer) error {
	_, err := fmt.Fprintln(w, "jobs in flight = 0")
	return err
}

// stubbornService ignores its stop context.
type stubbornService struct{}

func (stubbornService) Name() string                { return "stubborn" }
func (stubbornService) Start(context.Context) error { return nil }
func (stubbornService) Stop(context.Context) error  { select {} }
func (stubbornService) Wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
func (stubbornService) Reset(context.Context) error { return nil }

// pidServer answers every request with its process id, on a listener from
// Listen, so a test can tell which worker accepted a connection.
type pidServer struct {
	l    net.Listener
	srv  *http.Server
	done chan error
}

func newPidServer(l net.Listener) *pidServer {
	return &pidServer{l: l, done: make(chan error, 1), srv: &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, os.Getpid())
		}),
	}}
}

func (s *pidServer) Name() string { return "http" }
func (s *pidServer) Start(context.Context) error {
	go func() {
		err := s.srv.Serve(s.l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return nil
}
func (s *pidServer) Stop(ctx context.Context) error { return s.srv.Shutdown(ctx) }
func (s *pidServer) Wait(ctx context.Context) error {
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (s *pidServer) Reset(context.Context) error { return nil }
