package launcher

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/gonova/gonova/pkg/gmr"
)

// Launcher runs a process's services until a signal, a service's end or
// ctx's end, then stops them. Run returns nil after a clean stop; the caller
// exits with ExitCode(err):
//
//	l := launcher.New(opts, rpcService, backdoorServer)
//	os.Exit(launcher.ExitCode(l.Run(context.Background())))
type Launcher interface {
	Run(ctx context.Context) error
}

// Options configures both launchers. The zero value works: no reload hook,
// graceful stops without a deadline, reports to stderr.
type Options struct {
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	// GracefulShutdownTimeout bounds a graceful stop (oslo's
	// graceful_shutdown_timeout). When it passes, Run returns a
	// *ShutdownTimeoutError naming the services still stopping, and the
	// caller exits non-zero. 0 waits forever.
	GracefulShutdownTimeout time.Duration

	// Reload is called on SIGHUP before each service's Reset: re-read the
	// configuration files and apply what can change at run time (at least
	// the log level and debug flag, see logging.Setup.Apply). An error is
	// logged and the services are reset anyway.
	Reload func(ctx context.Context) error

	// Reporter writes the Guru Meditation Report on SIGUSR2. The launcher
	// adds a "Services" section (or "Workers" in a ProcessLauncher parent)
	// and one for each service implementing Reporter. Nil: a default one.
	Reporter *gmr.Reporter
	// ReportOutput receives SIGUSR2 reports; nil means os.Stderr.
	ReportOutput io.Writer

	// Sockets is where Listen's sockets live; nil means DefaultSockets().
	Sockets *Sockets

	// Signals, when set, is read instead of installing signal handlers, so
	// tests can drive the launcher without signalling their own process.
	Signals <-chan os.Signal

	// ParentCheckInterval is how often a worker checks that its parent is
	// alive, besides Pdeathsig. Default 500ms.
	ParentCheckInterval time.Duration

	// Workers > 1 makes New return a ProcessLauncher with that many worker
	// processes.
	Workers int
	// ForkInterval throttles forks as oslo does: at most Workers forks in
	// Workers*ForkInterval, so starting all workers is immediate but a
	// crash loop forks about once per ForkInterval. Default 1s.
	ForkInterval time.Duration
	// RespawnDelay and RespawnMaxDelay bound the exponential backoff before
	// a dead worker is re-spawned. The backoff resets once a worker has run
	// for RespawnMaxDelay. Defaults 1s and 1m.
	RespawnDelay, RespawnMaxDelay time.Duration
	// StopGrace is added to GracefulShutdownTimeout in a ProcessLauncher
	// parent before it kills its workers, so that a worker's own timeout
	// fires first and logs the services it waited for. Default 2s.
	StopGrace time.Duration
	// Command builds the command of a worker. Default: this executable with
	// this process's arguments, stdout and stderr. The launcher adds the
	// environment, ExtraFiles and SysProcAttr.
	Command func() *exec.Cmd
	// ParentServices run once per process group, in the parent of workers
	// itself: started in order before the first worker is spawned, stopped
	// in reverse after the last worker has stopped (each Stop bounded by
	// GracefulShutdownTimeout). A listener that gathers the workers' metrics
	// belongs here. Without workers they run as the first ordinary services;
	// a worker never runs them.
	ParentServices []Service
}

// New returns a ProcessLauncher when opts.Workers > 1 and this process is not
// a worker, and a ServiceLauncher otherwise. In the parent the services are
// only bound (see Binder); the workers, which run the same program, start
// them.
func New(opts Options, services ...Service) Launcher {
	if opts.Workers > 1 && !IsWorker() {
		return NewProcessLauncher(opts, services...)
	}
	if !IsWorker() {
		services = append(slices.Clone(opts.ParentServices), services...)
	}
	return NewServiceLauncher(opts, services...)
}

// ExitCode maps Run's result to a process exit code: 0 for nil, 1 otherwise.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	return 1
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Reporter == nil {
		o.Reporter = gmr.New(gmr.Options{})
	}
	if o.ReportOutput == nil {
		o.ReportOutput = os.Stderr
	}
	if o.Sockets == nil {
		o.Sockets = DefaultSockets()
	}
	if o.ParentCheckInterval <= 0 {
		o.ParentCheckInterval = 500 * time.Millisecond
	}
	if o.ForkInterval <= 0 {
		o.ForkInterval = time.Second
	}
	if o.RespawnDelay <= 0 {
		o.RespawnDelay = time.Second
	}
	if o.RespawnMaxDelay < o.RespawnDelay {
		o.RespawnMaxDelay = max(time.Minute, o.RespawnDelay)
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 2 * time.Second
	}
	if o.Command == nil {
		o.Command = selfCommand
	}
	return o
}

var handledSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR2}

// signals returns the signal channel and a func that releases it.
func (o Options) signals() (<-chan os.Signal, func()) {
	if o.Signals != nil {
		return o.Signals, func() {}
	}
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, handledSignals...)
	return ch, func() { signal.Stop(ch) }
}

func selfCommand() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin = nil
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	return cmd
}

func isStopSignal(s os.Signal) bool { return s == syscall.SIGTERM || s == syscall.SIGINT }
