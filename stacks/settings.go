package stacks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// setting is one non-secret config key: its per-tier default and how it lands in Config.
type setting struct {
	key string
	def func(Tier) string
	set func(*Config, string) error
	doc string
}

// per returns a default that differs by tier.
func per(dev, staging, pilot string) func(Tier) string {
	return func(t Tier) string {
		switch t {
		case Dev:
			return dev
		case Staging:
			return staging
		default:
			return pilot
		}
	}
}

func all(v string) func(Tier) string { return per(v, v, v) }

func intInto(dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*dst(c) = n
		return nil
	}
}

func boolInto(dst func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", v)
		}
		*dst(c) = b
		return nil
	}
}

func memInto(dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := ParseMemory(v)
		if err != nil {
			return err
		}
		*dst(c) = n
		return nil
	}
}

func strInto(dst func(*Config) *string, re *regexp.Regexp, what string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if re != nil && !re.MatchString(v) {
			return fmt.Errorf("%s (got %q)", what, v)
		}
		*dst(c) = v
		return nil
	}
}

var (
	durationRe  = regexp.MustCompile(`^[0-9]+(ms|s|m|h)$`)
	retentionRe = regexp.MustCompile(`^[0-9]+(h|d|w|y)$`)
	imageRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:@-]*$`)
	levelRe     = regexp.MustCompile(`^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$`)
	envRe       = regexp.MustCompile(`^(development|staging|production)$`)
	prefixRe    = regexp.MustCompile(`^(/[A-Za-z0-9._-]+)+$`)
	// Every ISL key is acknowledged user state: an evicting policy loses it silently at the limit.
	policyRe = regexp.MustCompile(`^noeviction$`)
	fsyncRe  = regexp.MustCompile(`^(always|everysec|no)$`)
	bodyRe   = regexp.MustCompile(`^[0-9]+[km]?$`)
	cpusRe   = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)?$`)
	pathRe   = regexp.MustCompile(`^(/[A-Za-z0-9._+-]+)*$`)
	anyRe    = regexp.MustCompile(`^[^\s"'\\;{}]*$`)
)

// settings is every non-secret key, in the order the diff prints them. Defaults: dev is a laptop
// (1 replica, everything published for debugging), staging mirrors the pilot's shape with 2
// replicas and no TLS, pilot is 3 replicas behind HTTPS.
var settings = []setting{
	{"isl:replicas", per("1", "2", "3"), intInto(func(c *Config) *int { return &c.Service.Replicas }), "ISL replicas behind nginx"},
	{"isl:replicaMemory", per("512Mi", "512Mi", "1Gi"), memInto(func(c *Config) *int { return &c.Service.MemoryMB }), "memory limit per replica"},
	{"isl:replicaCpus", per("", "1.0", "1.0"), strInto(func(c *Config) *string { return &c.Service.CPUs }, cpusRe, "a CPU count like 1.5, or empty"), "CPU limit per replica (docker --cpus)"},
	{"isl:servicePort", all("8000"), intInto(func(c *Config) *int { return &c.Service.Port }), "port the service listens on inside its container (PORT)"},
	{"isl:replicaHostPortBase", per("8001", "0", "0"), intInto(func(c *Config) *int { return &c.Service.HostPortBase }), "dev only: publish replica i on this port + i - 1"},
	{"isl:env", per("development", "production", "production"), strInto(func(c *Config) *string { return &c.Service.Env }, envRe, "development|staging|production"), "ENV of the service"},
	{"isl:logLevel", per("DEBUG", "INFO", "INFO"), strInto(func(c *Config) *string { return &c.Service.LogLevel }, levelRe, "DEBUG|INFO|WARNING|ERROR|CRITICAL"), "LOG_LEVEL"},
	{"isl:apiPrefix", all("/api/v1"), strInto(func(c *Config) *string { return &c.Service.APIPrefix }, prefixRe, "a path like /api/v1"), "API_V1_PREFIX"},
	{"isl:rateLimitPerMinute", per("0", "600", "600"), intInto(func(c *Config) *int { return &c.Service.RateLimitPerMinute }), "RATE_LIMIT_PER_MINUTE per API key (0 = off)"},
	{"isl:maxMonteCarloIterations", all("10000"), intInto(func(c *Config) *int { return &c.Service.MaxMonteCarlo }), "MAX_MONTE_CARLO_ITERATIONS"},
	{"isl:enableMonitoring", all("true"), boolInto(func(c *Config) *bool { return &c.Service.EnableMonitoring }), "ENABLE_MONITORING"},
	{"isl:stopTimeoutSeconds", all("30"), intInto(func(c *Config) *int { return &c.Service.StopTimeoutSeconds }), "graceful drain time on stop/replace"},
	{"isl:binaryPath", all("/isl"), strInto(func(c *Config) *string { return &c.Service.BinaryPath }, pathRe, "an absolute path"), "the isl binary in the image (healthcheck runs `<binaryPath> healthcheck`)"},
	{"isl:image", all(""), strInto(func(c *Config) *string { return &c.Service.Image }, regexp.MustCompile(`^([a-z0-9][a-z0-9._/:@-]*)?$`), "an image reference"), "prebuilt image to run instead of building (rollback)"},
	{"isl:imageRepository", all("isl"), strInto(func(c *Config) *string { return &c.Service.Repository }, regexp.MustCompile(`^([a-z0-9][a-z0-9._/:-]*)?$`), "a repository name"), "repository of the built image"},
	{"isl:imageRegistry", all(""), strInto(func(c *Config) *string { return &c.Service.Registry }, anyRe, "a registry host"), "registry to push the built image to (empty = local only)"},
	{"isl:imageRegistryUsername", all(""), strInto(func(c *Config) *string { return &c.Service.RegistryUsername }, anyRe, "a user name"), "registry user"},
	{"isl:dockerfile", all("service/Dockerfile"), strInto(func(c *Config) *string { return &c.Service.Dockerfile }, regexp.MustCompile(`^[A-Za-z0-9._/-]+$`), "a relative path"), "Dockerfile, relative to the repo root"},
	{"isl:platform", all("linux/amd64"), strInto(func(c *Config) *string { return &c.Service.Platform }, regexp.MustCompile(`^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$`), "os/arch"), "image platform"},

	{"isl:redisImage", all("redis:7.2-alpine"), strInto(func(c *Config) *string { return &c.Redis.Image }, imageRe, "an image reference"), "Redis image"},
	{"isl:redisMaxmemory", per("128Mi", "256Mi", "1Gi"), memInto(func(c *Config) *int { return &c.Redis.MaxMemoryMB }), "Redis maxmemory"},
	{"isl:redisMaxmemoryPolicy", all("noeviction"), strInto(func(c *Config) *string { return &c.Redis.MaxMemoryPolicy }, policyRe, "noeviction: every ISL key is acknowledged user state, which Redis must never evict"), "Redis maxmemory-policy (noeviction only: at the limit writes fail and the service refuses new users, see README \"Operating the pilot\")"},
	{"isl:redisMemory", per("256Mi", "512Mi", "2Gi"), memInto(func(c *Config) *int { return &c.Redis.MemoryMB }), "Redis container memory limit"},
	{"isl:redisAppendfsync", all("everysec"), strInto(func(c *Config) *string { return &c.Redis.AppendFsync }, fsyncRe, "always|everysec|no"), "AOF fsync policy"},
	{"isl:redisHostPort", per("6379", "0", "0"), intInto(func(c *Config) *int { return &c.Redis.HostPort }), "dev only: publish Redis on this host port"},

	{"isl:nginxImage", all("nginx:1.26-alpine"), strInto(func(c *Config) *string { return &c.Nginx.Image }, imageRe, "an image reference"), "nginx image"},
	{"isl:publicHost", per("localhost", "staging.isl.internal", "isl.example.com"), strInto(func(c *Config) *string { return &c.Nginx.PublicHost }, nil, ""), "public host name (server_name, endpoint URL)"},
	{"isl:httpPort", per("8080", "80", "80"), intInto(func(c *Config) *int { return &c.Nginx.HTTPPort }), "published HTTP port"},
	{"isl:httpsPort", per("0", "0", "443"), intInto(func(c *Config) *int { return &c.Nginx.HTTPSPort }), "published HTTPS port (TLS only)"},
	{"isl:tls", per("false", "false", "true"), boolInto(func(c *Config) *bool { return &c.Nginx.TLS }), "serve HTTPS and redirect HTTP to it"},
	{"isl:tlsCertFile", per("", "", "/etc/isl/tls/fullchain.pem"), strInto(func(c *Config) *string { return &c.Nginx.TLSCertFile }, anyRe, "a file path"), "certificate chain (PEM) on the machine running pulumi"},
	{"isl:tlsKeyFile", per("", "", "/etc/isl/tls/privkey.pem"), strInto(func(c *Config) *string { return &c.Nginx.TLSKeyFile }, anyRe, "a file path"), "private key (PEM) on the machine running pulumi"},
	{"isl:adminAllowCidrs", all("127.0.0.1/32,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"), func(c *Config, v string) error {
		cidrs, err := parseCIDRs(v)
		c.Nginx.AdminAllow = cidrs
		return err
	}, "clients allowed to /metrics and /prometheus/ through nginx"},
	{"isl:clientMaxBodySize", all("1m"), strInto(func(c *Config) *string { return &c.Nginx.ClientMaxBodySize }, bodyRe, "an nginx size like 1m"), "largest request body"},
	{"isl:proxyConnectTimeout", all("5s"), strInto(func(c *Config) *string { return &c.Nginx.ProxyConnectTimeout }, durationRe, "a duration like 5s"), "connect timeout to a replica (short: fail over fast)"},
	{"isl:proxyReadTimeout", all("60s"), strInto(func(c *Config) *string { return &c.Nginx.ProxyReadTimeout }, durationRe, "a duration like 60s"), "read/send timeout to a replica"},
	{"isl:nginxMemory", all("128Mi"), memInto(func(c *Config) *int { return &c.Nginx.MemoryMB }), "nginx container memory limit"},

	{"isl:prometheusImage", all("prom/prometheus:v2.53.2"), strInto(func(c *Config) *string { return &c.Prometheus.Image }, imageRe, "an image reference"), "Prometheus image"},
	{"isl:prometheusRetention", per("2d", "15d", "30d"), strInto(func(c *Config) *string { return &c.Prometheus.Retention }, retentionRe, "a duration like 15d"), "TSDB retention"},
	{"isl:scrapeInterval", all("15s"), strInto(func(c *Config) *string { return &c.Prometheus.ScrapeInterval }, durationRe, "a duration like 15s"), "scrape and rule evaluation interval"},
	{"isl:prometheusMemory", per("256Mi", "512Mi", "1Gi"), memInto(func(c *Config) *int { return &c.Prometheus.MemoryMB }), "Prometheus container memory limit"},
	{"isl:prometheusHostPort", per("9090", "0", "0"), intInto(func(c *Config) *int { return &c.Prometheus.HostPort }), "dev only: publish Prometheus"},

	{"isl:grafanaImage", all("grafana/grafana-oss:11.2.2"), strInto(func(c *Config) *string { return &c.Grafana.Image }, imageRe, "an image reference"), "Grafana image"},
	{"isl:grafanaMemory", all("256Mi"), memInto(func(c *Config) *int { return &c.Grafana.MemoryMB }), "Grafana container memory limit"},
	{"isl:grafanaHostPort", per("3000", "0", "0"), intInto(func(c *Config) *int { return &c.Grafana.HostPort }), "dev only: publish Grafana"},

	{"isl:protectData", per("false", "false", "true"), boolInto(func(c *Config) *bool { return &c.ProtectData }), "protect data volumes from deletion"},
}

// Setting documents one config key.
type Setting struct {
	Key      string
	Default  map[Tier]string
	Doc      string
	IsSecret bool
}

// Settings lists every config key the program reads, secrets last.
func Settings() []Setting {
	out := []Setting{{Key: "isl:tier", Default: map[Tier]string{Dev: "dev", Staging: "staging", Pilot: "pilot"}, Doc: "tier (default: from the stack name)"}}
	for _, s := range settings {
		d := map[Tier]string{}
		for _, t := range Tiers {
			d[t] = s.def(t)
		}
		out = append(out, Setting{Key: s.key, Default: d, Doc: s.doc})
	}
	for _, k := range append(append([]string{}, RequiredSecrets...), SecretRegistryPassword) {
		out = append(out, Setting{Key: k, IsSecret: true, Doc: "secret"})
	}
	return out
}

// hostPorts lists the published host ports of a config (for the diff and tests).
func (c Config) HostPorts() map[string][]int {
	out := map[string][]int{"nginx": {c.Nginx.HTTPPort}}
	if c.Nginx.TLS {
		out["nginx"] = append(out["nginx"], c.Nginx.HTTPSPort)
	}
	if c.Service.HostPortBase != 0 {
		for i := range c.Service.Replicas {
			out["replicas"] = append(out["replicas"], c.Service.HostPortBase+i)
		}
	}
	for name, p := range map[string]int{"redis": c.Redis.HostPort, "prometheus": c.Prometheus.HostPort, "grafana": c.Grafana.HostPort} {
		if p != 0 {
			out[name] = []int{p}
		}
	}
	return out
}

var _ = strings.TrimSpace
