package http

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
