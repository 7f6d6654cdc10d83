package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestExitStatus: 0 when the verdict passes (and --json is written), 1 when it fails, 2 on usage
// errors. Loopback only.
func TestExitStatus(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"queries":[{"id":"query_000_x"}]}`))
	}))
	defer ok.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer broken.Close()
	out := filepath.Join(t.TempDir(), "r.json")
	if code := run([]string{"--host", ok.URL, "--duration", "200ms", "--concurrency", "2", "--quiet", "--json", out}); code != 0 {
		t.Fatalf("passing run exit %d", code)
	}
	var rep struct {
		Requests int                 `json:"requests"`
		Verdict  struct{ Pass bool } `json:"verdict"`
	}
	b, err := os.ReadFile(out)
	if err != nil || json.Unmarshal(b, &rep) != nil || rep.Requests == 0 || !rep.Verdict.Pass {
		t.Fatalf("json %s %v", b, err)
	}
	// A target that fails the pre-check is a setup error (2), never a run.
	if code := run([]string{"--host", broken.URL, "--duration", "200ms", "--concurrency", "1", "--quiet", "--endpoint", "health"}); code != 2 {
		t.Fatalf("failed pre-check exit %d", code)
	}
	// A target that passes the pre-check and then fails: the verdict fails (1).
	var n atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 1 {
			w.WriteHeader(500)
		}
	}))
	defer flaky.Close()
	if code := run([]string{"--host", flaky.URL, "--duration", "200ms", "--concurrency", "1", "--quiet", "--mix", "health"}); code != 1 {
		t.Fatalf("failing run exit %d", code)
	}
	if code := run([]string{"--host", strings.TrimPrefix(ok.URL, "http://"), "--duration", "100ms", "--quiet", "--mix", "health"}); code != 0 {
		t.Fatalf("scheme-less host exit %d", code)
	}
	if code := run([]string{"--help"}); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	if code := run([]string{"--host", "ftp://x", "--quiet"}); code != 2 {
		t.Fatalf("bad host exit %d", code)
	}
	if code := run([]string{"--nope"}); code != 2 {
		t.Fatalf("bad flag exit %d", code)
	}
}
