// Command testreport turns `go test -json` into go test's usual terse output and ends it with
// what was skipped and why, so that a green `make test` on a machine without redis-server, nginx
// or promtool says which suites did not run instead of looking like a full pass.
//
//	go test -json ./... | go run ./benchmarks/cmd/testreport
//
// Exit status: 1 when a test, a package or a build failed (or the stream is not test2json), else 0.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

func main() {
	failed, err := Run(os.Stdin, os.Stdout, time.Minute)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// event is one test2json record (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output and build-fail
}

type skip struct{ pkg, test, reason string }

// Run copies the stream's package lines and failing tests' output to w, then the skip summary.
// After quiet without any line printed, it names the top-level tests still running, so that a
// long suite (the pilot end-to-end run) is not minutes of silence.
func Run(r io.Reader, w io.Writer, quiet time.Duration) (failed bool, err error) {
	buf := map[string][]string{} // package + "\x00" + test → output lines so far
	var skips []skip
	running := map[string]time.Time{} // top-level test → start
	lines := make(chan []byte)
	scanErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
		scanErr <- sc.Err()
		close(lines)
	}()
	tick := time.NewTicker(quiet)
	defer tick.Stop()
	lastPrint := time.Now()
	pw := &printWatch{w: w, last: &lastPrint}
	w = pw
	for {
		var line []byte
		var ok bool
		select {
		case line, ok = <-lines:
		case now := <-tick.C:
			if now.Sub(lastPrint) >= quiet && len(running) > 0 {
				stillRunning(w, running, now)
			}
			continue
		}
		if !ok {
			break
		}
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(w, "%s\n", line) // not an event (e.g. go vet output): pass it through
			continue
		}
		key := e.Package + "\x00" + e.Test
		if e.Test != "" && !strings.Contains(e.Test, "/") {
			switch e.Action {
			case "run":
				running[short(e.Package)+"."+e.Test] = time.Now()
			case "pass", "fail", "skip":
				delete(running, short(e.Package)+"."+e.Test)
			}
		}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "" && e.Action == "output":
			if e.Output != "PASS\n" { // go test prints only the "ok" line for a passing package
				fmt.Fprint(w, e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			failed = true
		case e.Action == "output":
			buf[key] = append(buf[key], e.Output)
		case e.Action == "fail":
			failed = true
			for _, l := range buf[key] {
				if !strings.HasPrefix(l, "=== ") {
					fmt.Fprint(w, l)
				}
			}
			delete(buf, key)
		case e.Action == "skip" && e.Test == "":
			// a package without test files ("? pkg [no test files]"): nothing was skipped
			delete(buf, key)
		case e.Action == "skip":
			skips = append(skips, skip{e.Package, e.Test, reason(buf[key])})
			delete(buf, key)
		case e.Action == "pass":
			delete(buf, key)
		}
	}
	if err := <-scanErr; err != nil {
		return true, fmt.Errorf("read test2json stream: %w", err)
	}
	summarise(w, skips)
	return failed, nil
}

// printWatch records when anything was last printed.
type printWatch struct {
	w    io.Writer
	last *time.Time
}

func (p *printWatch) Write(b []byte) (int, error) {
	*p.last = time.Now()
	return p.w.Write(b)
}

// stillRunning prints the running top-level tests, longest first.
func stillRunning(w io.Writer, running map[string]time.Time, now time.Time) {
	names := make([]string, 0, len(running))
	for n := range running {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return running[names[i]].Before(running[names[j]]) })
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s (%s)", n, now.Sub(running[n]).Round(time.Second)))
	}
	if len(parts) > 4 {
		parts = append(parts[:4], fmt.Sprintf("and %d more", len(parts)-4))
	}
	fmt.Fprintf(w, "… still running: %s\n", strings.Join(parts, ", "))
}

// reason is what the skipped test logged, without go test's framing lines.
func reason(lines []string) string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		// "file_test.go:44: message" → "message"
		if i := strings.Index(t, ".go:"); i > 0 {
			if j := strings.Index(t[i+4:], ": "); j >= 0 {
				t = t[i+4+j+2:]
			}
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return "(no reason given)"
	}
	return strings.Join(out, " ")
}

// summarise prints the skips grouped by reason, most frequent first.
func summarise(w io.Writer, skips []skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "\nskipped: none")
		return
	}
	by := map[string][]skip{}
	for _, s := range skips {
		by[s.reason] = append(by[s.reason], s)
	}
	reasons := make([]string, 0, len(by))
	for r := range by {
		reasons = append(reasons, r)
	}
	sort.SliceStable(reasons, func(i, j int) bool {
		if len(by[reasons[i]]) != len(by[reasons[j]]) {
			return len(by[reasons[i]]) > len(by[reasons[j]])
		}
		return reasons[i] < reasons[j]
	})
	fmt.Fprintf(w, "\nskipped: %d test(s), for %d reason(s) (a skip for a missing program is a failure with CI=true):\n", len(skips), len(reasons))
	for _, r := range reasons {
		ss := by[r]
		var names []string
		for _, s := range ss {
			names = append(names, short(s.pkg)+"."+s.test)
		}
		if len(names) > 4 {
			names = append(names[:4], fmt.Sprintf("and %d more", len(names)-4))
		}
		fmt.Fprintf(w, "  %3d × %s\n        %s\n", len(ss), r, strings.Join(names, ", "))
	}
}

func short(pkg string) string { return strings.TrimPrefix(pkg, "github.com/olumi/isl/") }
