// Command pilot-local runs a stack's topology (default: pilot) as loopback processes on the files
// the Pulumi program renders: redis-server (password, AOF), the ISL replicas, nginx (TLS with a
// self-signed certificate when the tier wants TLS), Prometheus with the alert rules and Alertmanager.
//
//	pilot-local up      [--dir .pilot-local] [--stack pilot] [--base-port 0] [--rate-limit N] [--isl-bin PATH] [--alert-webhook URL]
//	pilot-local down    [--dir …] [--purge]
//	pilot-local status  [--dir …]
//	pilot-local stop    NAME [--signal TERM|KILL]   (NAME: redis, isl-1…isl-N, nginx, prometheus, alertmanager)
//	pilot-local start   NAME
//	pilot-local env     [--dir …]                     shell exports for isl-load / make integration
//	pilot-local queries                               the dashboards' PromQL, as JSON (for live checks)
//
// Linux only: processes are tracked by PID through /proc.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/olumi/isl/monitoring"
	"github.com/olumi/isl/stacks/pilotlocal"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: pilot-local up|down|status|stop NAME|start NAME|env|queries [flags]
(Linux only: the processes are tracked by PID through /proc)`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if runtime.GOOS != "linux" {
		fmt.Fprintf(stderr, "pilot-local: runs on Linux only (it tracks processes through /proc), not on %s\n", runtime.GOOS)
		return 2
	}
	cmd, args := args[0], args[1:]
	var name string
	if (cmd == "stop" || cmd == "start") && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("pilot-local "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".pilot-local", "state directory (rendered files, data, logs, state.json)")
	var o pilotlocal.Options
	fs.StringVar(&o.Stack, "stack", "pilot", "stack whose Pulumi.<stack>.yaml to run")
	fs.StringVar(&o.ISLBinary, "isl-bin", "", "prebuilt isl binary (default: go build ./service/cmd/isl)")
	fs.IntVar(&o.BasePort, "base-port", 0, "first port to try (0 = ephemeral ports)")
	fs.IntVar(&o.RateLimit, "rate-limit", 1_000_000, "RATE_LIMIT_PER_MINUTE for the replicas (-1 = the stack's value)")
	fs.StringVar(&o.ScrapeInterval, "scrape-interval", "1s", "Prometheus scrape and rule evaluation interval")
	fs.StringVar(&o.AlertWebhook, "alert-webhook", "", "up: URL Alertmanager posts alerts to (default: none; alerts stay in its API)")
	timeout := fs.Duration("timeout", 30*time.Second, "readiness timeout per component")
	sig := fs.String("signal", "TERM", "stop: TERM (graceful) or KILL")
	purge := fs.Bool("purge", false, "down: also delete the state directory")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if (cmd == "stop" || cmd == "start") && name == "" {
		if name = fs.Arg(0); name == "" {
			fmt.Fprintf(stderr, "pilot-local %s: which component? (redis, isl-1…, nginx, prometheus)\n", cmd)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fail := func(err error) int { fmt.Fprintf(stderr, "pilot-local %s: %v\n", cmd, err); return 1 }

	switch cmd {
	case "up":
		o.Dir, o.ReadyTimeout, o.Log = *dir, *timeout, stderr
		st, err := pilotlocal.Up(ctx, o)
		if err != nil {
			return fail(err)
		}
		fmt.Fprint(stdout, pilotlocal.Summary(st))
		return 0
	case "queries":
		qs, err := monitoring.DashboardQueries()
		if err != nil {
			return fail(err)
		}
		b, _ := json.MarshalIndent(qs, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	st, err := pilotlocal.Load(*dir)
	if err != nil {
		return fail(err)
	}
	switch cmd {
	case "down":
		if err := pilotlocal.Down(st, stderr); err != nil {
			return fail(err)
		}
		if *purge {
			if err := os.RemoveAll(st.Dir); err != nil {
				return fail(err)
			}
		}
		fmt.Fprintln(stdout, "pilot-local is down")
	case "status":
		if !pilotlocal.Status(ctx, st, stdout) {
			return 1
		}
	case "stop":
		s, ok := pilotlocal.Signals[strings.ToUpper(strings.TrimPrefix(*sig, "SIG"))]
		if !ok {
			return fail(fmt.Errorf("--signal %q: want TERM, KILL or INT", *sig))
		}
		if err := pilotlocal.Stop(st, name, s, stdout); err != nil {
			return fail(err)
		}
	case "start":
		if err := pilotlocal.Start(ctx, st, name, *timeout, stdout); err != nil {
			return fail(err)
		}
	case "env":
		exports, err := pilotlocal.Env(st)
		if err != nil {
			return fail(err)
		}
		fmt.Fprint(stdout, exports)
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	return 0
}
