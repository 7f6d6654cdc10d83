package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `make build` links the version, commit and build date into the binary: `isl version`, /health
// and isl_build_info report exactly what was passed, checked on the built binary itself.
func TestMakeBuildInjectsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary with make")
	}
	if _, err := exec.LookPath("make"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("make not installed")
		}
		t.Skip("make not installed")
	}
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	const version, commit, date = "9.8.7-rc.1", "0123456789abcdef0123456789abcdef01234567", "2026-01-02T03:04:05Z"
	build := exec.Command("make", "-s", "-C", repo, "build", "BIN="+bin, "VERSION="+version, "COMMIT="+commit, "BUILD_DATE="+date)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	exe := filepath.Join(bin, "isl")

	out, err := exec.Command(exe, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("version: %s\ncommit: %s\nbuilt: %s\ngo: go", version, commit, date)
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("isl version:\n%s\nwant it to start with\n%s", out, want)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, exe)
	srv.Dir = t.TempDir() // no .env
	srv.Env = append(os.Environ(), "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port), "ENV=development", "REDIS_HOST=", "API_KEYS=")
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, bufio.NewReader(stderr))
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	var health struct{ Version string }
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/health")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the built binary never answered /health: %v", err)
		}
	}
	if health.Version != version {
		t.Errorf("/health version %q, want %q", health.Version, version)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	line := fmt.Sprintf(`isl_build_info{build_date="%s",commit="%s",goversion="go`, date, commit)
	if !strings.Contains(string(body), line) || !strings.Contains(string(body), fmt.Sprintf(`version="%s"} 1`, version)) {
		t.Errorf("/metrics lacks isl_build_info for the build:\n%s", grepLines(string(body), "isl_build_info"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
