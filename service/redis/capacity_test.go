package redis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/httprate"

	"github.com/olumi/isl/service/internal/redistest"
	"github.com/olumi/isl/service/isl"
)

// TestStoreFullRefusesNewUsersAndKeepsAcknowledged fills a real Redis (maxmemory, noeviction) with
// users until the store refuses a new one, then checks that every write it acknowledged is still
// there — the silent eviction of 18.8 % of acknowledged updates under volatile-lru is what this
// replaced — and that the users it holds can still write until the hard limit, where Redis
// refuses the write (507) instead of evicting.
func TestStoreFullRefusesNewUsersAndKeepsAcknowledged(t *testing.T) {
	srv := redistest.Start(t)
	// Base memory of an empty redis-server is ~1 MB: 3 MB leaves ~2 MB for users.
	for _, kv := range [][2]string{{"maxmemory", "3mb"}, {"maxmemory-policy", "noeviction"}} {
		if r, err := srv.Do("CONFIG", "SET", kv[0], kv[1]); err != nil || !strings.HasPrefix(r, "+OK") {
			t.Fatalf("CONFIG SET %s: %q %v", kv[0], r, err)
		}
	}
	o := fast(srv)
	o.AdmitBelow = 0.9
	s := newStore(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	doc := []byte(`{"beliefs":"` + strings.Repeat("x", 4000) + `"}`)
	var acked []string
	var refused error
	for i := 0; i < 5000 && refused == nil; i++ {
		user := fmt.Sprintf("user-%d", i)
		if err := s.AdmitNewUser(ctx); err != nil {
			refused = err
			break
		}
		if err := s.PutBeliefs(ctx, user, doc); err != nil {
			refused = err
			break
		}
		acked = append(acked, user)
		if i%20 == 0 {
			time.Sleep(60 * time.Millisecond) // let the health loop read INFO memory
		}
	}
	if refused == nil || !errors.Is(refused, isl.ErrStorageFull) {
		t.Fatalf("after %d users: %v, want a storage-full refusal", len(acked), refused)
	}
	if len(acked) < 50 {
		t.Fatalf("only %d users before the store was full", len(acked))
	}
	t.Logf("store full after %d users of %d bytes: %v", len(acked), len(doc), refused)
	for _, u := range acked {
		got, found, err := s.GetBeliefs(ctx, u)
		if err != nil || !found || string(got) != string(doc) {
			t.Fatalf("acknowledged user %s: found=%v err=%v: state lost", u, found, err)
		}
	}
	// Existing users keep writing into the headroom; at the hard limit the write is refused as
	// storage full (not unavailable), and still nothing is evicted.
	var hard error
	for i := 0; i < 2000 && hard == nil; i++ {
		hard = s.PutQuery(ctx, acked[i%len(acked)], fmt.Sprintf("q%d", i), doc)
	}
	if !errors.Is(hard, isl.ErrStorageFull) || errors.Is(hard, isl.ErrUnavailable) {
		t.Fatalf("write at the hard limit: %v, want storage full", hard)
	}
	if !s.Connected() {
		t.Error("a full Redis was reported disconnected")
	}
	for _, u := range acked {
		if _, found, err := s.GetBeliefs(ctx, u); err != nil || !found {
			t.Fatalf("acknowledged user %s lost at the hard limit: %v", u, err)
		}
	}
}

// TestLimitCounterIsGlobal: two limiters (two replicas) sharing one Redis allow the limit in all,
// not per replica; with Redis gone they fall back to counting locally within the fallback timeout
// instead of blocking or failing requests.
func TestLimitCounterIsGlobal(t *testing.T) {
	srv := redistest.Start(t)
	replica := func() http.Handler {
		s := newStore(t, fast(srv))
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		return httprate.LimitBy(10, time.Minute, httprate.Key("client"), httprate.WithLimitCounter(s.LimitCounter("requests")))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	}
	a, b := replica(), replica()
	allowed := 0
	for i := range 30 {
		h := a
		if i%2 == 1 {
			h = b
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code == 200 {
			allowed++
		}
	}
	if allowed != 10 {
		t.Errorf("two replicas allowed %d of 30 requests under a global limit of 10", allowed)
	}
	srv.Stop()
	start := time.Now()
	w := httptest.NewRecorder()
	a.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if d := time.Since(start); d > time.Second || (w.Code != 200 && w.Code != 429) {
		t.Errorf("with Redis down: %d after %s, want a local decision within the fallback timeout", w.Code, d)
	}
}

// TestResponseHistoryBounded: a user answering in a loop keeps only the last MaxResponses answers.
func TestResponseHistoryBounded(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, fast(srv))
	ctx := context.Background()
	for i := range MaxResponses + 50 {
		if _, err := s.RecordResponse(ctx, "looper", fmt.Sprintf("q%d", i%7), []byte(`{"r":"A"}`), time.Unix(int64(i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Client().LLen(ctx, userKey("looper", "responses")).Result()
	if err != nil || n != MaxResponses {
		t.Fatalf("history length %d (%v), want %d", n, err, MaxResponses)
	}
}

// The response cache shares Redis with user state under noeviction: once Redis holds CacheBelow of
// its maxmemory, responses are no longer stored, so cached answers can never be what fills the
// store and turns new users away.
func TestResponseCacheStopsAtHalfMemory(t *testing.T) {
	srv := redistest.Start(t)
	for _, kv := range [][2]string{{"maxmemory", "4mb"}, {"maxmemory-policy", "noeviction"}} {
		if r, err := srv.Do("CONFIG", "SET", kv[0], kv[1]); err != nil || !strings.HasPrefix(r, "+OK") {
			t.Fatalf("CONFIG SET %s: %q %v", kv[0], r, err)
		}
	}
	s := newStore(t, fast(srv))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	body := []byte(strings.Repeat("r", 16<<10))
	stored := 0
	for i := 0; i < 400; i++ {
		if err := s.PutResponse(ctx, fmt.Sprintf("k%d", i), body, time.Minute); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		if _, ok, _ := s.GetResponse(ctx, fmt.Sprintf("k%d", i)); ok {
			stored++
		}
		if i%10 == 0 {
			time.Sleep(60 * time.Millisecond) // let the health loop read INFO memory
		}
	}
	used, limit := s.memUsed.Load(), s.memMax.Load()
	if limit != 4<<20 {
		t.Fatalf("maxmemory read as %d", limit)
	}
	// 400 × 16 KiB = 6.4 MB would overflow 4 MB: the cache must have stopped near 2 MB.
	if stored == 0 || stored == 400 || float64(used) > 0.7*float64(limit) {
		t.Errorf("stored %d of 400 responses, Redis at %d of %d bytes: want the cache to stop at %.0f %%", stored, used, limit, 100*CacheBelow)
	}
	if err := s.AdmitNewUser(ctx); err != nil {
		t.Errorf("the cache filled the store for new users: %v", err)
	}
}
