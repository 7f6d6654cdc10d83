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

	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/internal/redistest"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/memory"
	"github.com/olumi/isl/service/metrics"
	islredis "github.com/olumi/isl/service/redis"
)

// cachedPaths are the deterministic endpoints the response cache serves.
var cachedPaths = []string{"/api/v1/causal/validate", "/api/v1/causal/counterfactual", "/api/v1/teaching/teach",
	"/api/v1/validation/validate", "/api/v1/team/align", "/api/v1/analysis/sensitivity"}

type cacheServer struct {
	*testServer
	m *metrics.Metrics
}

func newCacheServer(t *testing.T, enabled bool, cache isl.ResponseCache) cacheServer {
	t.Helper()
	cfg := defaultTestConfig()
	cfg.EnableCache = enabled
	m := metrics.New()
	ts := httptest.NewServer(NewServer(Deps{Config: cfg, Metrics: m, Store: memory.New(memory.Options{}), StoreKind: "memory", Cache: cache}))
	t.Cleanup(ts.Close)
	return cacheServer{&testServer{Server: ts, t: t}, m}
}

func (c cacheServer) hits(path string) float64 {
	return testutil.ToFloat64(c.m.ResponseCacheHits.WithLabelValues(path))
}

func (c cacheServer) misses(path string) float64 {
	return testutil.ToFloat64(c.m.ResponseCacheMisses.WithLabelValues(path))
}

// Every cached endpoint answers a repeated request from the cache with exactly the bytes that
// computing gives (compared with a server whose cache is off), counted as miss then hit.
func TestResponseCacheServesIdenticalAnswers(t *testing.T) {
	on, off := newCacheServer(t, true, nil), newCacheServer(t, false, nil)
	for _, path := range cachedPaths {
		t.Run(path, func(t *testing.T) {
			body := exampleBody(t, path)
			want := off.post(path, body)
			first := on.post(path, body)
			// Whitespace does not matter for the key.
			second := on.post(path, strings.ReplaceAll(string(body), ",", " ,\n "))
			if want.Status != 200 || first.Status != 200 || second.Status != 200 {
				t.Fatalf("statuses %d %d %d: %s", want.Status, first.Status, second.Status, second.Raw)
			}
			if string(first.Raw) != string(want.Raw) || string(second.Raw) != string(want.Raw) {
				t.Fatalf("cached answer differs:\n%s\n%s", second.Raw, want.Raw)
			}
			if second.Header.Get("Content-Type") != "application/json" || second.Header.Get("X-Request-ID") == "" ||
				second.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("hit headers %v", second.Header)
			}
			if on.misses(path) != 1 || on.hits(path) != 1 {
				t.Fatalf("misses %v hits %v, want 1 and 1", on.misses(path), on.hits(path))
			}
			if off.hits(path)+off.misses(path) != 0 {
				t.Fatal("cache off still counted")
			}
		})
	}
}

// Member order is significant (it fixes the draw order), so bodies that differ only in order get
// their own answers even though their seeds agree; errors are never cached; the usual 413 and 415
// answers come through the cache layer unchanged.
func TestResponseCacheKeysAndErrors(t *testing.T) {
	on, off := newCacheServer(t, true, nil), newCacheServer(t, false, nil)
	const path = "/api/v1/causal/counterfactual"
	ab := `{"model":{"variables":[],"equations":{"Y":"A + 2*B"},"distributions":{"A":{"type":"normal","parameters":{"mean":0,"std":1}},"B":{"type":"uniform","parameters":{"min":0,"max":1}}}},"intervention":{},"outcome":"Y"}`
	ba := `{"model":{"variables":[],"equations":{"Y":"A + 2*B"},"distributions":{"B":{"type":"uniform","parameters":{"min":0,"max":1}},"A":{"type":"normal","parameters":{"mean":0,"std":1}}}},"intervention":{},"outcome":"Y"}`
	for range 2 {
		for _, b := range []string{ab, ba} {
			got, want := on.post(path, b), off.post(path, b)
			if got.Status != 200 || string(got.Raw) != string(want.Raw) {
				t.Fatalf("order variant answered differently from computing:\n%s\n%s", got.Raw, want.Raw)
			}
		}
	}
	if on.misses(path) != 2 || on.hits(path) != 2 {
		t.Fatalf("misses %v hits %v, want 2 and 2", on.misses(path), on.hits(path))
	}
	for range 2 {
		on.post(path, `{"model":{}}`).envelope(t, 422, "validation_error")
	}
	if on.hits(path) != 2 {
		t.Fatal("a 422 was served from the cache")
	}
	on.post(path, `{"x":"`+strings.Repeat("a", MaxBodyBytes)+`"}`).envelope(t, 413, "payload_too_large")
	on.do(http.MethodPost, path, ab, "Content-Type", "text/plain").envelope(t, 415, "unsupported_media_type")
}

// failingCache fails every operation.
type failingCache struct{}

func (failingCache) GetResponse(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("cache down")
}

func (failingCache) PutResponse(context.Context, string, []byte, time.Duration) error {
	return errors.New("cache down")
}

// A failing cache is a miss: the request is computed and answered, and the failure is counted.
func TestResponseCacheFailureIsAMiss(t *testing.T) {
	s := newCacheServer(t, true, failingCache{})
	path := cachedPaths[0]
	if r := s.post(path, exampleBody(t, path)); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if g, p := testutil.ToFloat64(s.m.ResponseCacheErrors.WithLabelValues("get")), testutil.ToFloat64(s.m.ResponseCacheErrors.WithLabelValues("put")); g != 1 || p != 1 {
		t.Fatalf("errors get=%v put=%v", g, p)
	}
}

// With Redis configured the cache is shared: what one replica computed, another answers from
// Redis; entries carry the TTL.
func TestResponseCacheSharedThroughRedis(t *testing.T) {
	srv := redistest.Start(t)
	var st *islredis.Store
	replica := func() cacheServer {
		st = islredis.New(islredis.Options{Addr: srv.Addr, Password: srv.Password})
		t.Cleanup(func() { st.Close() })
		return newCacheServer(t, true, st)
	}
	a, b := replica(), replica()
	path := "/api/v1/causal/counterfactual"
	body := exampleBody(t, path)
	first, second := a.post(path, body), b.post(path, body)
	if first.Status != 200 || string(first.Raw) != string(second.Raw) {
		t.Fatalf("answers differ:\n%s\n%s", first.Raw, second.Raw)
	}
	if a.misses(path) != 1 || b.hits(path) != 1 || b.misses(path) != 0 {
		t.Fatalf("a misses %v, b hits %v misses %v", a.misses(path), b.hits(path), b.misses(path))
	}
	ctx := context.Background()
	keys, err := st.Client().Keys(ctx, "isl:cache:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %q %v", keys, err)
	}
	if ttl, err := st.Client().TTL(ctx, keys[0]).Result(); err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("TTL %v %v", ttl, err)
	}
}

// ENABLE_CACHE defaults to on.
func TestResponseCacheOnByDefault(t *testing.T) {
	cfg, err := config.FromLookup(func(string) (string, bool) { return "", false })
	if err != nil || !cfg.EnableCache || cfg.CacheMaxBytes != 64<<20 {
		t.Fatalf("%+v %v", cfg, err)
	}
}
