// Package diagnose implements `isl diagnose`: the checks an operator runs when the pilot misbehaves.
// Each check prints OK, WARN or FAIL with what was seen and what to do; any FAIL makes the command
// exit non-zero. Checks: configuration, Redis (connectivity, PING latency, persistence), /health,
// /metrics exposure, and an API call with the configured key.
package diagnose

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/redis"
)

// Status of one check.
type Status string

const (
	OK   Status = "OK"
	Warn Status = "WARN"
	Fail Status = "FAIL"
	Info Status = "INFO" // context for the reader, never a verdict
)

// Result is one printed line (plus its advice).
type Result struct {
	Check  string
	Status Status
	Detail string // what was observed
	Fix    string // what to do (empty for OK)
}

// Options say what to check.
type Options struct {
	Lookup   config.Lookup // configuration source (process env + .env in the CLI)
	URL      string        // base URL of the service; default http://127.0.0.1:$PORT
	APIKey   string        // key for the API probe; default the first of API_KEYS
	Timeout  time.Duration // per network operation; default 5 s
	Insecure bool          // accept self-signed TLS
	// Remote means URL is another host: this machine's configuration and Redis say nothing about
	// it, so those checks are not run (printing them would read as facts about the target).
	Remote bool
}

// SlowPing is the Redis round trip above which diagnose warns: every preference call makes several.
const SlowPing = 50 * time.Millisecond

// Run performs every check in order. A check whose prerequisites failed is reported as WARN
// (skipped) rather than repeating the same failure.
func Run(ctx context.Context, o Options) []Result {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	var out []Result
	var cfg config.Config
	usable := false
	if o.Remote {
		// Only the API prefix and the probe key's fallback are taken from the local settings.
		cfg, _, usable = checkConfig(o.Lookup)
		out = append(out, Result{"target", Info, "remote " + o.URL + ": the local configuration and Redis are not checked (they describe this machine, not the target)", ""})
	} else {
		var res []Result
		cfg, res, usable = checkConfig(o.Lookup)
		out = append(out, res...)
		if !usable {
			out = append(out, Result{"redis", Warn, "skipped: the configuration cannot be read", "fix the configuration first"})
		} else {
			out = append(out, checkRedis(ctx, cfg, o.Timeout)...)
		}
	}
	base := strings.TrimRight(o.URL, "/")
	if base == "" {
		port := 8000
		if usable {
			port = cfg.Port
		}
		base = fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	key := o.APIKey
	if key == "" && len(cfg.APIKeys) > 0 {
		key = cfg.APIKeys[0]
	}
	prefix := cfg.APIPrefix
	if prefix == "" {
		prefix = "/api/v1"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.Insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // opt-in for self-signed certs
	}
	hc := &http.Client{Timeout: o.Timeout, Transport: tr}
	health := checkHealth(ctx, hc, base)
	out = append(out, health)
	if health.Status == Fail {
		out = append(out,
			Result{"metrics", Warn, "skipped: " + base + " does not answer /health", "fix the health check first"},
			Result{"api key", Warn, "skipped: " + base + " does not answer /health", "fix the health check first"})
		return out
	}
	out = append(out, checkMetrics(ctx, hc, base, !o.Remote && usable && !cfg.EnableMonitoring))
	out = append(out, checkAPIKey(ctx, hc, base, prefix, key, len(cfg.APIKeys) > 0 || o.APIKey != "")...)
	return out
}

func checkConfig(look config.Lookup) (config.Config, []Result, bool) {
	cfg, err := config.FromLookup(look)
	if err == nil {
		var out []Result
		out = append(out, Result{"config", OK, fmt.Sprintf("ENV=%s, store=%s, %d API key(s), rate limit %s", cfg.Env, storeName(cfg), len(cfg.APIKeys), rate(cfg)), ""})
		if !cfg.Production() && len(cfg.APIKeys) == 0 {
			out = append(out, Result{"config auth", Warn, "API_KEYS is empty: the API is open to anyone who can reach it",
				"set API_KEYS (comma-separated) before exposing the service; ENV=production enforces it"})
		}
		return cfg, out, true
	}
	var missing, other []string
	for _, line := range strings.Split(strings.TrimPrefix(err.Error(), "invalid configuration: "), "\n") {
		if k, ok := strings.CutPrefix(line, "ENV=production requires "); ok {
			missing = append(missing, strings.Fields(strings.ReplaceAll(k, "at least one key in ", ""))[0])
		} else if line != "" {
			other = append(other, line)
		}
	}
	var out []Result
	if len(missing) > 0 {
		out = append(out, Result{"config", Fail, "ENV=production but missing: " + strings.Join(missing, ", "),
			"set " + strings.Join(missing, ", ") + " in the environment or .env (generate secrets with `openssl rand -hex 32`); the service refuses to start without them"})
	}
	if len(other) > 0 {
		out = append(out, Result{"config", Fail, strings.Join(other, "; "), "correct these values; valid keys: " + strings.Join(config.Keys, ", ")})
	}
	// Read the rest leniently so that the network checks can still run against what is configured.
	lenient, lerr := config.FromLookup(func(k string) (string, bool) {
		if k == "ENV" {
			return "development", true
		}
		return look(k)
	})
	return lenient, out, lerr == nil
}

func storeName(c config.Config) string {
	if len(c.RedisSentinels) > 0 {
		return fmt.Sprintf("redis via sentinels %s (master %s)", strings.Join(c.RedisSentinels, ","), c.RedisMasterName)
	}
	if c.RedisAddr() == "" {
		return "in-memory"
	}
	return "redis " + c.RedisAddr()
}

func rate(c config.Config) string {
	if c.RateLimitPerMinute == 0 {
		return "off"
	}
	return fmt.Sprintf("%d/min", c.RateLimitPerMinute)
}

func checkRedis(ctx context.Context, cfg config.Config, timeout time.Duration) []Result {
	var sentinel []Result
	if len(cfg.RedisSentinels) > 0 {
		// Find the primary the way the service does, then check it like a single Redis.
		addr, res := primaryFromSentinels(ctx, cfg, timeout)
		if addr == "" {
			return res
		}
		sentinel = res
		host, port, _ := strings.Cut(addr, ":")
		cfg.RedisSentinels, cfg.RedisHost = nil, host
		fmt.Sscan(port, &cfg.RedisPort)
	}
	if cfg.RedisAddr() == "" {
		return []Result{{"redis", Warn, "REDIS_HOST is unset: preference state lives in this process only and is lost on restart",
			"set REDIS_HOST/REDIS_PORT/REDIS_PASSWORD to share state between replicas (required for ENV=production)"}}
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: cfg.RedisAddr(), Username: cfg.RedisUsername, Password: cfg.RedisPassword, DB: cfg.RedisDB,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, MaxRetries: -1, Protocol: 2, DisableIdentity: true, DialerRetries: 1})
	defer rdb.Close()
	var lat []time.Duration
	for i := 0; i < 5; i++ {
		start := time.Now()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return []Result{redisFailure(cfg, err)}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	med := lat[len(lat)/2]
	r := Result{"redis", OK, fmt.Sprintf("PING %s: median %s over 5 (max %s)", cfg.RedisAddr(), med.Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond)), ""}
	if med > SlowPing {
		r.Status, r.Fix = Warn, fmt.Sprintf("PING above %s: check network distance and Redis load (redis-cli --latency, SLOWLOG GET 10)", SlowPing)
	}
	out := append(sentinel, r)
	if info, err := rdb.Info(ctx, "replication").Result(); err == nil {
		out = append(out, replicationResult(redis.ParseReplication(info), cfg.RedisWaitReplicas))
	}
	if info, err := rdb.Info(ctx, "persistence").Result(); err == nil {
		if strings.Contains(info, "aof_enabled:1") {
			out = append(out, Result{"redis persistence", OK, "AOF enabled", ""})
		} else {
			out = append(out, Result{"redis persistence", Warn, "AOF disabled: user beliefs are lost if Redis restarts",
				"set `appendonly yes` in redis.conf (the rendered pilot redis.conf does)"})
		}
	}
	return out
}

// primaryFromSentinels asks every Sentinel for the primary: it reports which ones answer and
// whether they agree.
func primaryFromSentinels(ctx context.Context, cfg config.Config, timeout time.Duration) (string, []Result) {
	seen := map[string]int{}
	var down []string
	for _, a := range cfg.RedisSentinels {
		sc := goredis.NewSentinelClient(&goredis.Options{Addr: a, Username: cfg.RedisSentinelUsername, Password: cfg.RedisSentinelPassword, DialTimeout: timeout,
			ReadTimeout: timeout, WriteTimeout: timeout, MaxRetries: -1, Protocol: 2, DisableIdentity: true, DialerRetries: 1})
		hp, err := sc.GetMasterAddrByName(ctx, cfg.RedisMasterName).Result()
		sc.Close()
		if err != nil || len(hp) != 2 {
			down = append(down, fmt.Sprintf("%s (%v)", a, err))
			continue
		}
		seen[hp[0]+":"+hp[1]]++
	}
	if len(seen) == 0 {
		return "", []Result{{"redis sentinel", Fail, "no Sentinel names the primary " + cfg.RedisMasterName + ": " + strings.Join(down, "; "),
			"check REDIS_SENTINELS, REDIS_MASTER_NAME, REDIS_SENTINEL_USERNAME and REDIS_SENTINEL_PASSWORD, and that the Sentinels run (redis-cli -p 26379 SENTINEL MASTERS)"}}
	}
	best, n := "", 0
	for a, c := range seen {
		if c > n || (c == n && a < best) {
			best, n = a, c
		}
	}
	r := Result{"redis sentinel", OK, fmt.Sprintf("primary %s named by %d of %d Sentinels", best, n, len(cfg.RedisSentinels)), ""}
	if len(seen) > 1 {
		r.Status, r.Fix = Warn, "the Sentinels disagree on the primary (a failover is under way?): run diagnose again in a few seconds"
	} else if len(down) > 0 {
		r.Status, r.Fix = Warn, "not every Sentinel answers ("+strings.Join(down, "; ")+"): with fewer than 2 the quorum is lost and no failover can happen"
	}
	return best, []Result{r}
}

func replicationResult(r isl.Replication, want int) Result {
	res := Result{"redis replication", OK, fmt.Sprintf("role %s, %d replica(s) online, lag %d bytes", r.Role, r.ReplicasOnline, r.LagBytes), ""}
	switch {
	case r.Role != "master":
		res.Status, res.Fix = Fail, "this node is not the primary: the service would write to a replica; check REDIS_HOST or the Sentinels"
	case want > 0 && r.ReplicasOnline < want:
		res.Status, res.Fix = Warn, fmt.Sprintf("REDIS_WAIT_REPLICAS=%d but %d replica(s) online: writes are acknowledged without replication until the replica is back (start it; Sentinel re-attaches it)", want, r.ReplicasOnline)
	case r.LagBytes > 1<<20:
		res.Status, res.Fix = Warn, "the replica is more than 1 MiB behind: check its load and the network; writes may answer 503 until it catches up"
	}
	return res
}

func redisFailure(cfg config.Config, err error) Result {
	msg := err.Error()
	fix := fmt.Sprintf("start Redis or correct REDIS_HOST/REDIS_PORT (%s); check firewalls between the service and Redis", cfg.RedisAddr())
	switch {
	case goredis.IsAuthError(err) || strings.Contains(msg, "NOAUTH") || strings.Contains(msg, "WRONGPASS") || strings.Contains(msg, "invalid password"):
		fix = "REDIS_USERNAME/REDIS_PASSWORD are not accepted by Redis (its requirepass or ACL user): set the same credentials on both sides"
	case strings.Contains(msg, "DB index is out of range"):
		fix = "REDIS_DB exceeds the server's `databases` setting"
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "timeout"):
		fix = fmt.Sprintf("Redis at %s does not answer in time: check that it runs and that the address is reachable", cfg.RedisAddr())
	}
	return Result{"redis", Fail, fmt.Sprintf("PING %s: %v", cfg.RedisAddr(), err), fix}
}

func get(ctx context.Context, hc *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b, err
}

func checkHealth(ctx context.Context, hc *http.Client, base string) Result {
	start := time.Now()
	code, body, err := get(ctx, hc, base+"/health")
	took := time.Since(start).Round(time.Microsecond)
	if err != nil {
		return Result{"health", Fail, fmt.Sprintf("GET %s/health: %v", base, err),
			"start the service (`isl`), or pass --url with the address it listens on (PORT/HOST, or the nginx endpoint)"}
	}
	var h struct {
		Status       string `json:"status"`
		Version      string `json:"version"`
		Dependencies map[string]struct {
			Status string `json:"status"`
		} `json:"dependencies"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &h) != nil {
		return Result{"health", Fail, fmt.Sprintf("GET %s/health: status %d: %.120s", base, code, body),
			"the URL answers but is not ISL's /health: check --url and the proxy's upstream"}
	}
	if h.Status != "healthy" {
		return Result{"health", Warn, fmt.Sprintf("status %q (redis %s) in %s", h.Status, h.Dependencies["redis"].Status, took),
			"the service runs but its Redis is unreachable: preference calls answer 503 until it reconnects; see the redis check"}
	}
	return Result{"health", OK, fmt.Sprintf("healthy, version %s, in %s", h.Version, took), ""}
}

// requiredSeries must be present on /metrics for the dashboards and alerts to work.
var requiredSeries = []string{"isl_service_up", "isl_http_requests_total", "isl_http_request_duration_seconds", "isl_active_requests", "isl_store_backend"}

func checkMetrics(ctx context.Context, hc *http.Client, base string, disabled bool) Result {
	if disabled {
		return Result{"metrics", Warn, "ENABLE_MONITORING=false: /metrics is not served", "set ENABLE_MONITORING=true so that Prometheus can scrape this replica"}
	}
	code, body, err := get(ctx, hc, base+"/metrics")
	if err != nil {
		return Result{"metrics", Fail, fmt.Sprintf("GET %s/metrics: %v", base, err), "check that the service serves /metrics"}
	}
	if code == http.StatusForbidden || code == http.StatusNotFound {
		return Result{"metrics", Warn, fmt.Sprintf("GET %s/metrics: status %d (a proxy that hides /metrics from outside does this)", base, code),
			"run diagnose against a replica directly (--url http://REPLICA:8000) or check Prometheus' targets page"}
	}
	if code != http.StatusOK {
		return Result{"metrics", Fail, fmt.Sprintf("GET %s/metrics: status %d", base, code), "check ENABLE_MONITORING and the service logs"}
	}
	var missing []string
	for _, s := range requiredSeries {
		if !bytes.Contains(body, []byte("\n"+s)) && !bytes.HasPrefix(body, []byte(s)) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return Result{"metrics", Fail, "missing series: " + strings.Join(missing, ", "), "this is not ISL's /metrics or the build is incomplete; check --url"}
	}
	if bytes.Contains(body, []byte("\nisl_redis_connected 0")) {
		return Result{"metrics", Warn, "isl_* series present, but isl_redis_connected is 0", "the replica has lost Redis; see the redis check and the service logs"}
	}
	if bytes.Contains(body, []byte("\nisl_service_up 0")) {
		return Result{"metrics", Warn, "isl_* series present, but isl_service_up is 0 (draining)", "the replica is shutting down; restart it"}
	}
	return Result{"metrics", OK, fmt.Sprintf("%d isl_* series exposed, service up", countSeries(body)), ""}
}

func countSeries(body []byte) int {
	n := 0
	for _, l := range bytes.Split(body, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("isl_")) {
			n++
		}
	}
	return n
}

// probeBody is docs/api.md#causal-validate-examples : cheap, deterministic, and its answer is known.
const probeBody = `{"dag":{"nodes":["X","Y","Z"],"edges":[["Z","X"],["X","Y"],["Z","Y"]]},"treatment":"X","outcome":"Y"}`

func post(ctx context.Context, hc *http.Client, url, key string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(probeBody))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func checkAPIKey(ctx context.Context, hc *http.Client, base, prefix, key string, haveKey bool) []Result {
	url := base + prefix + "/causal/validate"
	code, body, err := post(ctx, hc, url, key)
	if err != nil {
		return []Result{{"api key", Fail, fmt.Sprintf("POST %s: %v", url, err), "check the service logs; the health check passed, so the API route or proxy is at fault"}}
	}
	switch {
	case code == http.StatusUnauthorized && !haveKey:
		return []Result{{"api key", Fail, "the service requires an API key and none is configured here", "pass --api-key or set API_KEYS for this command to one of the service's keys"}}
	case code == http.StatusUnauthorized:
		return []Result{{"api key", Fail, "the key was rejected (401)", "the key must be one of the service's API_KEYS (comma-separated, no spaces inside a key); restart replicas after changing it"}}
	case code == http.StatusTooManyRequests:
		return []Result{{"api key", Warn, "rate limited (429)", "raise RATE_LIMIT_PER_MINUTE or wait a minute"}}
	case code != http.StatusOK:
		return []Result{{"api key", Fail, fmt.Sprintf("POST %s: status %d: %.160s", url, code, body), "check API_V1_PREFIX and the service logs (look up the trace_id)"}}
	}
	var r struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(body, &r) != nil || r.Status != "identifiable" {
		return []Result{{"api key", Fail, fmt.Sprintf("unexpected answer to the W1 probe: %.160s", body), "the deployment does not answer the contract; check the image version"}}
	}
	out := []Result{{"api key", OK, "POST " + prefix + "/causal/validate answered the W1 probe", ""}}
	if haveKey {
		if code, _, err := post(ctx, hc, url, ""); err == nil && code == http.StatusOK {
			out = append(out, Result{"api auth", Warn, "the service also answers without a key", "set API_KEYS on the service (ENV=production requires it)"})
		}
	}
	return out
}

// TargetURL normalises --url: without a scheme it is http:// (`localhost:8000`), only http and
// https are accepted, and remote reports whether the host is another machine (not loopback).
func TargetURL(raw string) (string, bool, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", false, fmt.Errorf("%q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false, fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", false, fmt.Errorf("%q: no host", raw)
	}
	host := u.Hostname()
	local := host == "localhost"
	if ip := net.ParseIP(host); ip != nil {
		local = ip.IsLoopback()
	}
	return strings.TrimRight(u.String(), "/"), !local, nil
}

// Print writes the results and reports whether any failed.
func Print(w io.Writer, rs []Result) (failed bool) {
	for _, r := range rs {
		fmt.Fprintf(w, "%-4s  %-17s %s\n", r.Status, r.Check, r.Detail)
		if r.Fix != "" {
			fmt.Fprintf(w, "      %-17s → %s\n", "", r.Fix)
		}
		if r.Status == Fail {
			failed = true
		}
	}
	if failed {
		fmt.Fprintln(w, "diagnose: FAIL")
	} else {
		fmt.Fprintln(w, "diagnose: OK")
	}
	return failed
}

// Main is `isl diagnose [flags]`: configuration from the environment and envFile (like serve).
// It returns the exit status: 0 all OK or WARN, 1 any FAIL, 2 usage error.
func Main(args []string, envFile string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("isl diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.URL, "url", "", "base URL to check (default http://127.0.0.1:$PORT; no scheme = http://); may be the nginx endpoint. A non-loopback host skips the local config and Redis checks")
	fs.StringVar(&o.APIKey, "api-key", "", "API key for the probe (default: the first of API_KEYS)")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Second, "timeout per network operation")
	fs.BoolVar(&o.Insecure, "insecure", false, "accept self-signed TLS certificates")
	fs.StringVar(&envFile, "env-file", envFile, "dotenv file read after the process environment")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "isl diagnose: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if o.URL != "" {
		u, remote, err := TargetURL(o.URL)
		if err != nil {
			fmt.Fprintf(stderr, "isl diagnose: --url: %v\n", err)
			return 2
		}
		o.URL, o.Remote = u, remote
	}
	file := map[string]string{}
	if envFile != "" {
		f, err := config.ReadDotEnv(envFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "FAIL  %-17s read %s: %v\n", "config", envFile, err)
			return 1
		}
		file = f
	}
	o.Lookup = func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		v, ok := file[k]
		return v, ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if Print(stdout, Run(ctx, o)) {
		return 1
	}
	return 0
}
