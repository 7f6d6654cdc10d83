package load

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/olumi/isl/benchmarks/payloads"
)

// Mixes.
const (
	MixAPI    = "api"    // the 6 stateless POST endpoints + the elicit→update preference flow
	MixHealth = "health" // GET /health only: the throughput ceiling of the stack
)

// DefaultMaxRequests bounds a run whatever its duration (a runaway loop is a bug, not a benchmark).
const DefaultMaxRequests = 5_000_000

// Config describes one run.
type Config struct {
	Host          string        // base URL, e.g. https://127.0.0.1:8443
	APIKey        string        // sent as X-API-Key when non-empty
	Duration      time.Duration // how long to send (required, > 0)
	Concurrency   int           // virtual users (required, > 0)
	Mix           string        // MixAPI (default) or MixHealth
	MaxRequests   int64         // total request bound; 0 = DefaultMaxRequests
	Timeout       time.Duration // per request; 0 = 30 s (nginx's proxy timeout)
	Insecure      bool          // accept self-signed TLS certificates (pilot-local)
	Progress      io.Writer     // live progress line (stderr in the CLI); nil = silent
	ProgressEvery time.Duration // 0 = 1 s
	Client        *http.Client  // optional; built from the fields above when nil
}

// Report is the outcome of a run; it is what --json writes.
type Report struct {
	Tool        string          `json:"tool"`
	Host        string          `json:"host"`
	Mix         string          `json:"mix"`
	Started     time.Time       `json:"started"`
	Seconds     float64         `json:"duration_s"`
	Concurrency int             `json:"concurrency"`
	Requests    int             `json:"requests"`
	Errors      int             `json:"errors"`
	SuccessRate float64         `json:"success_rate_pct"`
	RPS         float64         `json:"throughput_rps"`
	Endpoints   []EndpointStats `json:"endpoints"`
	Verdict     Verdict         `json:"verdict"`
}

func (c *Config) normalise() error {
	if c.Host == "" {
		return errors.New("host is required")
	}
	if !strings.HasPrefix(c.Host, "http://") && !strings.HasPrefix(c.Host, "https://") {
		return fmt.Errorf("host %q: want http:// or https://", c.Host)
	}
	if c.Duration <= 0 {
		return errors.New("duration must be positive")
	}
	if c.Concurrency <= 0 || c.Concurrency > 10000 {
		return fmt.Errorf("concurrency %d: want 1..10000", c.Concurrency)
	}
	switch c.Mix {
	case "":
		c.Mix = MixAPI
	case MixAPI, MixHealth:
	default:
		return fmt.Errorf("mix %q: want %s or %s", c.Mix, MixAPI, MixHealth)
	}
	if c.MaxRequests <= 0 {
		c.MaxRequests = DefaultMaxRequests
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	if c.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = c.Concurrency * 2
		tr.MaxIdleConnsPerHost = c.Concurrency * 2
		if c.Insecure {
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opt-in for self-signed pilot-local certs
		}
		c.Client = &http.Client{Transport: tr, Timeout: c.Timeout}
	}
	return nil
}

// Run sends the mix from Concurrency virtual users until Duration has passed, ctx ends or
// MaxRequests were sent, and returns the report with its SLO verdict.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.normalise(); err != nil {
		return Report{}, fmt.Errorf("load config: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	r := &runner{cfg: cfg, runID: randomID()}
	start := time.Now()

	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() { defer close(progressDone); r.progress(start, stopProgress) }()

	results := make([][]Sample, cfg.Concurrency)
	var wg sync.WaitGroup
	for vu := 0; vu < cfg.Concurrency; vu++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[vu] = r.user(ctx, vu)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopProgress)
	<-progressDone

	var all []Sample
	for _, s := range results {
		all = append(all, s...)
	}
	stats := Summarise(all, elapsed)
	rep := Report{Tool: "isl-load", Host: cfg.Host, Mix: cfg.Mix, Started: start.UTC(), Seconds: elapsed.Seconds(),
		Concurrency: cfg.Concurrency, Endpoints: stats, Verdict: Judge(stats, cfg.Concurrency, PilotSLO)}
	for _, s := range stats {
		rep.Requests += s.Requests
		rep.Errors += s.Errors
	}
	rep.SuccessRate = successRate(rep.Requests, rep.Errors)
	if elapsed > 0 {
		rep.RPS = float64(rep.Requests) / elapsed.Seconds()
	}
	return rep, nil
}

type runner struct {
	cfg      Config
	runID    string
	sent     atomic.Int64
	done     atomic.Int64
	failures atomic.Int64
}

// take reserves one request of the global budget.
func (r *runner) take() bool { return r.sent.Add(1) <= r.cfg.MaxRequests }

// user is one virtual user: it walks the mix round-robin (starting at its own offset so that the
// users spread over the endpoints from the first second).
func (r *runner) user(ctx context.Context, vu int) []Sample {
	var out []Sample
	var ops []payloads.Endpoint
	if r.cfg.Mix == MixHealth {
		ops = []payloads.Endpoint{payloads.Health}
	} else {
		ops = append(payloads.Stateless(), payloads.Elicit) // Elicit stands for the elicit→update flow
	}
	for i := 0; ctx.Err() == nil; i++ {
		op := ops[(vu+i)%len(ops)]
		if !r.take() {
			return out
		}
		if op == payloads.Elicit {
			user := fmt.Sprintf("load-%s-%d-%d", r.runID, vu, i)
			s, body := r.do(ctx, payloads.Elicit, payloads.ElicitBody(user))
			if s == nil {
				return out
			}
			out = append(out, *s)
			if !s.OK {
				continue
			}
			qid, err := payloads.FirstQueryID(body)
			if err != nil {
				out[len(out)-1].OK, out[len(out)-1].Err = false, err.Error()
				r.failures.Add(1)
				continue
			}
			if !r.take() {
				return out
			}
			if s, _ = r.do(ctx, payloads.Update, payloads.UpdateBody(user, qid, "A")); s == nil {
				return out
			}
			out = append(out, *s)
			continue
		}
		s, _ := r.do(ctx, op, op.Body())
		if s == nil {
			return out
		}
		out = append(out, *s)
	}
	return out
}

// do sends one request. It returns nil when the run ended while the request was in flight (the
// request is then not counted: it was cut by the harness, not failed by the server).
func (r *runner) do(ctx context.Context, e payloads.Endpoint, body []byte) (*Sample, []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, e.Method, payloads.Join(r.cfg.Host, e.Path), rd)
	if err != nil {
		return &Sample{Endpoint: e.Name, Err: err.Error()}, nil
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.cfg.APIKey != "" {
		req.Header.Set("X-API-Key", r.cfg.APIKey)
	}
	start := time.Now()
	resp, err := r.cfg.Client.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	lat := time.Since(start)
	if ctx.Err() != nil {
		return nil, nil
	}
	s := &Sample{Endpoint: e.Name, Latency: lat}
	switch {
	case err != nil:
		s.Err = err.Error()
	case resp.StatusCode != http.StatusOK:
		s.Status = resp.StatusCode
		s.Err = fmt.Sprintf("status %d: %.160s", resp.StatusCode, strings.Join(strings.Fields(string(data)), " "))
	default:
		s.Status, s.OK = resp.StatusCode, true
	}
	r.done.Add(1)
	if !s.OK {
		r.failures.Add(1)
	}
	return s, data
}

// progress prints one live line (carriage return, no newline) until stop closes.
func (r *runner) progress(start time.Time, stop <-chan struct{}) {
	if r.cfg.Progress == nil {
		return
	}
	t := time.NewTicker(r.cfg.ProgressEvery)
	defer t.Stop()
	line := func() {
		el := time.Since(start)
		n := r.done.Load()
		fmt.Fprintf(r.cfg.Progress, "\r[%5.1fs/%s] requests %d  rps %.1f  errors %d   ", el.Seconds(), r.cfg.Duration, n, float64(n)/el.Seconds(), r.failures.Load())
	}
	for {
		select {
		case <-stop:
			line()
			fmt.Fprintln(r.cfg.Progress)
			return
		case <-t.C:
			line()
		}
	}
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
