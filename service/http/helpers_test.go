package http

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/memory"
)

// testServer is a whole API on an httptest server with the in-memory store unless one is given.
type testServer struct {
	*httptest.Server
	t *testing.T
}

func defaultTestConfig() config.Config {
	cfg, err := config.FromLookup(func(string) (string, bool) { return "", false })
	if err != nil {
		panic(err)
	}
	return cfg
}

func newTestServer(t *testing.T, cfg *config.Config, store isl.Store) *testServer {
	t.Helper()
	c := defaultTestConfig()
	if cfg != nil {
		c = *cfg
	}
	kind := "redis"
	if store == nil {
		store, kind = memory.New(memory.Options{}), "memory"
	}
	ts := httptest.NewServer(NewServer(Deps{Config: c, Store: store, StoreKind: kind}))
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, t: t}
}

// response is a decoded reply; Body keeps object order (jsonv) so tests can check field order.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   jsonv.Value
}

// do sends a request with a raw body (string, []byte, or any value marshalled as JSON).
func (s *testServer) do(method, path string, body any, headers ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 {
		if v, err := jsonv.Parse(raw); err == nil {
			out.Body = v
		}
	}
	return out
}

func (s *testServer) post(path string, body any) response { return s.do(http.MethodPost, path, body) }

// str returns the string at a dotted path of object keys, "" when absent.
func (r response) str(path ...string) string {
	v := r.Body
	for _, k := range path {
		v, _ = v.Get(k)
	}
	return v.Str
}

// envelopeOK asserts that r is a docs/api.md#errors error envelope with the given status and error code.
func (r response) envelope(t *testing.T, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Raw)
	}
	for _, k := range []string{"error_code", "message", "details", "trace_id", "retryable", "suggested_action"} {
		if _, ok := r.Body.Get(k); !ok {
			t.Fatalf("envelope lacks %q: %s", k, r.Raw)
		}
	}
	if got := r.str("error_code"); got != code {
		t.Fatalf("error_code = %q, want %q; body %s", got, code, r.Raw)
	}
}
