// Command isl-cpu measures what one request costs the server: it starts an ISL binary (or attaches
// to a running one by PID), sends a fixed number of keep-alive requests at a fixed concurrency
// (hey-style: N requests, C workers) and reads the server process's CPU time (user + system) from
// /proc before and after. The figure it reports, server CPU ms per request, is independent of the
// load generator's own cost, which on a small machine dominates wall-clock throughput.
//
//	isl-cpu --server bin/isl --endpoints health,validate,counterfactual,elicit --n 20000 --c 50
//	isl-cpu --host http://127.0.0.1:8000 --pid 1234 --endpoints health
//
// With --server the binary runs with ENABLE_CACHE=false (the goals are for computation) unless
// --cache is given, LOG_LEVEL=INFO and its stdout drained through a pipe, as under a container runtime.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/olumi/isl/benchmarks/payloads"
)

func main() {
	var (
		server    = flag.String("server", "", "ISL binary to start on a free loopback port (exclusive with --host/--pid)")
		host      = flag.String("host", "", "base URL of a running ISL")
		pid       = flag.Int("pid", 0, "PID of the running ISL (with --host)")
		endpoints = flag.String("endpoints", "health,validate,counterfactual,elicit", "comma list: health, validate, counterfactual, elicit (fresh user per request), elicit-shared (one user), teach, model-validate, team-align, sensitivity")
		n         = flag.Int("n", 20000, "requests per endpoint")
		c         = flag.Int("c", 50, "concurrent workers (each one keep-alive connection)")
		warmup    = flag.Int("warmup", 2000, "requests per endpoint before measuring")
		cache     = flag.Bool("cache", false, "leave the response cache on (--server only)")
		key       = flag.String("api-key", "", "API key to send")
	)
	flag.BoolVar(&verbose, "v", false, "print the latency distribution to stderr")
	flag.Parse()
	if err := run(*server, *host, *pid, strings.Split(*endpoints, ","), *n, *c, *warmup, *cache, *key); err != nil {
		fmt.Fprintln(os.Stderr, "isl-cpu:", err)
		os.Exit(1)
	}
}

var verbose bool

func run(server, host string, pid int, endpoints []string, n, c, warmup int, cache bool, key string) error {
	if server != "" {
		stop, h, p, err := start(server, cache)
		if err != nil {
			return err
		}
		defer stop()
		host, pid = h, p
	}
	if host == "" || pid == 0 {
		return fmt.Errorf("need --server, or --host and --pid")
	}
	fmt.Printf("| endpoint | requests | errors | req/s | server CPU ms/req | p50 ms | p99 ms | p99/p50 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, name := range endpoints {
		req, err := request(host, strings.TrimSpace(name))
		if err != nil {
			return err
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c, DisableCompression: true}, Timeout: time.Minute}
		load(client, req, key, warmup, c)
		cpu0, err := processCPU(pid)
		if err != nil {
			return err
		}
		t0 := time.Now()
		lat, errs := load(client, req, key, n, c)
		wall := time.Since(t0)
		cpu1, err := processCPU(pid)
		if err != nil {
			return err
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p50, p99 := pct(lat, 50), pct(lat, 99)
		if verbose {
			fmt.Fprintf(os.Stderr, "%s: p10 %.2f p50 %.2f p90 %.2f p95 %.2f p99 %.2f p99.9 %.2f max %.2f ms\n", name,
				ms(pct(lat, 10)), ms(p50), ms(pct(lat, 90)), ms(pct(lat, 95)), ms(p99), ms(pct(lat, 99.9)), ms(lat[len(lat)-1]))
		}
		fmt.Printf("| %s | %d | %d | %.0f | %.4f | %.2f | %.2f | %.1f |\n", name, n, errs, float64(n)/wall.Seconds(),
			float64(cpu1-cpu0)/float64(time.Millisecond)/float64(n), ms(p50), ms(p99), float64(p99)/float64(max(p50, 1)))
		client.CloseIdleConnections()
	}
	return nil
}

// target is one endpoint's request factory (elicit varies the user per request).
type target struct {
	method, url string
	body        func(i int64) []byte
}

func request(host, name string) (target, error) {
	fixed := func(b []byte) func(int64) []byte { return func(int64) []byte { return b } }
	switch name {
	case "health":
		return target{"GET", host + "/health", fixed(nil)}, nil
	case "validate":
		return target{"POST", host + payloads.CausalValidate.Path, fixed(payloads.CausalValidate.Body())}, nil
	case "counterfactual":
		return target{"POST", host + payloads.Counterfactual.Path, fixed(payloads.Counterfactual.Body())}, nil
	case "elicit":
		run := time.Now().UnixNano()
		return target{"POST", host + payloads.Elicit.Path, func(i int64) []byte {
			return payloads.ElicitBody(fmt.Sprintf("cpu_%d_%d", run, i))
		}}, nil
	case "elicit-shared":
		return target{"POST", host + payloads.Elicit.Path, fixed(payloads.Elicit.Body())}, nil
	case "teach":
		return target{"POST", host + payloads.Teach.Path, fixed(payloads.Teach.Body())}, nil
	case "model-validate":
		return target{"POST", host + payloads.ModelValidate.Path, fixed(payloads.ModelValidate.Body())}, nil
	case "team-align":
		return target{"POST", host + payloads.TeamAlign.Path, fixed(payloads.TeamAlign.Body())}, nil
	case "sensitivity":
		return target{"POST", host + payloads.Sensitivity.Path, fixed(payloads.Sensitivity.Body())}, nil
	}
	return target{}, fmt.Errorf("unknown endpoint %q", name)
}

// load sends n requests from c workers and returns each request's latency and the count of
// non-200 answers or transport errors.
func load(client *http.Client, t target, key string, n, c int) ([]time.Duration, int) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var errs atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				var body io.Reader
				b := t.body(i)
				if b != nil {
					body = bytes.NewReader(b)
				}
				req, _ := http.NewRequest(t.method, t.url, body)
				if b != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				if key != "" {
					req.Header.Set("X-API-Key", key)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return lat, int(errs.Load())
}

func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*q/100))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// processCPU is utime + stime of pid (all threads) from /proc/pid/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read server CPU time: %w", err)
	}
	// Fields after the parenthesised command name (which may contain spaces).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// start runs the binary on a free loopback port and waits for /health.
func start(bin string, cache bool) (stop func(), host string, pid int, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Dir = os.TempDir() // no stray .env
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT="+strconv.Itoa(port), "LOG_LEVEL=INFO",
		"ENABLE_CACHE="+strconv.FormatBool(cache), "RATE_LIMIT_PER_MINUTE=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", 0, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", 0, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	host = fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(host + "/health"); err == nil {
			resp.Body.Close()
			return stop, host, cmd.Process.Pid, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return nil, "", 0, fmt.Errorf("%s did not answer /health within 10 s", bin)
}
