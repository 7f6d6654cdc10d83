package load

import (
	"bytes"
	"context"
	"crypto/rand"
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

// Payload sets.
const (
	PayloadsFixed  = "fixed"  // one worked-example body per endpoint (comparable across runs)
	PayloadsVaried = "varied" // payloads.Varied: sizes and values differ request by request
)

// DefaultMaxRequests bounds a run whatever its duration (a runaway loop is a bug, not a benchmark).
const DefaultMaxRequests = 5_000_000

// Config describes one run.
type Config struct {
	Host        string        // base URL, e.g. https://127.0.0.1:8443
	APIKey      string        // sent as X-API-Key when non-empty
	Duration    time.Duration // how long to send (required, > 0)
	Concurrency int           // virtual users (required, > 0)
	Mix         string        // MixAPI (default) or MixHealth
	MaxRequests int64         // total request bound; 0 = DefaultMaxRequests
	Timeout     time.Duration // per request; 0 = 30 s (nginx's proxy timeout)
	Insecure    bool          // accept self-signed TLS certificates (pilot-local)
	CACert      string        // PEM file of extra CA (or self-signed) certificates to trust
	// Rate > 0 selects the open-loop model: requests arrive at this fixed rate (per second)
	// whatever the target's speed, and each latency counts from the request's scheduled arrival,
	// so queueing under overload is measured instead of hidden (a closed loop slows down with the
	// target and understates latency). Concurrency then caps the requests in flight.
	Rate          float64
	Payloads      string        // PayloadsFixed (default: the worked examples) or PayloadsVaried
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
	LoadModel   string          `json:"load_model"` // closed | open
	TargetRate  float64         `json:"target_rps,omitempty"`
	Payloads    string          `json:"payloads"`
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
	if err := choice("mix", &c.Mix, MixAPI, MixHealth); err != nil {
		return err
	}
	if err := choice("payloads", &c.Payloads, PayloadsFixed, PayloadsVaried); err != nil {
		return err
	}
	if c.Rate < 0 || c.Rate > 1e6 {
		return fmt.Errorf("rate %g: want 0 (closed loop) or up to 1e6 requests/s", c.Rate)
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
		tlsCfg, err := tlsConfig(c.Insecure, c.CACert)
		if err != nil {
			return err
		}
		tr.TLSClientConfig = tlsCfg
		c.Client = &http.Client{Transport: tr, Timeout: c.Timeout}
	}
	return nil
}

// choice defaults an empty *v to def and accepts only def or other.
func choice(name string, v *string, def, other string) error {
	switch *v {
	case "":
		*v = def
	case def, other:
	default:
		return fmt.Errorf("%s %q: want %s or %s", name, *v, def, other)
	}
	return nil
}

// Run sends the mix from Concurrency virtual users until Duration has passed, ctx ends or
// MaxRequests were sent, and returns the report with its SLO verdict.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.normalise(); err != nil {
		return Report{}, fmt.Errorf("load config: %w", err)
	}
	r := &runner{cfg: cfg, runID: randomID()}
	// One request per endpoint first: a wrong key, an untrusted certificate or a dead route would
	// otherwise run the whole duration and be judged on fast error responses.
	if err := r.precheck(ctx); err != nil {
		return Report{}, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()

	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() { defer close(progressDone); r.progress(start, stopProgress) }()

	var results [][]Sample
	if cfg.Rate > 0 {
		results = [][]Sample{r.openLoop(ctx, parent, start)}
	} else {
		results = make([][]Sample, cfg.Concurrency)
		var wg sync.WaitGroup
		for vu := 0; vu < cfg.Concurrency; vu++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[vu] = r.user(ctx, vu)
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	close(stopProgress)
	<-progressDone

	var all []Sample
	for _, s := range results {
		all = append(all, s...)
	}
	stats := Summarise(all, elapsed)
	rep := Report{Tool: "isl-load", Host: cfg.Host, Mix: cfg.Mix, Started: start.UTC(), Seconds: elapsed.Seconds(),
		Concurrency: cfg.Concurrency, LoadModel: "closed", Payloads: cfg.Payloads, Endpoints: stats, Verdict: Judge(stats, cfg.Concurrency, PilotSLO)}
	if cfg.Rate > 0 {
		rep.LoadModel, rep.TargetRate = "open", cfg.Rate
	}
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
	ops := r.ops()
	for i := 0; ctx.Err() == nil; i++ {
		if !r.take() {
			return out
		}
		ss, more := r.operation(ctx, ops[(vu+i)%len(ops)], vu*1_000_003+i, time.Time{})
		out = append(out, ss...)
		if !more {
			return out
		}
	}
	return out
}

// ops is the mix: the endpoints one round of a virtual user visits.
func (r *runner) ops() []payloads.Endpoint {
	if r.cfg.Mix == MixHealth {
		return []payloads.Endpoint{payloads.Health}
	}
	return append(payloads.Stateless(), payloads.Elicit) // Elicit stands for the elicit→update flow
}

// body is request n's body for e under the configured payload set.
func (r *runner) body(e payloads.Endpoint, n int) []byte {
	if r.cfg.Payloads == PayloadsVaried {
		return payloads.Varied(e, n)
	}
	return e.Body()
}

// operation performs one step of the mix (the elicit→update flow is one step of two requests;
// its second request takes one more unit of the request budget). n numbers the step for user ids
// and varied bodies; a non-zero scheduled time is the open-loop arrival the first latency counts
// from. more is false when the run ended (budget or context).
func (r *runner) operation(ctx context.Context, op payloads.Endpoint, n int, scheduled time.Time) (out []Sample, more bool) {
	if op != payloads.Elicit {
		s, _ := r.do(ctx, op, r.body(op, n), scheduled)
		if s == nil {
			return nil, false
		}
		return []Sample{*s}, true
	}
	user := fmt.Sprintf("load-%s-%d", r.runID, n)
	body := payloads.ElicitBody(user)
	if r.cfg.Payloads == PayloadsVaried {
		body = payloads.VariedElicitBody(user, n)
	}
	s, resp := r.do(ctx, payloads.Elicit, body, scheduled)
	if s == nil {
		return nil, false
	}
	out = append(out, *s)
	if !s.OK {
		return out, true
	}
	qid, err := payloads.FirstQueryID(resp)
	if err != nil {
		out[0].OK, out[0].Err = false, err.Error()
		r.failures.Add(1)
		return out, true
	}
	if !r.take() {
		return out, false
	}
	if s, _ = r.do(ctx, payloads.Update, payloads.UpdateBody(user, qid, "A"), time.Time{}); s == nil {
		return out, false
	}
	return append(out, *s), true
}

// openLoop dispatches arrivals at cfg.Rate per second from start until the duration ends, to at
// most Concurrency workers. Requests use parent (not the duration's ctx), so those in flight at
// the end finish and are counted. An arrival whose time came while every worker was busy waits
// (its latency includes the wait); arrivals still undispatched when the duration ends are
// counted as failures: the target did not keep up with the offered load.
func (r *runner) openLoop(ctx, parent context.Context, start time.Time) []Sample {
	type arrival struct {
		op    payloads.Endpoint
		n     int
		sched time.Time
	}
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	end := start.Add(r.cfg.Duration)
	if d, ok := ctx.Deadline(); ok {
		end = d
	}
	// An arrival still waiting for a worker this long after the end was not sent; the grace
	// keeps a momentary contention at the very end from counting as overload.
	expired := make(chan struct{})
	defer time.AfterFunc(time.Until(end)+50*time.Millisecond, func() { close(expired) }).Stop()
	jobs := make(chan arrival)
	var mu sync.Mutex
	var out []Sample
	var wg sync.WaitGroup
	for w := 0; w < r.cfg.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range jobs {
				ss, _ := r.operation(parent, a.op, a.n, a.sched)
				mu.Lock()
				out = append(out, ss...)
				mu.Unlock()
			}
		}()
	}
	ops := r.ops()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var missed []Sample
	for i := 0; ; i++ {
		sched := start.Add(time.Duration(i) * interval)
		if !sched.Before(end) {
			break
		}
		op := ops[i%len(ops)]
		if d := time.Until(sched); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-parent.Done():
			}
		}
		if parent.Err() != nil || !r.take() { // interrupted, or the request budget is spent
			break
		}
		select {
		case <-expired: // past the end: never dispatch, even if a worker just became free
			missed = append(missed, r.notSent(op))
			continue
		default:
		}
		select {
		case jobs <- arrival{op, i, sched}:
		case <-expired:
			missed = append(missed, r.notSent(op))
		case <-parent.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return append(out, missed...)
}

func (r *runner) notSent(op payloads.Endpoint) Sample {
	r.done.Add(1)
	r.failures.Add(1)
	return Sample{Endpoint: op.Name, Err: fmt.Sprintf("not sent: all %d workers were busy until the run ended (the target is slower than %g requests/s)", r.cfg.Concurrency, r.cfg.Rate)}
}

// do sends one request and counts it. It returns nil when the run ended while the request was
// in flight (the request is then not counted: it was cut by the harness, not failed by the
// server). A non-zero scheduled time is where the latency starts (open loop).
func (r *runner) do(ctx context.Context, e payloads.Endpoint, body []byte, scheduled time.Time) (*Sample, []byte) {
	s, data := r.send(ctx, e, body, scheduled)
	if s == nil {
		return nil, nil
	}
	r.done.Add(1)
	if !s.OK {
		r.failures.Add(1)
	}
	return s, data
}

// send performs one request without touching the run's counters.
func (r *runner) send(ctx context.Context, e payloads.Endpoint, body []byte, scheduled time.Time) (*Sample, []byte) {
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
	if !scheduled.IsZero() {
		start = scheduled
	}
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
	return s, data
}

// progress prints one live line (carriage return, no newline) until stop closes.
func (r *runner) progress(start time.Time, stop <-chan struct{}) {
	if r.cfg.Progress == nil {
		return
	}
	t := time.NewTicker(r.cfg.ProgressEvery)
	defer t.Stop()
	var prevN int64
	prevT := start
	line := func() {
		now := time.Now()
		n := r.done.Load()
		// The rate of the last interval, not the running average: a stall or a recovery shows at once.
		cur := 0.0
		if d := now.Sub(prevT).Seconds(); d > 0 {
			cur = float64(n-prevN) / d
		}
		prevN, prevT = n, now
		fmt.Fprintf(r.cfg.Progress, "\r[%5.1fs/%s] requests %d  rps %.1f (avg %.1f)  errors %d   ", now.Sub(start).Seconds(), r.cfg.Duration, n, cur, float64(n)/now.Sub(start).Seconds(), r.failures.Load())
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
