package backup

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/metrics"
)

// targetFrom reads the Redis connection settings the service itself uses (REDIS_HOST/PORT/DB/
// USERNAME/PASSWORD or REDIS_SENTINELS/MASTER_NAME/SENTINEL_USERNAME/SENTINEL_PASSWORD), given
// for a user that may run BGSAVE (the admin ACL user, not the service's). The backup tool needs none of the
// service's production secrets, so the production rules are not applied.
func targetFrom(look config.Lookup) (Target, int, error) {
	cfg, err := config.FromLookup(func(k string) (string, bool) {
		if k == "ENV" {
			return "development", true
		}
		return look(k)
	})
	if err != nil {
		return Target{}, 0, err
	}
	if !cfg.UseRedis() {
		return Target{}, 0, errors.New("set REDIS_HOST (and REDIS_PORT) or REDIS_SENTINELS and REDIS_MASTER_NAME")
	}
	return Target{Addr: cfg.RedisAddr(), Sentinels: cfg.RedisSentinels, MasterName: cfg.RedisMasterName,
		Username: cfg.RedisUsername, Password: cfg.RedisPassword,
		SentinelUsername: cfg.RedisSentinelUsername, SentinelPassword: cfg.RedisSentinelPassword}, cfg.RedisDB, nil
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// Main is `isl backup`: one backup (exit 1 if it fails), `--every D` to keep taking them (serving
// /metrics and /health on --metrics-addr), or `--list`.
func Main(ctx context.Context, args []string, look config.Lookup, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("isl backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var data multi
	dest := fs.String("dest", "/backups", "backup directory")
	fs.Var(&data, "data", "the primary's data directory: DIR, or HOST:PORT=DIR per Redis node (repeatable)")
	keep := fs.Int("keep", 24, "newest backups kept")
	every := fs.Duration("every", 0, "take a backup now and then at this interval (0 = once)")
	metricsAddr := fs.String("metrics-addr", ":9121", "with --every: serve /metrics and /health here")
	list := fs.Bool("list", false, "list the backups in --dest and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		bs, err := List(*dest)
		if err != nil {
			fmt.Fprintf(stderr, "isl backup: %v\n", err)
			return 1
		}
		for _, b := range bs {
			fmt.Fprintf(stdout, "%s  %s  %d bytes  %s\n", b.Name, b.Time.Format(time.RFC3339), b.Size, b.RDB)
		}
		return 0
	}
	target, _, err := targetFrom(look)
	if err != nil {
		fmt.Fprintf(stderr, "isl backup: %v\n", err)
		return 2
	}
	dirs, err := ParseDataDirs(data)
	if err != nil || len(dirs) == 0 {
		fmt.Fprintf(stderr, "isl backup: %v\n", errors.Join(err, errors.New("give --data DIR (the Redis data directory)")))
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("logger", "isl-backup")
	o := Options{Target: target, DataDirs: dirs, Dest: *dest, Keep: *keep, Log: log}
	if *every <= 0 {
		b, err := Snapshot(ctx, o)
		if err != nil {
			fmt.Fprintf(stderr, "isl backup: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", b.RDB)
		return 0
	}
	o.Metrics = metrics.NewBackup()
	ln, err := net.Listen("tcp", *metricsAddr)
	if err != nil {
		fmt.Fprintf(stderr, "isl backup: listen on %s: %v\n", *metricsAddr, err)
		return 1
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("backup runner started", "every", every.String(), "keep", *keep, "dest", *dest, "metrics", ln.Addr().String())
	Run(ctx, o, *every)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return 0
}

// RestoreMain is `isl restore --from FILE [--flush]`.
func RestoreMain(ctx context.Context, args []string, look config.Lookup, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("isl restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the backup's RDB file (isl-YYYYMMDDTHHMMSSZ.rdb)")
	flush := fs.Bool("flush", false, "empty the database first, so that it holds exactly the backup")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *from == "" {
		fmt.Fprintln(stderr, "isl restore: --from FILE is required (list them with `isl backup --list --dest DIR`)")
		return 2
	}
	target, db, err := targetFrom(look)
	if err != nil {
		fmt.Fprintf(stderr, "isl restore: %v\n", err)
		return 2
	}
	res, err := Restore(ctx, RestoreOptions{Target: target, DB: db, File: *from, Flush: *flush,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintf(stderr, "isl %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %d keys into %s (%d expired meanwhile, confirmed by %d replica(s))\n", res.Keys, res.Primary, res.Skipped, res.Replicas)
	return 0
}

// EnvLookup is the process environment, then the dotenv file (like the service).
func EnvLookup(envFile string) (config.Lookup, error) {
	file := map[string]string{}
	if envFile != "" {
		f, err := config.ReadDotEnv(envFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", envFile, err)
		}
		file = f
	}
	return func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		v, ok := file[k]
		return v, ok
	}, nil
}
