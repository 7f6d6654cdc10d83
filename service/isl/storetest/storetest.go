// Package storetest is the conformance suite every isl.Store implementation runs: one behaviour,
// checked the same way against Redis and memory.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/service/isl"
)

// Harness is one fresh, empty store under test.
type Harness struct {
	Store isl.Store
	// Advance moves the store's clock forward. Nil when the store runs on real time (Redis); the
	// expiry tests are then skipped and the implementation checks its TTLs its own way.
	Advance func(d time.Duration)
}

// Run runs the suite. newStore is called once per subtest and must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"Beliefs", testBeliefs},
		{"BeliefsAreCopied", testBeliefsCopied},
		{"Queries", testQueries},
		{"QueryIDs", testQueryIDs},
		{"QueryIDTooLong", testQueryIDTooLong},
		{"RecordResponse", testRecordResponse},
		{"DeleteUser", testDeleteUser},
		{"Concurrent", testConcurrent},
		{"BeliefsSlidingTTL", testBeliefsTTL},
		{"QueryTTL", testQueryTTL},
		{"AnsweredTTL", testAnsweredTTL},
		{"Ping", testPing},
		{"SwapBeliefs", testSwapBeliefs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newStore(t)
			tc.fn(t, h)
		})
	}
}

// Users exercises ids that would be dangerous as raw key parts (docs/api.md#state).
var Users = []string{"alice@example.com", "user:1*", "u?[a-z]\\", "", "ユーザー", strings.Repeat("x", 300)}

func ctx() context.Context { return context.Background() }

func mustBeliefs(t *testing.T, s isl.Store, user string) ([]byte, bool) {
	t.Helper()
	doc, ok, err := s.GetBeliefs(ctx(), user)
	if err != nil {
		t.Fatalf("GetBeliefs(%q): %v", user, err)
	}
	return doc, ok
}

func mustQuery(t *testing.T, s isl.Store, user, id string) ([]byte, bool) {
	t.Helper()
	doc, ok, err := s.GetQuery(ctx(), user, id)
	if err != nil {
		t.Fatalf("GetQuery(%q, %q): %v", user, id, err)
	}
	return doc, ok
}

func mustCount(t *testing.T, s isl.Store, user string) int64 {
	t.Helper()
	n, err := s.CompletedCount(ctx(), user)
	if err != nil {
		t.Fatalf("CompletedCount(%q): %v", user, err)
	}
	return n
}

func mustRecord(t *testing.T, s isl.Store, user, id string) int64 {
	t.Helper()
	n, err := s.RecordResponse(ctx(), user, id, []byte(`"A"`), time.Now())
	if err != nil {
		t.Fatalf("RecordResponse(%q, %q): %v", user, id, err)
	}
	return n
}

func testBeliefs(t *testing.T, h Harness) {
	s := h.Store
	for i, u := range Users {
		if _, ok := mustBeliefs(t, s, u); ok {
			t.Fatalf("user %d: beliefs found before any write", i)
		}
		doc := []byte(fmt.Sprintf(`{"user":%d}`, i))
		if err := s.PutBeliefs(ctx(), u, doc); err != nil {
			t.Fatalf("PutBeliefs: %v", err)
		}
	}
	for i, u := range Users {
		got, ok := mustBeliefs(t, s, u)
		if want := fmt.Sprintf(`{"user":%d}`, i); !ok || string(got) != want {
			t.Errorf("user %d: got %q, %v; want %q", i, got, ok, want)
		}
	}
	if err := s.PutBeliefs(ctx(), Users[0], []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustBeliefs(t, s, Users[0]); string(got) != `{"v":2}` {
		t.Errorf("after overwrite got %q", got)
	}
	if got, _ := mustBeliefs(t, s, Users[1]); string(got) != `{"user":1}` {
		t.Errorf("overwrite leaked to another user: %q", got)
	}
}

func testBeliefsCopied(t *testing.T, h Harness) {
	s := h.Store
	doc := []byte(`{"a":1}`)
	if err := s.PutBeliefs(ctx(), "u", doc); err != nil {
		t.Fatal(err)
	}
	doc[2] = 'X'
	got, _ := mustBeliefs(t, s, "u")
	if string(got) != `{"a":1}` {
		t.Fatalf("store kept the caller's slice: %q", got)
	}
	got[2] = 'Y'
	if again, _ := mustBeliefs(t, s, "u"); string(again) != `{"a":1}` {
		t.Fatalf("store returned its own slice: %q", again)
	}
}

func testQueries(t *testing.T, h Harness) {
	s := h.Store
	if _, ok := mustQuery(t, s, "a", "query_000_deadbeef"); ok {
		t.Fatal("query found before any write")
	}
	if err := s.PutQuery(ctx(), "a", "query_000_deadbeef", []byte(`{"q":0}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutQuery(ctx(), "a", "query_001_deadbeef", []byte(`{"q":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, ok := mustQuery(t, s, "a", "query_000_deadbeef"); !ok || string(got) != `{"q":0}` {
		t.Errorf("query 0: %q %v", got, ok)
	}
	if got, ok := mustQuery(t, s, "a", "query_001_deadbeef"); !ok || string(got) != `{"q":1}` {
		t.Errorf("query 1: %q %v", got, ok)
	}
	if _, ok := mustQuery(t, s, "b", "query_000_deadbeef"); ok {
		t.Error("another user sees the query")
	}
	if _, ok := mustQuery(t, s, "a", "query_002_deadbeef"); ok {
		t.Error("unknown query id found")
	}
	// Issuing a query is not answering it.
	if n := mustCount(t, s, "a"); n != 0 {
		t.Errorf("count after PutQuery = %d, want 0", n)
	}
}

func testQueryIDs(t *testing.T, h Harness) {
	s := h.Store
	// Plain and odd ids, including one that looks like the hashed form of another: all distinct.
	ids := []string{"", "q", "a:b", "a*", "a?", "[a]", `a\b`, "a b", "ü", "%", "%" + strings.Repeat("0", 64),
		strings.Repeat("z", 128), strings.Repeat("é", 128)}
	for i, id := range ids {
		if err := s.PutQuery(ctx(), "u", id, []byte(fmt.Sprint(i))); err != nil {
			t.Fatalf("PutQuery(%q): %v", id, err)
		}
	}
	for i, id := range ids {
		if got, ok := mustQuery(t, s, "u", id); !ok || string(got) != fmt.Sprint(i) {
			t.Errorf("GetQuery(%q) = %q %v, want %d", id, got, ok, i)
		}
	}
	for i, id := range ids {
		if n := mustRecord(t, s, "u", id); n != int64(i+1) {
			t.Errorf("RecordResponse(%q) = %d, want %d", id, n, i+1)
		}
	}
}

func testQueryIDTooLong(t *testing.T, h Harness) {
	s := h.Store
	long := strings.Repeat("q", 129)
	check := func(name string, err error) {
		t.Helper()
		var e *isl.Error
		if !errors.As(err, &e) || e.Code != isl.EValidation {
			t.Errorf("%s: err = %v, want *isl.Error %s", name, err, isl.EValidation)
		}
		if errors.Is(err, isl.ErrUnavailable) {
			t.Errorf("%s: a validation error must not be retryable", name)
		}
	}
	check("PutQuery", s.PutQuery(ctx(), "u", long, []byte("{}")))
	_, _, err := s.GetQuery(ctx(), "u", long)
	check("GetQuery", err)
	_, err = s.RecordResponse(ctx(), "u", long, []byte(`"A"`), time.Now())
	check("RecordResponse", err)
	if n := mustCount(t, s, "u"); n != 0 {
		t.Errorf("rejected response counted: %d", n)
	}
}

func testRecordResponse(t *testing.T, h Harness) {
	s := h.Store
	if n := mustCount(t, s, "a"); n != 0 {
		t.Fatalf("fresh count = %d", n)
	}
	steps := []struct {
		id   string
		want int64
	}{{"q1", 1}, {"q2", 2}, {"q1", 2}, {"q3", 3}, {"q2", 3}}
	for _, st := range steps {
		if n := mustRecord(t, s, "a", st.id); n != st.want {
			t.Errorf("RecordResponse(%s) = %d, want %d", st.id, n, st.want)
		}
	}
	if n := mustCount(t, s, "a"); n != 3 {
		t.Errorf("CompletedCount = %d, want 3", n)
	}
	if n := mustCount(t, s, "b"); n != 0 {
		t.Errorf("other user's count = %d, want 0", n)
	}
	// A response that is not JSON is still accepted.
	if _, err := s.RecordResponse(ctx(), "a", "q4", []byte("indifferent"), time.Now()); err != nil {
		t.Errorf("non-JSON response: %v", err)
	}
}

func populate(t *testing.T, s isl.Store, user string) {
	t.Helper()
	if err := s.PutBeliefs(ctx(), user, []byte(`{"b":1}`)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"query_000_x", "odd:id*"} {
		if err := s.PutQuery(ctx(), user, id, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		mustRecord(t, s, user, id)
	}
}

func testDeleteUser(t *testing.T, h Harness) {
	s := h.Store
	for _, u := range Users {
		populate(t, s, u)
	}
	victim, other := Users[1], Users[2]
	for round := 0; round < 2; round++ { // the second round checks idempotence
		if err := s.DeleteUser(ctx(), victim); err != nil {
			t.Fatalf("DeleteUser round %d: %v", round, err)
		}
		if _, ok := mustBeliefs(t, s, victim); ok {
			t.Error("beliefs survive deletion")
		}
		for _, id := range []string{"query_000_x", "odd:id*"} {
			if _, ok := mustQuery(t, s, victim, id); ok {
				t.Errorf("query %q survives deletion", id)
			}
		}
		if n := mustCount(t, s, victim); n != 0 {
			t.Errorf("count after deletion = %d", n)
		}
	}
	if err := s.DeleteUser(ctx(), "never-seen"); err != nil {
		t.Errorf("deleting an unknown user: %v", err)
	}
	if _, ok := mustBeliefs(t, s, other); !ok {
		t.Error("deletion removed another user's beliefs")
	}
	if _, ok := mustQuery(t, s, other, "odd:id*"); !ok {
		t.Error("deletion removed another user's query")
	}
	if n := mustCount(t, s, other); n != 2 {
		t.Errorf("other user's count = %d, want 2", n)
	}
	// A deleted user starts afresh.
	if n := mustRecord(t, s, victim, "q"); n != 1 {
		t.Errorf("count after re-use = %d, want 1", n)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	s := h.Store
	const users, writers, perWriter = 6, 6, 20
	var wg sync.WaitGroup
	errs := make(chan error, users*(writers+2))
	for u := 0; u < users; u++ {
		user := fmt.Sprintf("user-%d", u)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perWriter; i++ {
					// Every writer also re-answers one shared id: it must count once.
					for _, id := range []string{fmt.Sprintf("q_%d_%d", w, i), "shared"} {
						n, err := s.RecordResponse(ctx(), user, id, []byte(`"B"`), time.Now())
						if err != nil || n < 1 || n > writers*perWriter+1 {
							errs <- fmt.Errorf("RecordResponse(%s, %s) = %d, %v", user, id, n, err)
							return
						}
					}
				}
			}()
		}
		wg.Add(2)
		go func() { // beliefs writer and reader race each other
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				if err := s.PutBeliefs(ctx(), user, []byte(fmt.Sprintf(`{"i":%d}`, i))); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				doc, ok, err := s.GetBeliefs(ctx(), user)
				if err != nil || ok && !bytes.HasPrefix(doc, []byte(`{"i":`)) {
					errs <- fmt.Errorf("GetBeliefs(%s) = %q, %v", user, doc, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for u := 0; u < users; u++ {
		user := fmt.Sprintf("user-%d", u)
		if n := mustCount(t, s, user); n != writers*perWriter+1 {
			t.Errorf("%s: count = %d, want %d", user, n, writers*perWriter+1)
		}
		if doc, ok := mustBeliefs(t, s, user); !ok || string(doc) != fmt.Sprintf(`{"i":%d}`, perWriter-1) {
			t.Errorf("%s: final beliefs %q %v", user, doc, ok)
		}
	}
}

func needClock(t *testing.T, h Harness) {
	if h.Advance == nil {
		t.Skip("store runs on real time; its TTLs are checked by its own tests")
	}
}

func testBeliefsTTL(t *testing.T, h Harness) {
	needClock(t, h)
	s := h.Store
	if err := s.PutBeliefs(ctx(), "u", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	// Each read restarts the 24 h: three reads 23 h apart keep the beliefs alive for 69 h.
	for i := 0; i < 3; i++ {
		h.Advance(isl.BeliefTTL - time.Hour)
		if _, ok := mustBeliefs(t, s, "u"); !ok {
			t.Fatalf("beliefs expired on read %d despite sliding TTL", i)
		}
	}
	h.Advance(isl.BeliefTTL - time.Second)
	if _, ok := mustBeliefs(t, s, "u"); !ok {
		t.Fatal("beliefs expired before 24 h")
	}
	h.Advance(isl.BeliefTTL)
	if _, ok := mustBeliefs(t, s, "u"); ok {
		t.Fatal("beliefs outlived 24 h without a read")
	}
	// A write also restarts the clock, and a miss does not resurrect anything.
	if err := s.PutBeliefs(ctx(), "v", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	h.Advance(isl.BeliefTTL - time.Second)
	if err := s.PutBeliefs(ctx(), "v", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	h.Advance(isl.BeliefTTL - time.Second)
	if _, ok := mustBeliefs(t, s, "v"); !ok {
		t.Fatal("overwrite did not restart the TTL")
	}
}

func testQueryTTL(t *testing.T, h Harness) {
	needClock(t, h)
	s := h.Store
	if err := s.PutQuery(ctx(), "u", "q1", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	h.Advance(isl.QueryTTL / 2)
	if err := s.PutQuery(ctx(), "u", "q2", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	h.Advance(isl.QueryTTL/2 - time.Second)
	if _, ok := mustQuery(t, s, "u", "q1"); !ok {
		t.Fatal("query expired before 7 d")
	}
	h.Advance(time.Second)
	if _, ok := mustQuery(t, s, "u", "q1"); ok {
		t.Fatal("query outlived 7 d")
	}
	if _, ok := mustQuery(t, s, "u", "q2"); !ok {
		t.Fatal("each query has its own TTL; q2 went with q1")
	}
	// Reading a query does not extend it.
	h.Advance(isl.QueryTTL / 2)
	if _, ok := mustQuery(t, s, "u", "q2"); ok {
		t.Fatal("q2 outlived 7 d")
	}
}

func testAnsweredTTL(t *testing.T, h Harness) {
	needClock(t, h)
	s := h.Store
	mustRecord(t, s, "u", "q1")
	h.Advance(isl.QueryTTL - time.Hour)
	// Each answer restarts the whole set's 7 days (EXPIRE per add).
	if n := mustRecord(t, s, "u", "q2"); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	h.Advance(isl.QueryTTL - time.Second)
	if n := mustCount(t, s, "u"); n != 2 {
		t.Fatalf("answered set expired early: %d", n)
	}
	h.Advance(time.Second)
	if n := mustCount(t, s, "u"); n != 0 {
		t.Fatalf("answered set outlived 7 d: %d", n)
	}
}

func testPing(t *testing.T, h Harness) {
	if err := h.Store.Ping(ctx()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// testSwapBeliefs: compare-and-set of beliefs (isl.BeliefsSwapper), for stores that offer it. Of many
// concurrent swaps from the same read exactly one wins.
func testSwapBeliefs(t *testing.T, h Harness) {
	sw, ok := h.Store.(isl.BeliefsSwapper)
	if !ok {
		t.Skip("store does not implement isl.BeliefsSwapper")
	}
	s := h.Store
	swap := func(user string, old []byte, existed bool, doc string) bool {
		t.Helper()
		done, err := sw.SwapBeliefs(ctx(), user, old, existed, []byte(doc))
		if err != nil {
			t.Fatalf("SwapBeliefs: %v", err)
		}
		return done
	}
	for _, u := range Users {
		if swap(u, []byte(`{}`), true, `{"v":0}`) {
			t.Errorf("%q: swap expecting a value succeeded on an absent one", u)
		}
		if !swap(u, nil, false, `{"v":1}`) {
			t.Fatalf("%q: swap on absent beliefs failed", u)
		}
		if swap(u, nil, false, `{"v":9}`) {
			t.Errorf("%q: swap expecting absence succeeded on a present value", u)
		}
		if swap(u, []byte(`{"v":2}`), true, `{"v":9}`) {
			t.Errorf("%q: swap with a stale value succeeded", u)
		}
		if !swap(u, []byte(`{"v":1}`), true, `{"v":2}`) {
			t.Errorf("%q: swap with the current value failed", u)
		}
		if got, ok := mustBeliefs(t, s, u); !ok || string(got) != `{"v":2}` {
			t.Errorf("%q: beliefs %q, %v after swaps", u, got, ok)
		}
	}
	if got, _ := mustBeliefs(t, s, Users[1]); string(got) != `{"v":2}` {
		t.Errorf("swap leaked across users: %q", got)
	}
	// Racing writers that all read the same value: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done, err := sw.SwapBeliefs(ctx(), "racer", nil, false, []byte(fmt.Sprintf(`{"w":%d}`, i)))
			if err != nil {
				t.Error(err)
				return
			}
			if done {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent swaps from the same state won, want 1", wins)
	}
}
