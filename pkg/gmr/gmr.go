package gmr

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"
)

// SectionFunc writes one section's body. An error is printed in its place.
type SectionFunc func(w io.Writer) error

// Options configures a [Reporter].
type Options struct {
	// Product names the program, e.g. "nova-compute". Default: the main
	// package path from the build info.
	Product string
	// Version overrides the main module's version from the build info
	// (which is "(devel)" for a plain go build).
	Version string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Reporter assembles Guru Meditation Reports. It is safe for concurrent use:
// sections may be registered while a report is being written.
type Reporter struct {
	opts    Options
	started time.Time

	mu       sync.Mutex
	next     int
	sections []section
}

type section struct {
	id    int
	title string
	fn    SectionFunc
}

// New returns a Reporter. Register the configuration and service sections on
// it, then write reports with WriteTo:
//
//	r := gmr.New(gmr.Options{Product: "nova-compute"})
//	r.Register("Configuration", gmr.ConfigSection(settings)) // settings: func() []gmr.Setting
//	r.Register("compute", func(w io.Writer) error {
//		_, err := fmt.Fprintf(w, "instances = %d\n", mgr.Count())
//		return err
//	})
//	r.WriteTo(os.Stderr)
func New(opts Options) *Reporter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Reporter{opts: opts, started: opts.Now()}
}

// Register adds a section written after the package and process sections and
// before the goroutine stacks, in registration order. The returned func
// removes it again; it may be called more than once.
func (r *Reporter) Register(title string, fn SectionFunc) (unregister func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	id := r.next
	r.sections = append(r.sections, section{id: id, title: title, fn: fn})
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.sections = slices.DeleteFunc(r.sections, func(s section) bool { return s.id == id })
	}
}

// WriteTo writes a full report to w. It implements io.WriterTo.
func (r *Reporter) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(w, 64<<10)}
	banner(cw, "Guru Meditation")
	fmt.Fprintf(cw, "%s\n", strings.Repeat("|", width))

	r.mu.Lock()
	secs := slices.Clone(r.sections)
	r.mu.Unlock()

	r.write(cw, "Package", r.packageSection)
	r.write(cw, "Process", r.processSection)
	for _, s := range secs {
		r.write(cw, s.title, s.fn)
	}
	r.write(cw, "Goroutines", func(w io.Writer) error {
		// debug=2 prints every goroutine as an unrecovered panic would.
		return pprof.Lookup("goroutine").WriteTo(w, 2)
	})
	if err := cw.w.(*bufio.Writer).Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	return cw.n, cw.err
}

// String returns a full report.
func (r *Reporter) String() string {
	var b strings.Builder
	r.WriteTo(&b) //nolint:errcheck // strings.Builder does not fail
	return b.String()
}

// ServeHTTP writes a report as text/plain, for the backdoor's GET /report.
func (r *Reporter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if req.Method == http.MethodHead {
		return
	}
	r.WriteTo(w) //nolint:errcheck // the client went away; nothing to do
}

func (r *Reporter) write(w io.Writer, title string, fn SectionFunc) {
	banner(w, title)
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return fn(w)
	}()
	if err != nil {
		fmt.Fprintf(w, "!! section %q failed: %v\n", title, err)
	}
}

func (r *Reporter) packageSection(w io.Writer) error {
	product, version := r.opts.Product, r.opts.Version
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if product == "" {
			product = bi.Path
		}
		if version == "" {
			version = bi.Main.Version
		}
	}
	fmt.Fprintf(w, "product = %s\n", product)
	fmt.Fprintf(w, "version = %s\n", version)
	fmt.Fprintf(w, "go = %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if !ok {
		fmt.Fprintln(w, "build = (no build info: not built with module support)")
		return nil
	}
	fmt.Fprintf(w, "path = %s\n", bi.Path)
	fmt.Fprintf(w, "module = %s %s\n", bi.Main.Path, bi.Main.Version)
	for _, s := range bi.Settings {
		switch {
		case strings.HasPrefix(s.Key, "vcs"), s.Key == "GOOS", s.Key == "GOARCH",
			s.Key == "-tags", s.Key == "-race", s.Key == "CGO_ENABLED":
			fmt.Fprintf(w, "build.%s = %s\n", s.Key, s.Value)
		}
	}
	return nil
}

func (r *Reporter) processSection(w io.Writer) error {
	now := r.opts.Now()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	exe, _ := os.Executable()
	fmt.Fprintf(w, "pid = %d\n", os.Getpid())
	fmt.Fprintf(w, "ppid = %d\n", os.Getppid())
	fmt.Fprintf(w, "executable = %s\n", exe)
	fmt.Fprintf(w, "argv = %q\n", maskArgs(os.Args))
	fmt.Fprintf(w, "report_time = %s\n", now.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(w, "uptime = %s\n", now.Sub(r.started).Round(time.Millisecond))
	fmt.Fprintf(w, "goroutines = %d\n", runtime.NumGoroutine())
	fmt.Fprintf(w, "gomaxprocs = %d\n", runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "num_cpu = %d\n", runtime.NumCPU())
	fmt.Fprintf(w, "heap_alloc_bytes = %d\n", ms.HeapAlloc)
	fmt.Fprintf(w, "sys_bytes = %d\n", ms.Sys)
	fmt.Fprintf(w, "gc_cycles = %d\n", ms.NumGC)
	return nil
}

// maskArgs masks URLs and the values of secret-looking flags on the command
// line, whether given as --flag=value or as --flag value.
func maskArgs(args []string) []string {
	out := make([]string, len(args))
	flag := "" // the flag before this argument, when it took no =value
	for i, a := range args {
		prev := flag
		flag = ""
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "-") {
			out[i] = k + "=" + MaskValue(strings.TrimLeft(k, "-"), v)
			continue
		}
		if strings.HasPrefix(a, "-") {
			flag = strings.TrimLeft(a, "-")
			out[i] = a
			continue
		}
		if prev != "" {
			out[i] = MaskValue(prev, a)
			continue
		}
		out[i] = MaskURL(a)
	}
	return out
}

// Setting is one configuration option as shown in the report.
type Setting struct {
	Group, Name, Value string
}

// ConfigSection returns a section that prints settings grouped like an INI
// file, masking each value with MaskValue. settings is called at report time
// so the section shows the configuration in effect after a reload.
func ConfigSection(settings func() []Setting) SectionFunc {
	return func(w io.Writer) error {
		group := "\x00"
		for _, s := range settings() {
			if s.Group != group {
				group = s.Group
				g := group
				if g == "" {
					g = "DEFAULT"
				}
				fmt.Fprintf(w, "\n[%s]\n", g)
			}
			fmt.Fprintf(w, "%s = %s\n", s.Name, MaskValue(s.Name, s.Value))
		}
		return nil
	}
}

const width = 72

func banner(w io.Writer, title string) {
	line := strings.Repeat("=", width)
	inner := width - 8
	pad := max(inner-len(title), 0)
	fmt.Fprintf(w, "\n%s\n====%s%s%s====\n%s\n", line,
		strings.Repeat(" ", pad/2), title, strings.Repeat(" ", pad-pad/2), line)
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
