package http

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/metrics"
)

func bareServer(timeout time.Duration, slots int) *server {
	cfg := defaultTestConfig()
	cfg.RequestTimeout = timeout
	cfg.MaxConcurrentComputations = slots
	s := &server{cfg: cfg, metrics: metrics.New()}
	s.slots = make(chan struct{}, slots)
	return s
}

// A computation past the request deadline answers 503 retryable at once (the client is not held).
func TestComputeDeadlineIs503Retryable(t *testing.T) {
	s := bareServer(50*time.Millisecond, 2)
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	err := s.compute(context.Background(), func(context.Context) error { <-release; return nil })
	if time.Since(start) > 2*time.Second {
		t.Fatal("compute waited for the abandoned computation")
	}
	var e *isl.Error
	if !errors.As(err, &e) || e.Code != isl.ETimeout {
		t.Fatalf("err = %v, want timeout", err)
	}
	w := httptest.NewRecorder()
	Error(w, httptest.NewRequest(http.MethodPost, "/x", nil), nil, err)
	if w.Code != 503 || !strings.Contains(w.Body.String(), `"retryable":true`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got := testutil.ToFloat64(s.metrics.ComputationsRejected.WithLabelValues("timeout")); got != 1 {
		t.Fatalf("timeouts counted %v", got)
	}
}

// With every slot busy, a new computation is refused with 503 when its deadline passes, not queued
// without bound.
func TestComputeOverloadIs503(t *testing.T) {
	s := bareServer(50*time.Millisecond, 1)
	release := make(chan struct{})
	defer close(release)
	go s.compute(context.Background(), func(context.Context) error { <-release; return nil })
	time.Sleep(20 * time.Millisecond)
	err := s.compute(context.Background(), func(context.Context) error { t.Error("ran past the bound"); return nil })
	var e *isl.Error
	if !errors.As(err, &e) || e.Code != isl.EUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

// A panic inside a computation (another goroutine) becomes a 500 envelope, never a dropped connection.
func TestComputePanicIs500(t *testing.T) {
	s := bareServer(time.Second, 1)
	err := s.compute(context.Background(), func(context.Context) error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	w := httptest.NewRecorder()
	Error(w, httptest.NewRequest(http.MethodPost, "/x", nil), nil, engineErr(err, "validate model"))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"error_code":"computation_error"`) ||
		!strings.Contains(w.Body.String(), "Failed to validate model. Check logs for details.") ||
		!strings.Contains(w.Body.String(), `"retryable":false`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	// The slot was given back.
	if err := s.compute(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// computeInline runs fn on the caller's goroutine with compute's answers: a polling engine
// stopped by the deadline, and a bounded one that ends after it, are the 503 timeout (counted), a
// panic an error, and the slot is given back either way.
func TestComputeInline(t *testing.T) {
	for _, c := range []struct {
		name     string
		fn       func(context.Context) error
		wantCode string // "" = no error
		wantMsg  string
	}{
		{name: "result", fn: func(context.Context) error { return nil }},
		{name: "engine error", fn: func(context.Context) error { return errors.New("bad input") }, wantMsg: "bad input"},
		{name: "deadline", fn: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, wantCode: isl.ETimeout},
		{name: "bounded overrun", fn: func(context.Context) error { time.Sleep(80 * time.Millisecond); return nil }, wantCode: isl.ETimeout},
		{name: "panic", fn: func(context.Context) error { panic("boom") }, wantMsg: "boom"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := bareServer(50*time.Millisecond, 1)
			err := s.computeInline(context.Background(), c.fn)
			var e *isl.Error
			switch {
			case c.wantCode != "":
				if !errors.As(err, &e) || e.Code != c.wantCode {
					t.Fatalf("err = %v, want %s", err, c.wantCode)
				}
				if got := testutil.ToFloat64(s.metrics.ComputationsRejected.WithLabelValues("timeout")); got != 1 {
					t.Fatalf("timeouts counted %v", got)
				}
			case c.wantMsg != "":
				if err == nil || !strings.Contains(err.Error(), c.wantMsg) {
					t.Fatalf("err = %v, want %q", err, c.wantMsg)
				}
			case err != nil:
				t.Fatal(err)
			}
			if len(s.slots) != 0 {
				t.Fatal("slot not given back")
			}
		})
	}
}

// A panic in a handler itself is caught by the recoverer.
func TestHandlerPanicIs500Envelope(t *testing.T) {
	h := recoverer(nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("handler boom") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"trace_id"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// docs/api.md#metrics: every business metric of docs/api.md#state is fed by real traffic (the original declared them and never
// fed them). The documented examples drive every endpoint once.
func TestEveryDeclaredMetricIsFed(t *testing.T) {
	d := loadDoc(t)
	s := newTestServer(t, nil, nil)
	for _, op := range d.operations() {
		method, path, _ := strings.Cut(op, " ")
		if method == http.MethodPost && path != "/api/v1/preferences/update" {
			if r := s.post(path, d.exampleRequest(t, path)); r.Status != 200 {
				t.Fatalf("%s: %d %s", path, r.Status, r.Raw)
			}
		}
	}
	el := s.post("/api/v1/preferences/elicit", d.exampleRequest(t, "/api/v1/preferences/elicit"))
	q, _ := el.Body.Get("queries")
	id, _ := q.Arr[0].Get("id")
	up := d.exampleRequest(t, "/api/v1/preferences/update")
	up["query_id"] = id.Str
	if uid, ok := d.exampleRequest(t, "/api/v1/preferences/elicit")["user_id"]; ok {
		up["user_id"] = uid
	}
	if r := s.post("/api/v1/preferences/update", up); r.Status != 200 {
		t.Fatalf("update: %d %s", r.Status, r.Raw)
	}
	body := string(s.do(http.MethodGet, "/metrics", nil).Raw)
	for _, name := range []string{
		"isl_http_requests_total{", "isl_http_request_duration_seconds_count{", "isl_active_requests ",
		"isl_service_up 1", "isl_preference_queries_generated_total{",
		"isl_belief_updates_total ", "isl_causal_validations_total{", "isl_counterfactual_analyses_total ",
		"isl_teaching_examples_generated_total{", "isl_model_validations_total{", "isl_cache_hits_total ",
		"isl_cache_misses_total ", "isl_activa_computation_duration_seconds_count ",
		"isl_bayesian_update_duration_seconds_count ", "isl_counterfactual_computation_duration_seconds_count ",
		"isl_computation_duration_seconds_count{",
	} {
		i := strings.Index(body, "\n"+name)
		if i < 0 {
			t.Errorf("metric %q absent", name)
			continue
		}
		line := body[i+1:]
		line = line[:strings.IndexByte(line, '\n')]
		if strings.HasSuffix(line, " 0") && !strings.HasPrefix(name, "isl_active_requests") && !strings.HasPrefix(name, "isl_cache_misses") {
			t.Errorf("metric never fed: %s", line)
		}
	}
	if strings.Contains(body, "user_id") {
		t.Error("no metric may carry a user id label (R2)")
	}
}
