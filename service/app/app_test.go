package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/internal/redistest"
)

func testConfig(t *testing.T, kv map[string]string) config.Config {
	t.Helper()
	cfg, err := config.FromLookup(func(k string) (string, bool) { v, ok := kv[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// start runs the whole app on 127.0.0.1:0 and returns its base URL and a stop function that waits
// for Serve to return.
func start(t *testing.T, cfg config.Config) (string, func() error) {
	t.Helper()
	var logs bytes.Buffer
	a, err := New(cfg, NewLogger(&logs, "DEBUG"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(30 * time.Second):
				serveErr = fmt.Errorf("Serve did not return")
			}
		})
		return serveErr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

func TestAppServesOnEphemeralPort(t *testing.T) {
	url, stop := start(t, testConfig(t, nil))
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"healthy"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

// The in-memory store is reported as what it is: /health names backend memory (no "redis"
// dependency) and /metrics has isl_store_backend{backend="memory"} but no isl_redis_connected.
func TestMemoryStoreIsNotReportedAsRedis(t *testing.T) {
	url, _ := start(t, testConfig(t, nil))
	for path, checks := range map[string]func(string) bool{
		"/health": func(b string) bool {
			return strings.Contains(b, `"store":{"status":"connected","backend":"memory"`) && !strings.Contains(b, `"redis"`)
		},
		"/metrics": func(b string) bool {
			return strings.Contains(b, `isl_store_backend{backend="memory"} 1`) && !strings.Contains(b, "isl_redis_connected")
		},
	} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !checks(string(b)) {
			t.Errorf("%s:\n%s", path, grep(string(b), "store"))
		}
	}
}

// A request in flight when the shutdown signal arrives is still answered (graceful drain).
func TestGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	url, stop := start(t, testConfig(t, nil))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"dag":{"nodes":["X","Y"],"edges":[["X","Y"]]},"treatment":"X","outcome":"Y"}`
	fmt.Fprintf(conn, "POST /api/v1/causal/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	time.Sleep(200 * time.Millisecond) // the server has read the headers: the request is in flight
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request dropped: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("in-flight request answered %d", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestRedisConfiguredButDownIsDegradedNotDead(t *testing.T) {
	// Nothing listens on this port: the app must still serve, reporting degraded (docs/api.md#state).
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url, _ := start(t, testConfig(t, map[string]string{"REDIS_HOST": "127.0.0.1", "REDIS_PORT": fmt.Sprint(port)}))
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"status":"degraded"`) || !strings.Contains(string(b), `"disconnected"`) {
		t.Fatalf("health with Redis down: %d %s", resp.StatusCode, b)
	}
}

// With a real Redis the app feeds the store metrics (docs/api.md#metrics) and reports the dependency as connected.
func TestRedisMetricsAreFed(t *testing.T) {
	srv := redistest.Start(t)
	host, port, _ := net.SplitHostPort(srv.Addr)
	url, _ := start(t, testConfig(t, map[string]string{"REDIS_HOST": host, "REDIS_PORT": port, "REDIS_PASSWORD": srv.Password}))
	body := `{"user_id":"metrics-user","context":{"domain":"general","variables":["a","b"]},"num_queries":2}`
	resp, err := http.Post(url+"/api/v1/preferences/elicit", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("elicit: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := string(b)
		if strings.Contains(m, "\nisl_redis_connected 1") && strings.Contains(m, `isl_store_backend{backend="redis"} 1`) && strings.Contains(m, `isl_redis_operations_total{operation="put_query",status="success"}`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store metrics not fed:\n%s", grep(m, "isl_redis"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
