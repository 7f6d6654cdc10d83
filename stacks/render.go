package stacks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/olumi/isl/monitoring"
	"github.com/olumi/isl/monitoring/alerts"
)

// NginxParams is everything nginx.conf depends on. Paths and addresses are parameters so that the
// same template serves the container (Docker DNS names, /etc/nginx paths) and loopback processes
// (127.0.0.1 ports, a private directory).
type NginxParams struct {
	Origin          string // provenance note written into the file
	User            string // worker user; empty = nginx's default (needed when not root)
	WorkerProcesses string
	PidFile         string
	ErrorLog        string
	AccessLog       string
	TempDir         string

	ServerName   string
	HTTPListen   string // listen spec: "80" or "127.0.0.1:8080"
	HTTPSListen  string // TLS only
	StatusListen string // in-container healthcheck server, e.g. 127.0.0.1:8081; empty = none
	HTTPSPort    int    // public HTTPS port, for the redirect (TLS only)
	TLS          bool
	TLSCertFile  string
	TLSKeyFile   string
	// HTTP2Directive enables HTTP/2 with `http2 on;` (nginx >= 1.25.1, where `listen … http2` is
	// deprecated) instead of the listen parameter older nginx needs.
	HTTP2Directive bool

	MetricsListen string // stub_status listener for the exporter, e.g. 0.0.0.0:8082; empty = none
	RedirectHost  string // host of the HTTP→HTTPS redirect (the configured public host; TLS only)

	WorkerConnections   int    // per worker (sized to the container's memory)
	WorkerRlimitNofile  int    // per worker: 2 × WorkerConnections + listeners and logs
	ClientHeaderTimeout string // whole request header
	ClientBodyTimeout   string // between two reads of the body
	SendTimeout         string // between two writes of the response
	ConnPerClient       int    // concurrent requests per client address (limit_conn)

	Upstreams   []string // replica addresses host:port, one server line each
	MaxFails    int
	FailTimeout string
	Resolver    string // DNS server for variable proxy_pass (Docker: 127.0.0.11); empty = none
	// ResolveUpstreams makes every upstream server re-resolved through Resolver each
	// UpstreamResolveValid (`server name resolve`, nginx >= 1.27.3): containers, where a slot alias
	// moves to a new container on every image update.
	ResolveUpstreams     bool
	UpstreamResolveValid string
	ProxyConnectTimeout  string
	ProxySendTimeout     string
	ProxyReadTimeout     string
	NextUpstreamTries    int
	ClientMaxBodySize    string
	AdminAllow           []string // CIDRs allowed to /prometheus/ (besides its basic auth)
	GrafanaAddr          string   // host:port proxied under /grafana/; empty = no route
	PrometheusAddr       string   // host:port proxied under /prometheus/; empty = no route
	PrometheusAuthFile   string   // htpasswd file guarding /prometheus/ (basic auth); empty = none
}

// ErrorPage is one JSON error envelope nginx answers itself (a named location).
type ErrorPage struct {
	Name      string // /_isl/error/413 (an internal location)
	Status    int
	Code      string
	Message   string
	Action    string
	Retryable bool
	Detail    bool // 404/405 carry FastAPI's "detail" like the service's own
}

// ErrorPages are the envelopes of every error nginx produces itself, with the service's codes and
// suggested actions (service/http/errors.go), so that a client parses one error shape whichever
// component answered.
func (p NginxParams) ErrorPages() []ErrorPage {
	return []ErrorPage{
		{"/_isl/error/400", 400, "validation_error", "Malformed HTTP request", "fix_input", false, false},
		{"/_isl/error/403", 403, "forbidden", "Access denied from this network", "check_credentials", false, false},
		{"/_isl/error/404", 404, "not_found", "Not Found", "fix_input", false, true},
		{"/_isl/error/405", 405, "method_not_allowed", "Method Not Allowed", "fix_input", false, true},
		{"/_isl/error/408", 408, "timeout", "The request was not received in time", "retry_later", true, false},
		{"/_isl/error/413", 413, "payload_too_large", "Request body exceeds " + p.ClientMaxBodySize + " bytes", "fix_input", false, false},
		{"/_isl/error/414", 414, "validation_error", "Request URI or headers too long", "fix_input", false, false},
		{"/_isl/error/429", 429, "rate_limited", "Too many concurrent connections from this client; retry later", "retry_later", true, false},
		{"/_isl/error/500", 500, "computation_error", "The entry point failed. Check logs for details.", "report_issue", false, false},
		{"/_isl/error/502", 502, "service_unavailable", "No replica could answer; retry shortly", "retry_later", true, false},
		{"/_isl/error/504", 504, "timeout", "No replica answered in time; retry shortly", "retry_later", true, false},
	}
}

// RedisParams is everything redis.conf depends on.
type RedisParams struct {
	Origin          string
	Bind            string
	Port            int
	Password        string
	Dir             string
	PidFile         string
	LogFile         string // "" = stdout
	AppendFsync     string
	MaxMemoryMB     int
	MaxMemoryPolicy string
}

// PrometheusParams is everything prometheus.yml depends on.
type PrometheusParams struct {
	Origin             string
	Stack              string
	ScrapeInterval     string
	EvaluationInterval string
	RuleFiles          []string
	Targets            []string // ISL replica addresses
	NginxExporter      string   // prometheus-nginx-exporter address; empty = not scraped
	SelfAddr           string   // Prometheus' own listen address, scraped as job "prometheus"; empty = skip
	SelfMetricsPath    string
	BackupTargets      []string // the backup runner's /metrics, scraped as job isl-backup; empty = none
	AlertmanagerAddr   string   // host:port alerts are sent to; empty = none
}

// AlertParams is everything the alert rules depend on.
type AlertParams struct {
	Origin        string
	MemoryLimitMB int // per-replica memory limit, named in the memory alert's description
	// BackupInterval is the stack's isl:backupInterval; zero = no scheduled backups, no backup rules.
	BackupInterval time.Duration
	// NginxConnections is nginx's connection capacity (workers × worker_connections): the
	// entry-point alert fires above 80 % of it.
	NginxConnections int
}

// T is every alert threshold, for the template: one source of truth with the dashboards.
func (AlertParams) T() alerts.Values { return alerts.Current() }

// BackupIntervalSeconds is used by the template.
func (a AlertParams) BackupIntervalSeconds() int64 { return int64(a.BackupInterval / time.Second) }

// BackupMaxAge is the age (BackupAgeIntervals intervals) past which backups count as missing, as a
// Prometheus duration.
func (a AlertParams) BackupMaxAge() string {
	return promDuration(a.BackupInterval * alerts.BackupAgeIntervals)
}

// BackupIntervalText is the interval as a Prometheus duration, for the descriptions.
func (a AlertParams) BackupIntervalText() string { return promDuration(a.BackupInterval) }

// ParseInterval parses a duration in Prometheus' syntax, which also has days ("1d", "6h", "90m").
func ParseInterval(v string) (time.Duration, error) {
	m := promDurationRe.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil || strings.TrimSpace(v) == "" {
		return 0, fmt.Errorf("bad duration %q (want e.g. 6h, 1d, 30m)", v)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] != "" {
			n, err := strconv.ParseInt(m[i+1], 10, 32)
			if err != nil || n > int64(maxInterval/unit) {
				return 0, fmt.Errorf("bad duration %q: longer than a year", v)
			}
			d += time.Duration(n) * unit
		}
	}
	if d <= 0 || d > maxInterval {
		return 0, fmt.Errorf("bad duration %q: must be positive and at most a year", v)
	}
	return d, nil
}

// maxInterval bounds intervals far below time.Duration's range (292 years).
const maxInterval = 366 * 24 * time.Hour

var promDurationRe = regexp.MustCompile(`^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$`)

// promDuration spells d in Prometheus' duration syntax ("1h30m", "90s").
func promDuration(d time.Duration) string {
	s := int64(d / time.Second)
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		unit string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.n {
			fmt.Fprintf(&b, "%d%s", s/u.n, u.unit)
			s %= u.n
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// GrafanaParams is everything the Grafana provisioning files depend on.
type GrafanaParams struct {
	Origin         string
	PrometheusURL  string
	ScrapeInterval string
	DashboardsDir  string
}

var (
	tokenRe    = regexp.MustCompile(`^[A-Za-z0-9._:/\[\]-]+$`)
	durationNg = regexp.MustCompile(`^[0-9]+(ms|s|m|h|d)?$`)
)

// checkToken guards against values that would change the structure of a rendered file.
func checkToken(what, v string) error {
	if !tokenRe.MatchString(v) {
		return fmt.Errorf("%s: unsafe or empty value %q", what, v)
	}
	return nil
}

func checkHostPort(what, v string) error {
	if err := checkToken(what, v); err != nil {
		return err
	}
	h, p, err := net.SplitHostPort(v)
	if err != nil || h == "" {
		return fmt.Errorf("%s: want host:port, got %q", what, v)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s: bad port in %q", what, v)
	}
	return nil
}

func render(name, tmplPath string, delims [2]string, data any) ([]byte, error) {
	text, err := monitoring.Template(tmplPath)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Delims(delims[0], delims[1]).Option("missingkey=error").Funcs(template.FuncMap{
		"join":    strings.Join,
		"quote":   strconv.Quote,
		"list":    func(v ...string) []string { return v },
		"percent": func(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + " %" },
	}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse %s template: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

var goDelims = [2]string{"{{", "}}"}

// RenderNginx renders nginx.conf (a complete main-context file, testable with `nginx -t -c`).
func RenderNginx(p NginxParams) ([]byte, error) {
	if len(p.Upstreams) == 0 {
		return nil, fmt.Errorf("render nginx.conf: no upstream replicas")
	}
	for i, u := range p.Upstreams {
		if err := checkHostPort(fmt.Sprintf("upstream %d", i+1), u); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
	}
	checks := map[string]string{"pid file": p.PidFile, "error log": p.ErrorLog, "access log": p.AccessLog,
		"temp dir": p.TempDir, "server name": p.ServerName, "http listen": p.HTTPListen, "fail timeout": p.FailTimeout,
		"worker processes": p.WorkerProcesses, "client max body size": p.ClientMaxBodySize}
	for what, v := range checks {
		if err := checkToken(what, v); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
	}
	for what, v := range map[string]string{"connect timeout": p.ProxyConnectTimeout, "send timeout": p.ProxySendTimeout, "read timeout": p.ProxyReadTimeout,
		"client header timeout": p.ClientHeaderTimeout, "client body timeout": p.ClientBodyTimeout, "client send timeout": p.SendTimeout} {
		if !durationNg.MatchString(v) {
			return nil, fmt.Errorf("render nginx.conf: %s: bad duration %q", what, v)
		}
	}
	for what, v := range map[string]string{"status listen": p.StatusListen, "metrics listen": p.MetricsListen} {
		if v == "" {
			continue
		}
		if err := checkHostPort(what, v); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
	}
	if p.MaxFails < 1 || p.NextUpstreamTries < 1 {
		return nil, fmt.Errorf("render nginx.conf: max_fails and proxy_next_upstream_tries must be ≥ 1")
	}
	if p.WorkerConnections < 64 || p.WorkerRlimitNofile < 2*p.WorkerConnections || p.ConnPerClient < 1 {
		return nil, fmt.Errorf("render nginx.conf: worker_connections (≥ 64, rlimit ≥ twice it) and the per-client connection limit must be set")
	}
	if p.TLS {
		for what, v := range map[string]string{"https listen": p.HTTPSListen, "certificate": p.TLSCertFile, "key": p.TLSKeyFile} {
			if err := checkToken(what, v); err != nil {
				return nil, fmt.Errorf("render nginx.conf: %w", err)
			}
		}
		if err := checkToken("redirect host", p.RedirectHost); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
		if p.HTTPSPort < 1 || p.HTTPSPort > 65535 {
			return nil, fmt.Errorf("render nginx.conf: bad public HTTPS port %d", p.HTTPSPort)
		}
	}
	for _, v := range p.AdminAllow {
		if err := checkToken("allow/path", v); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
	}
	for what, v := range map[string]string{"grafana": p.GrafanaAddr, "prometheus": p.PrometheusAddr} {
		if v == "" {
			continue
		}
		if err := checkHostPort(what, v); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
		// proxy_pass through a variable resolves at request time: a name needs a resolver.
		if h, _, _ := net.SplitHostPort(v); net.ParseIP(h) == nil && p.Resolver == "" {
			return nil, fmt.Errorf("render nginx.conf: %s address %q is a name but no resolver is set", what, v)
		}
	}
	if p.PrometheusAuthFile != "" {
		if err := checkToken("prometheus auth file", p.PrometheusAuthFile); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
	}
	if p.User != "" {
		if err := checkToken("user", p.User); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
	}
	if p.Resolver != "" {
		if err := checkToken("resolver", p.Resolver); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
	}
	if p.ResolveUpstreams {
		if p.Resolver == "" {
			return nil, fmt.Errorf("render nginx.conf: re-resolved upstreams need a resolver")
		}
		if err := checkToken("upstream resolve interval", p.UpstreamResolveValid); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
	}
	return render("nginx.conf", "templates/nginx.conf.tmpl", goDelims, p)
}

var passwordRe = regexp.MustCompile(`^[\x21-\x7e]+$`)

// ServicePassword is the password of the restricted "isl" Redis user, derived from the stack's
// Redis (admin) password so that no second secret has to be stored, and one-way: the service's
// credentials do not reveal the admin's.
func (p RedisParams) ServicePassword() string { return RedisServicePassword(p.Password) }

// RedisServiceUser is the ACL user the service connects as (REDIS_USERNAME).
const RedisServiceUser = "isl"

// RedisAdminUser is the operators' ACL user, with the stack's Redis password (healthchecks,
// backups, redis-cli): the HA nodes replicate and the Sentinels monitor as it; the default user is off.
const RedisAdminUser = "admin"

// RedisServicePassword derives the "isl" user's password from the admin password.
func RedisServicePassword(adminPassword string) string {
	mac := hmac.New(sha256.New, []byte(adminPassword))
	mac.Write([]byte("isl redis service user"))
	return hex.EncodeToString(mac.Sum(nil))[:40]
}

// RenderRedis renders redis.conf. The result contains the passwords: treat it as a secret.
func RenderRedis(p RedisParams) ([]byte, error) {
	if len(p.Password) < 8 || !passwordRe.MatchString(p.Password) || strings.ContainsAny(p.Password, `"'\#`) {
		return nil, fmt.Errorf("render redis.conf: the Redis password must be ≥ 8 printable characters without spaces, quotes, backslashes or #")
	}
	if p.Port < 1 || p.Port > 65535 {
		return nil, fmt.Errorf("render redis.conf: bad port %d", p.Port)
	}
	if p.MaxMemoryMB < 1 {
		return nil, fmt.Errorf("render redis.conf: maxmemory must be positive")
	}
	for what, v := range map[string]string{"bind": p.Bind, "dir": p.Dir, "appendfsync": p.AppendFsync, "maxmemory-policy": p.MaxMemoryPolicy} {
		if err := checkToken(what, v); err != nil {
			return nil, fmt.Errorf("render redis.conf: %w", err)
		}
	}
	for what, v := range map[string]string{"pidfile": p.PidFile, "logfile": p.LogFile} {
		if v != "" {
			if err := checkToken(what, v); err != nil {
				return nil, fmt.Errorf("render redis.conf: %w", err)
			}
		}
	}
	return render("redis.conf", "templates/redis.conf.tmpl", goDelims, p)
}

// RenderPrometheus renders prometheus.yml.
func RenderPrometheus(p PrometheusParams) ([]byte, error) {
	if len(p.Targets) == 0 {
		return nil, fmt.Errorf("render prometheus.yml: no scrape targets")
	}
	for _, t := range p.Targets {
		if err := checkHostPort("target", t); err != nil {
			return nil, fmt.Errorf("render prometheus.yml: %w", err)
		}
	}
	for _, t := range p.BackupTargets {
		if err := checkHostPort("backup target", t); err != nil {
			return nil, fmt.Errorf("render prometheus.yml: %w", err)
		}
	}
	if p.NginxExporter != "" {
		if err := checkHostPort("nginx exporter", p.NginxExporter); err != nil {
			return nil, fmt.Errorf("render prometheus.yml: %w", err)
		}
	}
	if !durationNg.MatchString(p.ScrapeInterval) || !durationNg.MatchString(p.EvaluationInterval) {
		return nil, fmt.Errorf("render prometheus.yml: bad interval")
	}
	if p.AlertmanagerAddr != "" {
		if err := checkHostPort("alertmanager", p.AlertmanagerAddr); err != nil {
			return nil, fmt.Errorf("render prometheus.yml: %w", err)
		}
	}
	return render("prometheus.yml", "templates/prometheus.yml.tmpl", goDelims, p)
}

// RenderAlertRules renders the Prometheus alert rules.
func RenderAlertRules(p AlertParams) ([]byte, error) {
	if p.MemoryLimitMB < 1 || p.NginxConnections < 1 {
		return nil, fmt.Errorf("render alert rules: memory limit and nginx connections must be positive")
	}
	if p.BackupInterval < 0 || p.BackupInterval%time.Second != 0 {
		return nil, fmt.Errorf("render alert rules: the backup interval must be whole seconds (got %s)", p.BackupInterval)
	}
	return render("isl-alerts.yml", "rules/isl-alerts.yml.tmpl", [2]string{"[[", "]]"}, p)
}

// RenderGrafanaDatasource renders the Grafana datasource provisioning file.
func RenderGrafanaDatasource(p GrafanaParams) ([]byte, error) {
	if !regexp.MustCompile(`^https?://[A-Za-z0-9.:/_-]+$`).MatchString(p.PrometheusURL) {
		return nil, fmt.Errorf("render grafana datasource: bad Prometheus URL %q", p.PrometheusURL)
	}
	return render("datasource.yml", "grafana/provisioning/datasource.yml.tmpl", goDelims, p)
}

// RenderGrafanaDashboards renders the Grafana dashboard provider file.
func RenderGrafanaDashboards(p GrafanaParams) ([]byte, error) {
	if err := checkToken("dashboards dir", p.DashboardsDir); err != nil {
		return nil, fmt.Errorf("render grafana dashboards: %w", err)
	}
	return render("dashboards.yml", "grafana/provisioning/dashboards.yml.tmpl", goDelims, p)
}
