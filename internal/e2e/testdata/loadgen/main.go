// Command loadgen is the benchmarks' load generator: a separate process that
// sends GET requests to one URL from C concurrent connections for a duration
// and prints {"requests", "errors", "rps", "p50_ms", "p99_ms"} as JSON.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to GET")
	conc := flag.Int("c", 16, "concurrent connections")
	dur := flag.Duration("d", 3*time.Second, "duration")
	token := flag.String("token", "", "X-Auth-Token")
	version := flag.String("version", "", "OpenStack-API-Version compute X.Y")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required")
		os.Exit(2)
	}
	tr := &http.Transport{MaxIdleConns: *conc, MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
	)
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodGet, *url, nil)
				if *token != "" {
					req.Header.Set("X-Auth-Token", *token)
				}
				if *version != "" {
					req.Header.Set("OpenStack-API-Version", "compute "+*version)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		k := int(p * float64(len(latencies)-1))
		return float64(latencies[k]) / float64(time.Millisecond)
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"requests": len(latencies), "errors": errs,
		"rps":    float64(len(latencies)) / elapsed.Seconds(),
		"p50_ms": pct(0.50), "p99_ms": pct(0.99),
	})
}
