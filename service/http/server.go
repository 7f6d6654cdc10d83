// Package http is ISL's HTTP layer: routing, decoding into engine types, error envelopes, metrics and
// logs. Computation lives in the engine module; state behind isl.Store.
package http

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/go-chi/httprate"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/memory"
	"github.com/olumi/isl/service/metrics"
)

// Deps are what the server needs from the outside world.
type Deps struct {
	Config  config.Config
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Store keeps preference state; StoreKind is "redis" or "memory" (reported by /health).
	Store     isl.Store
	StoreKind string
	// StoreConnected reports the store's last known reachability (the Redis health loop's view).
	StoreConnected func() bool
	// StoreReplication reports the Redis topology (primary, online replicas, lag); nil without one.
	StoreReplication func() isl.Replication
	// Cache keeps complete responses when Config.EnableCache is set (the Redis store, to share
	// them between replicas); nil gives an in-process cache of Config.CacheMaxBytes.
	Cache isl.ResponseCache
	// Now is the clock (tests pin it).
	Now func() time.Time
	// RateCounter, when set, returns the counter of one rate limiter (name: "requests" or
	// "authfail") shared by every replica (Redis), so that the limits are global; nil counts in
	// this process only.
	RateCounter func(name string) httprate.LimitCounter
}

type server struct {
	cfg     config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	store   isl.Store
	kind    string
	up      func() bool
	repl    func() isl.Replication
	now     func() time.Time
	slots   chan struct{}  // one token per running computation
	idle    chan job       // workers waiting for their next computation
	cache   *responseCache // nil when ENABLE_CACHE is off
	large   chan struct{}  // requests with a large body in progress (decodeBudget)
	proxies *trustedProxies
	counter func(string) httprate.LimitCounter
}

// rateCounter is the shared counter of one limiter, or nil (local).
func (s *server) rateCounter(name string) httprate.LimitCounter {
	if s.counter == nil {
		return nil
	}
	return s.counter(name)
}

// NewServer returns the whole HTTP API as one handler.
func NewServer(d Deps) http.Handler {
	s := &server{cfg: d.Config, log: d.Logger, metrics: d.Metrics, store: d.Store, kind: d.StoreKind, up: d.StoreConnected, repl: d.StoreReplication, now: d.Now,
		proxies: newTrustedProxies(d.Config.TrustedProxies), counter: d.RateCounter}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.up == nil {
		s.up = func() bool { return s.store != nil }
	}
	n := d.Config.MaxConcurrentComputations
	if n <= 0 {
		// Computations are pure CPU work: one per core runs each to completion with the waiters
		// queued in arrival order, where more than the cores time-slice each other and finish
		// unevenly (elicit at c=50 on 2 cores: p99/p50 14-17 with 4 per core, 7-10 with one per
		// core). At least 2, so one long computation cannot hold every short one behind it.
		n = max(2, runtime.GOMAXPROCS(0))
	}
	s.slots = make(chan struct{}, n)
	s.large = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	s.idle = make(chan job)
	if s.cfg.RequestTimeout <= 0 {
		s.cfg.RequestTimeout = 30 * time.Second
	}
	if s.cfg.MaxMonteCarlo <= 0 {
		s.cfg.MaxMonteCarlo = 10000
	}
	if s.cfg.APIPrefix == "" {
		s.cfg.APIPrefix = "/api/v1"
	}
	if s.cfg.EnableCache {
		if s.cfg.CacheTTL <= 0 {
			s.cfg.CacheTTL = time.Hour
		}
		store := d.Cache
		if store == nil {
			if s.cfg.CacheMaxBytes <= 0 {
				s.cfg.CacheMaxBytes = 64 << 20
			}
			store = memory.NewCache(s.cfg.CacheMaxBytes, nil)
		}
		s.cache = newResponseCache(s, store)
	}
	s.metrics.ServiceUp.Set(1)
	return s.routes()
}

// compute runs an engine computation under the per-request deadline and a bound on concurrent
// computations. When the deadline passes first the client gets a 503 retryable at once; the
// abandoned computation keeps its slot until it ends, so overload cannot pile up CPU work. fn gets
// the deadline's context, cancelled when compute returns: engines that poll it stop once their
// result can no longer be used.
// A panic inside fn becomes an error (the recoverer middleware cannot see other goroutines).
//
// Computations run on long-lived workers rather than a goroutine each: a fresh goroutine starts
// with a small stack and copied it to grow on every request (runtime.copystack was 8% of the CPU
// of POST causal/validate). Waiters for a slot are served in arrival order (channel senders queue
// FIFO).
func (s *server) compute(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	if err := s.takeSlot(ctx); err != nil {
		return err
	}
	j := job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.idle <- j: // an idle worker takes it
	default:
		go s.worker(j)
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return s.abandoned(ctx)
	}
}

// takeSlot waits for a computation slot (in arrival order) until ctx ends: then 503 overload.
func (s *server) takeSlot(ctx context.Context) error {
	// A free slot is taken without ctx.Done(), whose first call makes the context's channel.
	select {
	case s.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		s.metrics.ComputationsRejected.WithLabelValues("overload").Inc()
		return &isl.Error{Code: isl.EUnavailable, Message: "Service is at capacity; retry shortly", Err: ctx.Err()}
	}
}

// abandoned is the answer to a computation whose deadline passed (or whose client left).
func (s *server) abandoned(ctx context.Context) error {
	s.metrics.ComputationsRejected.WithLabelValues("timeout").Inc()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &isl.Error{Code: isl.ETimeout, Message: fmt.Sprintf("Computation exceeded the %s request deadline", s.cfg.RequestTimeout), Err: ctx.Err()}
	}
	return &isl.Error{Code: isl.EUnavailable, Message: "Request cancelled", Err: ctx.Err()}
}

// computeInline is compute without the worker, for computations that need no abandoning: engines
// that poll their context throughout (dag, scm, sensitivity: they return ctx.Err() soon after it is
// set) and engines whose cost the input limits bound far below any deadline (elicit and its
// update: at most MaxVariables variables, MaxHistory answers and MaxQueries queries, 80-125 ms of
// CPU at the most, BenchmarkElicitLargest and BenchmarkUpdateLargest). fn runs on the calling
// goroutine; a deadline that passed meanwhile gives the client compute's 503.
//
// That spares two goroutine hand-offs per request (waking a worker, then the handler), which cost
// CPU (runtime.futex and the scheduler were 13% of POST causal/validate's) and, under saturation,
// latency: each hand-off queues the request once more behind every runnable goroutine, and the
// handler woken by the network waits in the scheduler's global run queue, which busy Ps drain
// only every 61st scheduling round. Elicit at c=50 with fresh users had p99/p50 12-19 through the
// worker (goroutines runnable for up to 390 ms in an execution trace) and 3.1-3.6 inline. Slots
// and their FIFO order, and the panic-to-error conversion, are compute's.
func (s *server) computeInline(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	if err := s.takeSlot(ctx); err != nil {
		return err
	}
	err := call(ctx, fn)
	<-s.slots
	if ctx.Err() != nil {
		return s.abandoned(ctx)
	}
	return err
}

// job is one computation handed to a worker; done receives its result.
type job struct {
	ctx  context.Context
	fn   func(context.Context) error
	done chan error
}

// workerIdle is how long a worker waits for the next job before it exits.
const workerIdle = 10 * time.Second

// worker runs j, then further jobs handed to it while it waits idle.
func (s *server) worker(j job) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		s.run(j)
		idle.Reset(workerIdle)
		select {
		case j = <-s.idle:
		case <-idle.C:
			return
		}
	}
}

// run executes one job, hands its result over and gives its slot back.
func (s *server) run(j job) {
	defer func() { <-s.slots }()
	j.done <- call(j.ctx, j.fn)
}

// call runs fn; a panic becomes its error.
func call(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in computation: %v", v)
		}
	}()
	return fn(ctx)
}

// computationDuration is the computation-time series of the endpoint at path (below the API
// prefix), looked up at its first use (when WithLabelValues would first have created it) and then
// kept: the lookup hashed and validated the label on every request.
func (s *server) computationDuration(path string) func() prometheus.Observer {
	return sync.OnceValue(func() prometheus.Observer {
		return s.metrics.ComputationDuration.WithLabelValues(s.cfg.APIPrefix + path)
	})
}

// fail writes err through the one error writer.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) { Error(w, r, s.log, err) }

// internal wraps an unexpected engine failure in the endpoint's docs/api.md#errors 500 message.
func internal(action string, err error) error {
	return &isl.Error{Code: isl.EComputation, Message: "Failed to " + action + ". Check logs for details.", Err: err}
}

// ok writes a 200 JSON response.
func ok(w http.ResponseWriter, v any) { writeJSON(w, http.StatusOK, v) }

// inputError is implemented by every engine package's input error type: the contract's exact
// 400 message for semantically invalid input.
type inputError interface {
	error
	InputError() string
}

// engineErr maps an engine or store error onto the envelope: engine input errors are 400s with
// their message, store outages 503 retryable, deadlines 503, and anything else the endpoint's 500
// (action completes "Failed to {action}. Check logs for details.").
func engineErr(err error, action string) error {
	var ie inputError
	var e *isl.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return err
	case errors.As(err, &ie):
		return &isl.Error{Code: isl.EValidation, Message: ie.InputError(), Err: err}
	case errors.Is(err, isl.ErrUnavailable), errors.Is(err, isl.ErrStorageFull), errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		return internal(action, err)
	}
}
