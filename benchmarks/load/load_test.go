package load

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/olumi/isl/benchmarks/payloads"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentileNearestRank(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, ms(i))
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 95, 0},
		{"single", []time.Duration{ms(7)}, 50, ms(7)},
		{"p50 of 1..100", hundred, 50, ms(50)},
		{"p95 of 1..100", hundred, 95, ms(95)},
		{"p99 of 1..100", hundred, 99, ms(99)},
		{"p100", hundred, 100, ms(100)},
		{"p95 of 4", []time.Duration{ms(1), ms(2), ms(3), ms(40)}, 95, ms(40)},
		{"p50 of 4", []time.Duration{ms(1), ms(2), ms(3), ms(40)}, 50, ms(2)},
		{"tiny p", []time.Duration{ms(1), ms(2)}, 0.001, ms(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	var s []Sample
	for i := 1; i <= 20; i++ {
		s = append(s, Sample{Endpoint: "causal/validate", Latency: ms(i), OK: true, Status: 200})
	}
	s = append(s,
		Sample{Endpoint: "zzz", Latency: ms(1), OK: true, Status: 200},
		Sample{Endpoint: "health", Latency: ms(1), OK: true, Status: 200},
		Sample{Endpoint: "preferences/update", Latency: ms(3), Status: 502, Err: "status 502"},
		Sample{Endpoint: "preferences/update", Latency: ms(5), Err: "connection refused"},
		Sample{Endpoint: "preferences/update", Latency: ms(4), OK: true, Status: 200},
	)
	st := Summarise(s, 2*time.Second)
	var names []string
	for _, e := range st {
		names = append(names, e.Endpoint)
	}
	if got := strings.Join(names, ","); got != "causal/validate,preferences/update,health,zzz" {
		t.Fatalf("order %s", got)
	}
	cv := st[0]
	if cv.Requests != 20 || cv.Errors != 0 || cv.SuccessRate != 100 || cv.P50 != Millis(ms(10)) || cv.P95 != Millis(ms(19)) ||
		cv.P99 != Millis(ms(20)) || cv.Max != Millis(ms(20)) || cv.RPS != 10 || cv.Class != payloads.Causal {
		t.Fatalf("causal stats %+v", cv)
	}
	up := st[1]
	if up.Requests != 3 || up.Errors != 2 || up.Statuses["502"] != 1 || up.Statuses["transport_error"] != 1 || up.Statuses["200"] != 1 ||
		len(up.FirstErrors) != 2 || up.P50 != Millis(ms(4)) || up.Mean != Millis(ms(4)) {
		t.Fatalf("update stats %+v", up)
	}
	if d := 100 * 1.0 / 3; up.SuccessRate < d-1e-9 || up.SuccessRate > d+1e-9 {
		t.Fatalf("success %v", up.SuccessRate)
	}
	b, err := json.Marshal(cv)
	if err != nil || !bytes.Contains(b, []byte(`"p95_ms":19.000`)) {
		t.Fatalf("json %s %v", b, err)
	}
}

func stats(endpoint string, class payloads.Class, n, errs int, p95 time.Duration) EndpointStats {
	return EndpointStats{Endpoint: endpoint, Class: class, Requests: n, Errors: errs, P95: Millis(p95)}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name        string
		stats       []EndpointStats
		concurrency int
		pass        bool
		failing     string
	}{
		{"all good at 100 users", []EndpointStats{stats("causal/validate", payloads.Causal, 1000, 0, ms(1999)), stats("teaching/teach", payloads.Preference, 1000, 0, ms(1499))}, 100, true, ""},
		{"below 100 users is informational", []EndpointStats{stats("causal/validate", payloads.Causal, 1000, 0, ms(10))}, 10, true, ""},
		{"causal p95 at the limit fails", []EndpointStats{stats("causal/counterfactual", payloads.Causal, 1000, 0, ms(2000))}, 100, false, "p95 causal/counterfactual"},
		{"preference limit is 1.5s", []EndpointStats{stats("preferences/elicit", payloads.Preference, 1000, 0, ms(1600))}, 100, false, "p95 preferences/elicit"},
		{"99.5% exactly fails", []EndpointStats{stats("causal/validate", payloads.Causal, 1000, 5, ms(1))}, 100, false, "success rate"},
		{"99.6% passes", []EndpointStats{stats("causal/validate", payloads.Causal, 1000, 4, ms(1))}, 100, true, ""},
		{"errors pooled over endpoints", []EndpointStats{stats("causal/validate", payloads.Causal, 500, 0, ms(1)), stats("team/align", payloads.Causal, 500, 6, ms(1))}, 100, false, "success rate"},
		{"health has no latency SLO", []EndpointStats{stats("health", payloads.Reference, 1000, 0, ms(5000))}, 100, true, ""},
		{"no requests fails", nil, 100, false, "requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.stats, tc.concurrency, PilotSLO)
			if v.Pass != tc.pass {
				t.Fatalf("pass %v, want %v: %+v", v.Pass, tc.pass, v.Checks)
			}
			var failing []string
			for _, c := range v.Checks {
				if !c.Pass && !c.Informational {
					failing = append(failing, c.Name)
				}
			}
			if got := strings.Join(failing, ","); got != tc.failing {
				t.Fatalf("failing %q, want %q", got, tc.failing)
			}
		})
	}
}

// fakeISL answers like ISL: 200 with a query id for /elicit, 200 for the rest; it counts requests.
func fakeISL(t *testing.T, key string, fail func(path string) bool) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		body, _ := io.ReadAll(r.Body)
		if key != "" && r.Header.Get("X-API-Key") != key && r.URL.Path != "/health" {
			w.WriteHeader(401)
			return
		}
		if fail != nil && fail(r.URL.Path) {
			w.WriteHeader(503)
			return
		}
		if r.Method == http.MethodPost && !json.Valid(body) {
			w.WriteHeader(422)
			return
		}
		switch r.URL.Path {
		case payloads.Elicit.Path:
			_, _ = w.Write([]byte(`{"queries":[{"id":"query_000_abcdef12"}]}`))
		case payloads.Update.Path:
			if !bytes.Contains(body, []byte(`"query_000_abcdef12"`)) {
				w.WriteHeader(400)
				return
			}
			_, _ = w.Write([]byte(`{}`))
		default:
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestRunMixAgainstLoopback(t *testing.T) {
	srv, n := fakeISL(t, "k1", nil)
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Config{Host: srv.URL, APIKey: "k1", Duration: 300 * time.Millisecond, Concurrency: 3,
		MaxRequests: 400, Progress: &progress, ProgressEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || int64(rep.Requests) > n.Load() || rep.Requests > 400 || rep.Errors != 0 || !rep.Verdict.Pass {
		t.Fatalf("report %+v (server saw %d)", rep, n.Load())
	}
	seen := map[string]bool{}
	for _, e := range rep.Endpoints {
		seen[e.Endpoint] = true
	}
	for _, e := range payloads.All() {
		if e != payloads.Health && !seen[e.Name] {
			t.Errorf("endpoint %s never exercised", e.Name)
		}
	}
	if !strings.Contains(progress.String(), "requests ") || !strings.Contains(progress.String(), "errors 0") {
		t.Errorf("progress %q", progress.String())
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "VERDICT: PASS") {
		t.Errorf("text %s", text.String())
	}
}

func TestRunCountsFailuresAndFailsVerdict(t *testing.T) {
	srv, _ := fakeISL(t, "k1", func(p string) bool { return p == payloads.TeamAlign.Path })
	rep, err := Run(context.Background(), Config{Host: srv.URL, APIKey: "k1", Duration: 200 * time.Millisecond, Concurrency: 2, MaxRequests: 200})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors == 0 || rep.Verdict.Pass {
		t.Fatalf("want failures and a failed verdict: %+v", rep)
	}
	// A wrong key: every API request fails with 401.
	rep, _ = Run(context.Background(), Config{Host: srv.URL, APIKey: "wrong", Duration: 100 * time.Millisecond, Concurrency: 1, MaxRequests: 50})
	if rep.Errors != rep.Requests || rep.Verdict.Pass {
		t.Fatalf("wrong key: %+v", rep)
	}
}

func TestRunBoundedByCount(t *testing.T) {
	srv, n := fakeISL(t, "", nil)
	rep, err := Run(context.Background(), Config{Host: srv.URL, Duration: 10 * time.Second, Concurrency: 4, Mix: MixHealth, MaxRequests: 37})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 37 || n.Load() != 37 || len(rep.Endpoints) != 1 || rep.Endpoints[0].Endpoint != "health" {
		t.Fatalf("report %+v, server saw %d", rep, n.Load())
	}
	if rep.Seconds > 5 {
		t.Fatalf("count bound did not stop the run: %.1fs", rep.Seconds)
	}
}

func TestConfigRejected(t *testing.T) {
	for _, c := range []Config{
		{Host: "", Duration: time.Second, Concurrency: 1},
		{Host: "127.0.0.1:8000", Duration: time.Second, Concurrency: 1},
		{Host: "http://127.0.0.1:1", Duration: 0, Concurrency: 1},
		{Host: "http://127.0.0.1:1", Duration: time.Second, Concurrency: 0},
		{Host: "http://127.0.0.1:1", Duration: time.Second, Concurrency: 1, Mix: "bogus"},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v: want error", c)
		}
	}
}
