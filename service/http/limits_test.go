package http

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/memory"
)

// fullStore is the memory store with a capacity switch: when full it admits no new user.
type fullStore struct {
	*memory.Store
	full atomic.Bool
}

func (f *fullStore) AdmitNewUser(context.Context) error {
	if f.full.Load() {
		return fmt.Errorf("test: %w", isl.ErrStorageFull)
	}
	return nil
}

// TestStoreFullRefusesOnlyNewUsers: a full store answers a new user's first elicit with the
// documented 507 storage_full envelope (retryable later, Retry-After 300) and writes nothing of
// theirs, while a user it already holds goes on.
func TestStoreFullRefusesOnlyNewUsers(t *testing.T) {
	st := &fullStore{Store: memory.New(memory.Options{})}
	ts := newTestServer(t, nil, st)
	if r := ts.post(elicitPath, w5Body); r.Status != 200 {
		t.Fatalf("existing user's first elicit: %d %s", r.Status, r.Raw)
	}
	st.full.Store(true)
	newUser := strings.Replace(w5Body, "test_user_pricing_001", "someone-new", 1)
	r := ts.post(elicitPath, newUser)
	r.envelope(t, http.StatusInsufficientStorage, isl.EStorageFull)
	if v, _ := r.Body.Get("retryable"); !v.Bool || r.Header.Get("Retry-After") != "300" || r.str("suggested_action") != "retry_later" {
		t.Errorf("507 envelope: %s, Retry-After %q", r.Raw, r.Header.Get("Retry-After"))
	}
	if _, found, _ := st.GetBeliefs(context.Background(), "someone-new"); found {
		t.Error("a refused new user's state was written")
	}
	if r := ts.post(elicitPath, w5Body); r.Status != 200 {
		t.Errorf("existing user with the store full: %d %s", r.Status, r.Raw)
	}
}

// TestXRealIPOnlyFromTrustedProxies: a client talking to a replica directly cannot escape the
// per-client limit by sending a fresh X-Real-IP per request (202 428 unthrottled wrong-key attempts
// in 20 s before); from a trusted proxy the header is the client.
func TestXRealIPOnlyFromTrustedProxies(t *testing.T) {
	cfg := defaultTestConfig()
	cfg.RateLimitPerMinute = 5
	cfg.APIKeys = []string{"the-key"}
	cfg.TrustedProxies = []string{"10.9.8.7", "192.0.2.0/24"}
	h := NewServer(Deps{Config: cfg, Store: memory.New(memory.Options{}), StoreKind: "memory"})
	attempt := func(peer string, i int) int {
		req := httptest.NewRequest(http.MethodPost, causalPath, strings.NewReader(`{}`))
		req.RemoteAddr = peer + ":4321"
		req.Header.Set("X-API-Key", "wrong")
		req.Header.Set("X-Real-IP", fmt.Sprintf("203.0.113.%d", i%250+1))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	limited := 0
	for i := range 20 {
		if attempt("127.0.0.1", i) == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 15 {
		t.Errorf("untrusted peer with a fresh X-Real-IP each time: %d of 20 limited, want 15 (limit 5 per peer)", limited)
	}
	for _, proxy := range []string{"10.9.8.7", "192.0.2.44"} {
		limited = 0
		for i := range 20 {
			if attempt(proxy, i) == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited != 0 {
			t.Errorf("trusted proxy %s: %d of 20 distinct clients limited, want 0", proxy, limited)
		}
	}
	tp := newTrustedProxies([]string{"localhost"})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr, req.Header["X-Real-Ip"] = "127.0.0.1:1", []string{"198.51.100.7"}
	if got := tp.clientIP(req); got != "198.51.100.7" {
		t.Errorf("proxy named localhost: client %s", got)
	}
	req.Header["X-Real-Ip"] = []string{"not-an-ip"}
	if got := tp.clientIP(req); got != "127.0.0.1" {
		t.Errorf("malformed X-Real-IP from a trusted proxy: client %s, want the peer", got)
	}
}

// TestLargeBodiesBounded: at most max(2, cores) requests with a large body are decoded at once; the
// next one waits its turn within the deadline, then gets a 503, while small bodies pass at once.
func TestLargeBodiesBounded(t *testing.T) {
	cfg := defaultTestConfig()
	cfg.RequestTimeout = time.Second
	ts := newTestServer(t, &cfg, nil)
	holders := max(2, runtime.GOMAXPROCS(0))
	var pipes []*io.PipeWriter
	done := make(chan int, holders)
	big := `{"dag":{"nodes":[],"edges":[]},"treatment":"` + strings.Repeat("a", 100<<10) + `","outcome":"b"}`
	for range holders {
		pr, pw := io.Pipe()
		pipes = append(pipes, pw)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, ts.URL+causalPath, pr)
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = int64(len(big))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		if _, err := io.WriteString(pw, big[:10]); err != nil { // the body arrives slowly: the slot stays held
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	r := ts.post(causalPath, big)
	r.envelope(t, http.StatusServiceUnavailable, isl.EUnavailable)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("503 after %s: the request did not wait for its turn", d)
	}
	if r := ts.post(causalPath, `{"dag":{"nodes":["A","B"],"edges":[["A","B"]]},"treatment":"A","outcome":"B"}`); r.Status != 200 {
		t.Errorf("small body while the large ones wait: %d", r.Status)
	}
	for _, pw := range pipes {
		io.WriteString(pw, big[10:])
		pw.Close()
	}
	for range holders {
		if code := <-done; code == 0 || code >= 500 {
			t.Errorf("held request → %d, want its answer", code)
		}
	}
}
