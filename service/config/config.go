// Package config reads the service configuration from the environment and an optional .env file.
// Unknown keys are ignored (the original aborted on them, docs/api.md#configuration); the process environment wins over
// the file so that containers can override what a checked-in .env says.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is the whole runtime configuration. Field comments name the environment key.
type Config struct {
	Env                       string        // ENV: development | staging | production (anything else is an error)
	LogLevel                  string        // LOG_LEVEL
	APIPrefix                 string        // API_V1_PREFIX
	Host                      string        // HOST
	Port                      int           // PORT
	RedisHost                 string        // REDIS_HOST; empty selects the embedded in-memory store
	RedisPort                 int           // REDIS_PORT
	RedisDB                   int           // REDIS_DB
	RedisUsername             string        // REDIS_USERNAME: ACL user (empty = the legacy default user)
	RedisPassword             string        // REDIS_PASSWORD
	SecretKey                 string        // SECRET_KEY: HMAC key for user ids in logs
	APIKeys                   []string      // API_KEYS: comma-separated; empty disables authentication
	RateLimitPerMinute        int           // RATE_LIMIT_PER_MINUTE: per API key (or client IP); 0 disables
	MaxMonteCarlo             int           // MAX_MONTE_CARLO_ITERATIONS
	EnableMonitoring          bool          // ENABLE_MONITORING: serve /metrics
	RequestTimeout            time.Duration // REQUEST_TIMEOUT_SECONDS: per-request compute deadline
	ShutdownTimeout           time.Duration // SHUTDOWN_TIMEOUT_SECONDS: graceful drain bound
	TrustedProxies            []string      // TRUSTED_PROXIES: IPs, CIDRs or host names whose X-Real-IP is the client's
	MaxConcurrentComputations int           // MAX_CONCURRENT_COMPUTATIONS: 0 = max(2, GOMAXPROCS)
	EnableCache               bool          // ENABLE_CACHE: cache complete responses of the deterministic endpoints
	CacheMaxBytes             int           // CACHE_MAX_MB (in MiB): bound of the in-process response cache
	CacheTTL                  time.Duration // CACHE_TTL_SECONDS: lifetime of a cached response

	// Sentinel (Redis primary + replica with automatic failover). When RedisSentinels is set the
	// service finds the primary through the Sentinels instead of REDIS_HOST/REDIS_PORT.
	RedisSentinels        []string      // REDIS_SENTINELS: host:port,… of the Sentinels
	RedisMasterName       string        // REDIS_MASTER_NAME: the name the Sentinels monitor
	RedisSentinelUsername string        // REDIS_SENTINEL_USERNAME: ACL user on the Sentinels (empty = their default user)
	RedisSentinelPassword string        // REDIS_SENTINEL_PASSWORD: that user's password on the Sentinels (empty = none)
	RedisWaitReplicas     int           // REDIS_WAIT_REPLICAS: replicas that must confirm each write (default 1 with Sentinels, else 0)
	RedisWaitTimeout      time.Duration // REDIS_WAIT_TIMEOUT_MS: how long a write waits for them before answering 503
}

// Keys lists every key the service reads, for .env.example and the diagnose command.
var Keys = []string{
	"ENV", "LOG_LEVEL", "API_V1_PREFIX", "HOST", "PORT", "REDIS_HOST", "REDIS_PORT", "REDIS_DB",
	"REDIS_USERNAME", "REDIS_PASSWORD", "SECRET_KEY", "API_KEYS", "RATE_LIMIT_PER_MINUTE", "MAX_MONTE_CARLO_ITERATIONS",
	"ENABLE_MONITORING", "REQUEST_TIMEOUT_SECONDS", "SHUTDOWN_TIMEOUT_SECONDS", "TRUSTED_PROXIES",
	"MAX_CONCURRENT_COMPUTATIONS", "ENABLE_CACHE", "CACHE_MAX_MB", "CACHE_TTL_SECONDS",
	"REDIS_SENTINELS", "REDIS_MASTER_NAME", "REDIS_SENTINEL_USERNAME", "REDIS_SENTINEL_PASSWORD",
	"REDIS_WAIT_REPLICAS", "REDIS_WAIT_TIMEOUT_MS",
}

// MaxMonteCarloCap is docs/api.md#limits's ceiling on samples per request, whatever the configuration says.
const MaxMonteCarloCap = 100000

// Redacted is how secrets are shown.
const Redacted = "********"

// Lookup reads one key; it returns false when the key is unset.
type Lookup func(key string) (string, bool)

// Load builds the configuration from the process environment and, when envFile exists, the file.
func Load(envFile string) (Config, error) {
	file := map[string]string{}
	if envFile != "" {
		f, err := ReadDotEnv(envFile)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Config{}, fmt.Errorf("read %s: %w", envFile, err)
		}
		file = f
	}
	return FromLookup(func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		v, ok := file[k]
		return v, ok
	})
}

// FromLookup builds and validates the configuration from any key source.
func FromLookup(look Lookup) (Config, error) {
	var errs []error
	str := func(k, def string) string {
		if v, ok := look(k); ok {
			return strings.TrimSpace(v)
		}
		return def
	}
	num := func(k string, def, min, max int) int {
		s := str(k, "")
		if s == "" {
			return def
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < min || n > max {
			errs = append(errs, fmt.Errorf("%s=%q: want an integer in [%d, %d]", k, s, min, max))
			return def
		}
		return n
	}
	boolean := func(k string, def bool) bool {
		s := str(k, "")
		if s == "" {
			return def
		}
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", k, s))
			return def
		}
		return b
	}
	c := Config{
		Env:                       strings.ToLower(str("ENV", "development")),
		LogLevel:                  strings.ToUpper(str("LOG_LEVEL", "INFO")),
		APIPrefix:                 strings.TrimRight(str("API_V1_PREFIX", "/api/v1"), "/"),
		Host:                      str("HOST", "0.0.0.0"),
		Port:                      num("PORT", 8000, 0, 65535),
		RedisHost:                 str("REDIS_HOST", ""),
		RedisPort:                 num("REDIS_PORT", 6379, 1, 65535),
		RedisDB:                   num("REDIS_DB", 0, 0, 15),
		RedisUsername:             str("REDIS_USERNAME", ""),
		RedisPassword:             str("REDIS_PASSWORD", ""),
		SecretKey:                 str("SECRET_KEY", ""),
		RateLimitPerMinute:        num("RATE_LIMIT_PER_MINUTE", 0, 0, 1_000_000),
		MaxMonteCarlo:             num("MAX_MONTE_CARLO_ITERATIONS", 10000, 1, MaxMonteCarloCap),
		EnableMonitoring:          boolean("ENABLE_MONITORING", true),
		RequestTimeout:            time.Duration(num("REQUEST_TIMEOUT_SECONDS", 30, 1, 600)) * time.Second,
		ShutdownTimeout:           time.Duration(num("SHUTDOWN_TIMEOUT_SECONDS", 20, 1, 600)) * time.Second,
		MaxConcurrentComputations: num("MAX_CONCURRENT_COMPUTATIONS", 0, 0, 10000),
		EnableCache:               boolean("ENABLE_CACHE", true),
		CacheMaxBytes:             num("CACHE_MAX_MB", 64, 1, 65536) << 20,
		CacheTTL:                  time.Duration(num("CACHE_TTL_SECONDS", 600, 1, 30*86400)) * time.Second,
	}
	for _, a := range strings.Split(str("REDIS_SENTINELS", ""), ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if h, p, err := net.SplitHostPort(a); err != nil || h == "" || p == "" {
			errs = append(errs, fmt.Errorf("REDIS_SENTINELS: %q is not host:port", a))
			continue
		}
		c.RedisSentinels = append(c.RedisSentinels, a)
	}
	c.RedisMasterName = str("REDIS_MASTER_NAME", "")
	c.RedisSentinelUsername = str("REDIS_SENTINEL_USERNAME", "")
	c.RedisSentinelPassword = str("REDIS_SENTINEL_PASSWORD", "")
	waitDefault := 0
	if len(c.RedisSentinels) > 0 {
		waitDefault = 1
		if c.RedisMasterName == "" {
			errs = append(errs, errors.New("REDIS_SENTINELS is set: REDIS_MASTER_NAME must name the monitored primary"))
		}
	}
	c.RedisWaitReplicas = num("REDIS_WAIT_REPLICAS", waitDefault, 0, 10)
	c.RedisWaitTimeout = time.Duration(num("REDIS_WAIT_TIMEOUT_MS", 1000, 1, 60000)) * time.Millisecond
	// TRUST_PROXY=true trusted X-Real-IP from any peer: a client talking to a replica directly
	// could pick a fresh address per request and was never rate limited. The proxies are now named.
	if boolean("TRUST_PROXY", false) {
		errs = append(errs, errors.New("TRUST_PROXY=true is no longer supported: list the proxy's addresses in TRUSTED_PROXIES (IPs, CIDRs or host names)"))
	}
	for _, p := range strings.Split(str("TRUSTED_PROXIES", ""), ",") {
		if p = strings.TrimSpace(p); p != "" {
			if !validProxy(p) {
				errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %q is not an IP address, CIDR or host name", p))
				continue
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	for _, k := range strings.Split(str("API_KEYS", ""), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.APIKeys = append(c.APIKeys, k)
		}
	}
	switch c.Env {
	case "development", "staging", "production":
	default:
		// An unknown value (a typo such as "prodution") must not silently switch off every
		// production check.
		errs = append(errs, fmt.Errorf("ENV=%q: want development, staging or production", c.Env))
	}
	switch c.LogLevel {
	case "DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: want DEBUG, INFO, WARNING or ERROR", c.LogLevel))
	}
	if c.APIPrefix == "" || !strings.HasPrefix(c.APIPrefix, "/") {
		errs = append(errs, fmt.Errorf("API_V1_PREFIX=%q: want a path starting with /", c.APIPrefix))
	}
	if c.Production() {
		// Production refuses to start half-configured: no secret means user ids could not be
		// pseudonymised in logs, no password means Redis is open, no key means the API is open.
		if c.SecretKey == "" {
			errs = append(errs, errors.New("ENV=production requires SECRET_KEY"))
		}
		if c.RedisPassword == "" {
			errs = append(errs, errors.New("ENV=production requires REDIS_PASSWORD"))
		}
		if len(c.APIKeys) == 0 {
			errs = append(errs, errors.New("ENV=production requires at least one key in API_KEYS"))
		}
		if c.RedisHost == "" && len(c.RedisSentinels) == 0 {
			errs = append(errs, errors.New("ENV=production requires REDIS_HOST or REDIS_SENTINELS (the in-memory store is per process)"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

var hostNameRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// validProxy accepts an IP, a CIDR or a DNS name (Docker network aliases such as "nginx").
func validProxy(p string) bool {
	if _, err := netip.ParseAddr(p); err == nil {
		return true
	}
	if _, err := netip.ParsePrefix(p); err == nil {
		return true
	}
	return len(p) <= 253 && hostNameRe.MatchString(p)
}

// Production reports whether the strict production rules apply.
func (c Config) Production() bool { return c.Env == "production" }

// Addr is the listen address.
func (c Config) Addr() string { return fmt.Sprintf("%s:%d", c.Host, c.Port) }

// UseRedis reports whether the service keeps its state in Redis (directly or through Sentinel).
func (c Config) UseRedis() bool { return c.RedisHost != "" || len(c.RedisSentinels) > 0 }

// RedisAddr is host:port of Redis, empty when Redis is not configured or is found through Sentinel.
func (c Config) RedisAddr() string {
	if c.RedisHost == "" || len(c.RedisSentinels) > 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d", c.RedisHost, c.RedisPort)
}

// ReadDotEnv parses KEY=VALUE lines; blank lines and # comments are skipped, `export ` prefixes
// and matching surrounding quotes are removed. Malformed lines are an error naming the line.
func ReadDotEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			// A quoted value ends at its closing quote; anything after it may only be a comment
			// (`KEY="a b" # note`), and a '#' inside the quotes is part of the value.
			if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
				rest := strings.TrimSpace(v[end+2:])
				if rest == "" || strings.HasPrefix(rest, "#") {
					v = v[1 : end+1]
					out[k] = v
					continue
				}
			}
		}
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		out[k] = v
	}
	return out, sc.Err()
}
