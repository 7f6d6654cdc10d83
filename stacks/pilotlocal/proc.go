package pilotlocal

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// baseEnv is what every process inherits: enough to run, nothing of the caller's ISL settings
// (a stray API_KEYS or ENV in the operator's shell must not leak into the topology).
func baseEnv() []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// launch starts c in its own session with output appended to its log, and records its PID.
func launch(c *Component) error {
	if err := os.MkdirAll(filepath.Dir(c.Log), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(c.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- pilot-local: starting %s at %s\n", c.Name, time.Now().UTC().Format(time.RFC3339))
	cmd := exec.Command(c.Command[0], c.Command[1:]...)
	cmd.Env = baseEnv()
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlive this command; no terminal signals
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.Name, err)
	}
	c.PID = cmd.Process.Pid
	// Reap it if it dies while we are still here (e.g. during the health wait); after we exit, init
	// adopts it.
	go func() { _ = cmd.Wait() }()
	return nil
}

// alive reports whether pid runs and is still the process we started (its command line names the
// same program), so that a recycled PID is never signalled.
func alive(c *Component) bool {
	if c.PID <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.PID))
	if err != nil {
		return false
	}
	// state is the field after the parenthesised command name.
	i := bytes.LastIndexByte(stat, ')')
	j := bytes.IndexByte(stat, '(')
	if i < 0 || j < 0 || j > i || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X' {
		return false
	}
	base := filepath.Base(c.Command[0])
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c.PID))
	if err != nil {
		return false
	}
	if len(cmdline) == 0 {
		// Mid-exec the command line is briefly empty: fall back to the kernel's (15-byte) name.
		comm := string(stat[j+1 : i])
		return comm != "" && strings.HasPrefix(base, comm)
	}
	return bytes.Contains(cmdline, []byte(base))
}

// signal sends sig to the component's process if it is still ours.
func signal(c *Component, sig syscall.Signal) error {
	if !alive(c) {
		return nil
	}
	if err := syscall.Kill(c.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s (pid %d): %w", c.Name, c.PID, err)
	}
	return nil
}

// stop sends sig and waits up to grace for the process to exit, then kills it.
func stop(c *Component, sig syscall.Signal, grace time.Duration) error {
	if err := signal(c, sig); err != nil {
		return err
	}
	deadline := time.Now().Add(grace)
	for alive(c) {
		if time.Now().After(deadline) {
			_ = signal(c, syscall.SIGKILL)
			kd := time.Now().Add(5 * time.Second)
			for alive(c) && time.Now().Before(kd) {
				time.Sleep(20 * time.Millisecond)
			}
			if alive(c) {
				return fmt.Errorf("%s (pid %d) survived SIGKILL", c.Name, c.PID)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// waitReady polls the component's readiness until timeout; it fails early if the process died.
func waitReady(ctx context.Context, c *Component, redisPassword string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if !alive(c) {
			return fmt.Errorf("%s exited during start-up; last log lines:\n%s", c.Name, tail(c.Log, 15))
		}
		if last = ready(ctx, c, redisPassword); last == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not ready after %s: %v; last log lines:\n%s", c.Name, timeout, last, tail(c.Log, 15))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var insecureClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
	TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback self-signed
	DisableKeepAlives: true,
}}

func ready(ctx context.Context, c *Component, redisPassword string) error {
	if c.Kind == "redis" || c.Kind == "sentinel" {
		return redisPing(c.Addr, redisPassword)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.HealthURL, nil)
	if err != nil {
		return err
	}
	resp, err := insecureClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", c.HealthURL, resp.StatusCode)
	}
	return nil
}

// redisPing authenticates as the operators' ACL user and PINGs over RESP2 (no client library needed for one command).
func redisPing(addr, password string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	r := bufio.NewReader(conn)
	send := func(args ...string) (string, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := conn.Write([]byte(b.String())); err != nil {
			return "", err
		}
		line, err := r.ReadString('\n')
		return strings.TrimSpace(line), err
	}
	if reply, err := send("AUTH", "admin", password); err != nil || reply != "+OK" {
		return fmt.Errorf("redis AUTH: %q %v", reply, err)
	}
	if reply, err := send("PING"); err != nil || reply != "+PONG" {
		return fmt.Errorf("redis PING: %q %v", reply, err)
	}
	return nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

// freePorts returns n distinct loopback ports. With base 0 the kernel picks ephemeral ones;
// otherwise the first free ports from base upwards. Each is checked by binding it.
func freePorts(n, base int) ([]int, error) {
	var out []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for p := base; len(out) < n; p++ {
		if base != 0 && p > 65535 {
			return nil, fmt.Errorf("no %d free ports from %d", n, base)
		}
		addr := "127.0.0.1:0"
		if base != 0 {
			addr = "127.0.0.1:" + strconv.Itoa(p)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		held = append(held, l) // hold until all are chosen so that none is picked twice
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
