package stacks

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// liveNginx renders the staging (or pilot) local config for upstreams, starts nginx on it and
// returns the plain-HTTP base URL and the bundle.
func liveNginx(t *testing.T, stack string, upstreams []string, edit func(*Bundle)) (string, Bundle) {
	t.Helper()
	nginx := requireBinary(t, "nginx")
	dir := t.TempDir()
	cfg := loadStack(t, stack)
	port := freePort(t)
	pl := Placement{Local: true, Dir: dir, HTTPPort: port, Upstreams: upstreams, NginxMetricsAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	if cfg.Nginx.TLS {
		pl.HTTPSPort = freePort(t)
		pl.TLSCertFile, pl.TLSKeyFile = selfSigned(t, dir, "localhost")
	}
	b, err := Build(cfg, pl)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&b)
	}
	conf, err := RenderNginx(b.Nginx)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(b.Nginx.TempDir, 0o755)
	cp := filepath.Join(dir, "nginx.conf")
	os.WriteFile(cp, conf, 0o644)
	cmd := exec.Command(nginx, "-p", dir, "-c", cp, "-e", b.Nginx.ErrorLog, "-g", "daemon off;")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopNginx(cmd) })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if cfg.Nginx.TLS {
		waitHTTPClient(t, insecureClient(), fmt.Sprintf("https://127.0.0.1:%d/nginx-unknown", pl.HTTPSPort), &stderr)
	} else {
		waitHTTP(t, base+"/nginx-unknown", &stderr)
	}
	return base, b
}

func insecureClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

// requireEnvelope checks that an answer is the API's JSON error envelope with status and code.
func requireEnvelope(t *testing.T, what string, resp *http.Response, body []byte, status int, code string, retryable bool) {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Errorf("%s: %d body is not JSON: %q", what, resp.StatusCode, body)
		return
	}
	if resp.StatusCode != status || env["error_code"] != code || env["retryable"] != retryable ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || env["trace_id"] == "" || env["message"] == "" {
		t.Errorf("%s: %d %s %q, want %d %s retryable=%v", what, resp.StatusCode, resp.Header.Get("Content-Type"), body, status, code, retryable)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: security headers missing on nginx's own error: %v", what, resp.Header)
	}
	if retryable && resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: retryable without Retry-After", what)
	}
}

func roundTrip(t *testing.T, c *http.Client, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestNginxDesigned503IsAnAnswer: a replica's 503 (overload, deadline, Redis down) reaches the
// client as sent, is never re-sent to another replica, and never marks a replica down — the
// 30-second API-wide outage that a Redis blip or one user's compare-and-swap burst caused before.
func TestNginxDesigned503IsAnAnswer(t *testing.T) {
	var hits [2]atomic.Int64
	var ups []string
	for i := range 2 {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			if strings.HasSuffix(r.URL.Path, "/busy") {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(503)
				fmt.Fprint(w, `{"error_code":"service_unavailable","retryable":true,"from":"replica"}`)
				return
			}
			fmt.Fprint(w, `{"ok":true}`)
		}))
		t.Cleanup(s.Close)
		ups = append(ups, strings.TrimPrefix(s.URL, "http://"))
	}
	base, _ := liveNginx(t, "staging", ups, nil)
	c := insecureClient()
	for i := range 30 {
		method := http.MethodPost
		if i%2 == 1 {
			method = http.MethodGet
		}
		resp, body := roundTrip(t, c, method, base+"/api/v1/preferences/busy", strings.NewReader(`{}`))
		if resp.StatusCode != 503 || !strings.Contains(string(body), `"from":"replica"`) {
			t.Fatalf("designed 503 → %d %s, want the replica's own 503", resp.StatusCode, body)
		}
	}
	if n := hits[0].Load() + hits[1].Load() - 1; n != 30 { // 1: liveNginx's readiness probe
		t.Errorf("30 requests answered 503 reached the replicas %d times: nginx re-sent them", n)
	}
	before := [2]int64{hits[0].Load(), hits[1].Load()}
	for range 20 {
		if resp, body := roundTrip(t, c, http.MethodPost, base+"/api/v1/causal/validate", strings.NewReader(`{}`)); resp.StatusCode != 200 {
			t.Fatalf("after a 503 burst: %d %s", resp.StatusCode, body)
		}
	}
	for i := range 2 {
		if hits[i].Load() == before[i] {
			t.Errorf("replica %d got no request after the 503 burst: nginx marked it down", i+1)
		}
	}
}

// TestNginxOwnErrorsAreJSON: every error nginx produces itself is the JSON envelope, and a POST
// that never reached a replica fails over while nothing is left to fail over to answers 502.
func TestNginxOwnErrorsAreJSON(t *testing.T) {
	dead1, dead2 := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base, b := liveNginx(t, "staging", []string{dead1, dead2}, func(b *Bundle) { b.Nginx.AdminAllow = []string{"10.255.255.255/32"} })
	c := insecureClient()

	resp, body := roundTrip(t, c, http.MethodPost, base+"/api/v1/causal/validate", strings.NewReader(`{}`))
	requireEnvelope(t, "all replicas down", resp, body, 502, "service_unavailable", true)
	resp, body = roundTrip(t, c, http.MethodGet, base+"/metrics", nil)
	requireEnvelope(t, "/metrics (never proxied)", resp, body, 404, "not_found", false)
	resp, body = roundTrip(t, c, http.MethodPost, base+"/api/v1/causal/validate", bytes.NewReader(make([]byte, 1<<20+1)))
	requireEnvelope(t, "1 MiB + 1 body", resp, body, 413, "payload_too_large", false)
	resp, body = roundTrip(t, c, http.MethodGet, base+"/"+strings.Repeat("a", 9000), nil)
	requireEnvelope(t, "9 kB URI", resp, body, 414, "validation_error", false)

	// A malformed request line: nginx answers 400 itself.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GARBAGE\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	requireEnvelope(t, "malformed request line", resp, body, 400, "validation_error", false)
	if t.Failed() {
		el, _ := os.ReadFile(b.Nginx.ErrorLog)
		t.Logf("error log:\n%s", el)
	}

	// A client that writes its whole oversize body before reading (curl, most HTTP/1.1 libraries)
	// reads the 413, not a reset: nginx lingers, discarding the body, before it closes.
	for i := range 3 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		big := strings.Repeat(" ", 8<<20)
		fmt.Fprintf(conn, "POST /api/v1/causal/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(big))
		conn.SetDeadline(time.Now().Add(15 * time.Second))
		if _, err := io.WriteString(conn, big); err != nil {
			t.Fatalf("attempt %d: writing the body: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("attempt %d: reading the answer: %v (a reset instead of the 413)", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		conn.Close()
		requireEnvelope(t, "8 MiB body written in full", resp, body, 413, "payload_too_large", false)
	}

	// stub_status is for the admin networks only (the exporter runs on the private network).
	resp, body = roundTrip(t, c, http.MethodGet, "http://"+b.Nginx.MetricsListen+"/stub_status", nil)
	requireEnvelope(t, "stub_status from a non-admin", resp, body, 403, "forbidden", false)
}

// TestNginxLimitsAndLog: requests in progress per client are capped (429 envelope beyond), the
// stub_status counters are served to the admin networks, and the access log names routes, never
// user ids or query strings.
func TestNginxLimitsAndLog(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, "/slow") {
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(slow.Close)
	base, b := liveNginx(t, "staging", []string{strings.TrimPrefix(slow.URL, "http://")}, nil)
	c := insecureClient()

	resp, _ := roundTrip(t, c, http.MethodDelete, base+"/api/v1/users/alice%40example.com-secret?token=xyz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("DELETE → %d", resp.StatusCode)
	}
	// An error nginx answers itself is logged under the original request, not its error page.
	resp, _ = roundTrip(t, c, http.MethodPost, base+"/api/v1/causal/validate?k=1", bytes.NewReader(make([]byte, 2<<20)))
	if resp.StatusCode != 413 {
		t.Fatalf("2 MiB → %d", resp.StatusCode)
	}
	resp, body := roundTrip(t, c, http.MethodGet, "http://"+b.Nginx.MetricsListen+"/stub_status", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Active connections:") {
		t.Errorf("stub_status from loopback (an admin network): %d %s", resp.StatusCode, body)
	}

	n := b.Nginx.ConnPerClient + 16
	var wg sync.WaitGroup
	var limited, other atomic.Int64
	var first atomic.Value
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Post(base+"/api/v1/slow", "application/json", strings.NewReader(`{}`))
			if err != nil {
				other.Add(1)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 429 {
				limited.Add(1)
				first.CompareAndSwap(nil, string(body))
			} else if resp.StatusCode != 200 {
				other.Add(1)
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	close(release)
	wg.Wait()
	if limited.Load() < 16 || other.Load() != 0 {
		t.Errorf("%d concurrent requests from one client: %d limited (want ≥ 16), %d other failures", n, limited.Load(), other.Load())
	}
	if s, _ := first.Load().(string); !strings.Contains(s, `"error_code":"rate_limited"`) {
		t.Errorf("429 body %q, want the JSON envelope", s)
	}

	log, err := os.ReadFile(b.Nginx.AccessLog)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), "alice") || strings.Contains(string(log), "token=") || strings.Contains(string(log), "k=1") ||
		!strings.Contains(string(log), "DELETE /api/v1/users/{user_id} HTTP/1.1") || !strings.Contains(string(log), `"POST /api/v1/causal/validate HTTP/1.1" 413`) {
		t.Errorf("access log leaks the user id or query, or lacks the route:\n%s", log)
	}
}

// TestNginxTLSCiphers: the pilot's TLS refuses CBC and non-forward-secret suites on TLS 1.2 and
// accepts an AEAD ECDHE one.
func TestNginxTLSCiphers(t *testing.T) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(live.Close)
	_, b := liveNginx(t, "pilot", []string{strings.TrimPrefix(live.URL, "http://")}, nil)
	addr := b.Nginx.HTTPSListen
	dial := func(suites ...uint16) error {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: suites})
		if err == nil {
			conn.Close()
		}
		return err
	}
	for name, s := range map[string]uint16{
		"ECDHE-ECDSA-AES128-SHA (CBC, SHA-1)":  tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		"ECDHE-ECDSA-AES128-SHA256 (CBC)":      tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		"AES128-GCM-SHA256 (RSA key exchange)": tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
		"ECDHE-ECDSA-AES256-SHA (CBC, SHA-1)":  tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		"ECDHE-RSA-3DES-SHA (3DES)":            tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	} {
		if err := dial(s); err == nil {
			t.Errorf("TLS 1.2 with %s accepted", name)
		}
	}
	if err := dial(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256); err != nil {
		t.Errorf("TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 refused: %v", err)
	}
}

// TestNginxRetriesOnTheCurrentSet: nginx's own 502 (no server left to try) is retried once as a new
// upstream request, which picks from the server set as it is then. With one try per pass and a dead
// replica listed first, a POST whose first pass hit the dead one is answered by the live one, body
// intact, instead of failing; the dead one is marked failed by then. Each request comes after the
// dead one's fail_timeout, so that it is eligible again and the second pass is really exercised.
func TestNginxRetriesOnTheCurrentSet(t *testing.T) {
	const body = `{"dag":{"nodes":["X","Y"],"edges":[["X","Y"]]},"treatment":"X","outcome":"Y"}`
	var live atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/nginx-unknown" && string(b) != body {
			w.WriteHeader(400)
			fmt.Fprintf(w, "body %q", b)
			return
		}
		live.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(s.Close)
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var fail time.Duration
	base, b := liveNginx(t, "staging", []string{dead, strings.TrimPrefix(s.URL, "http://")}, func(b *Bundle) {
		b.Nginx.NextUpstreamTries = 1
		fail, _ = time.ParseDuration(b.Nginx.FailTimeout)
	})
	c := insecureClient()
	for i := range 6 {
		time.Sleep(fail + 100*time.Millisecond)
		resp, got := roundTrip(t, c, http.MethodPost, base+"/api/v1/causal/validate", strings.NewReader(body))
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, got)
		}
	}
	el, _ := os.ReadFile(b.Nginx.ErrorLog)
	if n := strings.Count(string(el), "connect() failed"); n == 0 {
		t.Fatalf("the dead replica was never tried: the second pass was not exercised\n%s", el)
	}
}
