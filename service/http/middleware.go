package http

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/httprate"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/metrics"
)

// safeRequestID reports whether a proxy-supplied X-Request-ID may be reused: 1–64 characters of
// [A-Za-z0-9._-], so it can neither break a log line nor grow without bound.
func safeRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// requestIDs makes request ids: a random per-process prefix (so replicas never collide) and a
// counter. Unique like a UUID for this purpose, without a crypto/rand read per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	return &requestIDs{prefix: strings.ReplaceAll(uuid.NewString(), "-", "")[:16]}
}

func (g *requestIDs) next() string {
	b := make([]byte, 0, 34)
	b = append(b, g.prefix...)
	b = append(b, '-')
	b = strconv.AppendUint(b, g.n.Add(1), 16)
	return string(b)
}

// statusWriter records what logs and metrics need about the response: the status and, when the
// one error writer answered, the error (so the request's single log line carries it).
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	req    *http.Request // lets writeJSON name the endpoint in an encoding-failure 500
	err    *loggedError
	// idHeader is the X-Request-Id header value (the request id): kept here, it shares the
	// writer's allocation.
	idHeader [1]string
}

// loggedError is what Error records about an error response for the completion log line.
type loggedError struct {
	code, traceID, msg string
}

// statusWriterOf finds the statusWriter that observe put into w's wrapper chain (nil if none).
func statusWriterOf(w http.ResponseWriter) *statusWriter {
	for w != nil {
		if sw, ok := w.(*statusWriter); ok {
			return sw
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// requestOf finds the request that observe attached to w's wrapper chain (nil if none).
func requestOf(w http.ResponseWriter) *http.Request {
	if sw := statusWriterOf(w); sw != nil {
		return sw.req
	}
	return nil
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// routePattern is the chi pattern that matched: bounded label cardinality, and no client-chosen
// text (such as the user id in DELETE /users/{user_id}) in logs or metrics. Unmatched paths
// share one label.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := patterns.of(rc); p != "" {
			return p
		}
	}
	return "unmatched"
}

// patterns memoises chi's RoutePattern, which joins and rewrites the matched patterns into a new
// string on every call (two allocations and 0.6 % of a small request's CPU), keyed by the matched
// patterns themselves: the route table's, so a bounded set.
var patterns routePatterns

type routePatterns struct {
	mu   sync.Mutex                           // serialises additions
	memo atomic.Pointer[map[[3]string]string] // copy-on-write: reads take no lock
}

func (p *routePatterns) of(rc *chi.Context) string {
	if len(rc.RoutePatterns) > 3 {
		return rc.RoutePattern() // deeper than any route of ours: not memoised
	}
	var k [3]string
	copy(k[:], rc.RoutePatterns)
	if m := p.memo.Load(); m != nil {
		if s, ok := (*m)[k]; ok {
			return s
		}
	}
	s := rc.RoutePattern()
	p.mu.Lock()
	defer p.mu.Unlock()
	next := map[[3]string]string{k: s}
	if m := p.memo.Load(); m != nil {
		for k, v := range *m {
			next[k] = v
		}
	}
	p.memo.Store(&next)
	return s
}

// methodLabel bounds the method label to the methods HTTP defines; anything a client invents is
// "OTHER", so random methods cannot grow the metric series without bound.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// statusLabels are the status codes as label values, made once: strconv.Itoa allocates for
// every code from 100 up, i.e. on every request.
var statusLabels = func() (l [600]string) {
	for c := range l {
		l[c] = strconv.Itoa(c)
	}
	return l
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

// seriesKey names one request series: method, route pattern and status labels.
type seriesKey struct{ method, route, status string }

// series are the request metrics of one seriesKey.
type series struct {
	duration prometheus.Observer
	total    prometheus.Counter
}

// requestSeries finds each (method, route, status)'s metrics once: WithLabelValues hashes and
// UTF-8-validates the label values and looks the child up on every call (a tenth of GET /health's
// handler instructions). Series still appear with their first request; the key set is bounded
// like the labels (methodLabel, route patterns, status codes).
type requestSeries struct {
	m  *metrics.Metrics
	mu sync.RWMutex
	by map[seriesKey]*series
}

func newRequestSeries(m *metrics.Metrics) *requestSeries {
	return &requestSeries{m: m, by: make(map[seriesKey]*series)}
}

func (r *requestSeries) get(k seriesKey) *series {
	r.mu.RLock()
	s := r.by[k]
	r.mu.RUnlock()
	if s != nil {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s = r.by[k]; s == nil {
		s = &series{duration: r.m.RequestDuration.WithLabelValues(k.method, k.route), total: r.m.RequestsTotal.WithLabelValues(k.method, k.route, k.status)}
		r.by[k] = s
	}
	return s
}

// quietRoutes are logged at DEBUG: probes and scrapes would otherwise drown the request log.
var quietRoutes = map[string]bool{"/health": true, "/metrics": true}

// observe gives every request its id, measures it and logs it once, at completion (docs/api.md#observability),
// labelled by route pattern; /health and /metrics at DEBUG, 5xx at ERROR.
func observe(log *slog.Logger, m *metrics.Metrics) func(http.Handler) http.Handler {
	ids := newRequestIDs()
	series := newRequestSeries(m)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			m.ActiveRequests.Inc()
			defer m.ActiveRequests.Dec()
			// The canonical key looked up directly: Header.Get("X-Request-ID") canonicalised the
			// name into a new string on every request.
			var id string
			if v := r.Header["X-Request-Id"]; len(v) > 0 {
				id = v[0]
			}
			if !safeRequestID(id) {
				id = ids.next()
			}
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, req: r, idHeader: [1]string{id}}
			w.Header()["X-Request-Id"] = sw.idHeader[:]
			next.ServeHTTP(sw, r)
			end := time.Now()
			d := end.Sub(start)
			ep := routePattern(r)
			method := methodLabel(r.Method)
			status := statusLabel(sw.status)
			ser := series.get(seriesKey{method, ep, status})
			ser.duration.Observe(d.Seconds())
			ser.total.Inc()
			if sw.status >= 400 {
				m.ErrorsTotal.WithLabelValues(method, ep, status).Inc()
			}
			level := slog.LevelInfo
			switch {
			case sw.status >= 500:
				level = slog.LevelError
			case quietRoutes[ep]:
				level = slog.LevelDebug
			}
			ctx := r.Context()
			if !log.Enabled(ctx, level) {
				return
			}
			// The record is handed to the handler directly, as slog's docs show for wrappers: the
			// Logger's own methods take the caller's program counter (runtime.Callers, 1 % of a
			// small request's CPU) for a source field this log does not have.
			rec := slog.NewRecord(end, level, "request_completed", 0)
			rec.AddAttrs(slog.String("method", method), slog.String("endpoint", ep), slog.Int("status", sw.status),
				slog.Float64("duration_ms", math.Round(float64(d.Microseconds())/10)/100),
				slog.String("client", r.RemoteAddr), slog.String("request_id", id))
			if e := sw.err; e != nil {
				rec.AddAttrs(slog.String("error_code", e.code), slog.String("trace_id", e.traceID), slog.String("error", e.msg))
			}
			_ = log.Handler().Handle(ctx, rec) // a log write that fails has nowhere to be reported
		})
	}
}

// recoverer turns a panic into a 500 envelope instead of a dropped connection.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					Error(w, r, log, fmt.Errorf("panic: %v", v))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// securityHeaders are the seed guide's headers plus the ones an API should always send. The
// value slices are shared (net/http only reads them and clones the map when the header is
// written), which spares four allocations per request; keys are in canonical form.
func securityHeaders(next http.Handler) http.Handler {
	nosniff, sameOrigin, noReferrer, noStore := []string{"nosniff"}, []string{"SAMEORIGIN"}, []string{"no-referrer"}, []string{"no-store"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["X-Frame-Options"] = sameOrigin
		h["Referrer-Policy"] = noReferrer
		h["Cache-Control"] = noStore
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies (docs/api.md#limits); reading past the cap fails with *http.MaxBytesError → 413.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			Error(w, r, nil, &isl.Error{Code: isl.ETooLarge, Message: fmt.Sprintf("Request body exceeds %d bytes", MaxBodyBytes)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// largeBody is the size from which a request body counts against the decode budget.
const largeBody = 64 << 10

// decodeBudget bounds how many requests with a large (or unannounced, chunked) body are decoded and
// computed at once: max(2, cores). Parsing 1 MB of hostile JSON costs up to ~0.25 CPU-s and ~35 MB
// of transient memory, so without the bound 64 concurrent big bodies (one client's share at nginx)
// would need GBs on one replica. Past the bound a request waits for a turn within the request
// deadline, then gets 503 retryable; small bodies (every worked example) are never held up.
func (s *server) decodeBudget(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength >= 0 && r.ContentLength < largeBody {
			next.ServeHTTP(w, r)
			return
		}
		t := time.NewTimer(s.cfg.RequestTimeout)
		defer t.Stop()
		select {
		case s.large <- struct{}{}:
		case <-t.C:
			s.metrics.ComputationsRejected.WithLabelValues("overload").Inc()
			Error(w, r, s.log, &isl.Error{Code: isl.EUnavailable, Message: "Service is at capacity for large requests; retry shortly"})
			return
		case <-r.Context().Done():
			return
		}
		defer func() { <-s.large }()
		next.ServeHTTP(w, r)
	})
}

// apiKey extracts the presented key from X-API-Key or Authorization: Bearer.
func apiKey(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// requireAPIKey admits requests carrying one of keys. Keys are compared as SHA-256 digests in
// constant time, so neither content nor length leaks through timing.
// failures, when not nil, is told about every rejected request and reports whether the client is
// over its budget of failed attempts (then 429 instead of 401, so keys cannot be guessed at line rate).
func requireAPIKey(keys []string, failures func(http.ResponseWriter, *http.Request) bool, log *slog.Logger) func(http.Handler) http.Handler {
	digests := make([][32]byte, len(keys))
	for i, k := range keys {
		digests[i] = sha256.Sum256([]byte(k))
	}
	return func(next http.Handler) http.Handler {
		if len(keys) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got := sha256.Sum256([]byte(apiKey(r)))
			match := 0
			for _, d := range digests {
				match |= subtle.ConstantTimeCompare(got[:], d[:])
			}
			if match != 1 {
				if failures != nil && failures(w, r) {
					Error(w, r, log, &isl.Error{Code: isl.ERateLimited, Message: "Too many failed authentication attempts; retry later"})
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="isl"`)
				Error(w, r, log, &isl.Error{Code: isl.EUnauthorized, Message: "Missing or invalid API key (send X-API-Key or Authorization: Bearer)"})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// rateLimit allows perMinute requests per API key (hashed) when keys are enforced, else per client
// IP. Without authentication a presented key proves nothing: keying on it would let a client dodge
// the limit by sending a fresh X-API-Key with every request. counter (nil = this process only)
// makes the limit global across replicas.
func rateLimit(perMinute int, keysEnforced bool, proxies *trustedProxies, counter httprate.LimitCounter, log *slog.Logger) func(http.Handler) http.Handler {
	if perMinute <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return httprate.LimitBy(perMinute, time.Minute,
		func(r *http.Request) (string, error) {
			if k := apiKey(r); k != "" && keysEnforced {
				sum := sha256.Sum256([]byte(k))
				return "key:" + hex.EncodeToString(sum[:8]), nil
			}
			return "ip:" + proxies.clientIP(r), nil
		},
		limitOptions(counter, httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			Error(w, r, log, &isl.Error{Code: isl.ERateLimited, Message: fmt.Sprintf("Rate limit of %d requests per minute exceeded", perMinute)})
		}))...)
}

// limitOptions adds the shared counter when there is one.
func limitOptions(counter httprate.LimitCounter, opts ...httprate.Option) []httprate.Option {
	if counter != nil {
		opts = append(opts, httprate.WithLimitCounter(counter))
	}
	return opts
}

// authFailureLimit counts failed authentications per client IP: at most perMinute a minute (nil
// when rate limiting is off), across replicas when counter is shared.
func authFailureLimit(perMinute int, proxies *trustedProxies, counter httprate.LimitCounter) func(http.ResponseWriter, *http.Request) bool {
	if perMinute <= 0 {
		return nil
	}
	l := httprate.NewRateLimiter(perMinute, time.Minute, limitOptions(counter)...)
	return func(w http.ResponseWriter, r *http.Request) bool {
		return l.OnLimit(w, r, "authfail:"+proxies.clientIP(r))
	}
}

// UserTag is how a user id appears in logs: an HMAC(SECRET_KEY) prefix, never the id itself.
func UserTag(secret, userID string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(userID))
	return hex.EncodeToString(mac.Sum(nil))[:16]
}
