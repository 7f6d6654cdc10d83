package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/benchmarks/integration"
	"github.com/olumi/isl/benchmarks/payloads"
)

// redisView is what a replica's /health says about the Redis topology.
func (p *pilot) redisView(t *testing.T) (primary string, replicas int) {
	t.Helper()
	resp, err := http.Get("http://" + p.addrOf(p.replicas()[0]) + "/health")
	if err != nil {
		return "", -1
	}
	defer resp.Body.Close()
	var h struct {
		Dependencies struct {
			Redis struct {
				Replication *struct {
					Primary        string `json:"primary"`
					ReplicasOnline int    `json:"replicas_online"`
				} `json:"replication"`
			} `json:"redis"`
		} `json:"dependencies"`
	}
	if json.NewDecoder(resp.Body).Decode(&h) != nil || h.Dependencies.Redis.Replication == nil {
		return "", -1
	}
	return h.Dependencies.Redis.Replication.Primary, h.Dependencies.Redis.Replication.ReplicasOnline
}

// failoverUser is one user's preference flow through nginx. An acknowledged /update (200) must
// never be forgotten: its queries_completed counts at least every query acknowledged so far.
type failoverUser struct {
	id, next string
	acked    map[string]bool
	retries  int
	errs     []string

	mu      sync.Mutex
	lastAck time.Time
}

func (u *failoverUser) ackedAfter(t time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lastAck.After(t)
}

func (u *failoverUser) step(ctx context.Context, c *integration.Client) {
	if u.next == "" {
		q, err := c.Elicit(ctx, u.id)
		if err != nil {
			if ctx.Err() == nil {
				u.note(err.Error())
			}
			return
		}
		u.next = q
		return
	}
	r, err := c.Post(ctx, payloads.Update.Path, payloads.UpdateBody(u.id, u.next, "A"))
	if err != nil {
		if ctx.Err() == nil { // not the test ending the load
			u.errs = append(u.errs, "transport: "+err.Error())
		}
		return
	}
	m, _ := r.JSON()
	switch {
	case r.Status == http.StatusServiceUnavailable && m["retryable"] == true:
		u.retries++
		time.Sleep(50 * time.Millisecond)
		return
	case r.Status != http.StatusOK:
		u.errs = append(u.errs, fmt.Sprintf("update: %d %.200s", r.Status, r.Raw))
		time.Sleep(100 * time.Millisecond)
		return
	}
	u.acked[u.next] = true
	if done, _ := m["queries_completed"].(float64); int(done) < len(u.acked) {
		u.errs = append(u.errs, fmt.Sprintf("queries_completed %d after %d acknowledged answers: an acknowledged update was lost", int(done), len(u.acked)))
	}
	u.mu.Lock()
	u.lastAck = time.Now()
	u.mu.Unlock()
	next, err := payloads.FirstQueryID(r.Raw)
	if err != nil {
		u.errs = append(u.errs, err.Error())
		return
	}
	u.next = next
}

func (u *failoverUser) note(e string) {
	if strings.HasPrefix(e, "elicit: status 503") {
		u.retries++
		time.Sleep(50 * time.Millisecond)
		return
	}
	u.errs = append(u.errs, e)
}

// testSentinelFailover kills the Redis primary (SIGKILL) during a steady preference flow through
// nginx: Sentinel promotes the replica, requests in the window get only 503 retryable, the flow
// continues, no acknowledged update is lost, and the old primary rejoins as a replica.
func testSentinelFailover(t *testing.T, p *pilot, c *integration.Client) {
	// An earlier Redis restart may still be resyncing: start from a topology that has been stable
	// (same primary, its replica streaming) for three health refreshes.
	var primary string
	stable := 0
	if err := eventually(60*time.Second, func() error {
		now, n := p.redisView(t)
		if now == "" || n != 1 || now != primary {
			primary, stable = now, 0
			return fmt.Errorf("primary %q with %d replicas online", now, n)
		}
		if stable++; stable < 3 {
			time.Sleep(2 * time.Second)
			return errNotYet
		}
		return nil
	}); err != nil {
		t.Fatalf("want a stable primary with one replica before the test: %v", err)
	}
	victim := ""
	for _, comp := range p.Components {
		if comp.Kind == "redis" && comp.Addr == primary {
			victim = comp.Name
		}
	}
	if victim == "" {
		t.Fatalf("no component is the primary %s", primary)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	users := make([]*failoverUser, 4)
	var wg sync.WaitGroup
	for i := range users {
		users[i] = &failoverUser{id: fmt.Sprintf("e2e-failover-%d-%d", time.Now().UnixNano(), i), acked: map[string]bool{}}
		wg.Add(1)
		go func(u *failoverUser) {
			defer wg.Done()
			for ctx.Err() == nil {
				u.step(ctx, c)
				time.Sleep(10 * time.Millisecond)
			}
		}(users[i])
	}
	time.Sleep(2 * time.Second)
	killed := time.Now()
	p.stop(t, victim, "KILL")
	var promoted time.Duration
	if err := eventually(30*time.Second, func() error {
		if now, _ := p.redisView(t); now != "" && now != primary {
			promoted = time.Since(killed)
			return nil
		}
		return errNotYet
	}); err != nil {
		t.Fatalf("no replica promoted: %v", err)
	}
	var resumed time.Duration
	if err := eventually(30*time.Second, func() error {
		for _, u := range users {
			if !u.ackedAfter(killed.Add(promoted)) {
				return errNotYet
			}
		}
		resumed = time.Since(killed)
		return nil
	}); err != nil {
		cancel()
		wg.Wait()
		for _, u := range users {
			for i, e := range u.errs {
				if i < 3 {
					t.Errorf("%s: %s (%d errors)", u.id, e, len(u.errs))
				}
			}
		}
		t.Fatalf("the flow did not continue after the failover: %v", err)
	}
	p.start(t, victim)
	if err := eventually(45*time.Second, func() error {
		if _, n := p.redisView(t); n != 1 {
			return fmt.Errorf("%d replicas online", n)
		}
		return nil
	}); err != nil {
		t.Fatalf("the old primary %s did not rejoin as a replica: %v", victim, err)
	}
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	acked, retries := 0, 0
	for _, u := range users {
		acked += len(u.acked)
		retries += u.retries
		for _, e := range u.errs {
			t.Errorf("%s: %s", u.id, e)
		}
		// One more answer after everything settled: the count still holds every acknowledged one.
		r, err := c.Update(context.Background(), u.id, u.next)
		if err != nil || r.QueriesCompleted < len(u.acked)+1 {
			t.Errorf("%s: after the rejoin: completed %d, acknowledged %d, %v", u.id, r.QueriesCompleted, len(u.acked), err)
		}
	}
	if retries == 0 {
		t.Error("no request met the failover window")
	}
	t.Logf("sentinel failover through pilot-local: primary %s killed, replica promoted after %.1fs, flow resumed after %.1fs; %d acknowledged updates, %d retried 503s, 0 other errors allowed",
		victim, promoted.Seconds(), resumed.Seconds(), acked, retries)
}
