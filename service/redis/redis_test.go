package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/service/internal/redistest"
	"github.com/olumi/isl/service/internal/storekey"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/isl/storetest"
)

var bg = context.Background()

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the reconnect tests cause many on purpose.
	SetLibraryLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// fast keeps failure paths short in tests; production uses the 5 s defaults.
func fast(srv *redistest.Server) Options {
	return Options{
		Addr: srv.Addr, Password: srv.Password,
		DialTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond,
		HealthInterval: 50 * time.Millisecond,
		Logger:         slog.New(slog.DiscardHandler),
	}
}

func newStore(t *testing.T, o Options) *Store {
	t.Helper()
	s := New(o)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		s := newStore(t, fast(srv))
		if err := s.Client().FlushAll(bg).Err(); err != nil {
			t.Fatal(err)
		}
		return storetest.Harness{Store: s}
	})
}

func pttl(t *testing.T, s *Store, key string) time.Duration {
	t.Helper()
	d, err := s.Client().PTTL(bg, key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	return d
}

func near(got, want time.Duration) bool { return got <= want && got > want-time.Minute }

func TestTTLs(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, fast(srv))
	const user = "alice"
	h := storekey.User(user)
	key := func(suffix string) string { return "isl:user:" + h + ":" + suffix }

	if err := s.PutBeliefs(bg, user, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, s, key("beliefs")); !near(d, isl.BeliefTTL) {
		t.Errorf("beliefs TTL after put = %v, want ≈ 24h", d)
	}
	// Shorten the TTL behind the store's back; a read hit must slide it back to 24 h.
	if err := s.Client().Expire(bg, key("beliefs"), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.GetBeliefs(bg, user); err != nil || !ok {
		t.Fatalf("GetBeliefs: %v %v", ok, err)
	}
	if d := pttl(t, s, key("beliefs")); !near(d, isl.BeliefTTL) {
		t.Errorf("beliefs TTL after read = %v, want ≈ 24h (sliding)", d)
	}

	if err := s.PutQuery(bg, user, "query_000_abc", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, s, key("query:query_000_abc")); !near(d, isl.QueryTTL) {
		t.Errorf("query TTL = %v, want ≈ 7d", d)
	}
	if _, err := s.RecordResponse(bg, user, "query_000_abc", []byte(`"A"`), time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, s, key("queries")); !near(d, isl.QueryTTL) {
		t.Errorf("answered set TTL = %v, want ≈ 7d", d)
	}
	if d := pttl(t, s, key("responses")); !near(d, isl.ResponseTTL) {
		t.Errorf("responses TTL = %v, want ≈ 30d", d)
	}
	// Each answer re-arms both TTLs.
	_ = s.Client().Expire(bg, key("queries"), time.Hour)
	_ = s.Client().Expire(bg, key("responses"), time.Hour)
	if _, err := s.RecordResponse(bg, user, "query_001_abc", []byte(`"B"`), time.Unix(1700000100, 0)); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, s, key("queries")); !near(d, isl.QueryTTL) {
		t.Errorf("answered set TTL after second answer = %v", d)
	}
	if d := pttl(t, s, key("responses")); !near(d, isl.ResponseTTL) {
		t.Errorf("responses TTL after second answer = %v", d)
	}

	// Stored shapes (docs/api.md#state).
	z, err := s.Client().ZRangeWithScores(bg, key("queries"), 0, -1).Result()
	if err != nil || len(z) != 2 || z[0].Member != "query_000_abc" || z[0].Score != 1700000000 {
		t.Errorf("answered set = %v, %v", z, err)
	}
	list, err := s.Client().LRange(bg, key("responses"), 0, -1).Result()
	if err != nil || len(list) != 2 {
		t.Fatalf("responses = %v, %v", list, err)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(list[1]), &e); err != nil {
		t.Fatal(err)
	}
	if e["query_id"] != "query_001_abc" || e["response"] != "B" || e["timestamp"] != "2023-11-14T22:15:00Z" {
		t.Errorf("response entry = %s", list[1])
	}
}

func allKeys(t *testing.T, s *Store) []string {
	t.Helper()
	keys, err := s.Client().Keys(bg, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

var keyShape = regexp.MustCompile(`^isl:user:[0-9a-f]{64}:(beliefs|queries|responses|query:([A-Za-z0-9_.-]*|%[0-9a-f]{64}))$`)

func TestKeysNeverHoldRawUserIDs(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, fast(srv))
	users := append([]string{"bob"}, storetest.Users...)
	for _, u := range users {
		if err := s.PutBeliefs(bg, u, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"query_000_x", "odd:id*[x]"} {
			if err := s.PutQuery(bg, u, q, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecordResponse(bg, u, q, []byte(`"A"`), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	keys := allKeys(t, s)
	if len(keys) != len(users)*5 {
		t.Errorf("%d keys, want %d", len(keys), len(users)*5)
	}
	for _, k := range keys {
		if !keyShape.MatchString(k) {
			t.Errorf("unexpected key shape %q", k)
		}
		for _, u := range users {
			if len(u) >= 3 && strings.Contains(k, u) {
				t.Errorf("key %q contains raw user id %q", k, u)
			}
		}
	}
}

func TestDeleteUserRemovesEveryKey(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, fast(srv))
	for _, u := range []string{"victim", "bystander"} {
		_ = s.PutBeliefs(bg, u, []byte(`{}`))
		for _, q := range []string{"a", "b", "c:d"} {
			_ = s.PutQuery(bg, u, q, []byte(`{}`))
			_, _ = s.RecordResponse(bg, u, q, []byte(`"A"`), time.Now())
		}
	}
	// The victim's keys plus a key the store does not know about yet (future key types go too).
	hv := storekey.User("victim")
	_ = s.Client().Set(bg, "isl:user:"+hv+":future", "x", 0).Err()
	if n := len(allKeys(t, s)); n != 2*6+1 {
		t.Fatalf("setup: %d keys", n)
	}
	for i := 0; i < 2; i++ {
		if err := s.DeleteUser(bg, "victim"); err != nil {
			t.Fatalf("DeleteUser #%d: %v", i, err)
		}
	}
	keys := allKeys(t, s)
	if len(keys) != 6 {
		t.Errorf("%d keys left, want the bystander's 6: %v", len(keys), keys)
	}
	for _, k := range keys {
		if strings.Contains(k, hv) {
			t.Errorf("victim key survived: %s", k)
		}
	}
}

// DeleteUser must page through SCAN, not stop after the first batch.
func TestDeleteUserManyKeys(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, fast(srv))
	p := s.Client().Pipeline()
	h := storekey.User("u")
	for i := 0; i < 2500; i++ {
		p.Set(bg, "isl:user:"+h+":query:q"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+strconv.Itoa(i), "{}", time.Hour)
		p.Set(bg, "other:"+strconv.Itoa(i), "x", time.Hour)
	}
	if _, err := p.Exec(bg); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(bg, "u"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Client().DBSize(bg).Result(); n != 2500 {
		t.Errorf("DBSIZE = %d, want 2500 unrelated keys", n)
	}
}

// syncBuf collects log output from concurrent goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestWrongPasswordIsUnavailableAndLoud(t *testing.T) {
	srv := redistest.Start(t)
	var logs syncBuf
	o := fast(srv)
	o.Password = "wrong"
	o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	s := newStore(t, o)
	err := s.PutBeliefs(bg, "u", []byte(`{}`))
	if !errors.Is(err, isl.ErrUnavailable) || !IsAuthError(err) {
		t.Fatalf("err = %v; want ErrUnavailable and IsAuthError", err)
	}
	if s.Connected() {
		t.Error("Connected() with a rejected password")
	}
	if got := logs.String(); !strings.Contains(got, `"level":"ERROR"`) || !strings.Contains(got, "REDIS_PASSWORD") {
		t.Errorf("a wrong password must be logged as an error naming REDIS_PASSWORD; logs: %s", got)
	}
	// No password at all against a protected server: same.
	o.Password = ""
	if err := newStore(t, o).Ping(bg); !errors.Is(err, isl.ErrUnavailable) || !IsAuthError(err) {
		t.Errorf("no password: err = %v", err)
	}
}

func TestReconnectAfterRestart(t *testing.T) {
	srv := redistest.Start(t)
	var mu sync.Mutex
	var states []bool
	o := fast(srv)
	o.OnState = func(up bool) { mu.Lock(); states = append(states, up); mu.Unlock() }
	s := newStore(t, o)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("connected", s.Connected)
	if err := s.PutBeliefs(bg, "u", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	start := time.Now()
	_, _, err := s.GetBeliefs(bg, "u")
	if !errors.Is(err, isl.ErrUnavailable) {
		t.Fatalf("with Redis down: err = %v, want ErrUnavailable", err)
	}
	// Bounded by the (test) timeouts and one retry, not by go-redis' defaults.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failure took %v", d)
	}
	_, err = s.RecordResponse(bg, "u", "q", []byte(`"A"`), time.Now())
	if !errors.Is(err, isl.ErrUnavailable) {
		t.Errorf("RecordResponse with Redis down: %v", err)
	}
	waitFor("disconnected", func() bool { return !s.Connected() })

	srv.Restart()
	waitFor("reconnected", s.Connected)
	if err := s.PutBeliefs(bg, "u", []byte(`{"after":1}`)); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if doc, ok, err := s.GetBeliefs(bg, "u"); err != nil || !ok || string(doc) != `{"after":1}` {
		t.Fatalf("after restart: %q %v %v", doc, ok, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(states) != 3 || !states[0] || states[1] || !states[2] {
		t.Errorf("OnState calls = %v, want [true false true]", states)
	}
}

func TestObserve(t *testing.T) {
	srv := redistest.Start(t)
	var mu sync.Mutex
	seen := map[string]int{}
	o := fast(srv)
	o.Observe = func(op, status string) { mu.Lock(); seen[op+"/"+status]++; mu.Unlock() }
	s := newStore(t, o)
	_, _, _ = s.GetBeliefs(bg, "u") // miss counts as success
	_ = s.PutBeliefs(bg, "u", []byte(`{}`))
	_ = s.PutQuery(bg, "u", "q", []byte(`{}`))
	_, _, _ = s.GetQuery(bg, "u", "q")
	_, _ = s.RecordResponse(bg, "u", "q", []byte(`"A"`), time.Now())
	_, _ = s.CompletedCount(bg, "u")
	_ = s.DeleteUser(bg, "u")
	_ = s.Ping(bg)
	_ = s.PutQuery(bg, "u", strings.Repeat("q", 200), nil) // rejected before Redis: not an operation
	srv.Stop()
	_ = s.PutBeliefs(bg, "u", []byte(`{}`))
	want := map[string]int{
		"get_beliefs/success": 1, "put_beliefs/success": 1, "put_query/success": 1, "get_query/success": 1,
		"record_response/success": 1, "completed_count/success": 1, "delete_user/success": 1, "ping/success": 1,
		"put_beliefs/error": 1,
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(want) {
		t.Errorf("observed %v, want %v", seen, want)
	}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("%s observed %d times, want %d", k, seen[k], n)
		}
	}
}

func TestCancelledContextKeepsState(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, fast(srv))
	if err := s.Ping(bg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, _, err := s.GetBeliefs(ctx, "u")
	if !errors.Is(err, isl.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
	if !s.Connected() {
		t.Error("a caller's cancellation marked Redis as down")
	}
}
