package stacks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/olumi/isl/monitoring"
	"github.com/olumi/isl/monitoring/alerts"
	"github.com/olumi/isl/stacks/certs"
	"gopkg.in/yaml.v3"
)

// requireBinary returns the path of a program the rendered files are checked with. On CI
// (CI=true) a missing program fails the test; elsewhere it skips.
func requireBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (CI=true requires it): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a throwaway certificate and key for host names (and 127.0.0.1) into dir.
func selfSigned(t *testing.T, dir string, names ...string) (string, string) {
	t.Helper()
	cert, key := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := certs.SelfSigned(cert, key, 24*time.Hour, append(names, "127.0.0.1")...); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

func TestNginxConfig(t *testing.T) {
	for _, tier := range Tiers {
		cfg := loadStack(t, string(tier))
		t.Run(string(tier)+"/container", func(t *testing.T) {
			b, err := Build(cfg, Placement{})
			if err != nil {
				t.Fatal(err)
			}
			conf, err := RenderNginx(b.Nginx)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, s := range cfg.ReplicaSlots() {
				want = append(want, s+":8000")
			}
			if got := UpstreamServers(conf); !reflect.DeepEqual(got, want) {
				t.Errorf("upstream servers %v, want exactly the replica slots %v", got, want)
			}
			text := string(conf)
			mustContain(t, text,
				"least_conn;", "zone isl_backend 64k;", "resolve max_fails=1 fail_timeout=5s;", "resolver 127.0.0.11 valid=1s ipv6=off;", "client_max_body_size 1m;",
				`add_header X-Frame-Options "SAMEORIGIN" always;`, `add_header X-Content-Type-Options "nosniff" always;`,
				`add_header X-XSS-Protection "1; mode=block" always;`, "resolver 127.0.0.11",
				"location = /metrics {", "proxy_next_upstream error timeout http_502 http_504 non_idempotent;",
				"proxy_read_timeout 60s;", "listen 127.0.0.1:8081;", "listen 0.0.0.0:8082;", "stub_status;",
				"client_header_timeout 10s;", "client_body_timeout 10s;", "send_timeout 10s;", "reset_timedout_connection on;",
				"limit_conn isl_conn_per_client 128;", "worker_connections 2048;", "worker_processes 2;", "error_page 413 /_isl/error/413;",
				`"$isl_method $isl_route $server_protocol"`)
			// A designed 503 is an answer: never retried, never a mark-down; raw request URIs (user
			// ids) are never logged.
			if strings.Contains(text, "http_503") || strings.Contains(text, "$request_uri $server_protocol") || strings.Contains(text, `"$request"`) {
				t.Error("nginx retries 503s, or logs raw request URIs")
			}
			// /metrics is never proxied: its location only answers 404.
			if m := text[strings.Index(text, "location = /metrics {"):]; strings.Contains(m[:strings.Index(m, "}")], "proxy_pass") {
				t.Error("/metrics is proxied through the public entry")
			}
			// Without its password /prometheus/ has no route; with it, basic auth guards it.
			if strings.Contains(text, "location /prometheus/") {
				t.Error("/prometheus/ routed without isl:prometheusAdminPassword")
			}
			withAuth := cfg
			withAuth.Secrets = map[string]bool{SecretPrometheusPassword: true}
			ba, _ := Build(withAuth, Placement{})
			authConf, err := RenderNginx(ba.Nginx)
			if err != nil {
				t.Fatal(err)
			}
			mustContain(t, string(authConf), "location /prometheus/ {", "auth_basic_user_file "+NginxHtpasswdPath+";")
			if strings.Count(text, "proxy_hide_header ") != 3 {
				t.Error("replica security headers not hidden (each would be sent twice)")
			}
			if strings.Contains(text, "location = /api/v1/preferences/update") || strings.Count(text, "proxy_next_upstream ") != 1 {
				t.Error("/preferences/update is idempotent (re-answers replace): it must be retried like every route, with one proxy_next_upstream policy")
			}
			if tier == Pilot {
				mustContain(t, text, "listen 443 ssl;", "http2 on;", "return 308 https://"+cfg.Nginx.PublicHost+"$request_uri;", "Strict-Transport-Security",
					"ssl_certificate "+NginxCertPath+";", "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:")
			} else if strings.Contains(text, "Strict-Transport-Security") || strings.Contains(text, "ssl") {
				t.Error("HSTS/TLS on a plain-HTTP stack")
			}
		})
		t.Run(string(tier)+"/nginx -t local", func(t *testing.T) {
			nginx := requireBinary(t, "nginx")
			dir := t.TempDir()
			cert, key := selfSigned(t, dir, "localhost")
			b, err := Build(cfg, Placement{Local: true, Dir: dir, Upstreams: []string{"127.0.0.1:8101", "127.0.0.1:8102"},
				HTTPPort: 18080, HTTPSPort: 18443, TLSCertFile: cert, TLSKeyFile: key})
			if err != nil {
				t.Fatal(err)
			}
			conf, err := RenderNginx(b.Nginx)
			if err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(b.Nginx.TempDir, 0o755) // the render CLI creates it
			nginxTest(t, nginx, dir, conf)
		})
	}
}

func nginxTest(t *testing.T, nginx, dir string, conf []byte) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	p := filepath.Join(dir, "nginx.conf")
	os.WriteFile(p, conf, 0o644)
	out, err := run(t, nginx, "-t", "-p", dir, "-c", p, "-e", filepath.Join(dir, "error.log"))
	if err != nil || !strings.Contains(out, "test is successful") {
		t.Fatalf("nginx -t failed: %v\n%s\n--- config ---\n%s", err, out, conf)
	}
}

func mustContain(t *testing.T, text string, needles ...string) {
	t.Helper()
	for _, n := range needles {
		if !strings.Contains(text, n) {
			t.Errorf("rendered file lacks %q", n)
		}
	}
}

// TestNginxProxiesAndFailsOver runs nginx on the local render in front of two fake replicas, one
// of them dead, and checks what the config promises: every request answered (POST included) by
// failing over, security headers (once each), /metrics never proxied, 1 MiB body limit.
func TestNginxProxiesAndFailsOver(t *testing.T) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		// The service sets these too (for direct access): nginx must not send them twice.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	defer live.Close()
	deadPort := freePort(t) // nothing listens there
	// The test client (127.0.0.1) is not an admin.
	base, _ := liveNginx(t, "staging", []string{fmt.Sprintf("127.0.0.1:%d", deadPort), strings.TrimPrefix(live.URL, "http://")},
		func(b *Bundle) { b.Nginx.AdminAllow = []string{"10.255.255.255/32"} })

	for i := 0; i < 6; i++ { // least_conn alternates: some of these first hit the dead replica
		for _, path := range []string{"/api/v1/causal/validate", "/api/v1/preferences/update"} {
			resp, err := http.Post(base+path, "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), path) {
				t.Fatalf("POST %s → %d %s", path, resp.StatusCode, body)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
				t.Errorf("security headers missing: %v", resp.Header)
			}
			for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
				if n := len(resp.Header.Values(h)); n != 1 {
					t.Errorf("%s sent %d times", h, n)
				}
			}
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mbody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Never proxied, whatever the client address: a JSON 404, not a replica's metrics.
	if resp.StatusCode != 404 || !strings.Contains(string(mbody), `"error_code":"not_found"`) {
		t.Errorf("/metrics → %d %s, want the JSON 404", resp.StatusCode, mbody)
	}
	resp, err = http.Post(base+"/api/v1/causal/validate", "application/json", bytes.NewReader(make([]byte, 1<<20+1)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("1 MiB + 1 body → %d, want 413", resp.StatusCode)
	}
}

// TestNginxTLSRedirect runs the pilot's TLS render locally: HTTP redirects to HTTPS, HTTPS answers
// with HSTS.
func TestNginxTLSRedirect(t *testing.T) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer live.Close()
	httpBase, b := liveNginx(t, "pilot", []string{strings.TrimPrefix(live.URL, "http://")}, nil)
	hp := strings.TrimPrefix(httpBase, "http://127.0.0.1:")
	_, sp, _ := net.SplitHostPort(b.Nginx.HTTPSListen)
	client := insecureClient()
	httpsBase := "https://" + b.Nginx.HTTPSListen
	// 308 (a POST stays a POST) to the configured host (the local render's is 127.0.0.1), never
	// the client's Host header.
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+hp+"/api/v1/x?y=1", strings.NewReader("{}"))
	req.Host = "evil.example"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 308 || resp.Header.Get("Location") != "https://127.0.0.1:"+sp+"/api/v1/x?y=1" {
		t.Errorf("HTTP → %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = client.Get(httpsBase + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("HTTPS → %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
}

func waitHTTP(t *testing.T, url string, stderr *bytes.Buffer) {
	waitHTTPClient(t, http.DefaultClient, url, stderr)
}

func waitHTTPClient(t *testing.T, c *http.Client, url string, stderr *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nginx did not answer %s: %s", url, stderr.String())
}

func TestPrometheusConfig(t *testing.T) {
	promtool := requireBinary(t, "promtool")
	for _, tier := range Tiers {
		cfg := loadStack(t, string(tier))
		for _, local := range []bool{false, true} {
			name := string(tier) + map[bool]string{false: "/container", true: "/local"}[local]
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				pl := Placement{}
				if local {
					pl = Placement{Local: true, Dir: dir, Upstreams: []string{"127.0.0.1:8101", "127.0.0.1:8102", "127.0.0.1:8103"}}
				}
				b, err := Build(cfg, pl)
				if err != nil {
					t.Fatal(err)
				}
				want := b.Nginx.Upstreams
				p := b.Prometheus
				rules, err := RenderAlertRules(b.Alerts)
				if err != nil {
					t.Fatal(err)
				}
				rp := filepath.Join(dir, "isl-alerts.yml")
				os.WriteFile(rp, rules, 0o644)
				p.RuleFiles = []string{rp} // the container path does not exist here
				conf, err := RenderPrometheus(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := ScrapeTargets(conf); !reflect.DeepEqual(got, want) {
					t.Errorf("scrape targets %v, want the nginx upstreams %v", got, want)
				}
				// The entry point is scraped through its exporter: in containers the nginx-exporter
				// container, locally only when pilot-local runs one.
				wantNginx := []string{"nginx-exporter:9113"}
				if local {
					wantNginx = nil
				}
				if got := jobTargets(t, conf, "nginx"); !reflect.DeepEqual(got, wantNginx) {
					t.Errorf("nginx job targets %v, want %v", got, wantNginx)
				}
				cp := filepath.Join(dir, "prometheus.yml")
				os.WriteFile(cp, conf, 0o644)
				if out, err := run(t, promtool, "check", "config", cp); err != nil {
					t.Fatalf("promtool check config: %v\n%s\n%s", err, out, conf)
				}
				if local { // with an exporter address, the job is rendered and still valid
					p.NginxExporter = "127.0.0.1:9913"
					conf, err := RenderPrometheus(p)
					if err != nil {
						t.Fatal(err)
					}
					if got := jobTargets(t, conf, "nginx"); !reflect.DeepEqual(got, []string{"127.0.0.1:9913"}) {
						t.Errorf("local nginx job targets %v", got)
					}
					os.WriteFile(cp, conf, 0o644)
					if out, err := run(t, promtool, "check", "config", cp); err != nil {
						t.Fatalf("promtool check config: %v\n%s\n%s", err, out, conf)
					}
				}
				if !strings.Contains(strings.Join(b.PrometheusArgs, " "), "--storage.tsdb.retention.time="+cfg.Prometheus.Retention) {
					t.Errorf("retention %s not in args %v", cfg.Prometheus.Retention, b.PrometheusArgs)
				}
			})
		}
	}
}

// jobTargets returns the static targets of one scrape job of a rendered prometheus.yml (nil: no job).
func jobTargets(t *testing.T, promYML []byte, job string) []string {
	t.Helper()
	var doc struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(promYML, &doc); err != nil {
		t.Fatalf("parse prometheus.yml: %v", err)
	}
	var out []string
	for _, sc := range doc.ScrapeConfigs {
		if sc.JobName == job {
			for _, s := range sc.StaticConfigs {
				out = append(out, s.Targets...)
			}
		}
	}
	return out
}

// writeRulesAndTests renders the alert rules with the 512 MiB limit and the 1h backup interval the
// unit tests assume, next to a copy of the promtool unit tests.
func writeRulesAndTests(t *testing.T, mutate func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	rules, err := RenderAlertRules(AlertParams{Origin: "test", MemoryLimitMB: 512, BackupInterval: time.Hour, NginxConnections: 4096})
	if err != nil {
		t.Fatal(err)
	}
	text := string(rules)
	if mutate != nil {
		text = mutate(text)
	}
	os.WriteFile(filepath.Join(dir, "isl-alerts.yml"), []byte(text), 0o644)
	tests, err := monitoring.FS.ReadFile("tests/isl-alerts.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "isl-alerts.test.yml"), tests, 0o644)
	return dir
}

func TestAlertRules(t *testing.T) {
	promtool := requireBinary(t, "promtool")
	dir := writeRulesAndTests(t, nil)
	if out, err := run(t, promtool, "check", "rules", filepath.Join(dir, "isl-alerts.yml")); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := run(t, promtool, "test", "rules", filepath.Join(dir, "isl-alerts.test.yml")); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	text, _ := os.ReadFile(filepath.Join(dir, "isl-alerts.yml"))
	for _, alert := range []string{"ISLRedisMemoryHigh", "ISLRedisFullForNewUsers", "ISLEntryDown", "ISLEntryConnectionsHigh", "ISLEntryErrors"} {
		if _, ok := alertExprs(t, text)[alert]; !ok {
			t.Errorf("alert %s missing", alert)
		}
	}
	exprs := alertExprs(t, text)
	// Every threshold of the alerts package is the one its rule compares against.
	for _, th := range alerts.All() {
		expr, ok := exprs[th.Alert]
		if !ok {
			t.Errorf("alert %s missing", th.Alert)
			continue
		}
		if th.Alert == "ISLServiceDown" || th.Alert == "ISLRedisDisconnected" {
			// 0/1 signals: the rule tests for 0, the panel turns red below 1.
			if !strings.HasSuffix(expr, "== 0") {
				t.Errorf("%s: %q does not test for 0", th.Alert, expr)
			}
			continue
		}
		if want := "> " + strconv.FormatFloat(th.Value, 'f', -1, 64); !strings.HasSuffix(expr, want) {
			t.Errorf("%s: expression %q does not end in the threshold %q", th.Alert, expr, want)
		}
	}
	if !strings.Contains(exprs["ISLHighMemory"], "/ on (job, instance) isl_memory_limit_bytes{job=\"isl\"}") {
		t.Error("memory alert not relative to the limit each replica reads from its cgroup")
	}
	// Without a backup schedule there are no backup rules (nothing would ever report).
	plain, err := RenderAlertRules(AlertParams{Origin: "test", MemoryLimitMB: 512, NginxConnections: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), "isl-backup") {
		t.Error("backup rules rendered for a stack without isl:backupInterval")
	}
}

// alertExprs maps alert name → expression (one line, trimmed) of a rendered rule file.
func alertExprs(t *testing.T, rules []byte) map[string]string {
	t.Helper()
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rules, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out[r.Alert] = strings.TrimSpace(r.Expr)
			}
		}
	}
	return out
}

// The promtool unit tests must be able to fail: with a threshold moved, they do.
func TestAlertRuleTestsCatchWrongThresholds(t *testing.T) {
	promtool := requireBinary(t, "promtool")
	mutations := map[string][2]string{
		"causal SLO 3 s":           {`causal/.*"}[5m]))) > 2`, `causal/.*"}[5m]))) > 3`},
		"preference SLO 2 s":       {"> 1.5", "> 2.0"},
		"analysis SLO 3 s":         {`analysis)/.*"}[5m]))) > 2`, `analysis)/.*"}[5m]))) > 3`},
		"analysis without team":    {"(validation|team|analysis)", "(validation|analysis)"},
		"error rate 20 %":          {"> 0.05", "> 0.2"},
		"auth surge 2/s":           {`status=~"401|403"}[5m])) > 1`, `status=~"401|403"}[5m])) > 2`},
		"auth surge counts 4xx":    {`status=~"401|403"`, `status=~"4.."`},
		"active requests ≥ 100":    {"isl_active_requests{job=\"isl\"} > 100", "isl_active_requests{job=\"isl\"} >= 100"},
		"memory 95 %":              {"> 0.8", "> 0.95"},
		"memory by configured":     {`isl_memory_limit_bytes{job="isl"}`, `536870912`},
		"redis alert inverted":     {"isl_redis_connected{job=\"isl\"} == 0", "isl_redis_connected{job=\"isl\"} == 1"},
		"down after 5m":            {"up{job=\"isl\"} == 0\n        for: 1m", "up{job=\"isl\"} == 0\n        for: 5m"},
		"failover per replica":     {"max by (job) (increase(isl_redis_primary_changes_total", "(increase(isl_redis_primary_changes_total"},
		"failover 15m window":      {"isl_redis_primary_changes_total{job=\"isl\"}[5m]", "isl_redis_primary_changes_total{job=\"isl\"}[15m]"},
		"replica lag ≥ 1 MiB":      {"> 1048576", ">= 1048576"},
		"replica lag without for":  {"> 1048576\n        for: 2m", "> 1048576\n        for: 0m"},
		"backup after 3 intervals": {"isl:backup_age:intervals > 2", "isl:backup_age:intervals > 3"},
		"backup interval 2h":       {"/ 3600", "/ 7200"},
		"redis warning at 65 %":    {"> 0.75", "> 0.65"},
		"redis full at 95 %":       {">= 0.9", ">= 0.96"},
		"entry errors at 2 %":      {"clamp_min(sum(rate(nginx_http_requests_total{job=\"nginx\"}[5m])), 1) > 0.05", "clamp_min(sum(rate(nginx_http_requests_total{job=\"nginx\"}[5m])), 1) > 0.02"},
		"entry errors unclamped":   {"clamp_min(sum(rate(nginx_http_requests_total{job=\"nginx\"}[5m])), 1)", "sum(rate(nginx_http_requests_total{job=\"nginx\"}[5m]))"},
		"connections at 70 %":      {"/ 4096 > 0.8", "/ 4096 > 0.7"},
		"entry down ignores up":    {" or min(up{job=\"nginx\"}) < 1", ""},
	}
	for name, m := range mutations {
		t.Run(name, func(t *testing.T) {
			dir := writeRulesAndTests(t, func(s string) string {
				if !strings.Contains(s, m[0]) {
					t.Fatalf("mutation target %q not in the rules", m[0])
				}
				return strings.Replace(s, m[0], m[1], 1)
			})
			if out, err := run(t, promtool, "test", "rules", filepath.Join(dir, "isl-alerts.test.yml")); err == nil {
				t.Fatalf("promtool test rules passed with %s:\n%s", name, out)
			}
		})
	}
}

// TestRedisConfig starts redis-server on the local render and checks password, persistence and
// memory settings over the wire.
func TestRedisConfig(t *testing.T) {
	redisServer := requireBinary(t, "redis-server")
	for _, tier := range Tiers {
		t.Run(string(tier), func(t *testing.T) {
			cfg := loadStack(t, string(tier))
			dir := t.TempDir()
			port := freePort(t)
			b, err := Build(cfg, Placement{Local: true, Dir: dir, Upstreams: []string{"127.0.0.1:8101"}, RedisPort: port})
			if err != nil {
				t.Fatal(err)
			}
			files, err := b.Files("s3cret-Pa55word")
			if err != nil {
				t.Fatal(err)
			}
			rc, _ := FindFile(files, "redis.conf")
			if !rc.Secret {
				t.Error("redis.conf not marked secret")
			}
			os.MkdirAll(b.Redis.Dir, 0o700)
			os.WriteFile(rc.Path, rc.Content, 0o600)
			cmd := exec.Command(redisServer, rc.Path)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			var conn net.Conn
			for i := 0; i < 100; i++ {
				if conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if conn == nil {
				log, _ := os.ReadFile(b.Redis.LogFile)
				t.Fatalf("redis-server did not start: %v\n%s%s", err, out.String(), log)
			}
			defer conn.Close()
			r := bufio.NewReader(conn)
			if got := resp(t, conn, r, "PING"); !strings.HasPrefix(got, "-NOAUTH") {
				t.Errorf("PING without password → %q, want NOAUTH", got)
			}
			if got := resp(t, conn, r, "AUTH", "wrong-password"); !strings.HasPrefix(got, "-") {
				t.Errorf("AUTH with a wrong password → %q", got)
			}
			if got := resp(t, conn, r, "AUTH", "s3cret-Pa55word"); !strings.HasPrefix(got, "-") {
				t.Errorf("AUTH as the default user → %q, want refused (default is off)", got)
			}
			if got := resp(t, conn, r, "AUTH", "admin", "s3cret-Pa55word"); got != "+OK" {
				t.Fatalf("AUTH admin → %q", got)
			}
			if got := resp(t, conn, r, "PING"); got != "+PONG" {
				t.Errorf("PING → %q", got)
			}
			for key, want := range map[string]string{"appendonly": "yes", "maxmemory": strconv.Itoa(cfg.Redis.MaxMemoryMB << 20),
				"maxmemory-policy": cfg.Redis.MaxMemoryPolicy, "appendfsync": cfg.Redis.AppendFsync, "save": "900 1 300 10 60 10000"} {
				if got := resp(t, conn, r, "CONFIG", "GET", key); !strings.HasSuffix(got, "|"+want) {
					t.Errorf("CONFIG GET %s → %q, want %q", key, got, want)
				}
			}
			testServiceACL(t, b, rc, redisServer, port, &cmd)
		})
	}
}

// resp sends one command and reads the reply, flattening arrays as "a|b|…".
func resp(t *testing.T, w io.Writer, r *bufio.Reader, args ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		t.Fatal(err)
	}
	return readReply(t, r)
}

func readReply(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	line = strings.TrimRight(line, "\r\n")
	switch line[0] {
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "(nil)"
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	case '*':
		n, _ := strconv.Atoi(line[1:])
		parts := make([]string, n)
		for i := range parts {
			parts[i] = readReply(t, r)
		}
		return strings.Join(parts, "|")
	}
	return line
}

func TestRendererRejectsUnsafeValues(t *testing.T) {
	cfg := loadStack(t, "staging")
	b, _ := Build(cfg, Placement{})
	bad := []func(p *NginxParams){
		func(p *NginxParams) { p.Upstreams = nil },
		func(p *NginxParams) { p.Upstreams = []string{"isl-1:8000; evil"} },
		func(p *NginxParams) { p.Upstreams = []string{"isl-1"} },
		func(p *NginxParams) { p.ServerName = "a b" },
		func(p *NginxParams) { p.ClientMaxBodySize = "1m;" },
		func(p *NginxParams) { p.ProxyReadTimeout = "forever" },
		func(p *NginxParams) { p.Resolver = ""; p.GrafanaAddr = "grafana:3000" },
		func(p *NginxParams) { p.TLS = true; p.TLSCertFile = "" },
	}
	for i, f := range bad {
		p := b.Nginx
		p.Upstreams = append([]string{}, p.Upstreams...)
		f(&p)
		if _, err := RenderNginx(p); err == nil {
			t.Errorf("case %d: unsafe nginx params rendered", i)
		}
	}
	for _, pw := range []string{"", "short", "has space x", `quote"quote`, "hash#hash1"} {
		rp := b.Redis
		rp.Password = pw
		if _, err := RenderRedis(rp); err == nil {
			t.Errorf("redis password %q accepted", pw)
		}
	}
	if _, err := RenderPrometheus(PrometheusParams{ScrapeInterval: "15s", EvaluationInterval: "15s"}); err == nil {
		t.Error("prometheus.yml without targets rendered")
	}
	if _, err := Build(cfg, Placement{Local: true, Dir: "relative", Upstreams: []string{"127.0.0.1:1"}}); err == nil {
		t.Error("local placement with a relative dir accepted")
	}
	if _, err := Build(cfg, Placement{Local: true, Dir: "/tmp/x"}); err == nil {
		t.Error("local placement without upstreams accepted")
	}
}

// TestPrometheusServesLocalRender starts Prometheus on the local render (as `make pilot-local`
// does) and checks over its API that the rules load, the replica targets are configured, and every
// dashboard query is valid PromQL.
func TestPrometheusServesLocalRender(t *testing.T) {
	prom := requireBinary(t, "prometheus")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := loadStack(t, "pilot")
	b, err := Build(cfg, Placement{Local: true, Dir: dir, PrometheusAddr: addr,
		Upstreams: []string{"127.0.0.1:8101", "127.0.0.1:8102", "127.0.0.1:8103"}})
	if err != nil {
		t.Fatal(err)
	}
	files, err := b.Files("local-Pa55word")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		os.WriteFile(f.Path, f.Content, 0o600)
	}
	cmd := exec.Command(prom, b.PrometheusArgs...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }()
	base := "http://" + addr + PrometheusPrefix
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	api := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct{ Name, Health string }
			}
		}
	}
	api("/api/v1/rules", &rules)
	n := 0
	for _, g := range rules.Data.Groups {
		n += len(g.Rules)
	}
	rendered, _ := FindFile(files, "isl-alerts.yml")
	if want := bytes.Count(rendered.Content, []byte("- alert: ")) + bytes.Count(rendered.Content, []byte("- record: ")); n != want || n < 16 {
		t.Errorf("%d rules loaded, want the %d rendered (at least 16)", n, want)
	}
	var targets struct {
		Data struct {
			ActiveTargets []struct {
				Labels map[string]string
			}
		}
	}
	var isl []string
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		// Target discovery reaches the scrape manager a few seconds after start.
		api("/api/v1/targets", &targets)
		isl = nil
		for _, tg := range targets.Data.ActiveTargets {
			if tg.Labels["job"] == "isl" {
				isl = append(isl, tg.Labels["instance"])
			}
		}
		if len(isl) >= len(b.Nginx.Upstreams) {
			break
		}
	}
	sort.Strings(isl)
	if !reflect.DeepEqual(isl, b.Nginx.Upstreams) {
		t.Errorf("isl targets %v, want %v", isl, b.Nginx.Upstreams)
	}
	qs, err := monitoring.DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		var r struct{ Status, Error string }
		api("/api/v1/query?query="+url.QueryEscape(q.Expr), &r)
		if r.Status != "success" {
			t.Errorf("dashboard panel %q: %s: %s", q.Panel, q.Expr, r.Error)
		}
	}
}

// stopNginx shuts nginx down through its master (SIGTERM makes it stop its workers too). SIGKILL
// would orphan the workers, which keep running and holding the listening socket.
func stopNginx(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// testServiceACL: the service's "isl" user runs every command the service sends on its own keys,
// and nothing else (FLUSHALL, CONFIG, SHUTDOWN, KEYS, other keys); its transactions survive a
// restart on the AOF (a -@all default user made Redis 7.0 drop every MULTI/EXEC on replay).
func testServiceACL(t *testing.T, b Bundle, rc File, redisServer string, port int, cmd **exec.Cmd) {
	t.Helper()
	dial := func() (net.Conn, *bufio.Reader) {
		var conn net.Conn
		var err error
		for range 100 {
			if conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if conn == nil {
			t.Fatalf("redis: %v", err)
		}
		r := bufio.NewReader(conn)
		if got := resp(t, conn, r, "AUTH", RedisServiceUser, RedisServicePassword("s3cret-Pa55word")); got != "+OK" {
			t.Fatalf("AUTH %s → %q", RedisServiceUser, got)
		}
		// A restarted Redis answers -LOADING while it replays the AOF.
		for i := 0; i < 100 && strings.HasPrefix(resp(t, conn, r, "PING"), "-LOADING"); i++ {
			time.Sleep(50 * time.Millisecond)
		}
		return conn, r
	}
	conn, r := dial()
	allowed := [][]string{
		{"PING"}, {"INFO", "memory"}, {"SET", "isl:user:h:beliefs", "{}", "EX", "100"}, {"GET", "isl:user:h:beliefs"},
		{"GETEX", "isl:user:h:beliefs", "EX", "200"}, {"ZADD", "isl:user:h:queries", "1", "q"}, {"EXPIRE", "isl:user:h:queries", "100"},
		{"RPUSH", "isl:user:h:responses", "x"}, {"LTRIM", "isl:user:h:responses", "-1000", "-1"}, {"ZCARD", "isl:user:h:queries"}, {"SCAN", "0", "MATCH", "isl:user:h:*"},
		{"INCRBY", "isl:ratelimit:k:1", "1"}, {"MGET", "isl:ratelimit:k:1", "isl:ratelimit:k:0"},
		{"EVAL", "return redis.call('GET', KEYS[1])", "1", "isl:user:h:beliefs"}, {"DEL", "isl:user:x"},
	}
	for _, c := range allowed {
		if got := resp(t, conn, r, c...); strings.HasPrefix(got, "-") {
			t.Errorf("isl user: %v → %q", c, got)
		}
	}
	for _, c := range [][]string{{"FLUSHALL"}, {"CONFIG", "SET", "maxmemory", "1"}, {"SHUTDOWN"}, {"KEYS", "*"}, {"BGREWRITEAOF"}, {"CLIENT", "KILL", "TYPE", "normal"},
		{"SET", "other:key", "1"}, {"GET", "other:key"}, {"ACL", "LIST"}} {
		if got := resp(t, conn, r, c...); !strings.HasPrefix(got, "-NOPERM") {
			t.Errorf("isl user: %v → %q, want NOPERM", c, got)
		}
	}
	for _, c := range [][]string{{"MULTI"}, {"ZADD", "isl:user:h:queries", "2", "q2"}, {"RPUSH", "isl:user:h:responses", "y"}, {"EXEC"}} {
		if got := resp(t, conn, r, c...); strings.HasPrefix(got, "-") {
			t.Fatalf("isl user: %v → %q", c, got)
		}
	}
	conn.Close()
	// Restart on the AOF: the transaction is still there.
	(*cmd).Process.Signal(syscall.SIGTERM)
	(*cmd).Wait()
	*cmd = exec.Command(redisServer, rc.Path)
	if err := (*cmd).Start(); err != nil {
		t.Fatal(err)
	}
	conn, r = dial()
	defer conn.Close()
	if got := resp(t, conn, r, "ZCARD", "isl:user:h:queries"); got != ":2" {
		log, _ := os.ReadFile(b.Redis.LogFile)
		t.Errorf("after a restart on the AOF the transaction's ZADD is gone (ZCARD %q)\n%s", got, log)
	}
}
