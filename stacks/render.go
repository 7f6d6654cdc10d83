package stacks

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/olumi/isl/monitoring"
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

	Upstreams           []string // replica addresses host:port, one server line each
	MaxFails            int
	FailTimeout         string
	Resolver            string // DNS server for variable proxy_pass (Docker: 127.0.0.11); empty = none
	ProxyConnectTimeout string
	ProxySendTimeout    string
	ProxyReadTimeout    string
	NextUpstreamTries   int
	ClientMaxBodySize   string
	AdminAllow          []string // CIDRs allowed to /metrics and /prometheus/
	NonIdempotentPaths  []string // exact paths never retried on another replica once sent
	GrafanaAddr         string   // host:port proxied under /grafana/; empty = no route
	PrometheusAddr      string   // host:port proxied under /prometheus/; empty = no route
}

// WatchParams parametrises the nginx container entry point that reloads nginx when replica aliases
// move to new containers.
type WatchParams struct {
	Origin          string
	Hosts           []string
	IntervalSeconds int
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
	SelfAddr           string   // Prometheus' own listen address, scraped as job "prometheus"; empty = skip
	SelfMetricsPath    string
	BackupTargets      []string // the backup runner's /metrics, scraped as job isl-backup; empty = none
}

// AlertParams is everything the alert rules depend on.
type AlertParams struct {
	Origin        string
	MemoryLimitMB int // per-replica memory limit: the memory alert fires above 80 % of it
}

// MemoryLimitBytes is used by the template.
func (a AlertParams) MemoryLimitBytes() int64 { return int64(a.MemoryLimitMB) << 20 }

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
		"join":  strings.Join,
		"quote": strconv.Quote,
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
	for what, v := range map[string]string{"connect timeout": p.ProxyConnectTimeout, "send timeout": p.ProxySendTimeout, "read timeout": p.ProxyReadTimeout} {
		if !durationNg.MatchString(v) {
			return nil, fmt.Errorf("render nginx.conf: %s: bad duration %q", what, v)
		}
	}
	if p.StatusListen != "" {
		if err := checkHostPort("status listen", p.StatusListen); err != nil {
			return nil, fmt.Errorf("render nginx.conf: %w", err)
		}
	}
	if p.MaxFails < 1 || p.NextUpstreamTries < 1 {
		return nil, fmt.Errorf("render nginx.conf: max_fails and proxy_next_upstream_tries must be ≥ 1")
	}
	if p.TLS {
		for what, v := range map[string]string{"https listen": p.HTTPSListen, "certificate": p.TLSCertFile, "key": p.TLSKeyFile} {
			if err := checkToken(what, v); err != nil {
				return nil, fmt.Errorf("render nginx.conf: %w", err)
			}
		}
		if p.HTTPSPort < 1 || p.HTTPSPort > 65535 {
			return nil, fmt.Errorf("render nginx.conf: bad public HTTPS port %d", p.HTTPSPort)
		}
	}
	for _, v := range append(append([]string{}, p.AdminAllow...), p.NonIdempotentPaths...) {
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
	return render("nginx.conf", "templates/nginx.conf.tmpl", goDelims, p)
}

// RenderNginxWatch renders the nginx container's entry point script.
func RenderNginxWatch(p WatchParams) ([]byte, error) {
	if len(p.Hosts) == 0 || p.IntervalSeconds < 1 {
		return nil, fmt.Errorf("render nginx-watch.sh: need hosts and a positive interval")
	}
	for _, h := range p.Hosts {
		if !regexp.MustCompile(`^[A-Za-z0-9.-]+$`).MatchString(h) {
			return nil, fmt.Errorf("render nginx-watch.sh: bad host %q", h)
		}
	}
	return render("nginx-watch.sh", "templates/nginx-watch.sh.tmpl", goDelims, p)
}

var passwordRe = regexp.MustCompile(`^[\x21-\x7e]+$`)

// RenderRedis renders redis.conf. The result contains the password: treat it as a secret.
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
	if !durationNg.MatchString(p.ScrapeInterval) || !durationNg.MatchString(p.EvaluationInterval) {
		return nil, fmt.Errorf("render prometheus.yml: bad interval")
	}
	return render("prometheus.yml", "templates/prometheus.yml.tmpl", goDelims, p)
}

// RenderAlertRules renders the Prometheus alert rules.
func RenderAlertRules(p AlertParams) ([]byte, error) {
	if p.MemoryLimitMB < 1 {
		return nil, fmt.Errorf("render alert rules: memory limit must be positive")
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
