// Command isl-load is the pilot's load benchmark: a realistic endpoint mix from many virtual users,
// per-endpoint latency percentiles, throughput, success rate and a verdict against the pilot SLOs.
//
//	go run ./benchmarks/cmd/isl-load --host https://127.0.0.1:8443 --duration 30s --concurrency 10 \
//	    --api-key KEY [--cacert ca.pem | --insecure] [--mix api|health] [--rate 50] \
//	    [--payloads fixed|varied] [--json out.json]
//
// Before the run one request per endpoint checks the target; a wrong key, an untrusted
// certificate or a failing route aborts with what to do instead of loading a broken target.
//
// Exit status: 0 verdict passed, 1 verdict failed, 2 usage or setup error (including a failed
// pre-check).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/olumi/isl/benchmarks/load"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("isl-load", flag.ContinueOnError)
	var cfg load.Config
	var jsonOut string
	var endpoint string
	fs.StringVar(&cfg.Host, "host", envOr("ISL_HOST", "http://127.0.0.1:8000"), "base URL of the ISL deployment (env ISL_HOST)")
	fs.StringVar(&cfg.APIKey, "api-key", os.Getenv("ISL_API_KEY"), "API key sent as X-API-Key (env ISL_API_KEY)")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to send requests")
	fs.IntVar(&cfg.Concurrency, "concurrency", 10, "virtual users (closed loop) or the cap on requests in flight (open loop)")
	fs.StringVar(&cfg.Mix, "mix", load.MixAPI, "api (all POST endpoints + elicit→update flow) or health (/health ceiling)")
	fs.StringVar(&endpoint, "endpoint", "", "alias of --mix (e.g. --endpoint health)")
	fs.Int64Var(&cfg.MaxRequests, "max-requests", 0, "stop after this many requests (0 = built-in bound)")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "accept any TLS certificate (throwaway test hosts only; prefer --cacert)")
	fs.StringVar(&cfg.CACert, "cacert", os.Getenv("ISL_CACERT"), "PEM file of the CA (or self-signed) certificate to trust, e.g. .pilot-local/tls/cert.pem (env ISL_CACERT)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: fixed arrival rate in requests/s (latency includes queueing); 0 = closed loop of --concurrency users")
	fs.StringVar(&cfg.Payloads, "payloads", load.PayloadsFixed, "fixed (the worked examples, comparable runs) or varied (sizes and values differ per request)")
	fs.StringVar(&jsonOut, "json", "", "also write the report as JSON to this file (for history)")
	quiet := fs.Bool("quiet", false, "no live progress line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if endpoint != "" {
		cfg.Mix = endpoint
	}
	if cfg.Host != "" && !strings.Contains(cfg.Host, "://") {
		cfg.Host = "http://" + cfg.Host // like isl diagnose --url: a bare host:port is plain HTTP
	}
	if !*quiet {
		cfg.Progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := load.Run(ctx, cfg)
	var pe *load.PrecheckError
	if errors.As(err, &pe) {
		fmt.Fprintf(os.Stderr, "isl-load: the target failed the pre-check; no load was sent\n  %s: %s\n  → %s\n", pe.Endpoint, pe.Problem, pe.Advice)
		return 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "isl-load: %v\n", err)
		return 2
	}
	rep.WriteText(os.Stdout)
	if jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "isl-load: write %s: %v\n", jsonOut, err)
			return 2
		}
	}
	if !rep.Verdict.Pass {
		return 1
	}
	return 0
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
