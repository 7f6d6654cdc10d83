package http

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/memory"
	"github.com/olumi/isl/service/metrics"
)

// Without API keys the rate limit is per client IP: rotating X-API-Key must not buy a new budget.
func TestRateLimitNotBypassedByRotatingKeys(t *testing.T) {
	cfg, err := config.FromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{"RATE_LIMIT_PER_MINUTE": "2"}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, &cfg, nil)
	var last response
	for i, k := range []string{"a", "b", "c"} {
		last = s.do(http.MethodPost, causalPath, "{}", "X-API-Key", k)
		if i < 2 && last.Status == 429 {
			t.Fatalf("request %d limited too early", i)
		}
	}
	last.envelope(t, 429, "rate_limited")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// One line per request, at completion, labelled by route pattern (never the raw path): method,
// endpoint, status, duration_ms with 2 decimals, client, request_id.
func TestRequestLogFields(t *testing.T) {
	buf := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ts := httptest.NewServer(NewServer(Deps{Config: defaultTestConfig(), Logger: log, Store: memory.New(memory.Options{}), StoreKind: "memory"}))
	defer ts.Close()
	resp, err := http.Post(ts.URL+causalPath, "application/json", strings.NewReader(`{"dag":{"nodes":["X","Y"],"edges":[["X","Y"]]},"treatment":"X","outcome":"Y"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	lines := buf.lines(t)
	if len(lines) != 1 || lines[0]["msg"] != "request_completed" {
		t.Fatalf("want exactly one request_completed line, got %s", buf.b.String())
	}
	completed := lines[0]
	for _, k := range []string{"method", "endpoint", "client", "request_id"} {
		if completed[k] == nil || completed[k] == "" {
			t.Errorf("request_completed lacks %s: %v", k, completed)
		}
	}
	if completed["status"] != float64(200) || completed["endpoint"] != causalPath || completed["request_id"] != resp.Header.Get("X-Request-ID") {
		t.Errorf("request_completed %v", completed)
	}
	if _, raw := completed["path"]; raw {
		t.Errorf("raw path logged: %v", completed)
	}
	ms, _ := completed["duration_ms"].(float64)
	if ms < 0 || math.Abs(ms*100-math.Round(ms*100)) > 1e-6 {
		t.Errorf("duration_ms %v not rounded to 2 decimals", completed["duration_ms"])
	}
}

// Logs carry route patterns, never client-chosen path text: DELETE /users/{id} shows the pattern
// and the user only as its HMAC tag. Errors are part of the request's one line; /health and
// /metrics are logged only at DEBUG.
func TestRequestLogPrivacyAndLevels(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		buf := &syncBuffer{}
		log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: level}))
		cfg := defaultTestConfig()
		cfg.SecretKey = "k"
		ts := httptest.NewServer(NewServer(Deps{Config: cfg, Logger: log, Store: memory.New(memory.Options{}), StoreKind: "memory"}))
		do := func(method, path, body string) {
			req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		do(http.MethodDelete, "/api/v1/users/alice-secret-id", "")
		do(http.MethodGet, "/health", "")
		do(http.MethodGet, "/metrics", "")
		do(http.MethodPost, causalPath, "{}")
		do(http.MethodGet, "/no/such/alice-secret-id", "")
		ts.Close()
		if strings.Contains(buf.b.String(), "alice-secret-id") {
			t.Fatalf("raw user id in logs: %s", buf.b.String())
		}
		var completed []map[string]any
		var deleted map[string]any
		for _, l := range buf.lines(t) {
			switch l["msg"] {
			case "request_completed":
				completed = append(completed, l)
			case "user_deleted":
				deleted = l
			default:
				t.Errorf("unexpected log line %v", l)
			}
		}
		if deleted == nil || deleted["user"] != UserTag("k", "alice-secret-id") {
			t.Errorf("user_deleted %v", deleted)
		}
		want := []string{"/api/v1/users/{user_id}", "/health", "/metrics", causalPath, "unmatched"}
		if level == slog.LevelInfo {
			want = []string{"/api/v1/users/{user_id}", causalPath, "unmatched"}
		}
		if len(completed) != len(want) {
			t.Fatalf("level %v: %d request lines, want %d: %s", level, len(completed), len(want), buf.b.String())
		}
		for i, l := range completed {
			if l["endpoint"] != want[i] {
				t.Errorf("line %d endpoint %v, want %s", i, l["endpoint"], want[i])
			}
		}
		if e := completed[len(completed)-2]; e["status"] != float64(422) || e["error_code"] != "validation_error" || e["trace_id"] == "" {
			t.Errorf("422 line lacks the error: %v", e)
		}
	}
}

// Every label is bounded: a random method is "OTHER", an unknown path "unmatched", so clients
// cannot grow the series.
func TestMetricLabelsBounded(t *testing.T) {
	m := metrics.New()
	ts := httptest.NewServer(NewServer(Deps{Config: defaultTestConfig(), Metrics: m, Store: memory.New(memory.Options{}), StoreKind: "memory"}))
	defer ts.Close()
	for i := range 50 {
		req, _ := http.NewRequest(fmt.Sprintf("M%dX", i), ts.URL+fmt.Sprintf("/random/%d", i), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := testutil.CollectAndCount(m.RequestsTotal); n != 1 {
		t.Fatalf("%d request series after 50 random methods and paths, want 1", n)
	}
	if got := testutil.ToFloat64(m.RequestsTotal.WithLabelValues("OTHER", "unmatched", "405")); got != 50 {
		t.Fatalf("OTHER/unmatched/405 = %v, want 50", got)
	}
}

// docs/api.md#errors: errors that escape a handler (a panic, an unencodable body such as NaN) answer the
// endpoint's 500 template, computation_error, not retryable.
func TestEscapedErrorsUseEndpointMessage(t *testing.T) {
	m := metrics.New()
	r := chi.NewRouter()
	r.Use(recoverer(nil), observe(slog.New(slog.DiscardHandler), m))
	r.Post("/api/v1/causal/validate", func(http.ResponseWriter, *http.Request) { panic("boom") })
	r.Post("/api/v1/causal/counterfactual", func(w http.ResponseWriter, _ *http.Request) {
		ok(w, map[string]float64{"point_estimate": math.NaN()})
	})
	for path, want := range map[string]string{
		"/api/v1/causal/validate":       "Failed to validate causal model. Check logs for details.",
		"/api/v1/causal/counterfactual": "Failed to perform counterfactual analysis. Check logs for details.",
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}")))
		var env map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
			t.Fatalf("%s: %v %s", path, err, w.Body)
		}
		if w.Code != 500 || env["message"] != want || env["error_code"] != "computation_error" ||
			env["retryable"] != false || env["suggested_action"] != "report_issue" {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
}

// hiddenLen hides the body's length so the client sends it chunked (no Content-Length).
type hiddenLen struct{ io.Reader }

// docs/api.md#limits: the 1 MiB cap holds for chunked bodies too (no Content-Length to check up front).
func TestChunkedBodyOverLimitIs413(t *testing.T) {
	s := newTestServer(t, nil, nil)
	body := hiddenLen{io.MultiReader(strings.NewReader(`{"x":"`), strings.NewReader(strings.Repeat("a", MaxBodyBytes)), strings.NewReader(`"}`))}
	req, err := http.NewRequest(http.MethodPost, s.URL+causalPath, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if req.ContentLength != 0 || len(req.TransferEncoding) > 0 && req.TransferEncoding[0] != "chunked" {
		t.Fatalf("request was not chunked: %d %v", req.ContentLength, req.TransferEncoding)
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !bytes.Contains(raw, []byte(`"payload_too_large"`)) {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
}

// A panicking handler's 500 is logged and counted (docs/api.md#observability) like any other response.
func TestPanicIsCountedInMetrics(t *testing.T) {
	m := metrics.New()
	s := &server{log: slog.New(slog.DiscardHandler), metrics: m}
	r := chi.NewRouter()
	r.Use(s.middleware(r)...)
	r.Post("/api/v1/causal/validate", func(http.ResponseWriter, *http.Request) { panic("boom") })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/v1/causal/validate", strings.NewReader("{}")))
	if w.Code != 500 || !strings.Contains(w.Body.String(), "Failed to validate causal model. Check logs for details.") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	got := testutil.ToFloat64(m.ErrorsTotal.WithLabelValues(http.MethodPost, "/api/v1/causal/validate", "500"))
	if got != 1 {
		t.Fatalf("isl_http_errors_total{status=500} = %v, want 1", got)
	}
}

// Failed authentications are rate limited per client IP too, so keys cannot be guessed at line rate;
// a valid key still gets through.
func TestFailedAuthIsRateLimited(t *testing.T) {
	cfg, err := config.FromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{"API_KEYS": "good", "RATE_LIMIT_PER_MINUTE": "3"}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, &cfg, nil)
	for i := 0; i < 3; i++ {
		s.do(http.MethodPost, causalPath, "{}", "X-API-Key", "guess"+string(rune('a'+i))).envelope(t, 401, "unauthorized")
	}
	s.do(http.MethodPost, causalPath, "{}", "X-API-Key", "guess-d").envelope(t, 429, "rate_limited")
	if r := s.do(http.MethodPost, causalPath, "{}", "X-API-Key", "good"); r.Status != 422 {
		t.Fatalf("valid key after failures: %d %s", r.Status, r.Raw)
	}
}

// statusLabel is strconv.Itoa's text for every code, inside the precomputed table or not.
func TestStatusLabel(t *testing.T) {
	for _, c := range []struct {
		code int
		want string
	}{{0, "0"}, {200, "200"}, {404, "404"}, {599, "599"}, {600, "600"}, {1000, "1000"}, {-1, "-1"}} {
		if got := statusLabel(c.code); got != c.want {
			t.Errorf("statusLabel(%d) = %q, want %q", c.code, got, c.want)
		}
	}
}

// The memoised route pattern is chi's, for every shape of matched patterns, on the first call
// (computed) and the later ones (memoised), with several keys in the memo at once.
func TestRoutePatternMemo(t *testing.T) {
	var p routePatterns
	cases := [][]string{
		nil,
		{"/health"},
		{"/api/v1/*", "/causal/validate"},
		{"/api/v1/*", "/users/{user_id}"},
		{"/api/v1/*"},
		{"/*", "/a/*", "/b/*", "/c"}, // deeper than the memo's key: computed every time
	}
	for round := range 3 {
		for _, ps := range cases {
			rc := chi.NewRouteContext()
			rc.RoutePatterns = append([]string(nil), ps...)
			if got, want := p.of(rc), rc.RoutePattern(); got != want {
				t.Fatalf("round %d, %q: got %q, want %q", round, ps, got, want)
			}
		}
	}
	if m := p.memo.Load(); m == nil || len(*m) != len(cases)-1 {
		t.Fatalf("memo %v, want the %d memoisable keys", m, len(cases)-1)
	}
}
