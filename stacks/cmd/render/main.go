// Command render writes the configuration files of a stack — nginx.conf, redis.conf (with Redis HA
// also the nodes' and Sentinels' files), prometheus.yml, isl-alerts.yml, alertmanager.yml (and, for
// containers, Grafana provisioning) —
// through the same code the Pulumi program uses.
//
// Loopback processes (`make pilot-local`):
//
//	go run ./stacks/cmd/render --stack pilot --local --out .pilot-local \
//	    --upstreams 127.0.0.1:8101,127.0.0.1:8102,127.0.0.1:8103 \
//	    --http-port 8080 --tls=false --redis-port 6390 --prometheus-addr 127.0.0.1:9090
//
// writes the files plus manifest.json (the argv to start each process, URLs, the Redis password
// file). Without --local it renders the container files, for inspection.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/olumi/isl/stacks"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

// Manifest tells the caller how to run what was rendered.
type Manifest struct {
	Stack             string              `json:"stack"`
	Tier              string              `json:"tier"`
	Local             bool                `json:"local"`
	Dir               string              `json:"dir"`
	Endpoint          string              `json:"endpoint"`
	PrometheusURL     string              `json:"prometheus_url"`
	Upstreams         []string            `json:"upstreams"`
	RedisAddr         string              `json:"redis_addr"`
	RedisPasswordFile string              `json:"redis_password_file"` // the "admin" ACL user's
	ISLPasswordFile   string              `json:"isl_password_file"`   // the "isl" ACL user's: the replicas' REDIS_PASSWORD
	Files             map[string]string   `json:"files"`
	Commands          map[string][]string `json:"commands"`
	PidFiles          map[string]string   `json:"pid_files"`
	ReplicaEnv        []map[string]string `json:"replica_env,omitempty"`
	Warnings          []string            `json:"warnings,omitempty"`
}

// options are the parsed flags.
type options struct {
	stack, root, out, upstreams, tls, cert, key, promAddr, password, webhook string
	local                                                                    bool
	httpPort, httpsPort, redisPort                                           int
}

// run renders the stack's files and manifest.json into --out: parse the flags, load and check
// the stack, decide the placement, build, write the files, describe how to run them.
func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(o.out)
	if err != nil {
		return err
	}
	cfg, err := loadStack(o)
	if err != nil {
		return err
	}
	pl, err := placement(o, dir)
	if err != nil {
		return err
	}
	cfg.Secrets[stacks.SecretAlertWebhookURL] = o.webhook != ""
	b, err := stacks.Build(cfg, pl)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pwFile := filepath.Join(dir, "redis.password")
	pw, err := redisPassword(o.password, pwFile)
	if err != nil {
		return err
	}
	files, err := b.Files(pw)
	if err != nil {
		return err
	}
	am, err := b.AlertmanagerFile(stacks.AlertSecrets{WebhookURL: o.webhook})
	if err != nil {
		return err
	}
	files = append(files, am)
	written, err := writeFiles(dir, files)
	if err != nil {
		return err
	}
	svcFile := filepath.Join(dir, "redis-isl.password")
	if err := os.WriteFile(svcFile, []byte(stacks.RedisServicePassword(pw)+"\n"), 0o600); err != nil {
		return err
	}
	m, err := manifest(cfg, &b, o.local, dir, pwFile, svcFile, written)
	if err != nil {
		return err
	}
	j, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("rendered %d files for stack %s (%s) into %s; endpoint %s\n", len(files), cfg.Stack, map[bool]string{true: "local", false: "containers"}[o.local], dir, m.Endpoint)
	if !o.local { // a local run has no use for the Pulumi deploy's secrets and TLS files
		for _, w := range m.Warnings {
			fmt.Fprintln(os.Stderr, "warning (a real deploy would refuse):", w)
		}
	}
	return nil
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.StringVar(&o.stack, "stack", "pilot", "stack whose Pulumi.<stack>.yaml to render")
	fs.StringVar(&o.root, "root", "", "directory holding Pulumi.<stack>.yaml (default: nearest parent with Pulumi.yaml)")
	fs.StringVar(&o.out, "out", "", "output directory (created)")
	fs.BoolVar(&o.local, "local", false, "render for loopback processes instead of containers")
	fs.StringVar(&o.upstreams, "upstreams", "", "local: comma-separated replica addresses host:port")
	fs.IntVar(&o.httpPort, "http-port", 0, "local: nginx HTTP port (default: the stack's isl:httpPort)")
	fs.IntVar(&o.httpsPort, "https-port", 0, "local: nginx HTTPS port (default: the stack's isl:httpsPort)")
	fs.StringVar(&o.tls, "tls", "", "local: true|false to override isl:tls")
	fs.StringVar(&o.cert, "tls-cert", "", "local: certificate file (with --tls=true)")
	fs.StringVar(&o.key, "tls-key", "", "local: key file (with --tls=true)")
	fs.IntVar(&o.redisPort, "redis-port", 0, "local: Redis port (default 6379)")
	fs.StringVar(&o.promAddr, "prometheus-addr", "", "local: Prometheus listen address (default 127.0.0.1:9090)")
	fs.StringVar(&o.webhook, "alert-webhook", "", "URL Alertmanager posts alerts to (default: $ISL_ALERT_WEBHOOK_URL, else no receiver)")
	fs.StringVar(&o.password, "redis-password", "", "Redis password (default: $ISL_REDIS_PASSWORD, else generated into redis.password)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.out == "" {
		return o, errors.New("--out is required")
	}
	if o.webhook == "" {
		o.webhook = os.Getenv("ISL_ALERT_WEBHOOK_URL")
	}
	if !o.local && (o.upstreams != "" || o.httpPort != 0 || o.redisPort != 0) {
		return o, errors.New("--upstreams, --http-port and --redis-port apply to --local only")
	}
	return o, nil
}

// loadStack reads Pulumi.<stack>.yaml from the root and checks it structurally.
func loadStack(o options) (stacks.Config, error) {
	root := o.root
	if root == "" {
		r, err := stacks.FindRoot(".")
		if err != nil {
			return stacks.Config{}, err
		}
		root = r
	}
	sf, err := stacks.ReadStackFile(root, o.stack)
	if err != nil {
		return stacks.Config{}, err
	}
	cfg, err := stacks.Load(o.stack, sf)
	if err != nil {
		return stacks.Config{}, fmt.Errorf("load stack %s: %w", o.stack, err)
	}
	if err := cfg.Validate(stacks.Structural); err != nil {
		return stacks.Config{}, fmt.Errorf("stack %s is invalid:\n%w", o.stack, err)
	}
	return cfg, nil
}

// placement is where the rendered processes run: containers, or loopback ports under dir.
func placement(o options, dir string) (stacks.Placement, error) {
	pl := stacks.Placement{Local: o.local, Dir: dir, HTTPPort: o.httpPort, HTTPSPort: o.httpsPort,
		TLSCertFile: o.cert, TLSKeyFile: o.key, RedisPort: o.redisPort, PrometheusAddr: o.promAddr}
	for _, u := range strings.Split(o.upstreams, ",") {
		if u = strings.TrimSpace(u); u != "" {
			pl.Upstreams = append(pl.Upstreams, u)
		}
	}
	if o.tls != "" {
		v := o.tls == "true"
		if !v && o.tls != "false" {
			return pl, fmt.Errorf("--tls: want true or false, got %q", o.tls)
		}
		pl.TLS = &v
	}
	return pl, nil
}

// redisPassword is the flag, else $ISL_REDIS_PASSWORD, else the one an earlier render wrote
// (so that an existing AOF stays readable), else a new random one; it is written to pwFile.
func redisPassword(flagValue, pwFile string) (string, error) {
	pw := flagValue
	if pw == "" {
		pw = os.Getenv("ISL_REDIS_PASSWORD")
	}
	if pw == "" {
		if old, err := os.ReadFile(pwFile); err == nil && len(strings.TrimSpace(string(old))) >= 8 {
			pw = strings.TrimSpace(string(old))
		} else {
			buf := make([]byte, 16)
			if _, err := rand.Read(buf); err != nil {
				return "", err
			}
			pw = hex.EncodeToString(buf)
		}
	}
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return pw, nil
}

// writeFiles writes the rendered files under dir (secrets 0600, scripts 0755) and returns
// name → path.
func writeFiles(dir string, files []stacks.File) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		mode := os.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		} else if f.Mode == "0755" {
			mode = 0o755
		}
		if err := os.WriteFile(p, f.Content, mode); err != nil {
			return nil, err
		}
		out[f.Name] = p
	}
	return out, nil
}

// manifest describes how to run what was rendered; for a local render it also creates the data
// directories the processes expect.
func manifest(cfg stacks.Config, b *stacks.Bundle, local bool, dir, pwFile, svcFile string, files map[string]string) (Manifest, error) {
	m := Manifest{Stack: cfg.Stack, Tier: string(cfg.Tier), Local: local, Dir: dir, RedisPasswordFile: pwFile, ISLPasswordFile: svcFile,
		Upstreams: b.Nginx.Upstreams, Files: files, Commands: map[string][]string{}, PidFiles: map[string]string{},
		Warnings: cfg.Warnings()}
	m.PrometheusURL = "http://" + b.Nginx.PrometheusAddr + stacks.PrometheusPrefix
	m.Commands["prometheus"] = append([]string{"prometheus"}, b.PrometheusArgs...)
	if !local {
		m.Commands["alertmanager"] = append([]string{"alertmanager"}, b.AlertmanagerArgs...)
		m.Endpoint = cfg.EndpointURL()
		m.RedisAddr = fmt.Sprintf("%s:%d", stacks.RedisAlias, stacks.RedisPort)
		return m, nil
	}
	for _, d := range []string{b.Nginx.TempDir, b.Redis.Dir, filepath.Join(dir, "prometheus-data"), filepath.Join(dir, "alertmanager-data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return m, err
		}
	}
	scheme, port := "http", b.Nginx.HTTPListen
	if b.Nginx.TLS {
		scheme, port = "https", b.Nginx.HTTPSListen
	}
	m.Endpoint = scheme + "://" + port
	m.RedisAddr = fmt.Sprintf("127.0.0.1:%d", b.Redis.Port)
	m.Commands["redis"] = []string{"redis-server", files["redis.conf"]}
	if b.RedisHA != nil { // primary + replica on their node files, and the Sentinels
		for _, n := range b.RedisHA.Nodes {
			m.Commands[n.Name] = []string{"redis-server", files[n.Name+"-node.conf"]}
			m.PidFiles[n.Name] = n.PidFile
			if err := os.MkdirAll(n.Dir, 0o700); err != nil {
				return m, err
			}
		}
		for _, sn := range b.RedisHA.Sentinels {
			m.Commands[sn.Name] = []string{"redis-server", files[sn.Name+".conf"], "--sentinel"}
			m.PidFiles[sn.Name] = sn.PidFile
			if err := os.MkdirAll(sn.Dir, 0o700); err != nil {
				return m, err
			}
		}
	}
	if b.Backup != nil {
		m.Commands["backup"] = append([]string{"isl"}, b.Backup.Args()...)
	}
	m.Commands["nginx"] = []string{"nginx", "-p", dir, "-c", files["nginx.conf"], "-e", b.Nginx.ErrorLog, "-g", "daemon off;"}
	m.Commands["alertmanager"] = append([]string{"prometheus-alertmanager"}, b.AlertmanagerArgs...)
	m.PidFiles["nginx"], m.PidFiles["redis"] = b.Nginx.PidFile, b.Redis.PidFile
	// What each local replica needs to join this topology (REDIS_PASSWORD: the service password file).
	for _, u := range b.Nginx.Upstreams {
		host, port, _ := strings.Cut(u, ":")
		env := map[string]string{
			"HOST": host, "PORT": port,
			"API_V1_PREFIX": cfg.Service.APIPrefix, "ENV": cfg.Service.Env, "LOG_LEVEL": cfg.Service.LogLevel,
			"MAX_MONTE_CARLO_ITERATIONS": fmt.Sprint(cfg.Service.MaxMonteCarlo), "ENABLE_MONITORING": "true",
			"TRUSTED_PROXIES": "127.0.0.1", "REDIS_USERNAME": stacks.RedisServiceUser, "SHUTDOWN_TIMEOUT_SECONDS": fmt.Sprint(stacks.ShutdownTimeout(cfg.Service.StopTimeoutSeconds)),
		}
		// Redis by host, or the Sentinels (REDIS_SENTINEL_PASSWORD: the service password file too).
		for _, kv := range b.ServiceRedisEnv() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		m.ReplicaEnv = append(m.ReplicaEnv, env)
	}
	return m, nil
}
