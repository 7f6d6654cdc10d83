// Package stacks is the typed configuration of the ISL deployment tiers (dev, staging, pilot) and the
// pure renderers of the files the deployment ships (nginx.conf, redis.conf, prometheus.yml, alert
// rules, Grafana provisioning). It does not import Pulumi: the Pulumi program (infra) reads stack
// config through a thin Source adapter, and `make pilot-local` renders the same files through
// stacks/cmd/render, so there is one source of truth for the topology.
package stacks

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Project is the Pulumi project name, the namespace of every ISL config key ("isl:replicas").
const Project = "isl"

// Tier is a deployment tier: the validation rules a stack is held to (isl:tier).
type Tier string

const (
	Dev     Tier = "dev"
	Staging Tier = "staging"
	Pilot   Tier = "pilot"
)

// Tiers lists the tiers in promotion order.
var Tiers = []Tier{Dev, Staging, Pilot}

// Secret config keys. They are never committed; `pulumi config set --secret isl:<key> …` stores them
// encrypted in Pulumi.<stack>.yaml.
const (
	SecretRedisPassword   = "isl:redisPassword"
	SecretSecretKey       = "isl:secretKey"
	SecretAPIKeys         = "isl:apiKeys"
	SecretGrafanaPassword = "isl:grafanaAdminPassword"
	// SecretPrometheusPassword guards /prometheus/ through nginx (basic auth, user "admin").
	SecretPrometheusPassword = "isl:prometheusAdminPassword"
	SecretRegistryPassword   = "isl:imageRegistryPassword"
)

// RequiredSecrets are the secrets a staging or pilot `pulumi up` refuses to run without (the service
// itself refuses to start in ENV=production without the first three).
var RequiredSecrets = []string{SecretRedisPassword, SecretSecretKey, SecretAPIKeys, SecretGrafanaPassword, SecretPrometheusPassword}

// Config is the effective, typed configuration of one stack.
type Config struct {
	Stack      string
	Tier       Tier
	DockerHost string // docker:host; empty = the provider's default (local socket)

	Service    ServiceConfig
	Redis      RedisConfig
	Nginx      NginxConfig
	Prometheus PrometheusConfig
	Grafana    GrafanaConfig
	// NginxExporter turns nginx's stub_status into Prometheus metrics.
	NginxExporter NginxExporterConfig
	RedisHA       RedisHAConfig
	Backup        BackupConfig

	// Alertmanager routes Prometheus' alerts to the receivers.
	Alertmanager AlertmanagerConfig

	// ProtectData marks the data volumes (Redis, Prometheus, Grafana) protected in Pulumi.
	ProtectData bool

	// Secrets records which secret keys are set (values never enter Config; the Pulumi program reads
	// them as secret outputs).
	Secrets map[string]bool

	// Effective holds every non-secret setting as the string in effect (trimmed), by full key.
	Effective map[string]string
}

// ServiceConfig configures the ISL image and its replicas.
type ServiceConfig struct {
	Replicas           int
	MemoryMB           int
	CPUs               string // docker --cpus, e.g. "1.0"; empty = unlimited
	Port               int
	HostPortBase       int // dev only: replica i publishes HostPortBase+i-1; 0 = none
	Env                string
	LogLevel           string
	APIPrefix          string
	RateLimitPerMinute int
	MaxMonteCarlo      int
	EnableMonitoring   bool
	StopTimeoutSeconds int
	BinaryPath         string // path of the isl binary inside the image (healthcheck)

	Image            string // prebuilt image reference to run instead of building (rollback); empty = build
	BuildImage       string // BUILD_IMAGE of the Dockerfile: the Go build stage's base
	RuntimeImage     string // RUNTIME_IMAGE of the Dockerfile: the final image's base
	Dockerfile       string // relative to the repo root
	Platform         string
	Registry         string // registry server to push to; empty = local image only
	Repository       string // image repository name, e.g. "isl" or "ghcr.io/olumi/isl"
	RegistryUsername string
}

// RedisConfig configures the Redis container.
type RedisConfig struct {
	Image           string
	MaxMemoryMB     int // redis maxmemory
	MaxMemoryPolicy string
	MemoryMB        int // container limit
	AppendFsync     string
	HostPort        int // dev only; 0 = not published
}

// NginxConfig configures the public entry.
type NginxConfig struct {
	Image               string
	PublicHost          string
	HTTPPort            int
	HTTPSPort           int
	TLS                 bool
	TLSCertFile         string // on the machine running pulumi; uploaded into the container
	TLSKeyFile          string
	AdminAllow          []string // CIDRs allowed to /prometheus/ (besides its basic auth)
	ClientMaxBodySize   string
	ProxyConnectTimeout string
	ProxyReadTimeout    string
	MemoryMB            int
}

// NginxExporterConfig configures the nginx exporter container (private network only, never
// published: Prometheus is its only client).
type NginxExporterConfig struct {
	Image    string
	MemoryMB int
}

// PrometheusConfig configures Prometheus.
type PrometheusConfig struct {
	Image          string
	Retention      string
	ScrapeInterval string
	MemoryMB       int
	HostPort       int // dev only
}

// GrafanaConfig configures Grafana.
type GrafanaConfig struct {
	Image    string // empty = no Grafana (e.g. a host where its image cannot be obtained)
	MemoryMB int
	HostPort int // dev only
}

// Source yields raw stack config values by full key ("isl:replicas", "docker:host").
type Source interface {
	// Lookup returns the value (for a secret: possibly masked, never used), whether it is a secret,
	// and whether the key is set.
	Lookup(key string) (value string, secret bool, ok bool)
	// Keys lists every set key (used to reject unknown isl:* keys, i.e. typos).
	Keys() []string
}

// MapSource is a Source over a plain map; keys listed in SecretKeys are secrets.
type MapSource struct {
	Values     map[string]string
	SecretKeys map[string]bool
}

func (m MapSource) Lookup(key string) (string, bool, bool) {
	v, ok := m.Values[key]
	return v, m.SecretKeys[key], ok
}

func (m MapSource) Keys() []string {
	ks := make([]string, 0, len(m.Values))
	for k := range m.Values {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Load builds the configuration of a stack from its config source. Every non-secret setting must
// be set (the stack file is the one place its values live); Load rejects missing and malformed
// values and unknown isl:* keys, each naming its key. Semantic checks are in Validate.
func Load(stack string, src Source) (Config, error) {
	cfg := Config{Stack: stack, Secrets: map[string]bool{}, Effective: map[string]string{}}
	var errs []error
	missing := func(key string) error {
		return fmt.Errorf("%s: not set; every stack states every setting (copy it from another Pulumi.<stack>.yaml): pulumi config set %s <value>", key, key)
	}

	tierRaw, _, ok := src.Lookup(TierKey)
	switch tier := Tier(strings.TrimSpace(tierRaw)); {
	case !ok:
		return cfg, missing(TierKey)
	case tier != Dev && tier != Staging && tier != Pilot:
		return cfg, fmt.Errorf("%s: must be one of dev, staging, pilot (got %q)", TierKey, tierRaw)
	default:
		cfg.Tier = tier
	}
	cfg.Effective[TierKey] = string(cfg.Tier)

	known := map[string]bool{TierKey: true}
	for _, s := range settings {
		known[s.key] = true
		raw, secret, ok := src.Lookup(s.key)
		switch {
		case secret:
			errs = append(errs, fmt.Errorf("%s: is not a secret; set it with `pulumi config set %s <value>`", s.key, s.key))
			continue
		case !ok:
			errs = append(errs, missing(s.key))
			continue
		}
		raw = strings.TrimSpace(raw)
		if err := s.set.fn(&cfg, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.key, err))
			continue
		}
		cfg.Effective[s.key] = raw
	}
	for _, k := range append(append(append([]string{}, RequiredSecrets...), SecretRegistryPassword), AlertSecretKeys...) {
		known[k] = true
		v, secret, ok := src.Lookup(k)
		if ok && !secret && v != "" {
			errs = append(errs, fmt.Errorf("%s: must be a secret; set it with `pulumi config set --secret %s <value>`", k, k))
		}
		cfg.Secrets[k] = ok && (secret || v != "")
	}
	for _, k := range src.Keys() {
		if strings.HasPrefix(k, Project+":") && !known[k] {
			errs = append(errs, fmt.Errorf("%s: unknown setting (typo?)", k))
		}
	}
	cfg.DockerHost, _, _ = src.Lookup("docker:host")
	cfg.Effective["docker:host"] = cfg.DockerHost
	return cfg, errors.Join(errs...)
}

// Strictness says what Validate demands beyond the shape of the configuration.
type Strictness int

const (
	// Structural checks only the configuration itself; missing secrets and TLS files are reported by
	// Warnings. Used by the promotion diff and the renderer CLI.
	Structural Strictness = iota
	// Deploy also requires the secrets (staging/pilot) and readable TLS files: a real `pulumi up`.
	Deploy
)

// Validate checks the configuration and returns every problem at once, each naming its key.
func (c Config) Validate(mode Strictness) error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	s := c.Service
	if s.Replicas < 1 {
		bad("isl:replicas", "must be at least 1 (got %d)", s.Replicas)
	}
	if s.Replicas > 20 {
		bad("isl:replicas", "at most 20 on one Docker host (got %d)", s.Replicas)
	}
	if c.Tier == Pilot && s.Replicas < 2 {
		bad("isl:replicas", "the pilot needs at least 2 replicas for failover (got %d)", s.Replicas)
	}
	if s.StopTimeoutSeconds < 2 || s.StopTimeoutSeconds > 600 {
		bad("isl:stopTimeoutSeconds", "between 2 and 600 (got %d)", s.StopTimeoutSeconds)
	}
	if s.MemoryMB < 64 {
		bad("isl:replicaMemory", "at least 64Mi (got %dMi)", s.MemoryMB)
	}
	checkPort := func(key string, p int, allowZero bool) {
		if (p == 0 && !allowZero) || p < 0 || p > 65535 {
			bad(key, "not a valid port (got %d)", p)
		}
	}
	checkPort("isl:servicePort", s.Port, false)
	checkPort("isl:httpPort", c.Nginx.HTTPPort, false)
	if c.Nginx.TLS {
		checkPort("isl:httpsPort", c.Nginx.HTTPSPort, false)
		if c.Nginx.HTTPSPort == c.Nginx.HTTPPort {
			bad("isl:httpsPort", "must differ from isl:httpPort (%d)", c.Nginx.HTTPPort)
		}
	}
	if c.Tier != Dev {
		// Only nginx is reachable from outside the Docker host on staging and pilot.
		for key, p := range map[string]int{"isl:replicaHostPortBase": s.HostPortBase, "isl:redisHostPort": c.Redis.HostPort,
			"isl:prometheusHostPort": c.Prometheus.HostPort, "isl:grafanaHostPort": c.Grafana.HostPort, "isl:alertmanagerHostPort": c.Alertmanager.HostPort} {
			if p != 0 {
				bad(key, "host ports are allowed on dev only; on %s only nginx is published (got %d, want 0)", c.Tier, p)
			}
		}
		if s.Env != "production" {
			bad("isl:env", "must be production on %s (got %q)", c.Tier, s.Env)
		}
		// A floating reference (no tag, or :latest) would change what runs on the next pull, untested.
		for key, ref := range map[string]string{"isl:redisImage": c.Redis.Image, "isl:nginxImage": c.Nginx.Image,
			"isl:prometheusImage": c.Prometheus.Image, "isl:grafanaImage": c.Grafana.Image, "isl:image": s.Image,
			"isl:alertmanagerImage": c.Alertmanager.Image, "isl:nginxExporterImage": c.NginxExporter.Image, "isl:buildImage": s.BuildImage, "isl:runtimeImage": s.RuntimeImage} {
			if ref != "" && !PinnedImage(ref) {
				bad(key, "pin the image on %s with a version tag or a digest (got %q)", c.Tier, ref)
			}
		}
	} else {
		checkPort("isl:replicaHostPortBase", s.HostPortBase, true)
		if s.HostPortBase != 0 && s.HostPortBase+s.Replicas-1 > 65535 {
			bad("isl:replicaHostPortBase", "replica ports run past 65535")
		}
		checkPort("isl:redisHostPort", c.Redis.HostPort, true)
		checkPort("isl:prometheusHostPort", c.Prometheus.HostPort, true)
		checkPort("isl:grafanaHostPort", c.Grafana.HostPort, true)
		checkPort("isl:alertmanagerHostPort", c.Alertmanager.HostPort, true)
	}
	// The rendered nginx.conf re-resolves the replica aliases (`server … resolve`), which nginx has
	// only since 1.27.3; an older image would refuse the configuration at start.
	if v, ok := imageVersion(c.Nginx.Image); ok && versionBefore(v, [3]int{1, 27, 3}) {
		bad("isl:nginxImage", "needs nginx 1.27.3 or later (replica addresses are re-resolved without reloads); got %q", c.Nginx.Image)
	}
	c.validateAlerting(mode, bad)
	if c.Tier == Pilot && !c.Nginx.TLS {
		bad("isl:tls", "the pilot serves HTTPS only (got false)")
	}
	if c.Nginx.TLS && (c.Nginx.TLSCertFile == "" || c.Nginx.TLSKeyFile == "") {
		bad("isl:tlsCertFile", "isl:tlsCertFile and isl:tlsKeyFile are required when isl:tls is true")
	}
	if c.Redis.MaxMemoryMB < 1 {
		bad("isl:redisMaxmemory", "must be at least 1Mi (got %dMi)", c.Redis.MaxMemoryMB)
	}
	if c.Redis.MemoryMB < c.Redis.MaxMemoryMB+32 {
		bad("isl:redisMemory", "container limit %dMi leaves no headroom above maxmemory %dMi (need ≥ maxmemory + 32Mi for AOF rewrite and buffers)",
			c.Redis.MemoryMB, c.Redis.MaxMemoryMB)
	}
	for key, mb := range map[string]int{"isl:nginxMemory": c.Nginx.MemoryMB, "isl:prometheusMemory": c.Prometheus.MemoryMB, "isl:grafanaMemory": c.Grafana.MemoryMB,
		"isl:nginxExporterMemory": c.NginxExporter.MemoryMB} {
		if mb < 32 {
			bad(key, "at least 32Mi (got %dMi)", mb)
		}
	}
	if !safeHost.MatchString(c.Nginx.PublicHost) {
		bad("isl:publicHost", "not a host name (got %q)", c.Nginx.PublicHost)
	}
	if s.Image == "" && s.Repository == "" {
		bad("isl:imageRepository", "required when isl:image is not set")
	}
	if s.Registry != "" && s.Image == "" && s.RegistryUsername == "" {
		bad("isl:imageRegistryUsername", "required when isl:imageRegistry is set")
	}
	if s.Registry != "" && s.Image == "" && mode == Deploy && !c.Secrets[SecretRegistryPassword] {
		bad(SecretRegistryPassword, "required when isl:imageRegistry is set: pulumi config set --secret %s <password>", SecretRegistryPassword)
	}
	if mode == Deploy {
		if c.Tier != Dev {
			for _, k := range RequiredSecrets {
				if k == SecretGrafanaPassword && c.Grafana.Image == "" {
					continue // no Grafana
				}
				if !c.Secrets[k] {
					bad(k, "secret required on %s: pulumi config set --secret %s <value>", c.Tier, k)
				}
			}
		}
		if c.Nginx.TLS {
			for key, p := range map[string]string{"isl:tlsCertFile": c.Nginx.TLSCertFile, "isl:tlsKeyFile": c.Nginx.TLSKeyFile} {
				if p == "" {
					continue
				}
				if f, err := os.Open(p); err != nil {
					bad(key, "TLS file not readable: %v", err)
				} else {
					f.Close()
				}
			}
		}
	}
	c.validateHA(bad)
	sortErrs(errs)
	return errors.Join(errs...)
}

// Warnings lists what a Deploy validation would additionally reject (missing secrets or TLS files),
// for the diff and renderer, which run without them.
func (c Config) Warnings() []string {
	err := c.Validate(Deploy)
	if err == nil {
		return nil
	}
	structural := map[string]bool{}
	if e := c.Validate(Structural); e != nil {
		for _, l := range strings.Split(e.Error(), "\n") {
			structural[l] = true
		}
	}
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if !structural[l] {
			out = append(out, l)
		}
	}
	return out
}

func sortErrs(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}

var safeHost = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// PinnedImage reports whether an image reference names a fixed version: a digest (…@sha256:…) or a
// tag other than "latest" ("redis:7.2-alpine"; a registry port such as "host:5000/isl" is no tag).
func PinnedImage(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	tag, ok := imageTag(ref)
	return ok && tag != "" && tag != "latest"
}

// imageTag is the tag after the last ':' of ref's last path element (a registry port such as
// "host:5000/isl" is no tag); ok is false when there is none.
func imageTag(ref string) (tag string, ok bool) {
	name := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(name, ":")
	if i < 0 {
		return "", false
	}
	return name[i+1:], true
}

var versionTag = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?(?:[-.].*)?$`)

// imageVersion reads the version a tag names ("nginx:1.30-alpine" → 1.30; a tag without a patch
// level floats to the newest patch, so the patch reads as the highest). ok is false when the
// tag names no version (a bare digest, "stable", "latest").
func imageVersion(ref string) (v [3]int, ok bool) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	tag, ok := imageTag(ref)
	if !ok {
		return v, false
	}
	m := versionTag.FindStringSubmatch(tag)
	if m == nil {
		return v, false
	}
	v[0], _ = strconv.Atoi(m[1])
	v[1], _ = strconv.Atoi(m[2])
	v[2] = math.MaxInt
	if m[3] != "" {
		v[2], _ = strconv.Atoi(m[3])
	}
	return v, true
}

func versionBefore(v, min [3]int) bool {
	for i := range v {
		if v[i] != min[i] {
			return v[i] < min[i]
		}
	}
	return false
}

// ReplicaSlots names the replica slots: isl-1 … isl-N. A slot name is both the Pulumi resource name
// of the replica and its stable network alias.
func (c Config) ReplicaSlots() []string {
	out := make([]string, c.Service.Replicas)
	for i := range out {
		out[i] = "isl-" + strconv.Itoa(i+1)
	}
	return out
}

// ShutdownTimeout is the service's graceful-drain bound for a container stop timeout: a few
// seconds less, so that the process exits on its own before Docker's SIGKILL.
func ShutdownTimeout(stopTimeoutSeconds int) int {
	if stopTimeoutSeconds > 10 {
		return stopTimeoutSeconds - 5
	}
	return max(1, stopTimeoutSeconds*2/3)
}

// EndpointURL is the public URL the CEE front end calls.
func (c Config) EndpointURL() string {
	if c.Nginx.TLS {
		if c.Nginx.HTTPSPort == 443 {
			return "https://" + c.Nginx.PublicHost
		}
		return fmt.Sprintf("https://%s:%d", c.Nginx.PublicHost, c.Nginx.HTTPSPort)
	}
	if c.Nginx.HTTPPort == 80 {
		return "http://" + c.Nginx.PublicHost
	}
	return fmt.Sprintf("http://%s:%d", c.Nginx.PublicHost, c.Nginx.HTTPPort)
}

// ParseMemory parses a memory size into MiB: "512Mi", "512M", "512m", "512mb", "2Gi", "1g". A bare
// number is MiB. Sizes that are not whole MiB, or zero, are rejected.
func ParseMemory(s string) (int, error) {
	m := memRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("bad memory size %q (want e.g. 512Mi, 1Gi)", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad memory size %q: must be a positive whole number of Mi or Gi", s)
	}
	if strings.HasPrefix(strings.ToLower(m[2]), "g") {
		if n > 1<<20 {
			return 0, fmt.Errorf("bad memory size %q: too large", s)
		}
		n *= 1024
	}
	if n > 1<<30 {
		return 0, fmt.Errorf("bad memory size %q: too large", s)
	}
	return n, nil
}

var memRe = regexp.MustCompile(`^([0-9]+)\s*((?i:mi|mib|m|mb|gi|gib|g|gb)?)$`)

// FormatMemory renders MiB the way the stack files spell sizes.
func FormatMemory(mb int) string {
	if mb%1024 == 0 {
		return strconv.Itoa(mb/1024) + "Gi"
	}
	return strconv.Itoa(mb) + "Mi"
}

func parseCIDRs(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			if a, err2 := netip.ParseAddr(f); err2 == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, fmt.Errorf("bad CIDR %q", f)
			}
		}
		out = append(out, p.String())
	}
	return out, nil
}
