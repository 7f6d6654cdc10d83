// Package redistest runs a throw-away redis-server for tests: a real server on a free loopback port,
// password-protected, without persistence. Tests that need Redis call Start; when redis-server is not
// on PATH the test is skipped, unless the environment says CI=true, where a missing server is a failure.
package redistest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/service/internal/testenv"
)

// Server is one redis-server process. Addr and Password stay the same across Restart.
type Server struct {
	Addr     string // "127.0.0.1:PORT"
	Password string // random, passed as --requirepass
	Port     int

	t    testing.TB
	bin  string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
}

// Start launches redis-server on a free port and waits until it answers PING. The server is stopped
// by t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := serverBinary(t)
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		t.Fatalf("redistest: password: %v", err)
	}
	s := &Server{Password: hex.EncodeToString(pw), t: t, bin: bin, dir: t.TempDir()}
	// A free port can be taken by someone else between Close and redis-server's bind; retry a few.
	for attempt := 0; ; attempt++ {
		s.Port = testenv.FreePort(t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		err := s.launch()
		if err == nil {
			break
		}
		if attempt == 4 {
			t.Fatalf("redistest: %v", err)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

// Stop terminates the server (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. Stopping a
// stopped server is a no-op. Data is lost: the server runs with --save "" --appendonly no.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(terminate)
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart stops the server if it runs and starts a fresh, empty one on the same port and password,
// so that clients configured with Addr reconnect to it.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	// The old socket may linger briefly; redis-server sets SO_REUSEADDR, but retry to be safe.
	for attempt := 0; attempt < 10; attempt++ {
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.Port, err)
}

// Do sends one command over a fresh authenticated connection and returns the raw RESP2 reply
// (e.g. "+OK\r\n", ":86400\r\n"). It is meant for small inspections (TTL, DBSIZE) in tests that
// would rather not build a client.
func (s *Server) Do(args ...string) (string, error) { return do(s.Addr, s.Password, args...) }

func (s *Server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		s.out = &syncBuffer{}
	}
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--requirepass", s.Password,
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "warning",
	)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on port %d exited early: %s", s.Port, s.out.String())
		default:
		}
		if reply, err := s.Do("PING"); err == nil && reply == "+PONG\r\n" {
			s.cmd, s.done = cmd, done
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on port %d did not answer PING within 5 s: %s", s.Port, s.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serverBinary finds redis-server: a skip without it, a failure when CI=true.
func serverBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redistest: redis-server not on PATH (required when CI=true): %v", err)
		}
		t.Skipf("redistest: redis-server not on PATH: %v", err)
	}
	return bin
}

func encode(args ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.Bytes()
}

// readReply reads one RESP2 reply, nested arrays included, and returns its raw text.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(line) < 3 {
		return "", fmt.Errorf("short reply %q", line)
	}
	switch line[0] {
	case '$':
		n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
		if err != nil || n < 0 {
			return line, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return line + string(buf), nil
	case '*':
		n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
		if err != nil || n < 0 {
			return line, err
		}
		out := line
		for i := 0; i < n; i++ {
			el, err := readReply(r)
			if err != nil {
				return "", err
			}
			out += el
		}
		return out, nil
	default:
		return line, nil
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
