package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const stream = `{"Action":"start","Package":"p/a"}
{"Action":"run","Package":"p/a","Test":"TestOK"}
{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"p/a","Test":"TestOK"}
{"Action":"run","Package":"p/a","Test":"TestRedis"}
{"Action":"output","Package":"p/a","Test":"TestRedis","Output":"=== RUN   TestRedis\n"}
{"Action":"output","Package":"p/a","Test":"TestRedis","Output":"    redistest.go:47: redistest: redis-server not on PATH\n"}
{"Action":"output","Package":"p/a","Test":"TestRedis","Output":"--- SKIP: TestRedis (0.00s)\n"}
{"Action":"skip","Package":"p/a","Test":"TestRedis"}
{"Action":"run","Package":"p/a","Test":"TestRedis2"}
{"Action":"output","Package":"p/a","Test":"TestRedis2","Output":"    redistest.go:47: redistest: redis-server not on PATH\n"}
{"Action":"skip","Package":"p/a","Test":"TestRedis2"}
{"Action":"output","Package":"p/a","Output":"PASS\n"}
{"Action":"output","Package":"p/a","Output":"ok  \tp/a\t0.01s\n"}
{"Action":"pass","Package":"p/a"}
{"Action":"run","Package":"p/b","Test":"TestBad"}
{"Action":"output","Package":"p/b","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"p/b","Test":"TestBad","Output":"    b_test.go:9: want 1, got 2\n"}
{"Action":"output","Package":"p/b","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"p/b","Test":"TestBad"}
{"Action":"output","Package":"p/b","Output":"FAIL\n"}
{"Action":"output","Package":"p/b","Output":"FAIL\tp/b\t0.01s\n"}
{"Action":"fail","Package":"p/b"}
`

func TestRunReportsFailuresAndSkips(t *testing.T) {
	var out bytes.Buffer
	failed, err := Run(strings.NewReader(stream), &out, time.Hour)
	if err != nil || !failed {
		t.Fatalf("failed=%v err=%v", failed, err)
	}
	got := out.String()
	for _, want := range []string{
		"ok  \tp/a\t0.01s\n", "    b_test.go:9: want 1, got 2\n--- FAIL: TestBad", "FAIL\tp/b",
		"skipped: 2 test(s), for 1 reason(s)", "2 × redistest: redis-server not on PATH", "p/a.TestRedis, p/a.TestRedis2",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"=== RUN", "PASS\n", "TestOK"} {
		if strings.Contains(got, bad) {
			t.Errorf("output has %q:\n%s", bad, got)
		}
	}
}

func TestRunPassesAndSaysNothingSkipped(t *testing.T) {
	var out bytes.Buffer
	failed, err := Run(strings.NewReader(`{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}
{"Action":"pass","Package":"p"}
`), &out, time.Hour)
	if err != nil || failed || !strings.Contains(out.String(), "skipped: none") {
		t.Fatalf("failed=%v err=%v\n%s", failed, err, out.String())
	}
	failed, _ = Run(strings.NewReader(`{"Action":"build-output","ImportPath":"p [p.test]","Output":"x.go:1: syntax error\n"}
{"Action":"build-fail","ImportPath":"p [p.test]"}
`), &out, time.Hour)
	if !failed || !strings.Contains(out.String(), "syntax error") {
		t.Fatalf("a build failure must fail:\n%s", out.String())
	}
}

// The real go test -json stream of a tiny module: a skip with its reason, and a failure's exit.
func TestAgainstGoTest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a generated module")
	}
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		if err := writeFile(filepath.Join(dir, name), s); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n\ngo 1.26\n")
	write("x_test.go", "package x\nimport \"testing\"\nfunc TestSkip(t *testing.T) { t.Skip(\"frobnicator not installed\") }\nfunc TestOK(t *testing.T) {}\n")
	cmd := exec.Command("go", "test", "-json", "-count=1", ".")
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, b)
	}
	var out bytes.Buffer
	failed, err := Run(bytes.NewReader(b), &out, time.Hour)
	if err != nil || failed || !strings.Contains(out.String(), "1 × frobnicator not installed") || !strings.Contains(out.String(), "ok  \tx") {
		t.Fatalf("failed=%v err=%v\n%s", failed, err, out.String())
	}
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

// A long quiet stretch names what is still running instead of printing nothing.
func TestRunNamesLongRunningTests(t *testing.T) {
	pr, pw := io.Pipe()
	var out syncBuf
	done := make(chan bool)
	go func() {
		failed, _ := Run(pr, &out, 20*time.Millisecond)
		done <- failed
	}()
	fmt.Fprintln(pw, `{"Action":"run","Package":"github.com/olumi/isl/benchmarks/e2e","Test":"TestPilot"}`)
	fmt.Fprintln(pw, `{"Action":"run","Package":"github.com/olumi/isl/benchmarks/e2e","Test":"TestPilot/smoke"}`)
	time.Sleep(150 * time.Millisecond)
	fmt.Fprintln(pw, `{"Action":"pass","Package":"github.com/olumi/isl/benchmarks/e2e","Test":"TestPilot"}`)
	pw.Close()
	if <-done {
		t.Fatal("nothing failed")
	}
	got := out.String()
	if !strings.Contains(got, "… still running: benchmarks/e2e.TestPilot (") || strings.Contains(got, "TestPilot/smoke") {
		t.Fatalf("output:\n%s", got)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A package without test files is reported by go test as a package-level skip: that is not a
// skipped test, and listing it would bury the real skips under "(no reason given)".
func TestPackageWithoutTestsIsNoSkip(t *testing.T) {
	var out bytes.Buffer
	failed, err := Run(strings.NewReader(`{"Action":"start","Package":"p/none"}
{"Action":"output","Package":"p/none","Output":"?   \tp/none\t[no test files]\n"}
{"Action":"skip","Package":"p/none"}
`), &out, time.Hour)
	if err != nil || failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	if !strings.Contains(out.String(), "[no test files]") || !strings.Contains(out.String(), "skipped: none") {
		t.Errorf("output:\n%s", out.String())
	}
}
