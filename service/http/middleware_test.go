package http

import (
	"bufio"
	"bytes"
	"encoding/json"
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

// §1.5: request_started (method, path, client, request_id) and request_completed (status,
// duration_ms with 2 decimals) are logged at the default INFO level, labelled by route pattern.
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
	var started, completed map[string]any
	for _, l := range buf.lines(t) {
		switch l["msg"] {
		case "request_started":
			started = l
		case "request_completed":
			completed = l
		}
	}
	if started == nil || completed == nil {
		t.Fatalf("missing request logs: %s", buf.b.String())
	}
	for _, k := range []string{"method", "path", "client", "request_id"} {
		if started[k] == nil || started[k] == "" {
			t.Errorf("request_started lacks %s: %v", k, started)
		}
	}
	if completed["status"] != float64(200) || completed["endpoint"] != causalPath {
		t.Errorf("request_completed %v", completed)
	}
	ms, _ := completed["duration_ms"].(float64)
	if ms < 0 || math.Abs(ms*100-math.Round(ms*100)) > 1e-6 {
		t.Errorf("duration_ms %v not rounded to 2 decimals", completed["duration_ms"])
	}
}

// §1.4/F11: errors that escape a handler (a panic, an unencodable body such as NaN) answer the
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

// R2: the 1 MiB cap holds for chunked bodies too (no Content-Length to check up front).
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

// A panicking handler's 500 is logged and counted (§1.5) like any other response.
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
