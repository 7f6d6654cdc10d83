package stacks

import (
	"fmt"
	"net"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/olumi/isl/monitoring"
)

// Container paths and names shared by the Pulumi program and the rendered files.
const (
	RedisAlias          = "redis"
	PrometheusAlias     = "prometheus"
	GrafanaAlias        = "grafana"
	RedisPort           = 6379
	PrometheusPort      = 9090
	GrafanaPort         = 3000
	PrometheusPrefix    = "/prometheus"
	NginxStatusPort     = 8081
	NginxMetricsPort    = 8082 // stub_status, private network only
	NginxExporterAlias  = "nginx-exporter"
	NginxExporterPort   = 9113
	DockerDNS           = "127.0.0.11"
	NginxConfPath       = "/etc/nginx/nginx.conf"
	NginxCertPath       = "/etc/nginx/tls/fullchain.pem"
	NginxKeyPath        = "/etc/nginx/tls/privkey.pem"
	NginxHtpasswdPath   = "/etc/nginx/htpasswd-prometheus"
	PrometheusAdminUser = "admin"
	RedisConfPath       = "/usr/local/etc/redis/redis.conf"
	RedisDataPath       = "/data"
	PrometheusConfPath  = "/etc/prometheus/prometheus.yml"
	PrometheusRulesPath = "/etc/prometheus/rules/isl-alerts.yml"
	PrometheusDataPath  = "/prometheus"
	GrafanaDataPath     = "/var/lib/grafana"
	GrafanaDSPath       = "/etc/grafana/provisioning/datasources/isl.yml"
	GrafanaProvPath     = "/etc/grafana/provisioning/dashboards/isl.yml"
	GrafanaDashDir      = "/etc/grafana/dashboards"
)

// UpstreamResolveValid is how often nginx re-resolves the replica slot aliases: after an image
// update's new container joins a slot, nginx sends to it within this time.
const UpstreamResolveValid = "1s"

// ContainerFailTimeout is how long nginx skips a replica that failed, in containers: several
// re-resolve intervals (UpstreamResolveValid plus the resolver's timeout), see Build.
const ContainerFailTimeout = "5s"

// Placement says where the topology runs.
//
// Containers (Local=false): replicas are reached by their slot aliases (isl-1:8000 …) through
// Docker's DNS, files live at the container paths above, and nginx listens on 80/443 inside its
// container (the host publishes the configured ports).
//
// Local (Local=true, `make pilot-local`): every process is on loopback; replicas are the given
// addresses, and pid files, logs, temp and data directories live under Dir.
type Placement struct {
	Local          bool
	Dir            string   // local only: absolute directory for everything the processes write
	Upstreams      []string // local only: replica addresses, e.g. 127.0.0.1:8101
	HTTPPort       int      // local only: nginx HTTP port (0 = isl:httpPort)
	HTTPSPort      int      // local only: nginx HTTPS port (0 = isl:httpsPort)
	TLS            *bool    // local only: override isl:tls
	TLSCertFile    string   // local only: certificate path (default isl:tlsCertFile)
	TLSKeyFile     string   // local only: key path (default isl:tlsKeyFile)
	RedisPort      int      // local only: Redis port (0 = 6379)
	PrometheusAddr string   // local only: Prometheus listen address (default 127.0.0.1:9090)
	// local only: Alertmanager listen address (default 127.0.0.1:9093)
	AlertmanagerAddr string
	// local only: nginx stub_status listener and the exporter's address (empty = no exporter)
	NginxMetricsAddr  string
	NginxExporterAddr string
	// local only, with isl:redisHA: the replica's and the three Sentinels' ports
	RedisReplicaPort int
	SentinelPorts    []int
	// local only, with isl:backupInterval: the backup runner's /metrics address
	BackupMetricsAddr string
}

// Bundle is the resolved parameters of every rendered file of one stack and placement.
type Bundle struct {
	Config         Config
	Placement      Placement
	Nginx          NginxParams
	Redis          RedisParams // Password is filled in at render time (it is a secret)
	Prometheus     PrometheusParams
	PrometheusArgs []string
	Alerts         AlertParams
	Grafana        GrafanaParams  // containers only
	RedisHA        *RedisHAParams // nil = a single Redis (dev, or staging without isl:redisHA)
	Backup         *BackupParams  // nil = no scheduled backups (isl:backupInterval 0)
	// Alertmanager is rendered on its own (AlertmanagerFile), with the receiver secrets.
	Alertmanager     AlertmanagerParams
	AlertmanagerArgs []string
}

// nginx sizing. Two workers (the container's CPU share; "auto" would follow the host's cores and
// multiply the memory). Each connection may hold up to ~32 KiB (1 KiB header buffer, up to 4×8 KiB
// large headers or a 16 KiB body buffer), so the connections per worker are the container memory
// over 32 KiB, split between the workers: 128 MiB → 2 048 per worker, 4 096 in all. One client
// address may have NginxConnPerClient requests in progress (slow bodies included) at once: above the
// 100 concurrent users of the pilot's SLO, which may all come from one CEE backend address.
const (
	NginxWorkers       = 2
	NginxConnPerClient = 128
)

// NginxWorkerConnections is worker_connections for a container of memoryMB (at least 1 024).
func NginxWorkerConnections(memoryMB, workers int) int {
	return max(1024, memoryMB*1024/32/max(1, workers))
}

// Build resolves the render parameters of a stack for a placement.
func Build(cfg Config, pl Placement) (Bundle, error) {
	b := Bundle{Config: cfg, Placement: pl}
	origin := fmt.Sprintf("stack %s, tier %s", cfg.Stack, cfg.Tier)
	slots := cfg.ReplicaSlots()
	if len(slots) == 0 {
		return b, fmt.Errorf("build topology: no replicas")
	}
	var upstreams []string
	tls := cfg.Nginx.TLS
	cert, key := NginxCertPath, NginxKeyPath
	httpListen, httpsListen := "80", "443"
	httpsPublic := cfg.Nginx.HTTPSPort
	redisPort := RedisPort
	promAddr := net.JoinHostPort(PrometheusAlias, strconv.Itoa(PrometheusPort))
	promListen := "0.0.0.0:" + strconv.Itoa(PrometheusPort)
	promSelf := "localhost:" + strconv.Itoa(PrometheusPort)
	if pl.Local {
		if !filepath.IsAbs(pl.Dir) {
			return b, fmt.Errorf("build topology: local placement needs an absolute directory (got %q)", pl.Dir)
		}
		if len(pl.Upstreams) == 0 {
			return b, fmt.Errorf("build topology: local placement needs the replica addresses")
		}
		upstreams = append(upstreams, pl.Upstreams...)
		if pl.TLS != nil {
			tls = *pl.TLS
		}
		cert, key = cfg.Nginx.TLSCertFile, cfg.Nginx.TLSKeyFile
		if pl.TLSCertFile != "" {
			cert = pl.TLSCertFile
		}
		if pl.TLSKeyFile != "" {
			key = pl.TLSKeyFile
		}
		hp, sp := cfg.Nginx.HTTPPort, cfg.Nginx.HTTPSPort
		if pl.HTTPPort != 0 {
			hp = pl.HTTPPort
		}
		if pl.HTTPSPort != 0 {
			sp = pl.HTTPSPort
		}
		httpListen, httpsListen, httpsPublic = "127.0.0.1:"+strconv.Itoa(hp), "127.0.0.1:"+strconv.Itoa(sp), sp
		if pl.RedisPort != 0 {
			redisPort = pl.RedisPort
		}
		promAddr = "127.0.0.1:9090"
		if pl.PrometheusAddr != "" {
			promAddr = pl.PrometheusAddr
		}
		promListen, promSelf = promAddr, promAddr
	} else {
		for _, s := range slots {
			upstreams = append(upstreams, net.JoinHostPort(s, strconv.Itoa(cfg.Service.Port)))
		}
	}

	workers := NginxWorkers
	// NextUpstreamTries: during an image update every slot briefly has two containers, and the old
	// ones refuse connections once they drain — and, having no connections, are what least_conn
	// picks first. A request may therefore need to pass every old one to reach a new one: allow a
	// try per possible server (nginx tries each server at most once per request; measured: with 3
	// tries, 3 of 5 208 requests got a 502 while 3 replicas were replaced at once).
	b.Nginx = NginxParams{
		Origin: origin, WorkerProcesses: strconv.Itoa(workers),
		ServerName: cfg.Nginx.PublicHost, HTTPListen: httpListen, HTTPSListen: httpsListen, HTTPSPort: httpsPublic,
		TLS: tls, TLSCertFile: cert, TLSKeyFile: key, RedirectHost: cfg.Nginx.PublicHost,
		WorkerConnections:   NginxWorkerConnections(cfg.Nginx.MemoryMB, workers),
		ClientHeaderTimeout: "10s", ClientBodyTimeout: "10s", SendTimeout: "10s", ConnPerClient: NginxConnPerClient,
		Upstreams: upstreams, MaxFails: 1, FailTimeout: "1s",
		ProxyConnectTimeout: cfg.Nginx.ProxyConnectTimeout, ProxySendTimeout: cfg.Nginx.ProxyReadTimeout,
		ProxyReadTimeout: cfg.Nginx.ProxyReadTimeout, NextUpstreamTries: 2 * len(upstreams),
		ClientMaxBodySize: cfg.Nginx.ClientMaxBodySize, AdminAllow: cfg.Nginx.AdminAllow,
		PrometheusAddr: promAddr,
	}
	b.Nginx.WorkerRlimitNofile = 2*b.Nginx.WorkerConnections + 256
	if pl.Local {
		// The self-signed local certificate is for 127.0.0.1/localhost, not the public name.
		b.Nginx.RedirectHost = "127.0.0.1"
		b.Nginx.MetricsListen = pl.NginxMetricsAddr
		d := pl.Dir
		b.Nginx.PidFile, b.Nginx.ErrorLog, b.Nginx.AccessLog = path.Join(d, "nginx.pid"), path.Join(d, "nginx-error.log"), path.Join(d, "nginx-access.log")
		b.Nginx.TempDir = path.Join(d, "nginx-temp")
	} else {
		b.Nginx.User = "nginx"
		b.Nginx.PidFile, b.Nginx.ErrorLog, b.Nginx.AccessLog, b.Nginx.TempDir = "/var/run/nginx.pid", "/dev/stderr", "/dev/stdout", "/var/cache/nginx"
		b.Nginx.Resolver = DockerDNS
		b.Nginx.StatusListen = "127.0.0.1:" + strconv.Itoa(NginxStatusPort)
		b.Nginx.MetricsListen = "0.0.0.0:" + strconv.Itoa(NginxMetricsPort)
		if cfg.Grafana.Image != "" {
			b.Nginx.GrafanaAddr = net.JoinHostPort(GrafanaAlias, strconv.Itoa(GrafanaPort))
		}
		// /prometheus/ is served only behind basic auth; without its password it has no route.
		if cfg.Secrets[SecretPrometheusPassword] {
			b.Nginx.PrometheusAuthFile = NginxHtpasswdPath
		} else {
			b.Nginx.PrometheusAddr = ""
		}
		// The container's nginx is >= 1.27.3 (Config.Validate); the local one is the host's.
		b.Nginx.ResolveUpstreams, b.Nginx.UpstreamResolveValid = true, UpstreamResolveValid
		// nginx refuses to retry a request on another server once the server set has changed
		// under it (a re-resolve added or dropped an address: the request's snapshot is stale), so
		// a request must never wait out a vanished address while the re-resolve drops it. A
		// replica that failed (reset, refused: it is stopping or crashed) is therefore skipped for
		// longer than a re-resolve takes — by then it is gone from the set, or back.
		b.Nginx.FailTimeout = ContainerFailTimeout
		b.Nginx.HTTP2Directive = true
	}

	b.Redis = RedisParams{Origin: origin, Bind: "0.0.0.0", Port: redisPort, Dir: RedisDataPath,
		AppendFsync: cfg.Redis.AppendFsync, MaxMemoryMB: cfg.Redis.MaxMemoryMB, MaxMemoryPolicy: cfg.Redis.MaxMemoryPolicy}
	if pl.Local {
		b.Redis.Bind, b.Redis.Dir, b.Redis.PidFile = "127.0.0.1", path.Join(pl.Dir, "redis-data"), path.Join(pl.Dir, "redis.pid")
		b.Redis.LogFile = path.Join(pl.Dir, "redis.log")
	}

	rules := PrometheusRulesPath
	if pl.Local {
		rules = path.Join(pl.Dir, "isl-alerts.yml")
	}
	b.Prometheus = PrometheusParams{Origin: origin, Stack: cfg.Stack, ScrapeInterval: cfg.Prometheus.ScrapeInterval,
		EvaluationInterval: cfg.Prometheus.ScrapeInterval, RuleFiles: []string{rules}, Targets: upstreams,
		SelfAddr: promSelf, SelfMetricsPath: PrometheusPrefix + "/metrics", AlertmanagerAddr: b.alertmanagerAddr()}
	b.buildAlertmanager(origin)
	conf, data := PrometheusConfPath, PrometheusDataPath
	if pl.Local {
		conf, data = path.Join(pl.Dir, "prometheus.yml"), path.Join(pl.Dir, "prometheus-data")
	}
	b.PrometheusArgs = []string{
		"--config.file=" + conf,
		"--storage.tsdb.path=" + data,
		"--storage.tsdb.retention.time=" + cfg.Prometheus.Retention,
		"--web.listen-address=" + promListen,
		"--web.external-url=http://" + promAddr + PrometheusPrefix + "/",
	}
	if err := localHADefaults(&b.Placement, redisPort); err != nil {
		return b, err
	}
	buildHA(&b)
	// The backup rules follow the backup runner: rendered only when backups are scheduled.
	b.Alerts = AlertParams{Origin: origin, MemoryLimitMB: cfg.Service.MemoryMB, NginxConnections: workers * b.Nginx.WorkerConnections,
		BackupInterval: cfg.Backup.Every()}
	// The exporter reads nginx's stub_status listener: in containers it is the nginx-exporter
	// container on the private network; locally, the address pilot-local runs it on (none: no job).
	b.Prometheus.NginxExporter = net.JoinHostPort(NginxExporterAlias, strconv.Itoa(NginxExporterPort))
	if pl.Local {
		b.Prometheus.NginxExporter = pl.NginxExporterAddr
	}
	if !pl.Local {
		b.Grafana = GrafanaParams{Origin: origin, PrometheusURL: "http://" + promAddr + PrometheusPrefix,
			ScrapeInterval: cfg.Prometheus.ScrapeInterval, DashboardsDir: GrafanaDashDir}
	}
	return b, nil
}

// File is one rendered file.
type File struct {
	Name    string // logical name, also the file name in a local render
	Path    string // where it goes: a container path, or the local path
	Content []byte
	Secret  bool // contains a secret (redis.conf)
	Mode    string
}

// Files renders every file of the bundle. redisPassword is the plaintext Redis password.
func (b Bundle) Files(redisPassword string) ([]File, error) {
	var out []File
	add := func(name, containerPath string, content []byte, secret bool, mode string) {
		p := containerPath
		if b.Placement.Local {
			p = path.Join(b.Placement.Dir, name)
		}
		out = append(out, File{Name: name, Path: p, Content: content, Secret: secret, Mode: mode})
	}
	nginx, err := RenderNginx(b.Nginx)
	if err != nil {
		return nil, err
	}
	add("nginx.conf", NginxConfPath, nginx, false, "0644")
	rp := b.Redis
	rp.Password = redisPassword
	redis, err := RenderRedis(rp)
	if err != nil {
		return nil, err
	}
	add("redis.conf", RedisConfPath, redis, true, "0600")
	ha, err := b.HAFiles(redisPassword)
	if err != nil {
		return nil, err
	}
	out = append(out, ha...)
	prom, err := RenderPrometheus(b.Prometheus)
	if err != nil {
		return nil, err
	}
	add("prometheus.yml", PrometheusConfPath, prom, false, "0644")
	rules, err := RenderAlertRules(b.Alerts)
	if err != nil {
		return nil, err
	}
	add("isl-alerts.yml", PrometheusRulesPath, rules, false, "0644")
	if !b.Placement.Local {
		gf, err := GrafanaFiles(b)
		if err != nil {
			return nil, err
		}
		out = append(out, gf...)
	}
	return out, nil
}

// GrafanaFiles renders Grafana's provisioning files and dashboards (container paths).
func GrafanaFiles(b Bundle) ([]File, error) {
	var out []File
	ds, err := RenderGrafanaDatasource(b.Grafana)
	if err != nil {
		return nil, err
	}
	out = append(out, File{Name: "grafana-datasource.yml", Path: GrafanaDSPath, Content: ds, Mode: "0644"})
	prov, err := RenderGrafanaDashboards(b.Grafana)
	if err != nil {
		return nil, err
	}
	out = append(out, File{Name: "grafana-dashboards.yml", Path: GrafanaProvPath, Content: prov, Mode: "0644"})
	dashes, err := monitoring.Dashboards()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(dashes))
	for n := range dashes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, File{Name: n, Path: path.Join(GrafanaDashDir, n), Content: dashes[n], Mode: "0644"})
	}
	return out, nil
}

// File returns the rendered file with the given logical name.
func FindFile(files []File, name string) (File, bool) {
	for _, f := range files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}

// UpstreamServers extracts the `server` addresses of the isl_backend upstream from a rendered
// nginx.conf (used by tests and the diff to check that nginx lists exactly the replicas).
func UpstreamServers(nginxConf []byte) []string {
	var out []string
	in := false
	for _, l := range strings.Split(string(nginxConf), "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "upstream isl_backend"):
			in = true
		case in && t == "}":
			return out
		case in && strings.HasPrefix(t, "server "):
			out = append(out, strings.Fields(t)[1])
		}
	}
	return out
}

// ScrapeTargets extracts the targets of the isl job from a rendered prometheus.yml.
func ScrapeTargets(promYML []byte) []string {
	var out []string
	in, inTargets := false, false
	for _, l := range strings.Split(string(promYML), "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "- job_name:"):
			in = t == "- job_name: isl"
			inTargets = false
		case in && t == "- targets:":
			inTargets = true
		case in && inTargets && strings.HasPrefix(t, "- "):
			v, err := strconv.Unquote(strings.TrimPrefix(t, "- "))
			if err == nil {
				out = append(out, v)
			}
		case in && inTargets && t != "":
			inTargets = false
		}
	}
	return out
}
