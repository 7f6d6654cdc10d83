// Package app wires configuration, store, metrics and the HTTP server into a runnable service.
// main only parses configuration and signals; tests start the whole app on :0 through Serve.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/httprate"

	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/heapfloor"
	islhttp "github.com/olumi/isl/service/http"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/jsonlog"
	"github.com/olumi/isl/service/memory"
	"github.com/olumi/isl/service/metrics"
	"github.com/olumi/isl/service/redis"
)

// App is one running ISL instance.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	store   isl.Store
	redis   *redis.Store // nil with the in-memory store
	mem     *memory.Store
	handler http.Handler
}

// New builds the app: Redis when REDIS_HOST or REDIS_SENTINELS is set (docs/api.md#state: with its password), else the embedded
// in-memory store. It does not connect yet; a Redis that is down makes the app degraded, not dead.
func New(cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, metrics: metrics.New()}
	kind := "memory"
	connected := func() bool { return true }
	var replication func() isl.Replication
	var counter func(string) httprate.LimitCounter
	if cfg.UseRedis() {
		kind = "redis"
		redis.SetLibraryLogger(log)
		repl := metrics.NewReplication(a.metrics.Registry)
		a.redis = redis.New(redis.Options{
			Addr:             cfg.RedisAddr(),
			Username:         cfg.RedisUsername,
			Password:         cfg.RedisPassword,
			DB:               cfg.RedisDB,
			SentinelAddrs:    cfg.RedisSentinels,
			MasterName:       cfg.RedisMasterName,
			SentinelUsername: cfg.RedisSentinelUsername,
			SentinelPassword: cfg.RedisSentinelPassword,
			WaitReplicas:     cfg.RedisWaitReplicas,
			WaitTimeout:      cfg.RedisWaitTimeout,
			OnReplication: func(prev, cur isl.Replication) {
				repl.Observe(prev.Primary, cur.Primary, cur.ReplicasOnline, cur.LagBytes)
			},
			OnNotReplicated: repl.NotReplicated.Inc,
			Logger:          log,
			OnState: func(up bool) {
				if up {
					a.metrics.RedisConnected.Set(1)
				} else {
					a.metrics.RedisConnected.Set(0)
				}
			},
			Observe: func(op, status string) { a.metrics.RedisOperations.WithLabelValues(op, status).Inc() },
			OnMemory: func(used, max int64) {
				a.metrics.RedisMemoryUsed.Set(float64(used))
				a.metrics.RedisMemoryMax.Set(float64(max))
			},
		})
		a.store = a.redis
		connected = a.redis.Connected
		replication = a.redis.Replication
		// Rate limits are global: every replica counts in the same Redis.
		counter = func(name string) httprate.LimitCounter { return a.redis.LimitCounter(name) }
	} else {
		a.mem = memory.New(memory.Options{})
		a.store = a.mem
	}
	// The response cache is shared through Redis when there is one; without, NewServer keeps it in
	// process memory.
	var cache isl.ResponseCache
	if a.redis != nil {
		cache = a.redis
	}
	a.metrics.UseStore(kind)
	a.handler = islhttp.NewServer(islhttp.Deps{
		Config: cfg, Logger: log, Metrics: a.metrics, Store: a.store, StoreKind: kind, StoreConnected: connected,
		StoreReplication: replication,
		RateCounter:      counter, Cache: cache,
	})
	return a, nil
}

// Serve answers on ln until ctx ends, then drains in-flight requests for at most ShutdownTimeout.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	if a.redis != nil {
		go a.redis.Run(bg)
	} else {
		go a.mem.Run(bg)
	}
	defer a.store.Close()

	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      a.cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("isl_started", "addr", ln.Addr().String(), "env", a.cfg.Env, "store", storeKind(a), "auth", len(a.cfg.APIKeys) > 0, "version", isl.Version)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("isl_stopping", "drain_timeout", a.cfg.ShutdownTimeout.String())
	a.metrics.ServiceUp.Set(0)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	a.log.Info("isl_stopped")
	return nil
}

func storeKind(a *App) string {
	if a.redis != nil {
		return "redis"
	}
	return "memory"
}

// Run listens on the configured address and serves until ctx ends.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	a, err := New(cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	// The collector is a process-wide setting: tuned here, for the process main runs, not in
	// Serve, which tests start many times in one binary.
	go heapfloor.Run(ctx, heapfloor.Floor, 100*time.Millisecond)
	return a.Serve(ctx, ln)
}

// NewLogger returns the JSON logger of docs/api.md#observability at the configured level.
func NewLogger(w io.Writer, level string) *slog.Logger {
	lv := slog.LevelInfo
	switch strings.ToUpper(level) {
	case "DEBUG":
		lv = slog.LevelDebug
	case "WARNING", "WARN":
		lv = slog.LevelWarn
	case "ERROR", "CRITICAL":
		lv = slog.LevelError
	}
	return slog.New(jsonlog.New(w, lv)).With("logger", "isl")
}
