package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/benchmarks/integration"
	"github.com/olumi/isl/benchmarks/load"
	"github.com/olumi/isl/benchmarks/payloads"
)

// TestPilot runs the whole pilot scenario on one topology, in order: the faults leave traces
// (restarts, 503s during the Redis outage) that the monitoring checks at the end then find.
func TestPilot(t *testing.T) {
	p := startPilot(t)
	c := integration.NewClient(p.Endpoint, p.APIKey, p.TLS)
	if !p.TLS || !strings.HasPrefix(p.Endpoint, "https://") {
		t.Errorf("the pilot tier wants TLS; endpoint %s", p.Endpoint)
	}
	ok := t.Run("smoke: every endpoint through nginx", func(t *testing.T) { integration.Run(t, c) })
	ok = t.Run("nginx entry", func(t *testing.T) { testEntry(t, p) }) && ok
	ok = t.Run("hostile inputs", func(t *testing.T) { testHostileInputs(t, p) }) && ok
	ok = t.Run("replica failure under load", func(t *testing.T) { testReplicaFailure(t, p) }) && ok
	ok = t.Run("rolling restart under load", func(t *testing.T) { testRollingRestart(t, p) }) && ok
	ok = t.Run("redis restart keeps beliefs", func(t *testing.T) { testRedisRestart(t, p, c) }) && ok
	ok = t.Run("redis outage under load", func(t *testing.T) { testRedisOutageUnderLoad(t, p, c) }) && ok
	ok = t.Run("contention burst of one user is isolated", func(t *testing.T) { testContentionIsolated(t, p, c) }) && ok
	ok = t.Run("all replicas down and back under load", func(t *testing.T) { testAllReplicasDown(t, p, c) }) && ok
	ok = t.Run("slow clients", func(t *testing.T) { testSlowClients(t, p) }) && ok
	ok = t.Run("sentinel failover under load", func(t *testing.T) { testSentinelFailover(t, p, c) }) && ok
	t.Run("monitoring", func(t *testing.T) { testMonitoring(t, p) })
	_ = ok
}

// loadConfig is a steady mixed load through nginx, as the CEE would send it.
func loadConfig(p *pilot, d time.Duration) load.Config {
	return load.Config{Host: p.Endpoint, APIKey: p.APIKey, Insecure: p.TLS, Duration: d, Concurrency: 8, MaxRequests: 200_000}
}

// underLoad runs a mixed load while chaos runs, and returns the report after chaos returned and
// the load ran a little longer on the healed stack.
func underLoad(t *testing.T, p *pilot, chaos func()) load.Report {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rep load.Report
	var err error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rep, err = load.Run(ctx, loadConfig(p, 2*time.Minute))
	}()
	time.Sleep(1500 * time.Millisecond) // steady state first
	chaos()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func requireNoFailures(t *testing.T, rep load.Report) {
	t.Helper()
	t.Logf("%d requests in %.1fs (%.0f/s), %d failed", rep.Requests, rep.Seconds, rep.RPS, rep.Errors)
	if rep.Requests < 200 {
		t.Errorf("only %d requests: the load did not run", rep.Requests)
	}
	if rep.Errors != 0 {
		for _, e := range rep.Endpoints {
			for _, k := range e.ErrorKinds {
				t.Errorf("%s ×%d: %s", e.Endpoint, k.Count, k.Error)
			}
		}
		t.Fatalf("%d of %d requests failed at the client; want 0", rep.Errors, rep.Requests)
	}
}

func testEntry(t *testing.T, p *pilot) {
	c := integration.NewClient(p.Endpoint, p.APIKey, true)
	r, err := c.Do(context.Background(), http.MethodGet, "/health", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{"X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff", "Strict-Transport-Security": "max-age="} {
		if !strings.Contains(r.Header.Get(h), want) {
			t.Errorf("header %s = %q, want it to contain %q", h, r.Header.Get(h), want)
		}
	}
	if strings.Contains(r.Header.Get("Server"), "/") {
		t.Errorf("server version leaked: %q", r.Header.Get("Server"))
	}
	// Plain HTTP redirects to HTTPS, keeping the method (308).
	plain := integration.NewClient(p.HTTPURL, "", false)
	r, err = plain.Do(context.Background(), http.MethodGet, "/health", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusPermanentRedirect || !strings.HasPrefix(r.Header.Get("Location"), "https://") {
		t.Errorf("http: %d Location %q, want 308 to https", r.Status, r.Header.Get("Location"))
	}
	// /metrics is never proxied (Prometheus scrapes the replicas directly), whatever the client.
	r, err = c.Do(context.Background(), http.MethodGet, "/metrics", nil, false)
	if err != nil || r.Status != http.StatusNotFound || strings.Contains(string(r.Raw), "isl_service_up") {
		t.Errorf("/metrics through nginx: %v %d, want 404", err, r.Status)
	}
}

// testReplicaFailure crashes a replica under load. Requests that never reached it fail over; a
// POST in flight on it at the crash is not re-sent (it may be what crashed it, and nginx must not
// carry it to the next replica): its client gets a retryable 502, at most one per concurrent user.
func testReplicaFailure(t *testing.T, p *pilot) {
	victim := p.replicas()[1]
	rep := underLoad(t, p, func() {
		p.stop(t, victim, "KILL") // a crash: in-flight requests on it are cut
		time.Sleep(time.Second)
		p.start(t, victim)
		p.waitRouted(t, victim)
	})
	requireOnlyCut(t, rep, loadConfig(p, 0).Concurrency, "the crash")
}

// requireOnlyCut: every request succeeded except at most max cut ones, answered with nginx's
// retryable 502 envelope.
func requireOnlyCut(t *testing.T, rep load.Report, max int, by string) {
	t.Helper()
	t.Logf("%d requests in %.1fs (%.0f/s), %d failed", rep.Requests, rep.Seconds, rep.RPS, rep.Errors)
	if rep.Requests < 200 {
		t.Errorf("only %d requests: the load did not run", rep.Requests)
	}
	cut := 0
	for _, e := range rep.Endpoints {
		for status, n := range e.Statuses {
			switch status {
			case "200":
			case "502":
				cut += n
			default:
				t.Errorf("%s: %d answers %s (%v)", e.Endpoint, n, status, e.ErrorKinds)
			}
		}
		for _, k := range e.ErrorKinds {
			// (errors are cut at 200 bytes: the code stands for the envelope)
			if !strings.Contains(k.Error, `{"error_code":"service_unavailable"`) {
				t.Errorf("%s: %s (×%d)", e.Endpoint, k.Error, k.Count)
			}
		}
	}
	if cut > max {
		t.Errorf("%d requests cut by %s, more than %d", cut, by, max)
	}
}

// testRollingRestart restarts each replica in turn, gracefully, under load: the next replica goes
// only once nginx routes to the restarted one again (within fail_timeout, 1 s), which is the
// operator's procedure too. A stopping replica drains what it accepted and refuses new connections,
// which nginx sends elsewhere; only a request whose connection the kernel had completed in the
// instant the replica closed its listening socket is reset after being sent, and nginx re-sends
// it to the next replica (every route is idempotent), so the client should see none; a cut request
// would be nginx's retryable 502 envelope.
func testRollingRestart(t *testing.T, p *pilot) {
	rep := underLoad(t, p, func() {
		for _, r := range p.replicas() {
			p.stop(t, r, "TERM") // graceful: the replica drains in-flight requests
			p.start(t, r)
			p.waitRouted(t, r)
		}
	})
	requireOnlyCut(t, rep, len(p.replicas()), "the listener closes of three graceful restarts")
}

func testRedisRestart(t *testing.T, p *pilot, c *integration.Client) {
	ctx := context.Background()
	user := fmt.Sprintf("e2e-redis-%d", time.Now().UnixNano())
	q0, err := c.Elicit(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	u1, err := c.Update(ctx, user, q0)
	if err != nil || u1.QueriesCompleted != 1 {
		t.Fatalf("first answer: %+v %v", u1.QueriesCompleted, err)
	}
	p.stop(t, "redis", "TERM")
	// While Redis is down, stateful calls answer 503 retryable (docs/api.md#state), stateless ones keep working.
	r, err := c.Post(ctx, payloads.Update.Path, payloads.UpdateBody(user, u1.NextQueryID, "A"))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := r.JSON(); r.Status != http.StatusServiceUnavailable || m["retryable"] != true {
		t.Errorf("update with Redis down: %d %s", r.Status, r.Raw)
	}
	if r, err := c.Post(ctx, payloads.CausalValidate.Path, payloads.CausalValidate.Body()); err != nil || r.Status != 200 {
		t.Errorf("stateless call with Redis down: %v %d", err, r.Status)
	}
	p.start(t, "redis")
	// The replicas reconnect with backoff; then the flow continues where it was.
	var u2 integration.UpdateResult
	if err := eventually(20*time.Second, func() error {
		u2, err = c.Update(ctx, user, u1.NextQueryID)
		return err
	}); err != nil {
		t.Fatalf("flow after Redis restart: %v", err)
	}
	if u2.QueriesCompleted != 2 {
		t.Fatalf("queries_completed %d after the restart, want 2: beliefs or history were lost", u2.QueriesCompleted)
	}
}

// promQuery evaluates expr now; it returns the number of series or an error (bad query, API error).
func promQuery(p *pilot, expr string) (int, error) {
	resp, err := http.Get(p.PrometheusURL + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string            `json:"resultType"`
			Result     []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("decode %s: %w", b, err)
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("query %q: %s", expr, r.Error)
	}
	return len(r.Data.Result), nil
}

func promGet(p *pilot, path string, v any) error {
	resp, err := http.Get(p.PrometheusURL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// comparison is a trailing threshold comparison of an alert expression; without it the expression
// returns the measured value, which must exist after the load run.
var comparison = regexp.MustCompile(`\s*(==|!=|>=|<=|>|<)\s*[0-9.eE+-]+\s*$`)

func testMonitoring(t *testing.T, p *pilot) {
	// Fresh traffic of every kind on the current processes (the restarts above reset their
	// counters): answers, 4xx from the contract suite, then a few scrapes.
	integration.Run(t, integration.NewClient(p.Endpoint, p.APIKey, p.TLS))
	rep, err := load.Run(context.Background(), loadConfig(p, 3*time.Second))
	if err != nil || rep.Errors != 0 {
		t.Fatalf("load before the monitoring checks: %v, %d errors", err, rep.Errors)
	}
	time.Sleep(3 * time.Second)
	t.Run("every target up", func(t *testing.T) {
		if err := eventually(20*time.Second, func() error {
			var r struct {
				Data struct {
					ActiveTargets []struct {
						ScrapeURL string `json:"scrapeUrl"`
						Health    string `json:"health"`
						Labels    map[string]string
					} `json:"activeTargets"`
				} `json:"data"`
			}
			if err := promGet(p, "/api/v1/targets", &r); err != nil {
				return err
			}
			isl := 0
			for _, tg := range r.Data.ActiveTargets {
				if tg.Health != "up" {
					return fmt.Errorf("target %s is %s", tg.ScrapeURL, tg.Health)
				}
				if tg.Labels["job"] == "isl" {
					isl++
				}
			}
			if isl != len(p.replicas()) {
				return fmt.Errorf("%d isl targets, want %d", isl, len(p.replicas()))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("alert rules evaluate and have data", func(t *testing.T) {
		var r struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name           string `json:"name"`
						Type           string `json:"type"`
						Query          string `json:"query"`
						Health         string `json:"health"`
						LastError      string `json:"lastError"`
						LastEvaluation string `json:"lastEvaluation"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := promGet(p, "/api/v1/rules", &r); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, g := range r.Data.Groups {
			for _, rule := range g.Rules {
				if rule.Health != "ok" || rule.LastError != "" {
					t.Errorf("rule %s: health %q, error %q", rule.Name, rule.Health, rule.LastError)
				}
				if rule.Type != "alerting" {
					continue // recording rules have no threshold; the alerts that use them are checked
				}
				n++
				if _, err := promQuery(p, rule.Query); err != nil {
					t.Errorf("rule %s: %v", rule.Name, err)
				}
				value := comparison.ReplaceAllString(rule.Query, "")
				if inner, ok := strings.CutPrefix(rule.Query, "absent("); ok {
					value = strings.TrimSuffix(inner, ")") // fires on no data: what it watches must have data
				}
				if value == rule.Query {
					t.Errorf("rule %s: no threshold comparison to strip from %q", rule.Name, rule.Query)
					continue
				}
				if m := notExported(p, value); m != "" {
					t.Logf("rule %s: no data: %s is not exported by this topology", rule.Name, m)
					continue
				}
				if err := eventually(10*time.Second, func() error {
					k, err := promQuery(p, value)
					if err == nil && k == 0 {
						return fmt.Errorf("%q returned no data", value)
					}
					return err
				}); err != nil {
					t.Errorf("rule %s: %v", rule.Name, err)
				}
			}
		}
		if n < 7 {
			t.Errorf("%d alert rules loaded, want at least 7 (down, 2×latency, errors, redis, active, memory)", n)
		}
	})
	t.Run("dashboard queries evaluate and have data", func(t *testing.T) {
		out, err := exec.Command(p.bin, "queries").Output()
		if err != nil {
			t.Fatal(err)
		}
		var qs []struct{ Dashboard, Panel, RefID, Expr string }
		if err := json.Unmarshal(out, &qs); err != nil || len(qs) == 0 {
			t.Fatalf("queries: %v %s", err, out)
		}
		for _, q := range qs {
			if m := notExported(p, q.Expr); m != "" {
				// Still valid PromQL: promQuery fails on a bad expression.
				if _, err := promQuery(p, q.Expr); err != nil {
					t.Errorf("%s / %s: %v", q.Panel, q.RefID, err)
				}
				t.Logf("%s / %s: no data: %s is not exported by this topology", q.Panel, q.RefID, m)
				continue
			}
			if err := eventually(10*time.Second, func() error {
				k, err := promQuery(p, q.Expr)
				if err == nil && k == 0 {
					return fmt.Errorf("no data")
				}
				return err
			}); err != nil {
				t.Errorf("%s / %s (%s): %v", q.Panel, q.RefID, q.Expr, err)
			}
		}
	})
	t.Run("stopped replica's down alert reaches the webhook", func(t *testing.T) {
		victim := p.replicas()[2]
		addr := p.addr(t, victim)
		p.stop(t, victim, "TERM")
		defer p.start(t, victim)
		if err := eventually(30*time.Second, func() error {
			var r struct {
				Data struct {
					Alerts []struct {
						Labels map[string]string `json:"labels"`
						State  string            `json:"state"`
					} `json:"alerts"`
				} `json:"data"`
			}
			if err := promGet(p, "/api/v1/alerts", &r); err != nil {
				return err
			}
			for _, a := range r.Data.Alerts {
				if a.Labels["alertname"] == "ISLServiceDown" && a.Labels["instance"] == addr && (a.State == "pending" || a.State == "firing") {
					return nil
				}
			}
			return fmt.Errorf("ISLServiceDown not pending for %s: %+v", addr, r.Data.Alerts)
		}); err != nil {
			t.Fatal(err)
		}
		// Pending for the rule's 1 minute, then firing: Prometheus → Alertmanager → webhook.
		start := time.Now()
		n, err := p.alerts.wait("ISLServiceDown", 100*time.Second, func(n notification) bool { return n.Status == "firing" })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ISLServiceDown delivered %.0fs after pending", time.Since(start).Seconds())
		if n.Receiver != "critical" || len(n.Alerts) != 1 || n.Alerts[0].Labels["instance"] != addr ||
			n.CommonLabels["severity"] != "critical" || n.CommonLabels["stack"] != "pilot" || n.GroupLabels["stack"] != "pilot" {
			t.Errorf("notification %+v: want one critical ISLServiceDown for %s, grouped by alertname and stack", n, addr)
		}
	})
}
