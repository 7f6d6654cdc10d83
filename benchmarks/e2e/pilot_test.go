// Package e2e proves the pilot topology for real: it starts `pilot-local` (Redis primary + replica
// with three Sentinels, both with AOF, the backup runner, three ISL
// replicas, nginx with TLS, Prometheus with the alert rules — all on the files the Pulumi program
// renders) and checks the pilot's promises under faults and load. It drives pilot-local as a
// separate program, like an operator would, so it imports nothing from the service or stacks.
//
// The tests need redis-server, nginx and prometheus on PATH: without them they are skipped, unless
// CI=true, where a missing binary is a failure.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pilot is the running topology, as its state.json describes it.
type pilot struct {
	bin  string // pilot-local binary
	dir  string
	root string

	Endpoint      string `json:"endpoint"`
	APIKey        string `json:"api_key"`
	TLS           bool   `json:"tls"`
	HTTPURL       string `json:"http_url"`
	PrometheusURL string `json:"prometheus_url"`
	// Alertmanager's API, and the webhook receiver it notifies (started by the test).
	AlertmanagerURL string `json:"alertmanager_url"`
	alerts          *webhookSink
	RedisAddr       string `json:"redis_addr"`
	Components      []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
		PID  int    `json:"pid"`
		Addr string `json:"addr"`
	} `json:"components"`
}

func requireTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, b := range []string{"redis-server", "nginx", "prometheus", "prometheus-alertmanager", "prometheus-nginx-exporter", "go"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("e2e: %s not installed (required when CI=true)", strings.Join(missing, ", "))
	}
	t.Skipf("e2e: %s not installed; install redis-server nginx prometheus prometheus-alertmanager prometheus-nginx-exporter to run the pilot end-to-end tests", strings.Join(missing, ", "))
}

// repoRoot is the directory holding go.work, from the test's working directory up.
func repoRoot(t *testing.T) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("e2e: no go.work above the test directory")
		}
		d = p
	}
}

// startPilot builds pilot-local, runs `pilot-local up` in a fresh directory and registers `down`.
func startPilot(t *testing.T) *pilot {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: the pilot end-to-end run (≈4 min) is skipped in -short mode")
	}
	requireTools(t)
	root := repoRoot(t)
	dir, err := os.MkdirTemp("", "isl-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	// nginx workers (unprivileged when the master runs as root) must traverse the directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &pilot{bin: filepath.Join(dir, "pilot-local"), dir: filepath.Join(dir, "pilot"), root: root, alerts: newWebhookSink(t)}
	build := exec.Command("go", "build", "-o", p.bin, "./stacks/cmd/pilot-local")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build pilot-local: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := p.run("down", "--dir", p.dir); err != nil {
			t.Errorf("pilot-local down: %v\n%s", err, out)
		}
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		} else {
			t.Logf("pilot-local state and logs kept in %s", p.dir)
		}
	})
	if out, err := p.run("up", "--dir", p.dir, "--alert-webhook", p.alerts.srv.URL+"/alerts"); err != nil {
		t.Fatalf("pilot-local up: %v\n%s", err, out)
	}
	p.reload(t)
	return p
}

func (p *pilot) run(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Dir = p.root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func (p *pilot) reload(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, p); err != nil {
		t.Fatal(err)
	}
}

// stop stops one component ("TERM" drains gracefully, "KILL" is a crash) and waits for its exit.
func (p *pilot) stop(t *testing.T, name, sig string) {
	t.Helper()
	if out, err := p.run("stop", name, "--signal", sig, "--dir", p.dir); err != nil {
		t.Fatalf("stop %s: %v\n%s", name, err, out)
	}
}

// start restarts a stopped component and waits until it is ready.
func (p *pilot) start(t *testing.T, name string) {
	t.Helper()
	if out, err := p.run("start", name, "--dir", p.dir); err != nil {
		t.Fatalf("start %s: %v\n%s", name, err, out)
	}
	p.reload(t)
}

func (p *pilot) addr(t *testing.T, name string) string {
	t.Helper()
	for _, c := range p.Components {
		if c.Name == name {
			return c.Addr
		}
	}
	t.Fatalf("no component %s", name)
	return ""
}

func (p *pilot) replicas() []string {
	var out []string
	for _, c := range p.Components {
		if c.Kind == "isl" {
			out = append(out, c.Name)
		}
	}
	return out
}

// eventually retries f until it succeeds or timeout passes.
func eventually(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

var errNotYet = errors.New("not yet")

// served is how many API requests a replica has answered (its own /metrics, not through nginx).
func (p *pilot) served(name string) (float64, error) {
	resp, err := http.Get("http://" + p.addrOf(name) + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	n := 0.0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "isl_http_requests_total{") && strings.Contains(l, `method="POST"`) {
			f := strings.Fields(l)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				return 0, err
			}
			n += v
		}
	}
	return n, nil
}

func (p *pilot) addrOf(name string) string {
	for _, c := range p.Components {
		if c.Name == name {
			return c.Addr
		}
	}
	return ""
}

// waitRouted waits (while load runs) until nginx sends requests to the replica again.
func (p *pilot) waitRouted(t *testing.T, name string) {
	t.Helper()
	start := time.Now()
	first, err := p.served(name)
	if err != nil {
		t.Fatalf("%s metrics: %v", name, err)
	}
	if err := eventually(45*time.Second, func() error {
		n, err := p.served(name)
		if err == nil && n <= first {
			return fmt.Errorf("nginx sends no requests to %s yet", name)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("nginx routes to %s again after %.1fs", name, time.Since(start).Seconds())
}

// haMetrics are exported by the Redis Sentinel and backup components. A topology without them
// (Redis HA and backups not deployed) has no data for their rules and panels, which must still be
// valid PromQL; once any of them is exported, its rules and panels must have data like every other.
var haMetrics = []string{"isl_redis_primary_changes_total", "isl_redis_replicas_connected", "isl_redis_replica_lag_bytes",
	"isl_redis_primary_info", "isl_backup_last_success_timestamp_seconds", "isl_backup_failures_total", "isl_backup_last_size_bytes",
	"isl:backup_age:intervals"}

// notExported returns the Redis HA or backup metric expr reads that Prometheus has no series of,
// or "" if expr reads none of them, or all of them exist.
func notExported(p *pilot, expr string) string {
	for _, m := range haMetrics {
		if !strings.Contains(expr, m) {
			continue
		}
		if k, err := promQuery(p, fmt.Sprintf("count({__name__=%q})", m)); err == nil && k == 0 {
			return m
		}
	}
	return ""
}

// webhookSink is the alert receiver: Alertmanager posts its notifications here.
type webhookSink struct {
	mu  sync.Mutex
	got []notification
	srv *httptest.Server
}

type notification struct {
	Status       string            `json:"status"`
	Receiver     string            `json:"receiver"`
	GroupLabels  map[string]string `json:"groupLabels"`
	CommonLabels map[string]string `json:"commonLabels"`
	Alerts       []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

func newWebhookSink(t *testing.T) *webhookSink {
	s := &webhookSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, n)
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// wait returns the first notification for alertname that satisfies ok.
func (s *webhookSink) wait(alertname string, within time.Duration, ok func(notification) bool) (notification, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, n := range s.got {
			if n.GroupLabels["alertname"] == alertname && ok(n) {
				s.mu.Unlock()
				return n, nil
			}
		}
		s.mu.Unlock()
		time.Sleep(250 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return notification{}, fmt.Errorf("no %s notification within %s; received %+v", alertname, within, s.got)
}
