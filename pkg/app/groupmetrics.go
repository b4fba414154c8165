package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/gonova/gonova/pkg/launcher"
	"github.com/gonova/gonova/pkg/wsgi"
)

// WorkerLabel is the label that tells apart the series of the processes of
// one group on the group's /metrics: "parent", or the worker's index.
const WorkerLabel = "worker"

// workerScrapeTimeout bounds reading one worker's registry during a scrape;
// a worker that is being respawned is left out of that scrape.
const workerScrapeTimeout = 2 * time.Second

// NewGroupMetricsService serves /metrics and /healthcheck on addr for a
// service run by a process group of `workers` processes (nova-api's
// osapi_compute_workers), so that one scrape shows the whole group:
//
//   - one process (workers <= 1): NewHealthService(addr);
//   - the parent of workers: addr, bound by the parent alone; each scrape
//     gathers the parent's registry and every worker's, and labels each
//     series worker="parent", worker="0", worker="1", ... (sum over the label
//     for the group's total; a respawned worker's counters restart, which
//     Prometheus's rate() handles as a reset of that series alone);
//   - a worker: its own registry on a unix socket the parent reads
//     (0600, in a directory of the parent's), nothing on addr.
//
// Why not share one socket as the API port does: each scrape would reach one
// worker at random, and Prometheus would see a counter reset at every scrape.
func (a *App) NewGroupMetricsService(name, addr string, workers int) (*wsgi.Service, error) {
	index, isWorker := launcher.WorkerIndex()
	switch {
	case isWorker:
		path := workerMetricsSocket(os.Getppid(), name, index)
		return wsgi.New(wsgi.Options{
			Name: name, Handler: a.HealthHandler(), Logger: a.Log,
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
			Listen: func(string, string) (net.Listener, error) { return listenUnix(path) },
		})
	case workers <= 1:
		return a.NewHealthService(addr)
	}
	dir := filepath.Dir(workerMetricsSocket(os.Getpid(), name, 0))
	if err := privateDir(dir); err != nil {
		return nil, fmt.Errorf("%s: the directory for the workers' metrics sockets: %w", name, err)
	}
	a.OnClose(func() { os.RemoveAll(dir) })
	gatherers := prometheus.Gatherers{labelled{a.Metrics, "parent"}}
	for i := 0; i < workers; i++ {
		gatherers = append(gatherers, labelled{remoteRegistry(workerMetricsSocket(os.Getpid(), name, i)), strconv.Itoa(i)})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      scrapeLog{a.Log},
	}))
	check := a.Healthcheck(nil)
	mux.Handle("GET /healthcheck", check)
	mux.Handle("HEAD /healthcheck", check)
	return a.newHealthService(name, addr, nil, mux)
}

// workerMetricsSocket is where worker index of the group led by parent
// serves its registry.
func workerMetricsSocket(parent int, name string, index int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("gonova-%d", parent), fmt.Sprintf("%s-%d.sock", name, index))
}

// privateDir makes dir (mode 0700) or accepts an existing one only if this
// user owns it and nobody else may enter it: the sockets in it serve metrics,
// and a directory someone else prepared in /tmp could intercept them.
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 || !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s exists but is not a directory of mode 0700 owned by this user", dir)
	}
	return nil
}

// listenUnix binds path, replacing the socket a previous worker of the same
// index left behind, readable by the owner only.
func listenUnix(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// labelled adds WorkerLabel=value to every series of g.
type labelled struct {
	g     prometheus.Gatherer
	value string
}

func (l labelled) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := l.g.Gather()
	name, value := WorkerLabel, l.value
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			m.Label = append(m.Label, &dto.LabelPair{Name: &name, Value: &value})
			sort.Slice(m.Label, func(i, j int) bool { return m.Label[i].GetName() < m.Label[j].GetName() })
		}
	}
	return mfs, err
}

// remoteRegistry reads a worker's registry over its unix socket, in the
// protobuf exposition format (no text parsing, exact values).
func remoteRegistry(path string) prometheus.Gatherer {
	client := &http.Client{
		Timeout: workerScrapeTimeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://worker/metrics", nil)
		req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("worker metrics %s: %w", filepath.Base(path), err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("worker metrics %s: %s", filepath.Base(path), resp.Status)
		}
		dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
		var out []*dto.MetricFamily
		for {
			mf := &dto.MetricFamily{}
			if err := dec.Decode(mf); err != nil {
				if errors.Is(err, io.EOF) {
					return out, nil
				}
				return out, fmt.Errorf("worker metrics %s: %w", filepath.Base(path), err)
			}
			out = append(out, mf)
		}
	})
}

// scrapeLog reports a worker left out of a scrape (starting, respawning).
type scrapeLog struct{ l *slog.Logger }

func (s scrapeLog) Println(v ...any) {
	s.l.Debug("metrics scrape incomplete", "error", fmt.Sprint(v...))
}
