package http

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/httprate"
	"github.com/google/uuid"

	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/metrics"
)

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the id the middleware gave this request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestID takes a well-formed X-Request-ID from the proxy (so nginx and ISL logs join up) or
// makes one.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !safeRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// statusWriter records the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	req    *http.Request // lets writeJSON name the endpoint in an encoding-failure 500
}

// requestOf finds the request that observe attached to w's wrapper chain (nil if none).
func requestOf(w http.ResponseWriter) *http.Request {
	for w != nil {
		if sw, ok := w.(*statusWriter); ok {
			return sw.req
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
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

// routePattern is the chi pattern that matched (R2: bounded label cardinality); unmatched paths
// share one label.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// observe logs and measures every request (§1.5), labelled by route pattern.
func observe(log *slog.Logger, m *metrics.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			m.ActiveRequests.Inc()
			defer m.ActiveRequests.Dec()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, req: r}
			log.Info("request_started", "method", r.Method, "path", r.URL.Path, "client", r.RemoteAddr, "request_id", RequestID(r.Context()))
			next.ServeHTTP(sw, r)
			d := time.Since(start)
			ep := routePattern(r)
			status := strconv.Itoa(sw.status)
			m.RequestDuration.WithLabelValues(r.Method, ep).Observe(d.Seconds())
			m.RequestsTotal.WithLabelValues(r.Method, ep, status).Inc()
			if sw.status >= 400 {
				m.ErrorsTotal.WithLabelValues(r.Method, ep, status).Inc()
			}
			log.Info("request_completed", "method", r.Method, "path", r.URL.Path, "endpoint", ep, "status", sw.status,
				"duration_ms", math.Round(float64(d.Microseconds())/10)/100, "request_id", RequestID(r.Context()))
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

// securityHeaders are the seed guide's headers plus the ones an API should always send.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies (R2); reading past the cap fails with *http.MaxBytesError → 413.
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
