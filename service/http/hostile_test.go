package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/memory"
)

// hostileSeeds are bodies aimed at the decoder and the two causal handlers: wrong shapes at every
// level, duplicate keys, nulls, huge and odd numbers, deep nesting, odd Unicode.
var hostileSeeds = []string{
	`{"dag":{"nodes":["A","B"],"edges":[["A","B"]]},"treatment":"A","outcome":"B"}`,
	`{"dag":{"nodes":["A","A","A"],"edges":[["A","A"]]},"treatment":"A","outcome":"A","observed":["A",null]}`,
	`{"dag":{"nodes":[],"edges":[[]]},"treatment":"","outcome":""}`,
	`{"dag":{"nodes":["\u0000","\ud800"],"edges":[["\u0000","\ud800"]]},"treatment":"\u0000","outcome":"\ud800"}`,
	`{"dag":{"nodes":["A","B"],"edges":[["A","B"]],"edges":[["B","A"]]},"treatment":"A","outcome":"B"}`,
	`{"model":{"variables":[],"equations":{"Y":"x*2"},"distributions":{"x":{"type":"normal","parameters":{"mean":1,"std":1}}}},"intervention":{},"outcome":"Y"}`,
	`{"model":{"variables":null,"equations":{"Y":"Y"},"distributions":{"Y":{"type":"beta","parameters":{"alpha":1e-300,"beta":1e300}}}},"intervention":{"Y":-0},"outcome":"Y","context":{"Y":1.7976931348623157e308}}`,
	`{"model":{"variables":[],"equations":{"Y":"x/0 - x/0"},"distributions":{"x":{"type":"uniform","parameters":{"min":-1e308,"max":1e308}}}},"intervention":{},"outcome":"Y","preferences":{"a":[[[[[[1]]]]]]},"user_context":{}}`,
	`{"model":{"variables":[],"equations":{"Y":"np.maximum(np.minimum(x, 1e308), -1e308) ** x"},"distributions":{"x":{"type":"exponential","parameters":{"scale":0}}}},"intervention":{},"outcome":"Y"}`,
	`{"model":{"variables":[],"equations":{},"distributions":{"x":{"type":"normal","parameters":{"mean":1,"std":1,"mean":null}}}},"intervention":{"x":1,"x":true},"outcome":"x"}`,
	`{"model":{"equations":{"a":"b","b":"c","c":"a"},"distributions":[]},"intervention":[],"outcome":{}}`,
	`[` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 71),
	`{"model":` + strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 71),
	"\xef\xbb\xbf\xff\xfe{}",
	`{"dag":1e999,"treatment":NaN,"outcome":Infinity}`,
}

// FuzzCausalHandlers: whatever the body, the causal handlers answer a JSON envelope or a result and
// never a 5xx (no panic, no unmapped error).
func FuzzCausalHandlers(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	cfg := defaultTestConfig()
	cfg.MaxMonteCarlo = 50
	h := NewServer(Deps{Config: cfg, Store: memory.New(memory.Options{}), StoreKind: "memory"})
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{causalPath, cfPath} {
			w := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(w, req)
			if w.Code >= 500 || !strings.HasPrefix(w.Body.String(), "{") {
				t.Fatalf("%s %q → %d %s", path, body, w.Code, w.Body)
			}
		}
	})
}

// hostileBodies are the 1 MB-class bodies of the hostile-load review, each with the answer it must
// get and a bound on the answer's size. The bounds on time and memory are checked from outside the
// process by benchmarks/e2e (TestHostileInputs); here the answers themselves.
func hostileBodies() map[string]struct {
	path, body string
	status     int
	maxBytes   int
} {
	var dists, keys, badWeights strings.Builder
	for i := range 17_900 {
		if i > 0 {
			dists.WriteByte(',')
		}
		fmt.Fprintf(&dists, `"x%d":{"type":"normal","parameters":{"mean":1,"std":1}}`, i)
	}
	for i := range 70_000 {
		if i > 0 {
			keys.WriteByte(',')
		}
		fmt.Fprintf(&keys, `"k%d":%d`, i, i)
	}
	for i := range 40_000 {
		if i > 0 {
			badWeights.WriteByte(',')
		}
		fmt.Fprintf(&badWeights, `"w%d":"%s"`, i, strings.Repeat("x", 8))
	}
	return map[string]struct {
		path, body string
		status     int
		maxBytes   int
	}{
		"17 900 distributions": {cfPath, `{"model":{"variables":[],"equations":{"Y":"x0"},"distributions":{` + dists.String() + `}},"intervention":{},"outcome":"Y"}`, 422, 4 << 10},
		"70 000 object keys":   {cfPath, `{"model":{"variables":[],"equations":{},"distributions":{}},"intervention":{` + keys.String() + `},"outcome":"Y","context":"x"}`, 422, 4 << 10},
		"40 000 violations":    {cfPath, `{"model":{"variables":[],"equations":{"Y":"1"},"distributions":{}},"intervention":{` + badWeights.String() + `},"outcome":"Y"}`, 422, 32 << 10},
	}
}

// TestHostileBodiesBounded: oversized collections are refused before any computation with a 422
// that lists at most MaxViolations violations (the rest counted) and echoes bounded inputs.
func TestHostileBodiesBounded(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	for name, c := range hostileBodies() {
		t.Run(name, func(t *testing.T) {
			r := ts.post(c.path, c.body)
			r.envelope(t, c.status, isl.EValidation)
			if len(r.Raw) > c.maxBytes {
				t.Errorf("answer is %d bytes, want ≤ %d", len(r.Raw), c.maxBytes)
			}
			details, _ := r.Body.Get("details")
			errs, _ := details.Get("errors")
			if n := len(errs.Arr); n < 1 || n > MaxViolations {
				t.Errorf("%d violations listed, want 1..%d", n, MaxViolations)
			}
		})
	}
	t.Run("omitted violations are counted", func(t *testing.T) {
		r := ts.post(cfPath, hostileBodies()["40 000 violations"].body)
		details, _ := r.Body.Get("details")
		errs, _ := details.Get("errors")
		omitted, _ := details.Get("errors_omitted")
		if len(errs.Arr) != MaxViolations || int(omitted.Num)+len(errs.Arr) != 40_000 {
			t.Fatalf("listed %d, omitted %v; want %d listed and 40 000 in all", len(errs.Arr), omitted.Num, MaxViolations)
		}
	})
	t.Run("too many distributions is too_long", func(t *testing.T) {
		r := ts.post(cfPath, hostileBodies()["17 900 distributions"].body)
		details, _ := r.Body.Get("details")
		errs, _ := details.Get("errors")
		first, _ := errs.Arr[0].Get("type")
		if first.Str != "too_long" {
			t.Fatalf("first violation %s, want too_long", r.Raw)
		}
	})
}

// TestEchoBounded: an echoed input is cut to the echo limits whatever its size.
func TestEchoBounded(t *testing.T) {
	big, err := jsonv.Parse([]byte(`{"a":"` + strings.Repeat("é", 1000) + `","b":[` + strings.Repeat(`[[[[1]]]],`, 99) + `1],"c":1,"d":2,"e":3,"f":4,"g":5,"h":6,"i":7,"j":8}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(echo(big, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > 1024 || !strings.Contains(string(out), `"__truncated__":2`) || !strings.Contains(string(out), "… 92 more items") {
		t.Fatalf("echo = %s (%d bytes)", out, len(out))
	}
}
