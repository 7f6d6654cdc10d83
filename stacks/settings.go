package stacks

import (
	"fmt"
	"regexp"
	"strconv"
)

// setting is one non-secret config key: how its value lands in Config, and what it means. Values
// have no defaults here: every Pulumi.<stack>.yaml states every setting (the one place a stack's
// values are written), Pulumi.yaml declares each key with its type and description (so Pulumi
// itself rejects a stack that lacks one), and Load rejects a missing key the same way.
type setting struct {
	key string
	set parser
	doc string
}

// parser parses one setting's text into Config; kind is its Pulumi.yaml type.
type parser struct {
	kind string // string | integer | boolean
	fn   func(*Config, string) error
}

func intInto(dst func(*Config) *int) parser {
	return parser{"integer", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*dst(c) = n
		return nil
	}}
}

// boolInto accepts exactly true and false: what Pulumi's `type: boolean` accepts.
func boolInto(dst func(*Config) *bool) parser {
	return parser{"boolean", func(c *Config, v string) error {
		switch v {
		case "true", "false":
			*dst(c) = v == "true"
			return nil
		}
		return fmt.Errorf("not a boolean (true or false): %q", v)
	}}
}

func memInto(dst func(*Config) *int) parser {
	return parser{"string", func(c *Config, v string) error {
		n, err := ParseMemory(v)
		if err != nil {
			return err
		}
		*dst(c) = n
		return nil
	}}
}

func strInto(dst func(*Config) *string, re *regexp.Regexp, what string) parser {
	return parser{"string", func(c *Config, v string) error {
		if re != nil && !re.MatchString(v) {
			return fmt.Errorf("%s (got %q)", what, v)
		}
		*dst(c) = v
		return nil
	}}
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

// settings is every non-secret key, in the order the diff prints them. The committed stack files
// give each tier its values: dev is a laptop (1 replica, everything published for debugging),
// staging mirrors the pilot's shape with 2 replicas and no TLS, pilot is 3 replicas behind HTTPS.
var settings = []setting{
	{"isl:replicas", intInto(func(c *Config) *int { return &c.Service.Replicas }), "ISL replicas behind nginx"},
	{"isl:replicaMemory", memInto(func(c *Config) *int { return &c.Service.MemoryMB }), "memory limit per replica"},
	{"isl:replicaCpus", strInto(func(c *Config) *string { return &c.Service.CPUs }, cpusRe, "a CPU count like 1.5, or empty"), "CPU limit per replica (docker --cpus)"},
	{"isl:servicePort", intInto(func(c *Config) *int { return &c.Service.Port }), "port the service listens on inside its container (PORT)"},
	{"isl:replicaHostPortBase", intInto(func(c *Config) *int { return &c.Service.HostPortBase }), "dev only: publish replica i on this port + i - 1"},
	{"isl:env", strInto(func(c *Config) *string { return &c.Service.Env }, envRe, "development|staging|production"), "ENV of the service"},
	{"isl:logLevel", strInto(func(c *Config) *string { return &c.Service.LogLevel }, levelRe, "DEBUG|INFO|WARNING|ERROR|CRITICAL"), "LOG_LEVEL"},
	{"isl:apiPrefix", strInto(func(c *Config) *string { return &c.Service.APIPrefix }, prefixRe, "a path like /api/v1"), "API_V1_PREFIX"},
	{"isl:rateLimitPerMinute", intInto(func(c *Config) *int { return &c.Service.RateLimitPerMinute }), "RATE_LIMIT_PER_MINUTE per API key (0 = off)"},
	{"isl:maxMonteCarloIterations", intInto(func(c *Config) *int { return &c.Service.MaxMonteCarlo }), "MAX_MONTE_CARLO_ITERATIONS"},
	{"isl:enableMonitoring", boolInto(func(c *Config) *bool { return &c.Service.EnableMonitoring }), "ENABLE_MONITORING"},
	{"isl:stopTimeoutSeconds", intInto(func(c *Config) *int { return &c.Service.StopTimeoutSeconds }), "graceful drain time on stop/replace"},
	{"isl:binaryPath", strInto(func(c *Config) *string { return &c.Service.BinaryPath }, pathRe, "an absolute path"), "the isl binary in the image (healthcheck runs `<binaryPath> healthcheck`)"},
	{"isl:image", strInto(func(c *Config) *string { return &c.Service.Image }, regexp.MustCompile(`^([a-z0-9][a-z0-9._/:@-]*)?$`), "an image reference"), "prebuilt image to run instead of building (rollback)"},
	{"isl:imageRepository", strInto(func(c *Config) *string { return &c.Service.Repository }, regexp.MustCompile(`^([a-z0-9][a-z0-9._/:-]*)?$`), "a repository name"), "repository of the built image"},
	{"isl:imageRegistry", strInto(func(c *Config) *string { return &c.Service.Registry }, anyRe, "a registry host"), "registry to push the built image to (empty = local only)"},
	{"isl:imageRegistryUsername", strInto(func(c *Config) *string { return &c.Service.RegistryUsername }, anyRe, "a user name"), "registry user"},
	{"isl:buildImage", strInto(func(c *Config) *string { return &c.Service.BuildImage }, imageRe, "an image reference"), "BUILD_IMAGE: base of the Go build stage (must provide go)"},
	{"isl:runtimeImage", strInto(func(c *Config) *string { return &c.Service.RuntimeImage }, imageRe, "an image reference"), "RUNTIME_IMAGE: base of the service image (needs user nonroot, uid 65532)"},
	{"isl:dockerfile", strInto(func(c *Config) *string { return &c.Service.Dockerfile }, regexp.MustCompile(`^[A-Za-z0-9._/-]+$`), "a relative path"), "Dockerfile, relative to the repo root"},
	{"isl:platform", strInto(func(c *Config) *string { return &c.Service.Platform }, regexp.MustCompile(`^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$`), "os/arch"), "image platform"},

	{"isl:redisImage", strInto(func(c *Config) *string { return &c.Redis.Image }, imageRe, "an image reference"), "Redis image"},
	{"isl:redisMaxmemory", memInto(func(c *Config) *int { return &c.Redis.MaxMemoryMB }), "Redis maxmemory"},
	{"isl:redisMaxmemoryPolicy", strInto(func(c *Config) *string { return &c.Redis.MaxMemoryPolicy }, policyRe, "noeviction: every ISL key is acknowledged user state, which Redis must never evict"), "Redis maxmemory-policy (noeviction only: at the limit writes fail and the service refuses new users, see README \"Operating the pilot\")"},
	{"isl:redisMemory", memInto(func(c *Config) *int { return &c.Redis.MemoryMB }), "Redis container memory limit"},
	{"isl:redisAppendfsync", strInto(func(c *Config) *string { return &c.Redis.AppendFsync }, fsyncRe, "always|everysec|no"), "AOF fsync policy"},
	{"isl:redisHostPort", intInto(func(c *Config) *int { return &c.Redis.HostPort }), "dev only: publish Redis on this host port"},

	{"isl:nginxImage", strInto(func(c *Config) *string { return &c.Nginx.Image }, imageRe, "an image reference"), "nginx image"},
	{"isl:publicHost", strInto(func(c *Config) *string { return &c.Nginx.PublicHost }, nil, ""), "public host name (server_name, endpoint URL)"},
	{"isl:httpPort", intInto(func(c *Config) *int { return &c.Nginx.HTTPPort }), "published HTTP port"},
	{"isl:httpsPort", intInto(func(c *Config) *int { return &c.Nginx.HTTPSPort }), "published HTTPS port (TLS only)"},
	{"isl:tls", boolInto(func(c *Config) *bool { return &c.Nginx.TLS }), "serve HTTPS and redirect HTTP to it"},
	{"isl:tlsCertFile", strInto(func(c *Config) *string { return &c.Nginx.TLSCertFile }, anyRe, "a file path"), "certificate chain (PEM) on the machine running pulumi"},
	{"isl:tlsKeyFile", strInto(func(c *Config) *string { return &c.Nginx.TLSKeyFile }, anyRe, "a file path"), "private key (PEM) on the machine running pulumi"},
	{"isl:adminAllowCidrs", parser{"string", func(c *Config, v string) error {
		cidrs, err := parseCIDRs(v)
		c.Nginx.AdminAllow = cidrs
		return err
	}}, "clients allowed to /prometheus/ through nginx (in addition to its basic auth; /metrics is never proxied)"},
	{"isl:clientMaxBodySize", strInto(func(c *Config) *string { return &c.Nginx.ClientMaxBodySize }, bodyRe, "an nginx size like 1m"), "largest request body"},
	{"isl:proxyConnectTimeout", strInto(func(c *Config) *string { return &c.Nginx.ProxyConnectTimeout }, durationRe, "a duration like 5s"), "connect timeout to a replica: a dead replica's address costs a request at most this before nginx retries the next (measured: README)"},
	{"isl:proxyReadTimeout", strInto(func(c *Config) *string { return &c.Nginx.ProxyReadTimeout }, durationRe, "a duration like 60s"), "read/send timeout to a replica"},
	{"isl:nginxMemory", memInto(func(c *Config) *int { return &c.Nginx.MemoryMB }), "nginx container memory limit"},

	{"isl:prometheusImage", strInto(func(c *Config) *string { return &c.Prometheus.Image }, imageRe, "an image reference"), "Prometheus image"},
	{"isl:prometheusRetention", strInto(func(c *Config) *string { return &c.Prometheus.Retention }, retentionRe, "a duration like 15d"), "TSDB retention"},
	{"isl:scrapeInterval", strInto(func(c *Config) *string { return &c.Prometheus.ScrapeInterval }, durationRe, "a duration like 15s"), "scrape and rule evaluation interval"},
	{"isl:prometheusMemory", memInto(func(c *Config) *int { return &c.Prometheus.MemoryMB }), "Prometheus container memory limit"},
	{"isl:prometheusHostPort", intInto(func(c *Config) *int { return &c.Prometheus.HostPort }), "dev only: publish Prometheus"},

	{"isl:grafanaImage", strInto(func(c *Config) *string { return &c.Grafana.Image }, regexp.MustCompile(`^([a-z0-9][a-z0-9._/:@-]*)?$`), "an image reference, or empty"), "Grafana image (empty = no Grafana)"},
	{"isl:grafanaMemory", memInto(func(c *Config) *int { return &c.Grafana.MemoryMB }), "Grafana container memory limit"},
	{"isl:grafanaHostPort", intInto(func(c *Config) *int { return &c.Grafana.HostPort }), "dev only: publish Grafana"},

	{"isl:alertmanagerImage", strInto(func(c *Config) *string { return &c.Alertmanager.Image }, imageRe, "an image reference"), "Alertmanager image"},
	{"isl:alertmanagerMemory", memInto(func(c *Config) *int { return &c.Alertmanager.MemoryMB }), "Alertmanager container memory limit"},
	{"isl:alertmanagerHostPort", intInto(func(c *Config) *int { return &c.Alertmanager.HostPort }), "dev only: publish Alertmanager"},
	{"isl:alertEmailTo", parser{"string", func(c *Config, v string) error {
		to, err := parseEmails(v)
		c.Alertmanager.EmailTo = to
		return err
	}}, "comma-separated alert e-mail recipients (empty = no e-mail receiver)"},
	{"isl:alertEmailFrom", strInto(func(c *Config) *string { return &c.Alertmanager.EmailFrom }, anyRe, "an e-mail address"), "sender of alert e-mails"},
	{"isl:alertSmtpSmarthost", strInto(func(c *Config) *string { return &c.Alertmanager.SMTPSmarthost }, anyRe, "host:port"), "SMTP server (host:port, STARTTLS required) for alert e-mails"},
	{"isl:alertSmtpUsername", strInto(func(c *Config) *string { return &c.Alertmanager.SMTPUsername }, anyRe, "a user name"), "SMTP user (password: secret isl:alertSmtpPassword)"},
	{"isl:alertSlackChannel", strInto(func(c *Config) *string { return &c.Alertmanager.SlackChannel }, regexp.MustCompile(`^([#@]?[a-z0-9._-]{1,80})?$`), "a channel like #isl-alerts"), "Slack channel (empty = the webhook's own; URL: secret isl:alertSlackWebhookUrl)"},
	{"isl:alertRepeatCritical", strInto(func(c *Config) *string { return &c.Alertmanager.RepeatCritical }, durationRe, "a duration like 1h"), "re-send an unresolved critical alert this often"},
	{"isl:alertRepeatWarning", strInto(func(c *Config) *string { return &c.Alertmanager.RepeatWarning }, durationRe, "a duration like 12h"), "re-send an unresolved warning this often"},

	{"isl:protectData", boolInto(func(c *Config) *bool { return &c.ProtectData }), "protect data volumes from deletion"},
}

// Setting documents one config key.
type Setting struct {
	Key      string
	Type     string // Pulumi.yaml type: string | integer | boolean
	Doc      string
	IsSecret bool
}

// TierKey names the tier of a stack: the validation rules it is held to (staging and pilot
// publish only nginx, the pilot serves HTTPS only, …).
const TierKey = "isl:tier"

// Settings lists every config key the program reads, secrets last.
func Settings() []Setting {
	out := []Setting{{Key: TierKey, Type: "string", Doc: "tier whose rules the stack is held to: dev, staging or pilot"}}
	for _, s := range settings {
		out = append(out, Setting{Key: s.key, Type: s.set.kind, Doc: s.doc})
	}
	for _, k := range append(append(append([]string{}, RequiredSecrets...), SecretRegistryPassword), AlertSecretKeys...) {
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
	for name, p := range map[string]int{"redis": c.Redis.HostPort, "prometheus": c.Prometheus.HostPort, "grafana": c.Grafana.HostPort,
		"alertmanager": c.Alertmanager.HostPort} {
		if p != 0 {
			out[name] = []int{p}
		}
	}
	return out
}

// ProjectConfigEntry renders a setting's declaration for Pulumi.yaml's project-level `config:`.
func ProjectConfigEntry(s Setting) string {
	return fmt.Sprintf("  %s:\n    type: %s\n    description: %s\n", s.Key, s.Type, strconv.Quote(s.Doc))
}
