// Command isl runs the Inference Service Layer.
//
//	isl               serve (configuration from the environment and ./.env)
//	isl healthcheck   exit 0 iff GET /health on this host answers 200 (for container healthchecks)
//	isl diagnose      check configuration, Redis, /health, /metrics and the API key (exit 1 on FAIL)
//	isl backup        take a checked Redis backup (--every D: keep taking them, serving /metrics)
//	isl restore       restore a backup's RDB file into the running primary
//	isl version       print the version, commit and build date (set at link time)
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/olumi/isl/service/app"
	"github.com/olumi/isl/service/backup"
	"github.com/olumi/isl/service/config"
	"github.com/olumi/isl/service/diagnose"
	"github.com/olumi/isl/service/isl"
)

const usage = `usage: isl [command]

commands:
  serve        run the service (the default; configuration from the environment and ./.env)
  healthcheck  exit 0 iff GET /health on this host answers 200 (for container healthchecks)
  diagnose     check configuration, Redis, /health, /metrics and the API key (isl diagnose --help)
  backup       take a checked Redis backup (--every D: keep taking them, serving /metrics; isl backup --help)
  restore      restore a backup's RDB file into the running primary (isl restore --help)
  version      print the version, commit, build date and Go version
  help         this text
`

func main() {
	cmd := "serve"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	switch cmd {
	case "serve":
		os.Exit(serve())
	case "healthcheck":
		os.Exit(healthcheck())
	case "diagnose":
		os.Exit(diagnose.Main(os.Args[2:], ".env", os.Stdout, os.Stderr))
	case "backup", "restore":
		os.Exit(backupCmd(cmd, os.Args[2:]))
	default:
		os.Exit(info(cmd, os.Stdout, os.Stderr))
	}
}

// info answers the commands that only print: asking for help is a success (exit 0), an unknown
// command is a usage error (exit 2).
func info(cmd string, stdout, stderr io.Writer) int {
	switch cmd {
	case "version", "--version":
		b := isl.Build()
		fmt.Fprintf(stdout, "version: %s\ncommit: %s\nbuilt: %s\ngo: %s\n", b.Version, b.Commit, b.BuildDate, b.GoVersion)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "isl: unknown command %q\n%s", cmd, usage)
	return 2
}

func serve() int {
	cfg, err := config.Load(".env")
	if err != nil {
		fmt.Fprintf(os.Stderr, "isl: %v\n", err)
		return 1
	}
	log := app.NewLogger(os.Stdout, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, cfg, log); err != nil {
		log.Error("isl_failed", "error", err.Error())
		return 1
	}
	return 0
}

func healthcheck() int {
	cfg, err := config.Load(".env")
	if err != nil {
		fmt.Fprintf(os.Stderr, "isl healthcheck: %v\n", err)
		return 1
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/health", cfg.Port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "isl healthcheck: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "isl healthcheck: status %d\n", resp.StatusCode)
		return 1
	}
	return 0
}

func backupCmd(cmd string, args []string) int {
	look, err := backup.EnvLookup(".env")
	if err != nil {
		fmt.Fprintf(os.Stderr, "isl %s: %v\n", cmd, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd == "restore" {
		return backup.RestoreMain(ctx, args, look, os.Stdout, os.Stderr)
	}
	return backup.Main(ctx, args, look, os.Stdout, os.Stderr)
}
