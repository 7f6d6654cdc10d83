package http

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/service/internal/redistest"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/memory"
	islredis "github.com/olumi/isl/service/redis"
)

// raceStore forwards to a real store but holds the first `hold` GetBeliefs calls until all of them
// have read, so that concurrent requests are guaranteed to start from the same stored state.
type raceStore struct {
	*islredis.Store
	mu      sync.Mutex
	hold    int
	arrived int
	release chan struct{}
}

func (s *raceStore) GetBeliefs(ctx context.Context, userID string) ([]byte, bool, error) {
	doc, ok, err := s.Store.GetBeliefs(ctx, userID)
	s.mu.Lock()
	if s.arrived >= s.hold {
		s.mu.Unlock()
		return doc, ok, err
	}
	s.arrived++
	if s.arrived == s.hold {
		close(s.release)
	}
	s.mu.Unlock()
	select {
	case <-s.release:
	case <-time.After(10 * time.Second):
	}
	return doc, ok, err
}

func (s *raceStore) arm(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold, s.arrived, s.release = n, 0, make(chan struct{})
}

var _ isl.BeliefsSwapper = (*raceStore)(nil)

// TestConcurrentUpdatesKeepEveryAnswer: two /preferences/update calls for one user that both read
// the same stored posterior, on two instances sharing one real Redis, must both end up in the stored
// answer history (optimistic concurrency on the beliefs document), not last-write-wins.
func TestConcurrentUpdatesKeepEveryAnswer(t *testing.T) {
	srv := redistest.Start(t)
	newStore := func() *islredis.Store {
		st := islredis.New(islredis.Options{Addr: srv.Addr, Password: srv.Password})
		t.Cleanup(func() { st.Close() })
		return st
	}
	rs := &raceStore{Store: newStore()}
	a, b := newTestServer(t, nil, rs), newTestServer(t, nil, rs)
	const user = "erin"
	el := a.post(elicitPath, `{"user_id":"`+user+`","context":{"domain":"d","variables":["x","y","z"]},"num_queries":4}`)
	if el.Status != 200 {
		t.Fatalf("elicit %d %s", el.Status, el.Raw)
	}
	id0, id1 := prefGet(el.Body, "queries", 0, "id").Str, prefGet(el.Body, "queries", 1, "id").Str

	rs.arm(2)
	var wg sync.WaitGroup
	res := make([]response, 2)
	for i, tc := range []struct {
		s  *testServer
		id string
	}{{a, id0}, {b, id1}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = tc.s.post(updatePath, `{"user_id":"`+user+`","query_id":"`+tc.id+`","response":"A"}`)
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r.Status != 200 {
			t.Fatalf("update %d: %d %s", i, r.Status, r.Raw)
		}
	}
	doc, ok, err := rs.Store.GetBeliefs(context.Background(), user)
	if err != nil || !ok {
		t.Fatalf("stored beliefs: %v %v", ok, err)
	}
	var d beliefsDoc
	if err := json.Unmarshal(doc, &d); err != nil || d.Posterior == nil {
		t.Fatalf("stored doc: %v", err)
	}
	got := map[string]bool{}
	for _, h := range d.Posterior.History {
		got[h.QueryID] = true
	}
	if !got[id0] || !got[id1] || d.Posterior.Answered != 2 {
		t.Errorf("stored history %v (answered %d), want both %s and %s", got, d.Posterior.Answered, id0, id1)
	}
}

// alwaysStale is a store on which every compare-and-set loses (another writer always got there first).
type alwaysStale struct{ *memory.Store }

func (alwaysStale) SwapBeliefs(context.Context, string, []byte, bool, []byte) (bool, error) {
	return false, nil
}

// TestStateContentionIsRetryable: a request that loses every race for the user's state answers 503
// retryable after a bounded number of attempts (never loops, never overwrites).
func TestStateContentionIsRetryable(t *testing.T) {
	s := newTestServer(t, nil, alwaysStale{memory.New(memory.Options{})})
	r := s.post(elicitPath, `{"user_id":"u","context":{"domain":"d","variables":["x","y"]}}`)
	r.envelope(t, 503, "service_unavailable")
	if retry, _ := r.Body.Get("retryable"); !retry.Bool {
		t.Errorf("contention not retryable: %s", r.Raw)
	}
}
