package http

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/service/jsonlog"
	"github.com/olumi/isl/service/memory"
)

// The whole-handler benchmarks (make bench-http): every endpoint through NewServer's complete
// chain (routing, middleware, metrics, one JSON log line to a discarded writer, decoding, engine,
// encoding) with the documented example bodies, response cache off unless the name says
// cache=hit. Reported: wall ns/op, process CPU ns/op (getrusage; on a shared machine wall time
// mostly measures the scheduler) and allocations per request. Results: benchmarks/RESULTS.md.

// processCPU is this process's CPU time (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// exampleBody is the documented request example of a POST path, member order kept.
func exampleBody(tb testing.TB, path string) []byte {
	tb.Helper()
	doc, err := jsonv.Parse(openAPIJSON)
	if err != nil {
		tb.Fatal(err)
	}
	v := doc
	for _, k := range []string{"paths", path, "post", "requestBody", "content", "application/json", "example"} {
		var ok bool
		if v, ok = v.Get(k); !ok {
			tb.Fatalf("%s: no request example", path)
		}
	}
	b, err := v.MarshalJSON()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchServer(cache bool) http.Handler {
	cfg := defaultTestConfig()
	cfg.EnableCache = cache
	// The service's own log handler (app.NewLogger's), writing the line to nowhere.
	log := slog.New(jsonlog.New(io.Discard, slog.LevelInfo)).With("logger", "isl")
	return NewServer(Deps{Config: cfg, Logger: log, Store: memory.New(memory.Options{}), StoreKind: "memory"})
}

type benchCase struct {
	name, method, path string
	body               func(i int) []byte // nil: no body
	// prepare runs before each timed request, outside the measurement (state for update/delete).
	prepare func(h http.Handler, i int) []byte
}

func serveOnce(tb testing.TB, h http.Handler, method, path string, body []byte, want int) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != want {
		tb.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
	return w
}

// benchWriter is a ResponseWriter that keeps only the status and the body size: the benchmarks
// measure the handler, not httptest's recorder.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *benchWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}

// serveFast sends one request built from template (a shallow copy with a fresh body reader, as
// the server would read it off the wire) through h.
func serveFast(tb testing.TB, h http.Handler, template *http.Request, body []byte, want int) {
	r := *template
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	w := benchWriter{h: make(http.Header, 8)}
	h.ServeHTTP(&w, &r)
	if w.status != want {
		tb.Fatalf("%s %s: %d", template.Method, template.URL.Path, w.status)
	}
}

func benchCases(b *testing.B) []benchCase {
	fixed := func(path string) func(int) []byte {
		body := exampleBody(b, path)
		return func(int) []byte { return body }
	}
	elicit := exampleBody(b, "/api/v1/preferences/elicit")
	user := func(i int) string { return fmt.Sprintf("bench_user_%d_%d", time.Now().UnixNano(), i) }
	elicitFor := func(u string) []byte {
		return bytes.Replace(elicit, []byte(`"test_user_pricing_001"`), []byte(`"`+u+`"`), 1)
	}
	return []benchCase{
		{name: "health", method: http.MethodGet, path: "/health"},
		{name: "causal_validate", method: http.MethodPost, path: "/api/v1/causal/validate", body: fixed("/api/v1/causal/validate")},
		{name: "causal_counterfactual", method: http.MethodPost, path: "/api/v1/causal/counterfactual", body: fixed("/api/v1/causal/counterfactual")},
		{name: "preferences_elicit", method: http.MethodPost, path: "/api/v1/preferences/elicit",
			body: func(i int) []byte { return elicitFor(user(i)) }},
		{name: "preferences_update", method: http.MethodPost, path: "/api/v1/preferences/update",
			prepare: func(h http.Handler, i int) []byte {
				u := user(i)
				w := serveOnce(b, h, http.MethodPost, "/api/v1/preferences/elicit", elicitFor(u), 200)
				v, _ := jsonv.Parse(w.Body.Bytes())
				qs, _ := v.Get("queries")
				id, _ := qs.Arr[0].Get("id")
				return []byte(fmt.Sprintf(`{"user_id":%q,"query_id":%q,"response":"A","confidence":0.8}`, u, id.Str))
			}},
		{name: "teaching_teach", method: http.MethodPost, path: "/api/v1/teaching/teach", body: fixed("/api/v1/teaching/teach")},
		{name: "validation_validate", method: http.MethodPost, path: "/api/v1/validation/validate", body: fixed("/api/v1/validation/validate")},
		{name: "team_align", method: http.MethodPost, path: "/api/v1/team/align", body: fixed("/api/v1/team/align")},
		{name: "analysis_sensitivity", method: http.MethodPost, path: "/api/v1/analysis/sensitivity", body: fixed("/api/v1/analysis/sensitivity")},
		{name: "users_delete", method: http.MethodDelete, path: "/api/v1/users/{user_id}",
			prepare: func(h http.Handler, i int) []byte {
				u := user(i)
				serveOnce(b, h, http.MethodPost, "/api/v1/preferences/elicit", elicitFor(u), 200)
				return []byte(u)
			}},
	}
}

// BenchmarkHTTP is every endpoint through the whole handler.
func BenchmarkHTTP(b *testing.B) {
	for _, cache := range []bool{false, true} {
		h := benchServer(cache)
		mode := map[bool]string{false: "cache=off", true: "cache=hit"}[cache]
		b.Run(mode, func(b *testing.B) { benchEndpoints(b, h, cache) })
	}
}

func benchEndpoints(b *testing.B, h http.Handler, cache bool) {
	{
		for _, c := range benchCases(b) {
			if cache {
				if c.body == nil || c.name == "preferences_elicit" || c.prepare != nil {
					continue // only deterministic, stateless endpoints are cached
				}
				serveOnce(b, h, c.method, c.path, c.body(0), 200) // fill
			}
			b.Run(c.name, func(b *testing.B) {
				want := http.StatusOK
				if c.method == http.MethodDelete {
					want = http.StatusNoContent
				}
				b.ReportAllocs()
				if c.prepare == nil {
					var template *http.Request
					if c.body != nil {
						template = httptest.NewRequest(c.method, c.path, bytes.NewReader(c.body(0)))
						template.Header.Set("Content-Type", "application/json")
					} else {
						template = httptest.NewRequest(c.method, c.path, nil)
					}
					t0 := processCPU()
					for i := 0; i < b.N; i++ {
						var body []byte
						if c.body != nil {
							body = c.body(i)
						}
						serveFast(b, h, template, body, want)
					}
					b.ReportMetric(float64(processCPU()-t0)/float64(b.N), "cpu-ns/op")
					return
				}
				// Stateful endpoints: the state each request needs is made outside the timer and
				// outside the CPU sum.
				var cpu time.Duration
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					path, body := c.path, c.prepare(h, i)
					if c.method == http.MethodDelete {
						path, body = strings.Replace(path, "{user_id}", string(body), 1), nil
					}
					b.StartTimer()
					t0 := processCPU()
					serveOnce(b, h, c.method, path, body, want)
					cpu += processCPU() - t0
				}
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
