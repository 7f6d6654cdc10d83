package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// allReceivers is a stack config with every receiver set: webhook, Slack, e-mail, PagerDuty.
func allReceivers(t *testing.T, stack string) (Config, AlertSecrets) {
	t.Helper()
	cfg := loadStack(t, stack)
	for _, k := range []string{SecretAlertWebhookURL, SecretAlertSlackWebhookURL, SecretAlertSMTPPassword, SecretAlertPagerDutyKey} {
		cfg.Secrets[k] = true
	}
	cfg.Alertmanager.EmailTo = []string{"oncall@example.com", "team@example.com"}
	cfg.Alertmanager.EmailFrom = "isl-alerts@example.com"
	cfg.Alertmanager.SMTPSmarthost = "smtp.example.com:587"
	cfg.Alertmanager.SMTPUsername = "isl-alerts"
	cfg.Alertmanager.SlackChannel = "#isl-alerts"
	return cfg, AlertSecrets{WebhookURL: "https://hooks.example.com/isl?token=abc", SlackWebhookURL: "https://hooks.slack.com/services/T0/B0/XyZ",
		SMTPPassword: `pa"ss\word`, PagerDutyKey: "0123456789abcdef0123456789abcdef"}
}

// amConfig is the part of alertmanager.yml the tests read back.
type amConfig struct {
	Global map[string]any `yaml:"global"`
	Route  struct {
		Receiver       string   `yaml:"receiver"`
		GroupBy        []string `yaml:"group_by"`
		RepeatInterval string   `yaml:"repeat_interval"`
		Routes         []struct {
			Matchers       []string `yaml:"matchers"`
			Receiver       string   `yaml:"receiver"`
			GroupWait      string   `yaml:"group_wait"`
			RepeatInterval string   `yaml:"repeat_interval"`
		} `yaml:"routes"`
	} `yaml:"route"`
	InhibitRules []struct {
		SourceMatchers []string `yaml:"source_matchers"`
		TargetMatchers []string `yaml:"target_matchers"`
		Equal          []string `yaml:"equal"`
	} `yaml:"inhibit_rules"`
	Receivers []map[string]any `yaml:"receivers"`
}

func amtoolCheck(t *testing.T, amtool string, conf []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "alertmanager.yml")
	os.WriteFile(p, conf, 0o600)
	if out, err := run(t, amtool, "check-config", p); err != nil {
		t.Fatalf("amtool check-config: %v\n%s\n--- config ---\n%s", err, out, conf)
	}
	return p
}

// The rendered config of every stack passes `amtool check-config`, with no receiver and with all
// four; routing sends critical alerts to the paging receiver and everything else to "warning".
func TestAlertmanagerConfig(t *testing.T) {
	amtool := requireBinary(t, "amtool")
	for _, tier := range Tiers {
		t.Run(string(tier)+"/no receivers", func(t *testing.T) {
			b, err := Build(loadStack(t, string(tier)), Placement{})
			if err != nil {
				t.Fatal(err)
			}
			f, err := b.AlertmanagerFile(AlertSecrets{})
			if err != nil {
				t.Fatal(err)
			}
			if !f.Secret || f.Path != AlertmanagerConfPath {
				t.Errorf("file %s secret=%v", f.Path, f.Secret)
			}
			amtoolCheck(t, amtool, f.Content)
		})
		t.Run(string(tier)+"/all receivers", func(t *testing.T) {
			cfg, sec := allReceivers(t, string(tier))
			if err := cfg.Validate(Structural); err != nil {
				t.Fatal(err)
			}
			b, err := Build(cfg, Placement{})
			if err != nil {
				t.Fatal(err)
			}
			f, err := b.AlertmanagerFile(sec)
			if err != nil {
				t.Fatal(err)
			}
			p := amtoolCheck(t, amtool, f.Content)
			var c amConfig
			if err := yaml.Unmarshal(f.Content, &c); err != nil {
				t.Fatal(err)
			}
			if c.Global["smtp_auth_password"] != sec.SMTPPassword || c.Global["smtp_smarthost"] != "smtp.example.com:587" {
				t.Errorf("SMTP settings %v", c.Global)
			}
			recv := map[string]map[string]any{}
			for _, r := range c.Receivers {
				recv[r["name"].(string)] = r
			}
			for _, name := range []string{"critical", "warning"} {
				for _, k := range []string{"webhook_configs", "slack_configs", "email_configs"} {
					if recv[name][k] == nil {
						t.Errorf("receiver %s lacks %s", name, k)
					}
				}
			}
			if recv["critical"]["pagerduty_configs"] == nil || recv["warning"]["pagerduty_configs"] != nil {
				t.Error("only critical alerts may page (PagerDuty)")
			}
			if !strings.Contains(string(f.Content), `"0123456789abcdef0123456789abcdef"`) || !strings.Contains(string(f.Content), sec.WebhookURL) {
				t.Error("secrets not in the rendered config")
			}
			// Grouping and repeat per severity.
			if strings.Join(c.Route.GroupBy, ",") != "alertname,stack" || len(c.Route.Routes) != 2 {
				t.Fatalf("route %+v", c.Route)
			}
			crit := c.Route.Routes[0]
			if crit.Receiver != "critical" || crit.GroupWait != "10s" || crit.RepeatInterval != cfg.Alertmanager.RepeatCritical ||
				c.Route.RepeatInterval != cfg.Alertmanager.RepeatWarning {
				t.Errorf("critical route %+v, default repeat %s", crit, c.Route.RepeatInterval)
			}
			if len(c.InhibitRules) != 1 || c.InhibitRules[0].SourceMatchers[0] != `alertname="ISLServiceDown"` ||
				c.InhibitRules[0].TargetMatchers[0] != `alertname=~"ISLHighLatency.*"` {
				t.Errorf("inhibition %+v", c.InhibitRules)
			}
			for labels, want := range map[string]string{
				"alertname=ISLServiceDown severity=critical":      "critical",
				"alertname=ISLBackupMissing severity=critical":    "critical",
				"alertname=ISLHighLatencyCausal severity=warning": "warning",
				"alertname=Unlabelled":                            "warning",
			} {
				out, err := run(t, amtool, append([]string{"config", "routes", "test", "--config.file=" + p}, strings.Fields(labels)...)...)
				lines := strings.Split(strings.TrimSpace(out), "\n") // after amtool's notice that --config.file wins
				if err != nil || lines[len(lines)-1] != want {
					t.Errorf("amtool config routes test %s → %q (%v), want %s", labels, out, err, want)
				}
			}
		})
	}
}

func TestAlertmanagerRejectsBadReceivers(t *testing.T) {
	cfg, good := allReceivers(t, "pilot")
	b, err := Build(cfg, Placement{})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(*AlertSecrets, *AlertmanagerParams){
		"webhook not a URL":        func(s *AlertSecrets, _ *AlertmanagerParams) { s.WebhookURL = "hooks.example.com/x" },
		"webhook ftp":              func(s *AlertSecrets, _ *AlertmanagerParams) { s.WebhookURL = "ftp://hooks.example.com/x" },
		"webhook with a newline":   func(s *AlertSecrets, _ *AlertmanagerParams) { s.WebhookURL = "https://h.example.com/x\nroute: {}" },
		"slack missing":            func(s *AlertSecrets, _ *AlertmanagerParams) { s.SlackWebhookURL = "" },
		"pagerduty key with quote": func(s *AlertSecrets, _ *AlertmanagerParams) { s.PagerDutyKey = `abcdefgh"` },
		"smtp password newline":    func(s *AlertSecrets, _ *AlertmanagerParams) { s.SMTPPassword = "a\nb" },
		"bad repeat":               func(_ *AlertSecrets, p *AlertmanagerParams) { p.Config.RepeatCritical = "soon" },
		"bad sender":               func(_ *AlertSecrets, p *AlertmanagerParams) { p.Config.EmailFrom = "nobody" },
	} {
		s, p := good, b.Alertmanager
		f(&s, &p)
		_, err := RenderAlertmanager(p, s)
		if err == nil {
			t.Errorf("%s: rendered", name)
		} else if strings.Contains(err.Error(), "hooks.example.com") || strings.Contains(err.Error(), "abcdefgh") {
			t.Errorf("%s: the error echoes the secret: %v", name, err)
		}
	}
	if _, err := RenderAlertmanager(b.Alertmanager, good); err != nil {
		t.Fatalf("good receivers rejected: %v", err)
	}
}

// webhookSink records Alertmanager's webhook notifications.
type webhookSink struct {
	mu  sync.Mutex
	got []amNotification
	srv *httptest.Server
}

type amNotification struct {
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	Alerts            []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

func newWebhookSink(t *testing.T) *webhookSink {
	s := &webhookSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n amNotification
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("webhook body: %v: %s", err, b)
		}
		s.mu.Lock()
		s.got = append(s.got, n)
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// wait returns the first notification about alertname that satisfies ok.
func (s *webhookSink) wait(t *testing.T, alertname string, within time.Duration, ok func(amNotification) bool) amNotification {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, n := range s.got {
			if n.GroupLabels["alertname"] == alertname && ok(n) {
				s.mu.Unlock()
				return n
			}
		}
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("no notification for %s within %s; got %+v", alertname, within, s.got)
	return amNotification{}
}

func (s *webhookSink) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range s.got {
		out = append(out, n.GroupLabels["alertname"])
	}
	sort.Strings(out)
	return out
}

// startDaemon starts a test process in its own process group and kills the group at cleanup.
func startDaemon(t *testing.T, name string, args ...string) *bytes.Buffer {
	t.Helper()
	cmd := exec.Command(name, args...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
	return &logs
}

func waitReady(t *testing.T, url string, logs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready:\n%s", url, logs.String())
}

// TestAlertsReachTheWebhook runs the pilot's rendered Prometheus and Alertmanager (the local
// render `make pilot-local` uses) over real targets: a replica whose Redis primary changes makes
// Prometheus fire ISLRedisFailover, which Alertmanager delivers to the webhook receiver with the
// stack's labels. Alerts posted to Alertmanager directly then show the grouping (two replicas
// down: one notification listing both) and the inhibition (latency alerts held back while a
// replica is down).
func TestAlertsReachTheWebhook(t *testing.T) {
	prom := requireBinary(t, "prometheus")
	am := requireBinary(t, "prometheus-alertmanager")
	sink := newWebhookSink(t)

	// Two "replicas": Prometheus scrapes their /metrics. The first reports a primary change after
	// a few scrapes, as the service's Sentinel client does after a failover.
	replica := func(failover bool) *httptest.Server {
		var mu sync.Mutex
		scrapes := 0
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			scrapes++
			n := 0
			if failover && scrapes > 3 {
				n = 1
			}
			mu.Unlock()
			fmt.Fprintf(w, "# TYPE isl_redis_primary_changes_total counter\nisl_redis_primary_changes_total %d\n", n)
		}))
	}
	r1, r2 := replica(true), replica(false)
	defer r1.Close()
	defer r2.Close()

	dir := t.TempDir()
	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	amAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := loadStack(t, "pilot")
	cfg.Secrets[SecretAlertWebhookURL] = true
	b, err := Build(cfg, Placement{Local: true, Dir: dir, PrometheusAddr: promAddr, AlertmanagerAddr: amAddr,
		Upstreams: []string{strings.TrimPrefix(r1.URL, "http://"), strings.TrimPrefix(r2.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	// As pilot-local does: a local run reacts in seconds (the routing tree is the stack's).
	b.Prometheus.ScrapeInterval, b.Prometheus.EvaluationInterval = "1s", "1s"
	b.Alertmanager.CriticalGroupWait, b.Alertmanager.WarningGroupWait = "1s", "2s"
	files, err := b.Files("local-Pa55word")
	if err != nil {
		t.Fatal(err)
	}
	amf, err := b.AlertmanagerFile(AlertSecrets{WebhookURL: sink.srv.URL + "/alerts"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, amf) {
		os.WriteFile(f.Path, f.Content, 0o600)
	}
	amLogs := startDaemon(t, am, b.AlertmanagerArgs...)
	waitReady(t, "http://"+amAddr+"/-/ready", amLogs)
	promLogs := startDaemon(t, prom, b.PrometheusArgs...)
	waitReady(t, "http://"+promAddr+PrometheusPrefix+"/-/ready", promLogs)

	// Prometheus → Alertmanager → webhook, within scrape + evaluation + the warning group wait.
	defer func() {
		if t.Failed() {
			for _, u := range []string{"http://" + promAddr + PrometheusPrefix + "/api/v1/alerts", "http://" + promAddr + PrometheusPrefix + "/api/v1/targets", "http://" + promAddr + PrometheusPrefix + "/api/v1/alertmanagers", "http://" + amAddr + "/api/v2/alerts"} {
				if resp, err := http.Get(u); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					t.Logf("%s:\n%s", u, b)
				}
			}
		}
	}()
	n := sink.wait(t, "ISLRedisFailover", 30*time.Second+parseDur(t, b.Alertmanager.WarningGroupWait), func(n amNotification) bool { return n.Status == "firing" })
	if n.Receiver != "warning" || n.CommonLabels["severity"] != "warning" || n.CommonLabels["stack"] != "pilot" || n.CommonLabels["job"] != "isl" {
		t.Errorf("failover notification: receiver %q labels %v", n.Receiver, n.CommonLabels)
	}
	if len(n.Alerts) != 1 {
		t.Errorf("one failover seen by the replicas must be one alert, got %d", len(n.Alerts))
	}
	if !strings.Contains(n.CommonAnnotations["summary"], "Redis primary changed") {
		t.Errorf("annotations %v", n.CommonAnnotations)
	}

	// Grouping and inhibition, straight into Alertmanager's API as Prometheus would post them.
	post := func(alerts ...map[string]string) {
		t.Helper()
		var body []map[string]any
		for _, l := range alerts {
			body = append(body, map[string]any{"labels": l, "annotations": map[string]string{"summary": l["alertname"]}})
		}
		j, _ := json.Marshal(body)
		resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("post alerts: %d", resp.StatusCode)
		}
	}
	down := func(inst string) map[string]string {
		return map[string]string{"alertname": "ISLServiceDown", "severity": "critical", "stack": "pilot", "job": "isl", "instance": inst}
	}
	post(down("isl-2:8000"), down("isl-3:8000"),
		map[string]string{"alertname": "ISLHighLatencyCausal", "severity": "warning", "stack": "pilot", "endpoint": "/api/v1/causal/validate"})
	n = sink.wait(t, "ISLServiceDown", 5*time.Second+parseDur(t, b.Alertmanager.CriticalGroupWait), func(n amNotification) bool { return len(n.Alerts) == 2 })
	if n.Receiver != "critical" || n.CommonLabels["severity"] != "critical" {
		t.Errorf("down notification: receiver %q labels %v", n.Receiver, n.CommonLabels)
	}
	var alerts []struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State       string   `json:"state"`
			InhibitedBy []string `json:"inhibitedBy"`
		} `json:"status"`
	}
	resp, err := http.Get("http://" + amAddr + "/api/v2/alerts?filter=alertname%3D%22ISLHighLatencyCausal%22")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&alerts)
	resp.Body.Close()
	if len(alerts) != 1 || alerts[0].Status.State != "suppressed" || len(alerts[0].Status.InhibitedBy) == 0 {
		t.Errorf("latency alert while replicas are down: %+v, want suppressed by the inhibition", alerts)
	}
	// Past the warning group wait of the latency group: it must not have been sent.
	time.Sleep(parseDur(t, b.Alertmanager.WarningGroupWait) + time.Second)
	for _, name := range sink.names() {
		if name == "ISLHighLatencyCausal" {
			t.Error("inhibited latency alert was delivered")
		}
	}
}

func parseDur(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := ParseInterval(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"1h": time.Hour, "6h": 6 * time.Hour, "1d": 24 * time.Hour, "90m": 90 * time.Minute,
		"1h30m": 90 * time.Minute, "6h0m0s": 6 * time.Hour, "45s": 45 * time.Second} {
		got, err := ParseInterval(in)
		if err != nil || got != want {
			t.Errorf("ParseInterval(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0s", "1w", "h", "1.5h", "-1h", "1h 30m", "1m1h"} {
		if d, err := ParseInterval(in); err == nil {
			t.Errorf("ParseInterval(%q) = %v, want an error", in, d)
		}
	}
	if got := promDuration(26*time.Hour + 90*time.Second); got != "1d2h1m30s" {
		t.Errorf("promDuration = %q", got)
	}
}

// A parsed interval spells back to an equivalent interval.
func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"1h", "1d2h", "90m", "30s", "6h0m0s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseInterval(s)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("%q parsed to %v", s, d)
		}
		back, err := ParseInterval(promDuration(d))
		if err != nil || back != d {
			t.Fatalf("%q → %v → %q → %v (%v)", s, d, promDuration(d), back, err)
		}
	})
}
