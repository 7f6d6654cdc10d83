// Command render writes the configuration files of a stack — nginx.conf, redis.conf (with Redis HA
// also the nodes' and Sentinels' files), prometheus.yml, isl-alerts.yml (and, for containers,
// nginx-watch.sh and Grafana provisioning) —
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
	RedisPasswordFile string              `json:"redis_password_file"`
	Files             map[string]string   `json:"files"`
	Commands          map[string][]string `json:"commands"`
	PidFiles          map[string]string   `json:"pid_files"`
	ReplicaEnv        []map[string]string `json:"replica_env,omitempty"`
	Warnings          []string            `json:"warnings,omitempty"`
}

func run(args []string) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	stack := fs.String("stack", "pilot", "stack whose Pulumi.<stack>.yaml to render")
	root := fs.String("root", "", "directory holding Pulumi.<stack>.yaml (default: nearest parent with Pulumi.yaml)")
	out := fs.String("out", "", "output directory (created)")
	local := fs.Bool("local", false, "render for loopback processes instead of containers")
	upstreams := fs.String("upstreams", "", "local: comma-separated replica addresses host:port")
	httpPort := fs.Int("http-port", 0, "local: nginx HTTP port (default: the stack's isl:httpPort)")
	httpsPort := fs.Int("https-port", 0, "local: nginx HTTPS port (default: the stack's isl:httpsPort)")
	tls := fs.String("tls", "", "local: true|false to override isl:tls")
	cert := fs.String("tls-cert", "", "local: certificate file (with --tls=true)")
	key := fs.String("tls-key", "", "local: key file (with --tls=true)")
	redisPort := fs.Int("redis-port", 0, "local: Redis port (default 6379)")
	promAddr := fs.String("prometheus-addr", "", "local: Prometheus listen address (default 127.0.0.1:9090)")
	password := fs.String("redis-password", "", "Redis password (default: $ISL_REDIS_PASSWORD, else generated into redis.password)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if *root == "" {
		r, err := stacks.FindRoot(".")
		if err != nil {
			return err
		}
		*root = r
	}
	sf, err := stacks.ReadStackFile(*root, *stack)
	if err != nil {
		return err
	}
	cfg, err := stacks.Load(*stack, sf)
	if err != nil {
		return fmt.Errorf("load stack %s: %w", *stack, err)
	}
	if err := cfg.Validate(stacks.Structural); err != nil {
		return fmt.Errorf("stack %s is invalid:\n%w", *stack, err)
	}
	pl := stacks.Placement{Local: *local, Dir: dir, HTTPPort: *httpPort, HTTPSPort: *httpsPort,
		TLSCertFile: *cert, TLSKeyFile: *key, RedisPort: *redisPort, PrometheusAddr: *promAddr}
	if *upstreams != "" {
		for _, u := range strings.Split(*upstreams, ",") {
			if u = strings.TrimSpace(u); u != "" {
				pl.Upstreams = append(pl.Upstreams, u)
			}
		}
	}
	if *tls != "" {
		v := *tls == "true"
		if !v && *tls != "false" {
			return fmt.Errorf("--tls: want true or false, got %q", *tls)
		}
		pl.TLS = &v
	}
	if !*local && (len(pl.Upstreams) > 0 || *httpPort != 0 || *redisPort != 0) {
		return errors.New("--upstreams, --http-port and --redis-port apply to --local only")
	}
	b, err := stacks.Build(cfg, pl)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pw := *password
	if pw == "" {
		pw = os.Getenv("ISL_REDIS_PASSWORD")
	}
	pwFile := filepath.Join(dir, "redis.password")
	if pw == "" {
		if old, err := os.ReadFile(pwFile); err == nil && len(strings.TrimSpace(string(old))) >= 8 {
			pw = strings.TrimSpace(string(old)) // keep the password of an existing AOF
		} else {
			buf := make([]byte, 16)
			if _, err := rand.Read(buf); err != nil {
				return err
			}
			pw = hex.EncodeToString(buf)
		}
	}
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return err
	}
	files, err := b.Files(pw)
	if err != nil {
		return err
	}
	m := Manifest{Stack: cfg.Stack, Tier: string(cfg.Tier), Local: *local, Dir: dir, RedisPasswordFile: pwFile,
		Upstreams: b.Nginx.Upstreams, Files: map[string]string{}, Commands: map[string][]string{}, PidFiles: map[string]string{},
		Warnings: cfg.Warnings()}
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		} else if f.Mode == "0755" {
			mode = 0o755
		}
		if err := os.WriteFile(p, f.Content, mode); err != nil {
			return err
		}
		m.Files[f.Name] = p
	}
	scheme, port := "http", b.Nginx.HTTPListen
	if b.Nginx.TLS {
		scheme, port = "https", b.Nginx.HTTPSListen
	}
	m.PrometheusURL = "http://" + b.Nginx.PrometheusAddr + stacks.PrometheusPrefix
	if *local {
		for _, d := range []string{b.Nginx.TempDir, b.Redis.Dir, filepath.Join(dir, "prometheus-data")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
		}
		m.Endpoint = scheme + "://" + port
		m.RedisAddr = fmt.Sprintf("127.0.0.1:%d", b.Redis.Port)
		m.Commands["redis"] = []string{"redis-server", m.Files["redis.conf"]}
		if b.RedisHA != nil { // primary + replica on their node files, and the Sentinels
			for _, n := range b.RedisHA.Nodes {
				m.Commands[n.Name] = []string{"redis-server", m.Files[n.Name+"-node.conf"]}
				m.PidFiles[n.Name] = n.PidFile
				if err := os.MkdirAll(n.Dir, 0o700); err != nil {
					return err
				}
			}
			for _, sn := range b.RedisHA.Sentinels {
				m.Commands[sn.Name] = []string{"redis-server", m.Files[sn.Name+".conf"], "--sentinel"}
				m.PidFiles[sn.Name] = sn.PidFile
				if err := os.MkdirAll(sn.Dir, 0o700); err != nil {
					return err
				}
			}
		}
		if b.Backup != nil {
			m.Commands["backup"] = append([]string{"isl"}, b.Backup.Args()...)
		}
		m.Commands["nginx"] = []string{"nginx", "-p", dir, "-c", m.Files["nginx.conf"], "-e", b.Nginx.ErrorLog, "-g", "daemon off;"}
		m.Commands["prometheus"] = append([]string{"prometheus"}, b.PrometheusArgs...)
		m.PidFiles["nginx"], m.PidFiles["redis"] = b.Nginx.PidFile, b.Redis.PidFile
		// What each local replica needs to join this topology (REDIS_PASSWORD: the password file).
		for _, u := range b.Nginx.Upstreams {
			host, port, _ := strings.Cut(u, ":")
			env := map[string]string{
				"HOST": host, "PORT": port,
				"API_V1_PREFIX": cfg.Service.APIPrefix, "ENV": cfg.Service.Env, "LOG_LEVEL": cfg.Service.LogLevel,
				"MAX_MONTE_CARLO_ITERATIONS": fmt.Sprint(cfg.Service.MaxMonteCarlo), "ENABLE_MONITORING": "true",
				"TRUST_PROXY": "true", "SHUTDOWN_TIMEOUT_SECONDS": fmt.Sprint(stacks.ShutdownTimeout(cfg.Service.StopTimeoutSeconds)),
			}
			for _, kv := range b.ServiceRedisEnv() { // Redis by host, or the Sentinels (+ REDIS_SENTINEL_PASSWORD = the password)
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			m.ReplicaEnv = append(m.ReplicaEnv, env)
		}
	} else {
		m.Endpoint = cfg.EndpointURL()
		m.RedisAddr = fmt.Sprintf("%s:%d", stacks.RedisAlias, stacks.RedisPort)
		m.Commands["prometheus"] = append([]string{"prometheus"}, b.PrometheusArgs...)
	}
	j, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("rendered %d files for stack %s (%s) into %s; endpoint %s\n", len(files), cfg.Stack, map[bool]string{true: "local", false: "containers"}[*local], dir, m.Endpoint)
	if !*local { // a local run has no use for the Pulumi deploy's secrets and TLS files
		for _, w := range m.Warnings {
			fmt.Fprintln(os.Stderr, "warning (a real deploy would refuse):", w)
		}
	}
	return nil
}
