package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/memory"
)

func TestHealth(t *testing.T) {
	s := newTestServer(t, nil, nil)
	r := s.do(http.MethodGet, "/health", nil)
	if r.Status != 200 || r.str("status") != "healthy" || r.str("version") != isl.Version {
		t.Fatalf("health: %d %s", r.Status, r.Raw)
	}
	// The embedded store is not a Redis and must not be reported as one.
	if r.str("dependencies", "store", "status") != "connected" || r.str("dependencies", "store", "backend") != "memory" || strings.Contains(string(r.Raw), `"redis"`) {
		t.Fatalf("dependencies: %s", r.Raw)
	}
	ts := r.str("timestamp")
	if _, err := time.Parse("2006-01-02T15:04:05.000000Z", ts); err != nil {
		t.Fatalf("timestamp %q: %v", ts, err)
	}
}

// HEAD /health answers like GET (probes use HEAD), not 405.
func TestHealthHead(t *testing.T) {
	s := newTestServer(t, nil, nil)
	if r := s.do(http.MethodHead, "/health", nil); r.Status != 200 {
		t.Fatalf("HEAD /health: %d %s", r.Status, r.Raw)
	}
}

func TestRoutingErrors(t *testing.T) {
	s := newTestServer(t, nil, nil)
	t.Run("unknown path", func(t *testing.T) {
		r := s.do(http.MethodGet, "/nope", nil)
		r.envelope(t, 404, "not_found")
		if r.str("detail") != "Not Found" {
			t.Fatalf("detail: %s", r.Raw)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		r := s.do(http.MethodGet, "/api/v1/causal/validate", nil)
		r.envelope(t, 405, "method_not_allowed")
		if r.str("detail") != "Method Not Allowed" || r.Header.Get("Allow") == "" {
			t.Fatalf("405: %v %s", r.Header, r.Raw)
		}
	})
	t.Run("trailing slash", func(t *testing.T) {
		r := s.do(http.MethodPost, "/api/v1/causal/validate/?x=1", "{}")
		if r.Status != 307 || r.Header.Get("Location") != "/api/v1/causal/validate?x=1" {
			t.Fatalf("redirect: %d %v", r.Status, r.Header)
		}
	})
	t.Run("body too large", func(t *testing.T) {
		r := s.post("/api/v1/causal/validate", `{"x":"`+strings.Repeat("a", MaxBodyBytes)+`"}`)
		r.envelope(t, 413, "payload_too_large")
	})
	t.Run("wrong content type", func(t *testing.T) {
		r := s.do(http.MethodPost, "/api/v1/causal/validate", "{}", "Content-Type", "text/plain")
		r.envelope(t, 415, "unsupported_media_type")
	})
	t.Run("security headers", func(t *testing.T) {
		r := s.do(http.MethodGet, "/health", nil)
		for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "X-Request-ID"} {
			if r.Header.Get(h) == "" {
				t.Errorf("missing header %s", h)
			}
		}
	})
}

func TestAPIKeysAndRateLimit(t *testing.T) {
	cfg, err := config.FromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{"API_KEYS": "k1, k2", "RATE_LIMIT_PER_MINUTE": "3"}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, &cfg, nil)
	if r := s.do(http.MethodGet, "/health", nil); r.Status != 200 {
		t.Fatalf("/health must stay open: %d", r.Status)
	}
	r := s.post("/api/v1/causal/validate", "{}")
	r.envelope(t, 401, "unauthorized")
	r = s.do(http.MethodPost, "/api/v1/causal/validate", "{}", "X-API-Key", "wrong")
	r.envelope(t, 401, "unauthorized")
	for i := 0; i < 3; i++ {
		hdr := []string{"X-API-Key", "k1"}
		if i == 1 {
			hdr = []string{"Authorization", "Bearer k1"}
		}
		if r := s.do(http.MethodPost, "/api/v1/causal/validate", "{}", hdr...); r.Status == 401 || r.Status == 429 {
			t.Fatalf("request %d with a valid key: %d %s", i, r.Status, r.Raw)
		}
	}
	r = s.do(http.MethodPost, "/api/v1/causal/validate", "{}", "X-API-Key", "k1")
	r.envelope(t, 429, "rate_limited")
	if v, _ := r.Body.Get("retryable"); !v.Bool {
		t.Fatalf("429 must be retryable: %s", r.Raw)
	}
	// The other key has its own budget.
	if r := s.do(http.MethodPost, "/api/v1/causal/validate", "{}", "X-API-Key", "k2"); r.Status == 429 {
		t.Fatal("keys must not share a rate budget")
	}
}

func TestMetricsExposed(t *testing.T) {
	s := newTestServer(t, nil, nil)
	s.do(http.MethodGet, "/health", nil)
	s.do(http.MethodGet, "/nope/123", nil)
	r := s.do(http.MethodGet, "/metrics", nil)
	body := string(r.Raw)
	for _, want := range []string{
		`isl_http_requests_total{endpoint="/health",method="GET",status="200"} 1`,
		`isl_http_errors_total{endpoint="unmatched",error_code="404",method="GET"} 1`,
		"isl_service_up 1", "isl_redis_connected", "isl_active_requests", "go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "/nope/123") {
		t.Error("raw paths must not become labels (R2)")
	}
}

// docs/api.md#routes trailing slash: only routes are redirected, and never to another host.
func TestTrailingSlashRedirectIsSafe(t *testing.T) {
	s := newTestServer(t, nil, nil)
	for _, c := range []struct{ path, loc string }{
		{"/health/", "/health"},
		{"/api/v1/causal/validate//", "/api/v1/causal/validate"},
		{"//api/v1/causal/validate/", "/api/v1/causal/validate"},
	} {
		r := s.do(http.MethodPost, c.path, "{}")
		if r.Status != 307 || r.Header.Get("Location") != c.loc {
			t.Errorf("%s: %d %q", c.path, r.Status, r.Header.Get("Location"))
		}
	}
	for _, p := range []string{"//evil.example/", "///evil.example//", "/nope/"} {
		r := s.do(http.MethodGet, p, nil)
		if loc := r.Header.Get("Location"); strings.HasPrefix(loc, "//") || r.Status != 404 {
			t.Errorf("%s: %d Location %q, want 404 without redirect", p, r.Status, loc)
		}
	}
}

// pingCounter is a store whose Ping is counted and can be made to fail.
type pingCounter struct {
	isl.Store
	pings atomic.Int64
	down  atomic.Bool
}

func (p *pingCounter) Ping(context.Context) error {
	p.pings.Add(1)
	if p.down.Load() {
		return errors.New("down")
	}
	return nil
}

// /health is open and unlimited, so it must not reach the store on every call: one check a
// second answers every probe, concurrent ones included, and an outage shows within about a second.
func TestHealthChecksStoreAtMostOncePerSecond(t *testing.T) {
	store := &pingCounter{Store: memory.New(memory.Options{})}
	s := newTestServer(t, nil, store)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				if r := s.do(http.MethodGet, "/health", nil); r.Status != 200 || r.str("dependencies", "redis", "status") != "connected" {
					t.Errorf("health: %d %s", r.Status, r.Raw)
				}
			}
		})
	}
	wg.Wait()
	if n := store.pings.Load(); n < 1 || n > 2 {
		t.Fatalf("200 probes pinged the store %d times, want 1 (2 if a second boundary passed)", n)
	}
	store.down.Store(true)
	deadline := time.Now().Add(3 * healthTTL)
	for {
		r := s.do(http.MethodGet, "/health", nil)
		if r.str("status") == "degraded" && r.str("dependencies", "redis", "status") == "disconnected" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outage not reported after %s: %s", 3*healthTTL, r.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The body is exactly what encoding/json makes of the response type.
	r := s.do(http.MethodGet, "/health", nil)
	var h healthResponse
	if err := json.Unmarshal(r.Raw, &h); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(h)
	if string(bytes.TrimSpace(r.Raw)) != string(want) || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("body %s, want %s", r.Raw, want)
	}
}
