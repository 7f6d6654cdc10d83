package load

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
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
		len(up.ErrorKinds) != 2 || up.Succeeded != 1 || up.P50 != Millis(ms(4)) || up.Mean != Millis(ms(4)) {
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
	// team/align passes the pre-check, then fails every request.
	var seen atomic.Int64
	srv, _ := fakeISL(t, "k1", func(p string) bool { return p == payloads.TeamAlign.Path && seen.Add(1) > 1 })
	rep, err := Run(context.Background(), Config{Host: srv.URL, APIKey: "k1", Duration: 200 * time.Millisecond, Concurrency: 2, MaxRequests: 200})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors == 0 || rep.Verdict.Pass {
		t.Fatalf("want failures and a failed verdict: %+v", rep)
	}
}

func TestRunBoundedByCount(t *testing.T) {
	srv, n := fakeISL(t, "", nil)
	rep, err := Run(context.Background(), Config{Host: srv.URL, Duration: 10 * time.Second, Concurrency: 4, Mix: MixHealth, MaxRequests: 37})
	if err != nil {
		t.Fatal(err)
	}
	// The server also saw the one pre-check request.
	if rep.Requests != 37 || n.Load() != 37+1 || len(rep.Endpoints) != 1 || rep.Endpoints[0].Endpoint != "health" {
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

// A wrong or missing key, or an untrusted certificate, aborts before the run with advice; the
// target sees only the pre-check, not a whole duration of 401s.
func TestPrecheckAborts(t *testing.T) {
	srv, n := fakeISL(t, "k1", nil)
	for _, tc := range []struct{ key, advice string }{{"wrong", "API key was rejected"}, {"", "requires an API key"}} {
		_, err := Run(context.Background(), Config{Host: srv.URL, APIKey: tc.key, Duration: 10 * time.Second, Concurrency: 4})
		var pe *PrecheckError
		if !errors.As(err, &pe) || !strings.Contains(pe.Advice, tc.advice) || !strings.Contains(err.Error(), "status 401") {
			t.Fatalf("key %q: %v", tc.key, err)
		}
	}
	if n.Load() > 2 {
		t.Fatalf("the target saw %d requests: the pre-check must stop at the first failure", n.Load())
	}

	tlsSrv := httptest.NewUnstartedServer(srv.Config.Handler)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	_, err := Run(context.Background(), Config{Host: tlsSrv.URL, APIKey: "k1", Duration: time.Second, Concurrency: 1})
	var pe *PrecheckError
	if !errors.As(err, &pe) || !strings.Contains(pe.Advice, "--cacert") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{Host: tlsSrv.URL, APIKey: "k1", CACert: ca, Duration: 100 * time.Millisecond, Concurrency: 1, MaxRequests: 30})
	if err != nil || rep.Requests == 0 || !rep.Verdict.Pass {
		t.Fatalf("with --cacert: %v %+v", err, rep)
	}
	if _, err := Run(context.Background(), Config{Host: tlsSrv.URL, CACert: filepath.Join(t.TempDir(), "none.pem"), Duration: time.Second, Concurrency: 1}); err == nil {
		t.Fatal("a missing --cacert file must be an error")
	}
}

// Failed samples never make a latency SLO pass: fast 401s are not latency, and an endpoint with
// no successful response fails its check.
func TestVerdictOnFailedSamples(t *testing.T) {
	var s []Sample
	for i := 0; i < 100; i++ {
		s = append(s, Sample{Endpoint: "causal/validate", Latency: ms(3), Status: 401, Err: "status 401: {\"trace_id\":\"" + fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) + "\"}"})
	}
	for i := 0; i < 10; i++ {
		s = append(s, Sample{Endpoint: "teaching/teach", Latency: ms(1900), OK: true, Status: 200},
			Sample{Endpoint: "teaching/teach", Latency: ms(2), Status: 503, Err: "status 503"})
	}
	st := Summarise(s, time.Second)
	cv, teach := st[0], st[1]
	if cv.Succeeded != 0 || cv.P95 != 0 || len(cv.ErrorKinds) != 1 || cv.ErrorKinds[0].Count != 100 {
		t.Fatalf("causal: %+v", cv)
	}
	if teach.P50 != Millis(ms(1900)) || teach.P95 != Millis(ms(1900)) || teach.Succeeded != 10 {
		t.Fatalf("teach latency must come from the 200s only: %+v", teach)
	}
	v := Judge(st, 100, PilotSLO)
	got := map[string]Check{}
	for _, c := range v.Checks {
		got[c.Name] = c
	}
	if v.Pass || got["p95 causal/validate"].Pass || got["p95 causal/validate"].Observed != "no successful response" {
		t.Fatalf("causal check %+v", got["p95 causal/validate"])
	}
	if got["p95 teaching/teach"].Pass { // 1.9 s > 1.5 s; the 2 ms 503s must not pull it under
		t.Fatalf("teach check %+v", got["p95 teaching/teach"])
	}
	var text bytes.Buffer
	Report{Endpoints: st, Verdict: v}.WriteText(&text)
	if strings.Count(text.String(), "error causal/validate") != 1 || !strings.Contains(text.String(), "×100") {
		t.Fatalf("each distinct error once, with its count:\n%s", text.String())
	}
}

// The open loop keeps offering load when the target falls behind: latency includes the queueing
// and arrivals that could not be sent count as failures.
func TestOpenLoopMeasuresOverload(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(40 * time.Millisecond)
		_, _ = w.Write([]byte(`{"status":"healthy"}`))
	}))
	defer slow.Close()
	// Capacity 2 workers / 40 ms = 50/s, offered 200/s for 0.5 s.
	rep, err := Run(context.Background(), Config{Host: slow.URL, Mix: MixHealth, Rate: 200, Concurrency: 2, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := rep.Endpoints[0]
	if rep.LoadModel != "open" || h.Statuses["not_sent"] == 0 || rep.Errors == 0 {
		t.Fatalf("overload not reported: %+v", rep)
	}
	if time.Duration(h.P95) < 150*time.Millisecond { // a closed loop would report ≈ 40 ms
		t.Fatalf("p95 %v hides the queueing", h.P95)
	}
	if rep.Requests < 90 { // ≈ 100 arrivals offered
		t.Fatalf("offered load %d", rep.Requests)
	}

	fast, _ := fakeISL(t, "", nil)
	rep, err = Run(context.Background(), Config{Host: fast.URL, Rate: 100, Concurrency: 4, Duration: 400 * time.Millisecond, Payloads: PayloadsVaried})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 || rep.Requests < 30 || rep.Requests > 60 || !rep.Verdict.Pass {
		t.Fatalf("fast target at 100/s for 0.4 s: %+v", rep)
	}
}

func TestProgressShowsCurrentRate(t *testing.T) {
	srv, _ := fakeISL(t, "", nil)
	var progress bytes.Buffer
	if _, err := Run(context.Background(), Config{Host: srv.URL, Mix: MixHealth, Duration: 200 * time.Millisecond, Concurrency: 1,
		MaxRequests: 100, Progress: &progress, ProgressEvery: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`rps [0-9.]+ \(avg [0-9.]+\)`).MatchString(progress.String()) {
		t.Fatalf("progress %q", progress.String())
	}
}
