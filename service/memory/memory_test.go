package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/isl/storetest"
)

// fakeClock is a manually advanced clock, safe for the concurrent suite.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		c := newClock()
		return storetest.Harness{Store: New(Options{Now: c.Now}), Advance: c.Advance}
	})
}

var bg = context.Background()

func TestEvictsLeastRecentlyUsedUser(t *testing.T) {
	c := newClock()
	s := New(Options{Now: c.Now, MaxUsers: 3})
	for _, u := range []string{"a", "b", "c"} {
		if err := s.PutBeliefs(bg, u, []byte(u)); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := s.GetBeliefs(bg, "a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	if err := s.PutBeliefs(bg, "d", []byte("d")); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	want := map[string]bool{"a": true, "b": false, "c": true, "d": true}
	for u, present := range want {
		if _, ok, _ := s.GetBeliefs(bg, u); ok != present {
			t.Errorf("%s present = %v, want %v", u, ok, present)
		}
	}
}

func TestSweepDropsExpiredUsers(t *testing.T) {
	c := newClock()
	s := New(Options{Now: c.Now})
	_ = s.PutBeliefs(bg, "short", []byte("{}"))                       // 24 h
	_ = s.PutQuery(bg, "week", "q", []byte("{}"))                     // 7 d
	_, _ = s.RecordResponse(bg, "month", "q", []byte(`"A"`), c.Now()) // answered 7 d, history 30 d
	c.Advance(25 * time.Hour)
	if n := s.Sweep(); n != 1 || s.Len() != 2 {
		t.Fatalf("after 25 h: swept %d, Len %d; want 1, 2", n, s.Len())
	}
	c.Advance(7 * 24 * time.Hour)
	if n := s.Sweep(); n != 1 || s.Len() != 1 {
		t.Fatalf("after 8 d: swept %d, Len %d; want 1, 1", n, s.Len())
	}
	if n, _ := s.CompletedCount(bg, "month"); n != 0 {
		t.Errorf("answered set outlived 7 d: %d", n)
	}
	if r := s.Responses("month"); len(r) != 1 {
		t.Errorf("history should live 30 d, got %d entries", len(r))
	}
	c.Advance(30 * 24 * time.Hour)
	if n := s.Sweep(); n != 1 || s.Len() != 0 {
		t.Fatalf("after 38 d: swept %d, Len %d; want 1, 0", n, s.Len())
	}
}

func TestResponseHistory(t *testing.T) {
	c := newClock()
	s := New(Options{Now: c.Now, MaxResponsesPerUser: 3})
	for i := 0; i < 5; i++ {
		if _, err := s.RecordResponse(bg, "u", fmt.Sprintf("q%d", i), []byte(`"A"`), c.Now()); err != nil {
			t.Fatal(err)
		}
	}
	r := s.Responses("u")
	if len(r) != 3 {
		t.Fatalf("history length %d, want cap 3", len(r))
	}
	if !json.Valid(r[0]) {
		t.Fatalf("entry is not JSON: %s", r[0])
	}
	if string(r[0]) != `{"query_id":"q2","response":"A","timestamp":"2026-01-01T00:00:00Z"}` {
		t.Errorf("oldest kept entry = %s", r[0])
	}
	if n, _ := s.CompletedCount(bg, "u"); n != 5 {
		t.Errorf("the history cap must not change the count: %d", n)
	}
}

func TestPerUserCaps(t *testing.T) {
	c := newClock()
	s := New(Options{Now: c.Now, MaxQueriesPerUser: 2, MaxAnsweredPerUser: 2})
	for i := 0; i < 3; i++ {
		_ = s.PutQuery(bg, "u", fmt.Sprintf("q%d", i), []byte("{}"))
		c.Advance(time.Second)
	}
	if _, ok, _ := s.GetQuery(bg, "u", "q0"); ok {
		t.Error("oldest query kept beyond the cap")
	}
	if _, ok, _ := s.GetQuery(bg, "u", "q2"); !ok {
		t.Error("newest query dropped")
	}
	for i := 0; i < 3; i++ {
		n, _ := s.RecordResponse(bg, "u", fmt.Sprintf("a%d", i), []byte(`"A"`), c.Now().Add(time.Duration(i)*time.Second))
		if want := int64(min(i+1, 2)); n != want {
			t.Errorf("answer %d: count %d, want %d", i, n, want)
		}
	}
}

func TestRunStopsWithContext(t *testing.T) {
	c := newClock()
	s := New(Options{Now: c.Now, SweepInterval: time.Millisecond})
	_ = s.PutBeliefs(bg, "u", []byte("{}"))
	c.Advance(isl.BeliefTTL)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for s.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s.Len() != 0 {
		t.Error("Run never swept")
	}
	cancel()
	<-done
}
