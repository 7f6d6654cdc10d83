package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/service/diagnose"
	"github.com/olumi/isl/service/internal/redistest"
	"github.com/olumi/isl/service/internal/storekey"
)

// flowUser drives one user's preference flow: one /elicit, then /update after /update, each
// answering the first query the previous answer proposed. A 503 (retryable) is retried with the same
// request; any other failure is recorded. acked lists the query ids whose /update answered 200.
type flowUser struct {
	id      string
	next    string
	acked   []string
	retries int
	errs    []string
}

func postJSON(url, body string) (int, []byte, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// step makes one request of the flow. It reports whether the answer was 200.
func (u *flowUser) step(base string, afterAck func()) bool {
	var url, body string
	if u.next == "" {
		url = base + "/api/v1/preferences/elicit"
		body = fmt.Sprintf(`{"user_id":%q,"context":{"domain":"general","variables":["a","b","c"]},"num_queries":1}`, u.id)
	} else {
		url = base + "/api/v1/preferences/update"
		body = fmt.Sprintf(`{"user_id":%q,"query_id":%q,"response":"A","confidence":0.9}`, u.id, u.next)
	}
	code, b, err := postJSON(url, body)
	switch {
	case err != nil:
		u.errs = append(u.errs, "transport: "+err.Error())
		return false
	case code == http.StatusServiceUnavailable:
		var e struct {
			Retryable bool `json:"retryable"`
		}
		if json.Unmarshal(b, &e) != nil || !e.Retryable {
			u.errs = append(u.errs, fmt.Sprintf("503 not retryable: %s", b))
		}
		u.retries++
		time.Sleep(20 * time.Millisecond)
		return false
	case code != http.StatusOK:
		u.errs = append(u.errs, fmt.Sprintf("%s: %d %s", url[len(base):], code, b))
		time.Sleep(20 * time.Millisecond)
		return false
	}
	var r struct {
		Queries     []struct{ ID string } `json:"queries"`
		NextQueries []struct{ ID string } `json:"next_queries"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		u.errs = append(u.errs, "decode: "+err.Error())
		return false
	}
	qs := r.NextQueries
	if u.next == "" {
		qs = r.Queries
	} else {
		u.acked = append(u.acked, u.next)
		afterAck()
	}
	if len(qs) == 0 {
		u.errs = append(u.errs, "no next query")
		return false
	}
	u.next = qs[0].ID
	return true
}

// Kill the Redis primary during a steady preference flow: Sentinel promotes the replica, the requests
// in the window get only 503 retryable, the flow continues, no acknowledged belief update is lost,
// and the old primary rejoins as a replica.
func TestSentinelFailoverUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("failover run: skipped with -short")
	}
	const downAfter = 1000 * time.Millisecond
	ha := redistest.StartHA(t, downAfter)
	base, _ := start(t, testConfig(t, map[string]string{
		"REDIS_SENTINELS": strings.Join(ha.SentinelAddrs(), ","), "REDIS_MASTER_NAME": redistest.MasterName,
		"REDIS_PASSWORD": ha.Password, "REDIS_SENTINEL_PASSWORD": ha.Password, "REDIS_WAIT_TIMEOUT_MS": "300",
	}))
	oldPrimary, err := ha.Primary()
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var lastAck time.Time
	afterAck := func() { mu.Lock(); lastAck = time.Now(); mu.Unlock() }
	stop := make(chan struct{})
	users := make([]*flowUser, 4)
	var wg sync.WaitGroup
	for i := range users {
		users[i] = &flowUser{id: fmt.Sprintf("failover-user-%d", i)}
		wg.Add(1)
		go func(u *flowUser) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				u.step(base, afterAck)
				time.Sleep(5 * time.Millisecond) // steady, not saturating: the machine is shared
			}
		}(users[i])
	}
	acked := func() int {
		n := 0
		for _, u := range users {
			n += len(u.acked)
		}
		return n
	}
	time.Sleep(1500 * time.Millisecond) // steady state

	killed := time.Now()
	ha.Node(oldPrimary).Kill()
	var newPrimary string
	ha.WaitFor(downAfter+15*time.Second, "a replica promoted", func() bool {
		p, err := ha.Primary()
		if err == nil && p != oldPrimary {
			newPrimary = p
			return true
		}
		return false
	})
	promoted := time.Since(killed)
	// The flow continues: acknowledged updates after the promotion.
	ha.WaitFor(15*time.Second, "acknowledged updates after the failover", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return lastAck.After(killed.Add(promoted))
	})
	resumed := time.Since(killed)
	time.Sleep(time.Second)

	// The old primary comes back (same configuration, same AOF) and Sentinel turns it into a replica.
	if err := ha.Node(oldPrimary).Start(); err != nil {
		t.Fatal(err)
	}
	ha.WaitFor(20*time.Second, "old primary rejoined as a replica", func() bool {
		role, err := ha.Role(ha.Node(oldPrimary))
		if err != nil || role != "slave" {
			return false
		}
		info, err := ha.Node(oldPrimary).Do(ha.Password, "INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	time.Sleep(500 * time.Millisecond) // writes wait for the rejoined replica again
	close(stop)
	wg.Wait()

	retries := 0
	for _, u := range users {
		retries += u.retries
		for _, e := range u.errs {
			t.Errorf("%s: %s", u.id, e)
		}
	}
	t.Logf("failover: promoted after %s (down-after %s), flow resumed after %s, %d acknowledged updates, %d retried 503s",
		promoted.Round(time.Millisecond), downAfter, resumed.Round(time.Millisecond), acked(), retries)
	if promoted > downAfter+10*time.Second {
		t.Errorf("promotion took %s", promoted)
	}
	if retries == 0 {
		t.Errorf("no request met the failover window: the test did not exercise it")
	}

	// Every acknowledged update is on the new primary: its query is in the user's answered set and
	// the posterior counts at least that many answers.
	np := ha.Node(newPrimary)
	for _, u := range users {
		if len(u.acked) == 0 {
			t.Errorf("%s: no acknowledged update", u.id)
			continue
		}
		prefix := "isl:user:" + storekey.User(u.id) + ":"
		members, err := np.Do(ha.Password, "ZRANGE", prefix+"queries", "0", "-1")
		if err != nil {
			t.Fatal(err)
		}
		lost := 0
		for _, q := range u.acked {
			k, _ := storekey.Query(q)
			if !strings.Contains(members, "\r\n"+k+"\r\n") {
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("%s: %d of %d acknowledged updates lost", u.id, lost, len(u.acked))
		}
		doc, err := np.Do(ha.Password, "GET", prefix+"beliefs")
		if err != nil {
			t.Fatal(err)
		}
		var bd struct {
			Posterior struct {
				Answered int `json:"answered"`
			} `json:"posterior"`
		}
		if i := strings.Index(doc, "\r\n"); i < 0 || json.Unmarshal([]byte(doc[i+2:]), &bd) != nil {
			t.Fatalf("%s: beliefs unreadable: %.200q", u.id, doc)
		}
		if bd.Posterior.Answered < distinct(u.acked) {
			t.Errorf("%s: posterior counts %d answers, %d acknowledged", u.id, bd.Posterior.Answered, distinct(u.acked))
		}
	}
	// The service saw the primary change (health loop, every 2 s).
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m, _ := get(base + "/metrics")
		if strings.Contains(m, "isl_redis_primary_changes_total 1") && strings.Contains(m, `isl_redis_primary_info{address="`+newPrimary+`"} 1`) &&
			strings.Contains(m, "isl_redis_replicas_connected 1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replication metrics not updated:\n%s", grep(m, "isl_redis_"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	var out strings.Builder
	diagnose.Print(&out, diagnose.Run(context.Background(), diagnose.Options{URL: base, Lookup: func(k string) (string, bool) {
		v, ok := map[string]string{"REDIS_SENTINELS": strings.Join(ha.SentinelAddrs(), ","), "REDIS_MASTER_NAME": redistest.MasterName,
			"REDIS_PASSWORD": ha.Password, "REDIS_SENTINEL_PASSWORD": ha.Password}[k]
		return v, ok
	}}))
	if !strings.Contains(out.String(), "primary "+newPrimary+" named by 3 of 3 Sentinels") || !strings.Contains(out.String(), "role master, 1 replica(s) online") {
		t.Errorf("diagnose does not report the primary and its replica:\n%s", out.String())
	}
	_, h, _ := get(base + "/health")
	if !strings.Contains(h, `"primary":"`+newPrimary+`"`) || !strings.Contains(h, `"replicas_online":1`) {
		t.Errorf("health does not report the new primary %s with its replica: %s", newPrimary, h)
	}
}

func distinct(xs []string) int {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return len(m)
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
