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
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if old, err := Load(o.Dir); err == nil {
		for _, c := range old.Components {
			if alive(c) {
				return nil, fmt.Errorf("pilot-local already runs in %s (%s pid %d): run `pilot-local down` first", o.Dir, c.Name, c.PID)
			}
		}
	}
	for _, bin := range []string{"redis-server", "nginx", "prometheus", "prometheus-alertmanager", "prometheus-nginx-exporter"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%s is not installed (apt-get install redis-server nginx prometheus prometheus-alertmanager prometheus-nginx-exporter): %w", bin, err)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	// nginx workers run as an unprivileged user when the master is root: they must reach the temp dirs.
	_ = os.Chmod(o.Dir, 0o755)

	sf, err := stacks.ReadStackFile(o.Root, o.Stack)
	if err != nil {
		return nil, err
	}
	cfg, err := stacks.Load(o.Stack, sf)
	if err != nil {
		return nil, fmt.Errorf("load stack %s: %w", o.Stack, err)
	}
	if err := cfg.Validate(stacks.Structural); err != nil {
		return nil, fmt.Errorf("stack %s is invalid:\n%w", o.Stack, err)
	}
	n := cfg.Service.Replicas
	ports, err := freePorts(n+7, o.BasePort)
	if err != nil {
		return nil, err
	}
	httpPort, httpsPort, redisPort, promPort := ports[0], ports[1], ports[2], ports[3]
	local := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
	var upstreams []string
	for i := 0; i < n; i++ {
		upstreams = append(upstreams, local(ports[6+i]))
	}
	amAddr := local(ports[6+n])
	if o.AlertWebhook != "" {
		cfg.Secrets[stacks.SecretAlertWebhookURL] = true
	}
	pl := stacks.Placement{Local: true, Dir: o.Dir, Upstreams: upstreams, HTTPPort: httpPort, HTTPSPort: httpsPort,
		RedisPort: redisPort, PrometheusAddr: local(promPort), AlertmanagerAddr: amAddr, NginxMetricsAddr: local(ports[4]), NginxExporterAddr: local(ports[5])}
	tlsOn := cfg.Nginx.TLS
	st := &State{Stack: cfg.Stack, Tier: string(cfg.Tier), Dir: o.Dir, TLS: tlsOn}
	if tlsOn {
		cert, key := filepath.Join(o.Dir, "tls", "cert.pem"), filepath.Join(o.Dir, "tls", "key.pem")
		if err := certs.SelfSigned(cert, key, 7*24*time.Hour, "127.0.0.1", "localhost"); err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
		pl.TLSCertFile, pl.TLSKeyFile, st.CACert = cert, key, cert
	}
	b, err := stacks.Build(cfg, pl)
	if err != nil {
		return nil, err
	}
	// Local runs want alerts and dashboards to react in seconds, not in the production interval.
	b.Prometheus.ScrapeInterval, b.Prometheus.EvaluationInterval = o.ScrapeInterval, o.ScrapeInterval
	b.Alertmanager.CriticalGroupWait, b.Alertmanager.WarningGroupWait = "1s", "2s"

	if st.RedisPassword, err = secret(16); err != nil {
		return nil, err
	}
	files, err := b.Files(st.RedisPassword)
	if err != nil {
		return nil, err
	}
	amFile, err := b.AlertmanagerFile(stacks.AlertSecrets{WebhookURL: o.AlertWebhook})
	if err != nil {
		return nil, err
	}
	files = append(files, amFile)
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		}
		if err := os.WriteFile(f.Path, f.Content, mode); err != nil {
			return nil, err
		}
		st.Files = append(st.Files, f.Path)
	}
	for _, d := range []string{b.Nginx.TempDir, b.Redis.Dir, filepath.Join(o.Dir, "prometheus-data"), filepath.Join(o.Dir, "alertmanager-data"), filepath.Join(o.Dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}

	if st.ISLBinary = o.ISLBinary; st.ISLBinary == "" {
		st.ISLBinary = filepath.Join(o.Dir, "bin", "isl")
		fmt.Fprintf(o.Log, "building %s\n", st.ISLBinary)
		build := exec.CommandContext(ctx, "go", "build", "-o", st.ISLBinary, "./service/cmd/isl")
		build.Dir = o.Root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build ./service/cmd/isl: %v\n%s", err, out)
		}
	}
	if st.APIKey, err = secret(16); err != nil {
		return nil, err
	}
	secretKey, err := secret(32)
	if err != nil {
		return nil, err
	}
	rate := o.RateLimit
	if rate < 0 {
		rate = cfg.Service.RateLimitPerMinute
	}

	logDir := filepath.Join(o.Dir, "logs")
	conf := func(name string) string { return filepath.Join(o.Dir, name) }
	st.RedisAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Redis.Port))
	st.Components = append(st.Components, &Component{Name: "redis", Kind: "redis", Command: []string{"redis-server", conf("redis.conf")},
		Addr: st.RedisAddr, Log: b.Redis.LogFile})
	for i, u := range upstreams {
		host, port, _ := net.SplitHostPort(u)
		// The same settings the Pulumi program gives each container (infra/deploy), on loopback.
		env := map[string]string{
			"ENV": cfg.Service.Env, "LOG_LEVEL": cfg.Service.LogLevel, "API_V1_PREFIX": cfg.Service.APIPrefix,
			"HOST": host, "PORT": port, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": strconv.Itoa(b.Redis.Port), "REDIS_DB": "0",
			"RATE_LIMIT_PER_MINUTE": strconv.Itoa(rate), "MAX_MONTE_CARLO_ITERATIONS": strconv.Itoa(cfg.Service.MaxMonteCarlo),
			"ENABLE_MONITORING": strconv.FormatBool(cfg.Service.EnableMonitoring),
			"GOMEMLIMIT":        strconv.Itoa(cfg.Service.MemoryMB*9/10) + "MiB",
			"REDIS_USERNAME":    stacks.RedisServiceUser, "REDIS_PASSWORD": stacks.RedisServicePassword(st.RedisPassword),
			"SECRET_KEY": secretKey, "API_KEYS": st.APIKey,
			// Every request arrives through nginx on loopback: the client address is its X-Real-IP.
			// Other loopback addresses (127.0.0.2, … : the hostile-load tests' clients) are not trusted.
			"TRUSTED_PROXIES":          "127.0.0.1",
			"SHUTDOWN_TIMEOUT_SECONDS": strconv.Itoa(max(1, cfg.Service.StopTimeoutSeconds-5)),
		}
		name := fmt.Sprintf("isl-%d", i+1)
		st.Components = append(st.Components, &Component{Name: name, Kind: "isl", Command: []string{st.ISLBinary}, Env: env,
			Addr: u, HealthURL: "http://" + u + "/health", Log: filepath.Join(logDir, name+".log")})
	}
	scheme, listen := "http", b.Nginx.HTTPListen
	if b.Nginx.TLS {
		scheme, listen = "https", b.Nginx.HTTPSListen
	}
	st.Endpoint = scheme + "://" + listen
	if b.Nginx.TLS {
		st.HTTPURL = "http://" + b.Nginx.HTTPListen
	}
	st.Components = append(st.Components, &Component{Name: "nginx", Kind: "nginx",
		Command: []string{"nginx", "-p", o.Dir, "-c", conf("nginx.conf"), "-e", b.Nginx.ErrorLog, "-g", "daemon off;"},
		Addr:    listen, HealthURL: st.Endpoint + "/health", Log: filepath.Join(logDir, "nginx.log")})
	st.AlertmanagerURL = "http://" + amAddr
	st.Components = append(st.Components, &Component{Name: "alertmanager", Kind: "alertmanager",
		Command: append([]string{"prometheus-alertmanager"}, b.AlertmanagerArgs...), Addr: amAddr,
		HealthURL: st.AlertmanagerURL + "/-/ready", Log: filepath.Join(logDir, "alertmanager.log")})
	st.Components = append(st.Components, &Component{Name: "nginx-exporter", Kind: "nginx-exporter",
		Command: []string{"prometheus-nginx-exporter", "-nginx.scrape-uri=http://" + b.Nginx.MetricsListen + "/stub_status",
			"-web.listen-address=" + pl.NginxExporterAddr, "-nginx.retries=10", "-nginx.retry-interval=500ms"},
		Addr: pl.NginxExporterAddr, HealthURL: "http://" + pl.NginxExporterAddr + "/metrics", Log: filepath.Join(logDir, "nginx-exporter.log")})
	st.PrometheusURL = "http://" + b.Nginx.PrometheusAddr + stacks.PrometheusPrefix
	st.Components = append(st.Components, &Component{Name: "prometheus", Kind: "prometheus",
		Command: append([]string{"prometheus"}, b.PrometheusArgs...), Addr: b.Nginx.PrometheusAddr,
		HealthURL: st.PrometheusURL + "/-/ready", Log: filepath.Join(logDir, "prometheus.log")})

	for _, c := range st.Components {
		if c.Log == "" {
			c.Log = filepath.Join(logDir, c.Name+".log")
		}
		fmt.Fprintf(o.Log, "starting %-10s on %s\n", c.Name, c.Addr)
		if err := launch(c); err != nil {
			_ = st.Save()
			_ = Down(st, io.Discard)
			return nil, err
		}
		if err := st.Save(); err != nil {
			_ = Down(st, io.Discard)
			return nil, err
		}
		if err := waitReady(ctx, c, st.RedisPassword, o.ReadyTimeout); err != nil {
			_ = Down(st, io.Discard)
			return nil, err
		}
	}
	return st, nil
}

// stopOrder stops the entry first and the store last, so that no request meets a half-stopped stack.
var stopOrder = map[string]int{"nginx-exporter": 0, "nginx": 0, "prometheus": 1, "alertmanager": 1, "isl": 2, "redis": 3}

// Down stops every component (SIGTERM, then SIGKILL after a grace period) by PID.
func Down(st *State, log io.Writer) error {
	var errs []error
	for rank := 0; rank <= 3; rank++ {
		for _, c := range st.Components {
			if stopOrder[c.Kind] != rank {
				continue
			}
			if !alive(c) {
				continue
			}
			fmt.Fprintf(log, "stopping %-10s pid %d\n", c.Name, c.PID)
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
		fmt.Fprintf(w, "%-10s pid %-7d %-21s %s\n", c.Name, c.PID, c.Addr, state)
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
	fmt.Fprintf(&b, "\n  api key     %s\n  prometheus  %s\n  alerts      %s\n  redis       %s\n  state       %s\n", st.APIKey, st.PrometheusURL, st.AlertmanagerURL, st.RedisAddr, filepath.Join(st.Dir, StateFile))
	for _, c := range st.Components {
		fmt.Fprintf(&b, "  %-11s pid %d  %s\n", c.Name, c.PID, c.Addr)
	}
	return b.String()
}
