package pilotlocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/olumi/isl/stacks"
	"github.com/olumi/isl/stacks/certs"
)

// Options for Up.
type Options struct {
	Root           string        // repository root (holds Pulumi.<stack>.yaml and go.work)
	Dir            string        // state directory (absolute or relative to the working directory)
	Stack          string        // stack whose Pulumi.<stack>.yaml to run (default pilot)
	ISLBinary      string        // prebuilt isl binary; empty = go build ./service/cmd/isl into Dir/bin
	BasePort       int           // 0 = ephemeral ports; else the first free ports from here
	RateLimit      int           // RATE_LIMIT_PER_MINUTE for the replicas (load tests need it high); <0 = the stack's
	ScrapeInterval string        // Prometheus scrape and evaluation interval (local runs want seconds)
	ReadyTimeout   time.Duration // per component
	AlertWebhook   string        // Alertmanager's webhook receiver URL; empty = no receiver (alerts stay in its API)
	Log            io.Writer     // progress messages
}

func (o *Options) defaults() error {
	if o.Stack == "" {
		o.Stack = "pilot"
	}
	if o.Dir == "" {
		o.Dir = ".pilot-local"
	}
	d, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	o.Dir = d
	if o.ScrapeInterval == "" {
		o.ScrapeInterval = "1s"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Root == "" {
		r, err := stacks.FindRoot(".")
		if err != nil {
			return err
		}
		o.Root = r
	}
	return nil
}

func secret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Up renders the stack for loopback, starts every process and waits until each is ready. On any
// failure it stops what it started. The returned state is also saved to <dir>/state.json.
func Up(ctx context.Context, o Options) (*State, error) {
	if err := prepare(&o); err != nil {
		return nil, err
	}
	cfg, err := loadStack(o)
	if err != nil {
		return nil, err
	}
	if o.AlertWebhook != "" {
		cfg.Secrets[stacks.SecretAlertWebhookURL] = true
	}
	pl, err := allocate(cfg, o)
	if err != nil {
		return nil, err
	}
	st := &State{Stack: cfg.Stack, Tier: string(cfg.Tier), Dir: o.Dir, TLS: cfg.Nginx.TLS}
	if err := localTLS(st, &pl); err != nil {
		return nil, err
	}
	b, err := stacks.Build(cfg, pl)
	if err != nil {
		return nil, err
	}
	// Local runs want alerts and dashboards to react in seconds, not in the production interval.
	b.Prometheus.ScrapeInterval, b.Prometheus.EvaluationInterval = o.ScrapeInterval, o.ScrapeInterval
	b.Alertmanager.CriticalGroupWait, b.Alertmanager.WarningGroupWait = "1s", "2s"
	if err := writeFiles(b, o, st); err != nil {
		return nil, err
	}
	if err := islBinary(ctx, o, st); err != nil {
		return nil, err
	}
	if err := declare(b, o, st); err != nil {
		return nil, err
	}
	return st, startAll(ctx, st, o)
}

// prepare fills the defaults and refuses to start twice or without the programs.
func prepare(o *Options) error {
	if err := o.defaults(); err != nil {
		return err
	}
	if old, err := Load(o.Dir); err == nil {
		for _, c := range old.Components {
			if alive(c) {
				return fmt.Errorf("pilot-local already runs in %s (%s pid %d): run `pilot-local down` first", o.Dir, c.Name, c.PID)
			}
		}
	}
	for _, bin := range []string{"redis-server", "nginx", "prometheus", "prometheus-alertmanager", "prometheus-nginx-exporter"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install redis-server nginx prometheus prometheus-alertmanager prometheus-nginx-exporter): %w", bin, err)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	// nginx workers run as an unprivileged user when the master is root: they must reach the temp dirs.
	return os.Chmod(o.Dir, 0o755)
}

// loadStack reads and validates the stack file.
func loadStack(o Options) (stacks.Config, error) {
	sf, err := stacks.ReadStackFile(o.Root, o.Stack)
	if err != nil {
		return stacks.Config{}, err
	}
	cfg, err := stacks.Load(o.Stack, sf)
	if err != nil {
		return cfg, fmt.Errorf("load stack %s: %w", o.Stack, err)
	}
	if err := cfg.Validate(stacks.Structural); err != nil {
		return cfg, fmt.Errorf("stack %s is invalid:\n%w", o.Stack, err)
	}
	if cfg.Backup.Every() > 0 {
		for _, bin := range []string{"redis-check-rdb", "redis-check-aof"} {
			if _, err := exec.LookPath(bin); err != nil {
				return cfg, fmt.Errorf("%s is not installed (apt-get install redis-tools): %w", bin, err)
			}
		}
	}
	return cfg, nil
}

// allocate picks the loopback ports of every process.
func allocate(cfg stacks.Config, o Options) (stacks.Placement, error) {
	n := cfg.Service.Replicas
	// entry HTTP/HTTPS, Redis, Prometheus, nginx metrics, exporter; replicas; Alertmanager; Redis
	// replica, three Sentinels, backup metrics.
	ports, err := freePorts(n+12, o.BasePort)
	if err != nil {
		return stacks.Placement{}, err
	}
	pl := stacks.Placement{Local: true, Dir: o.Dir, HTTPPort: ports[0], HTTPSPort: ports[1], RedisPort: ports[2],
		PrometheusAddr: loopback(ports[3]), NginxMetricsAddr: loopback(ports[4]), NginxExporterAddr: loopback(ports[5]),
		AlertmanagerAddr: loopback(ports[6+n]), RedisReplicaPort: ports[7+n], SentinelPorts: ports[8+n : 11+n],
		BackupMetricsAddr: loopback(ports[11+n])}
	for i := 0; i < n; i++ {
		pl.Upstreams = append(pl.Upstreams, loopback(ports[6+i]))
	}
	return pl, nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// localTLS makes the self-signed certificate when the tier serves TLS.
func localTLS(st *State, pl *stacks.Placement) error {
	if !st.TLS {
		return nil
	}
	cert, key := filepath.Join(st.Dir, "tls", "cert.pem"), filepath.Join(st.Dir, "tls", "key.pem")
	if err := certs.SelfSigned(cert, key, 7*24*time.Hour, "127.0.0.1", "localhost"); err != nil {
		return fmt.Errorf("self-signed certificate: %w", err)
	}
	pl.TLSCertFile, pl.TLSKeyFile, st.CACert = cert, key, cert
	return nil
}

// writeFiles generates the Redis password, writes every rendered file and the data directories.
func writeFiles(b stacks.Bundle, o Options, st *State) error {
	var err error
	if st.RedisPassword, err = secret(16); err != nil {
		return err
	}
	files, err := b.Files(st.RedisPassword)
	if err != nil {
		return err
	}
	amFile, err := b.AlertmanagerFile(stacks.AlertSecrets{WebhookURL: o.AlertWebhook})
	if err != nil {
		return err
	}
	files = append(files, amFile)
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		}
		if err := os.WriteFile(f.Path, f.Content, mode); err != nil {
			return err
		}
		st.Files = append(st.Files, f.Path)
	}
	dirs := []string{b.Nginx.TempDir, b.Redis.Dir, filepath.Join(st.Dir, "prometheus-data"), filepath.Join(st.Dir, "alertmanager-data"), filepath.Join(st.Dir, "logs")}
	if b.RedisHA != nil {
		for _, n := range b.RedisHA.Nodes {
			dirs = append(dirs, n.Dir)
		}
		for _, s := range b.RedisHA.Sentinels {
			dirs = append(dirs, s.Dir)
		}
	}
	if b.Backup != nil {
		dirs = append(dirs, b.Backup.Dest)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// islBinary builds the service binary unless one was given.
func islBinary(ctx context.Context, o Options, st *State) error {
	if st.ISLBinary = o.ISLBinary; st.ISLBinary != "" {
		return nil
	}
	st.ISLBinary = filepath.Join(o.Dir, "bin", "isl")
	fmt.Fprintf(o.Log, "building %s\n", st.ISLBinary)
	build := exec.CommandContext(ctx, "go", "build", "-o", st.ISLBinary, "./service/cmd/isl")
	build.Dir = o.Root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./service/cmd/isl: %v\n%s", err, out)
	}
	return nil
}

// declare lists every process of the topology, in start order: Redis (one node, or primary,
// replica and Sentinels), the replicas, nginx and Prometheus, the backup runner.
func declare(b stacks.Bundle, o Options, st *State) error {
	redisEnv := declareRedis(b, st)
	if err := declareReplicas(b, o, st, redisEnv); err != nil {
		return err
	}
	declareEntry(b, st)
	if b.Backup != nil {
		st.BackupDir = b.Backup.Dest
		st.Components = append(st.Components, &Component{Name: "backup", Kind: "backup",
			Command: append([]string{st.ISLBinary}, b.Backup.Args()...), Env: redisEnv, Addr: b.Backup.MetricsAddr,
			HealthURL: "http://" + b.Backup.MetricsAddr + "/health"})
	}
	for _, c := range st.Components {
		if c.Log == "" {
			c.Log = filepath.Join(st.Dir, "logs", c.Name+".log")
		}
	}
	return nil
}

// declareRedis adds the Redis processes and returns the Redis part of every ISL process's
// environment: the bundle's, as the admin ACL user (what the backup runner needs for BGSAVE; the
// replicas replace it by the service's own user).
func declareRedis(b stacks.Bundle, st *State) map[string]string {
	conf := func(name string) string { return filepath.Join(st.Dir, name) }
	st.RedisAddr = loopback(b.Redis.Port)
	env := map[string]string{"REDIS_USERNAME": stacks.RedisAdminUser, "REDIS_PASSWORD": st.RedisPassword}
	for _, kv := range b.ServiceRedisEnv() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if b.RedisHA == nil {
		st.Components = append(st.Components, &Component{Name: "redis", Kind: "redis", Command: []string{"redis-server", conf("redis.conf")},
			Addr: st.RedisAddr, Log: b.Redis.LogFile})
		return env
	}
	env["REDIS_SENTINEL_USERNAME"], env["REDIS_SENTINEL_PASSWORD"] = stacks.RedisAdminUser, st.RedisPassword
	for _, n := range b.RedisHA.Nodes {
		st.Components = append(st.Components, &Component{Name: n.Name, Kind: "redis", Command: []string{"redis-server", conf(n.Name + "-node.conf")},
			Addr: loopback(n.Port), Log: n.LogFile})
	}
	for _, s := range b.RedisHA.Sentinels {
		a := loopback(s.Port)
		st.Sentinels = append(st.Sentinels, a)
		st.Components = append(st.Components, &Component{Name: s.Name, Kind: "sentinel",
			Command: []string{"redis-server", conf(s.Name + ".conf"), "--sentinel"}, Addr: a, Log: s.LogFile})
	}
	return env
}

// declareReplicas adds the ISL replicas with generated secrets.
func declareReplicas(b stacks.Bundle, o Options, st *State, redisEnv map[string]string) error {
	cfg := b.Config
	var err error
	if st.APIKey, err = secret(16); err != nil {
		return err
	}
	secretKey, err := secret(32)
	if err != nil {
		return err
	}
	rate := o.RateLimit
	if rate < 0 {
		rate = cfg.Service.RateLimitPerMinute
	}
	for i, u := range b.Nginx.Upstreams {
		host, port, _ := net.SplitHostPort(u)
		// The same settings the Pulumi program gives each container (infra/deploy), on loopback.
		env := map[string]string{
			"ENV": cfg.Service.Env, "LOG_LEVEL": cfg.Service.LogLevel, "API_V1_PREFIX": cfg.Service.APIPrefix,
			"HOST": host, "PORT": port,
			"RATE_LIMIT_PER_MINUTE": strconv.Itoa(rate), "MAX_MONTE_CARLO_ITERATIONS": strconv.Itoa(cfg.Service.MaxMonteCarlo),
			"ENABLE_MONITORING": strconv.FormatBool(cfg.Service.EnableMonitoring),
			"GOMEMLIMIT":        strconv.Itoa(cfg.Service.MemoryMB*9/10) + "MiB",
			"SECRET_KEY":        secretKey, "API_KEYS": st.APIKey,
			// Every request arrives through nginx on loopback: the client address is its X-Real-IP.
			// Other loopback addresses (127.0.0.2, … : the hostile-load tests' clients) are not trusted.
			"TRUSTED_PROXIES":          "127.0.0.1",
			"SHUTDOWN_TIMEOUT_SECONDS": strconv.Itoa(max(1, cfg.Service.StopTimeoutSeconds-5)),
		}
		for k, v := range redisEnv {
			env[k] = v
		}
		svc := stacks.RedisServicePassword(st.RedisPassword)
		env["REDIS_USERNAME"], env["REDIS_PASSWORD"] = stacks.RedisServiceUser, svc
		if _, ha := env["REDIS_SENTINELS"]; ha {
			env["REDIS_SENTINEL_USERNAME"], env["REDIS_SENTINEL_PASSWORD"] = stacks.RedisServiceUser, svc
		}
		name := fmt.Sprintf("isl-%d", i+1)
		st.Components = append(st.Components, &Component{Name: name, Kind: "isl", Command: []string{st.ISLBinary}, Env: env,
			Addr: u, HealthURL: "http://" + u + "/health"})
	}
	return nil
}

// declareEntry adds nginx and Prometheus.
func declareEntry(b stacks.Bundle, st *State) {
	scheme, listen := "http", b.Nginx.HTTPListen
	if b.Nginx.TLS {
		scheme, listen = "https", b.Nginx.HTTPSListen
	}
	st.Endpoint = scheme + "://" + listen
	if b.Nginx.TLS {
		st.HTTPURL = "http://" + b.Nginx.HTTPListen
	}
	st.Components = append(st.Components, &Component{Name: "nginx", Kind: "nginx",
		Command: []string{"nginx", "-p", st.Dir, "-c", filepath.Join(st.Dir, "nginx.conf"), "-e", b.Nginx.ErrorLog, "-g", "daemon off;"},
		Addr:    listen, HealthURL: st.Endpoint + "/health"})
	pl := b.Placement
	st.AlertmanagerURL = "http://" + pl.AlertmanagerAddr
	st.Components = append(st.Components, &Component{Name: "alertmanager", Kind: "alertmanager",
		Command: append([]string{"prometheus-alertmanager"}, b.AlertmanagerArgs...), Addr: pl.AlertmanagerAddr,
		HealthURL: st.AlertmanagerURL + "/-/ready"})
	st.Components = append(st.Components, &Component{Name: "nginx-exporter", Kind: "nginx-exporter",
		Command: []string{"prometheus-nginx-exporter", "-nginx.scrape-uri=http://" + b.Nginx.MetricsListen + "/stub_status",
			"-web.listen-address=" + pl.NginxExporterAddr, "-nginx.retries=10", "-nginx.retry-interval=500ms"},
		Addr: pl.NginxExporterAddr, HealthURL: "http://" + pl.NginxExporterAddr + "/metrics"})
	st.PrometheusURL = "http://" + b.Nginx.PrometheusAddr + stacks.PrometheusPrefix
	st.Components = append(st.Components, &Component{Name: "prometheus", Kind: "prometheus",
		Command: append([]string{"prometheus"}, b.PrometheusArgs...), Addr: b.Nginx.PrometheusAddr,
		HealthURL: st.PrometheusURL + "/-/ready"})
}

// startAll starts the components in order, each once the previous one is ready; on a failure it
// stops everything it started.
func startAll(ctx context.Context, st *State, o Options) error {
	for _, c := range st.Components {
		fmt.Fprintf(o.Log, "starting %-13s on %s\n", c.Name, c.Addr)
		if err := launch(c); err != nil {
			_ = st.Save()
			_ = Down(st, io.Discard)
			return err
		}
		if err := st.Save(); err != nil {
			_ = Down(st, io.Discard)
			return err
		}
		if err := waitReady(ctx, c, st.RedisPassword, o.ReadyTimeout); err != nil {
			_ = Down(st, io.Discard)
			return err
		}
	}
	return nil
}

// stopOrder stops the entry first and the store last, so that no request meets a half-stopped stack;
// the Sentinels stop before the Redis nodes, so that stopping the primary starts no failover.
var stopOrder = map[string]int{"nginx-exporter": 0, "nginx": 0, "prometheus": 1, "alertmanager": 1, "backup": 1, "isl": 2, "sentinel": 3, "redis": 4}

// Down stops every component (SIGTERM, then SIGKILL after a grace period) by PID.
func Down(st *State, log io.Writer) error {
	var errs []error
	for rank := 0; rank <= 4; rank++ { // the ranks of stopOrder
		for _, c := range st.Components {
			if stopOrder[c.Kind] != rank {
				continue
			}
			if !alive(c) {
				continue
			}
			fmt.Fprintf(log, "stopping %-13s pid %d\n", c.Name, c.PID)
			if err := stop(c, syscall.SIGTERM, 30*time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Env returns the shell exports for clients of the running topology (isl-load, make
// integration). It fails when the entry point is not running — after `down`, a crash or a
// reboot — rather than hand out an endpoint and key that no longer answer.
func Env(st *State) (string, error) {
	entry, err := st.Component("nginx")
	if err != nil {
		return "", err
	}
	if !alive(entry) {
		return "", fmt.Errorf("pilot-local is not running: nginx (pid %d) from %s is gone, so %s does not answer; start it with `make pilot-local`",
			entry.PID, filepath.Join(st.Dir, StateFile), st.Endpoint)
	}
	out := fmt.Sprintf("export ISL_HOST=%s\nexport ISL_API_KEY=%s\n", st.Endpoint, st.APIKey)
	if st.TLS {
		out += "export ISL_INSECURE=true\n"
		if st.CACert != "" {
			out += "export ISL_CACERT=" + st.CACert + "\n"
		}
	}
	return out, nil
}

// Signals understood by Stop.
var Signals = map[string]syscall.Signal{"TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL, "INT": syscall.SIGINT}

// Stop stops one component with sig and waits for it to exit; it says what it did on log.
func Stop(st *State, name string, sig syscall.Signal, log io.Writer) error {
	c, err := st.Component(name)
	if err != nil {
		return err
	}
	if !alive(c) {
		fmt.Fprintf(log, "%s was not running (pid %d): nothing to stop\n", name, c.PID)
		return nil
	}
	start := time.Now()
	if err := stop(c, sig, 30*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(log, "stopped %s (pid %d) with SIG%s in %s\n", name, c.PID, signalName(sig), time.Since(start).Round(time.Millisecond))
	return nil
}

func signalName(sig syscall.Signal) string {
	for n, s := range Signals {
		if s == sig {
			return n
		}
	}
	return sig.String()
}

// Start (re)starts one stopped component with its recorded command and environment, waits until
// it is ready, saves its new PID and says so on log.
func Start(ctx context.Context, st *State, name string, timeout time.Duration, log io.Writer) error {
	c, err := st.Component(name)
	if err != nil {
		return err
	}
	if alive(c) {
		return fmt.Errorf("%s already runs (pid %d)", name, c.PID)
	}
	if err := launch(c); err != nil {
		return err
	}
	if err := st.Save(); err != nil {
		return err
	}
	start := time.Now()
	if err := waitReady(ctx, c, st.RedisPassword, timeout); err != nil {
		return err
	}
	fmt.Fprintf(log, "started %s (pid %d) on %s, ready in %s\n", name, c.PID, c.Addr, time.Since(start).Round(time.Millisecond))
	return nil
}

// Status reports, per component, whether it runs and is ready.
func Status(ctx context.Context, st *State, w io.Writer) (allUp bool) {
	allUp = true
	fmt.Fprintf(w, "endpoint   %s (API key in %s)\nprometheus %s\nalertmanager %s\n", st.Endpoint, filepath.Join(st.Dir, StateFile), st.PrometheusURL, st.AlertmanagerURL)
	for _, c := range st.Components {
		state := "stopped"
		if alive(c) {
			state = "running"
			if err := ready(ctx, c, st.RedisPassword); err != nil {
				state = "not ready: " + err.Error()
				allUp = false
			} else {
				state = "ready"
			}
		} else {
			allUp = false
		}
		fmt.Fprintf(w, "%-13s pid %-7d %-21s %s\n", c.Name, c.PID, c.Addr, state)
	}
	return allUp
}

// Summary is the endpoint block printed after Up.
func Summary(st *State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pilot-local (stack %s) is up\n", st.Stack)
	fmt.Fprintf(&b, "  endpoint    %s", st.Endpoint)
	if st.TLS {
		fmt.Fprintf(&b, "  (self-signed: curl --cacert %s, or isl-load --insecure)", st.CACert)
	}
	fmt.Fprintf(&b, "\n  api key     %s\n  prometheus  %s\n  alerts      %s\n  redis       %s\n", st.APIKey, st.PrometheusURL, st.AlertmanagerURL, st.RedisAddr)
	if len(st.Sentinels) > 0 {
		fmt.Fprintf(&b, "  sentinels   %s (master %s)\n", strings.Join(st.Sentinels, ","), stacks.RedisMasterName)
	}
	if st.BackupDir != "" {
		fmt.Fprintf(&b, "  backups     %s\n", st.BackupDir)
	}
	fmt.Fprintf(&b, "  state       %s\n", filepath.Join(st.Dir, StateFile))
	for _, c := range st.Components {
		fmt.Fprintf(&b, "  %-13s pid %d  %s\n", c.Name, c.PID, c.Addr)
	}
	return b.String()
}
