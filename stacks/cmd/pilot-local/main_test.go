package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks/pilotlocal"
)

// fakeTopology records a state whose entry point is a real process (sleep standing in for nginx).
func fakeTopology(t *testing.T) (dir string, entry *exec.Cmd) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("pilot-local is Linux-only")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	entry = exec.Command(sleep, "60")
	if err := entry.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = entry.Process.Kill(); _ = entry.Wait() })
	dir = t.TempDir()
	st := &pilotlocal.State{Stack: "pilot", Dir: dir, Endpoint: "https://127.0.0.1:1", TLS: true, APIKey: "k-123",
		CACert:     filepath.Join(dir, "tls", "cert.pem"),
		Components: []*pilotlocal.Component{{Name: "nginx", Kind: "nginx", PID: entry.Process.Pid, Command: []string{sleep, "60"}, Addr: "127.0.0.1:1"}}}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	return dir, entry
}

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// After `down` the recorded endpoint and key no longer answer: env must fail, not print them.
func TestEnvAfterDownFails(t *testing.T) {
	dir, _ := fakeTopology(t)
	code, out, _ := runCmd("env", "--dir", dir)
	if code != 0 || !strings.Contains(out, "export ISL_HOST=https://127.0.0.1:1\n") || !strings.Contains(out, "export ISL_API_KEY=k-123\n") ||
		!strings.Contains(out, "export ISL_CACERT="+filepath.Join(dir, "tls", "cert.pem")) {
		t.Fatalf("env while running: exit %d\n%s", code, out)
	}
	if code, out, errs := runCmd("down", "--dir", dir); code != 0 || !strings.Contains(out, "pilot-local is down") || !strings.Contains(errs, "stopping nginx") {
		t.Fatalf("down: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs := runCmd("env", "--dir", dir)
	if code == 0 || out != "" || !strings.Contains(errs, "pilot-local is not running") || !strings.Contains(errs, "make pilot-local") {
		t.Fatalf("env after down: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := runCmd("env", "--dir", t.TempDir()); code == 0 || !strings.Contains(errs, "read pilot-local state") {
		t.Fatalf("env without state: exit %d %q", code, errs)
	}
}

func TestStopSaysWhatItDid(t *testing.T) {
	dir, entry := fakeTopology(t)
	code, out, errs := runCmd("stop", "nginx", "--dir", dir, "--signal", "KILL")
	if code != 0 || !strings.Contains(out, "stopped nginx (pid ") || !strings.Contains(out, "with SIGKILL") {
		t.Fatalf("stop: exit %d\n%s\n%s", code, out, errs)
	}
	_ = entry.Wait()
	if code, out, _ := runCmd("stop", "nginx", "--dir", dir); code != 0 || !strings.Contains(out, "was not running") {
		t.Fatalf("second stop: exit %d %q", code, out)
	}
}

func TestUsage(t *testing.T) {
	if code, out, _ := runCmd("--help"); code != 0 || !strings.Contains(out, "Linux only") {
		t.Fatalf("--help: exit %d %q", code, out)
	}
	if code, _, errs := runCmd(); code != 2 || !strings.Contains(errs, "usage:") {
		t.Fatalf("no args: exit %d %q", code, errs)
	}
}
