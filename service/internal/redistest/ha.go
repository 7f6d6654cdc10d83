package redistest

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MasterName is the name the harness' Sentinels monitor.
const MasterName = "isl"

// HA is a real Redis primary + replica (both AOF, both password-protected, masterauth on both so
// that either can follow the other) and three Sentinels (quorum 2), each its own redis-server
// process on loopback, configured from writable files so that Sentinel can rewrite them.
type HA struct {
	Password  string // requirepass/masterauth of both Redis nodes and of the Sentinels
	Nodes     []*Proc
	Sentinels []*Proc
	// DownAfter is the Sentinels' down-after-milliseconds: the failover starts this long after the
	// primary stops answering.
	DownAfter time.Duration
	t         testing.TB
}

// Proc is one redis-server process of the harness.
type Proc struct {
	Name string
	Addr string
	Port int
	Conf string // its configuration file (rewritten by Sentinel)

	t    testing.TB
	bin  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
	args []string // after the config file ("--sentinel")
}

// StartHA starts the topology and waits until every Sentinel knows the replica and the other two
// Sentinels. Everything is stopped by t.Cleanup.
func StartHA(t testing.TB, downAfter time.Duration) *HA {
	t.Helper()
	bin := serverBinary(t)
	h := &HA{Password: randomHex(t, 12), DownAfter: downAfter, t: t}
	dir := t.TempDir()
	ports := freePorts(t, 5)
	node := func(name string, port int, replicaOf int) *Proc {
		return h.proc(bin, name, port, nodeConf(t, dir, name, port, h.Password, replicaOf))
	}
	h.Nodes = []*Proc{node("primary", ports[0], 0), node("replica", ports[1], ports[0])}
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("sentinel-%d", i+1)
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\ndaemonize no\nrequirepass %s\nsentinel sentinel-pass %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\nsentinel auth-pass %s %s\nsentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s 10000\nsentinel parallel-syncs %s 1\n",
			ports[2+i], d, h.Password, h.Password, MasterName, ports[0], MasterName, h.Password, MasterName, downAfter.Milliseconds(),
			MasterName, MasterName)
		if err := os.WriteFile(filepath.Join(d, "sentinel.conf"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		p := h.proc(bin, name, ports[2+i], filepath.Join(d, "sentinel.conf"), "--sentinel")
		h.Sentinels = append(h.Sentinels, p)
	}
	t.Cleanup(func() {
		for _, p := range append(append([]*Proc{}, h.Sentinels...), h.Nodes...) {
			p.Kill()
		}
	})
	for _, p := range h.Nodes {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// Sentinels learn the replica from the primary's INFO, polled every 10 s: start them once the
	// replica is attached, so that their first poll already sees it.
	h.waitFor(10*time.Second, "replica attached", func() bool {
		info, err := h.Nodes[1].Do(h.Password, "INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	for _, p := range h.Sentinels {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for the replica to be in sync and for each Sentinel to see the full topology.
	h.waitFor(20*time.Second, "replica in sync and sentinels discovered", func() bool {
		info, err := h.Nodes[1].Do(h.Password, "INFO", "replication")
		if err != nil || !strings.Contains(info, "master_link_status:up") {
			return false
		}
		for _, s := range h.Sentinels {
			r, err := s.Do(h.Password, "SENTINEL", "MASTER", MasterName)
			if err != nil || !strings.Contains(r, "num-slaves\r\n$1\r\n1") || !strings.Contains(r, "num-other-sentinels\r\n$1\r\n2") {
				return false
			}
		}
		return true
	})
	return h
}

func (h *HA) proc(bin, name string, port int, conf string, args ...string) *Proc {
	return &Proc{Name: name, Port: port, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Conf: conf,
		t: h.t, bin: bin, out: &syncBuffer{}, args: args}
}

// nodeConf writes the configuration file of one Redis node (AOF on, RDB only on demand) into
// dir/name and returns its path; the node's data directory is the file's directory.
func nodeConf(t testing.TB, dir, name string, port int, password string, replicaOf int) string {
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nrequirepass %s\nmasterauth %s\ndir %s\nappendonly yes\nappendfsync everysec\nsave \"\"\n"+
		"daemonize no\nloglevel notice\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 0\n", port, password, password, d)
	if replicaOf != 0 {
		conf += fmt.Sprintf("replicaof 127.0.0.1 %d\n", replicaOf)
	}
	p := filepath.Join(d, "redis.conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// StartPersistent starts one password-protected Redis with AOF on (RDB snapshots on demand) and
// returns it with its password; its data directory is filepath.Dir(p.Conf).
func StartPersistent(t testing.TB) (*Proc, string) {
	t.Helper()
	bin := serverBinary(t)
	pw := randomHex(t, 12)
	port := freePorts(t, 1)[0]
	h := &HA{t: t}
	p := h.proc(bin, "redis", port, nodeConf(t, t.TempDir(), "redis", port, pw, 0))
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p, pw
}

// SentinelAddrs lists the Sentinels' addresses (REDIS_SENTINELS).
func (h *HA) SentinelAddrs() []string {
	var out []string
	for _, s := range h.Sentinels {
		out = append(out, s.Addr)
	}
	return out
}

// Primary asks the first answering Sentinel for the primary's address.
func (h *HA) Primary() (string, error) {
	var last error
	for _, s := range h.Sentinels {
		r, err := s.Do(h.Password, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName)
		if err != nil {
			last = err
			continue
		}
		// *2\r\n$9\r\n127.0.0.1\r\n$5\r\n12345\r\n
		parts := strings.Split(r, "\r\n")
		if len(parts) >= 5 {
			return net.JoinHostPort(parts[2], parts[4]), nil
		}
		last = fmt.Errorf("reply %q", r)
	}
	return "", last
}

// Node returns the node with the given address.
func (h *HA) Node(addr string) *Proc {
	for _, n := range h.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// Role returns the INFO replication role of a node ("master", "slave") or an error.
func (h *HA) Role(p *Proc) (string, error) {
	info, err := p.Do(h.Password, "INFO", "replication")
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "role:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no role in INFO replication")
}

func (h *HA) waitFor(d time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			var logs strings.Builder
			for _, p := range append(append([]*Proc{}, h.Nodes...), h.Sentinels...) {
				fmt.Fprintf(&logs, "--- %s\n%s\n", p.Name, lastLines(p.out.String(), 15))
			}
			h.t.Fatalf("redistest: %s: not reached within %s\n%s", what, d, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitFor polls cond every 50 ms until it holds, failing the test after d.
func (h *HA) WaitFor(d time.Duration, what string, cond func() bool) {
	h.t.Helper()
	h.waitFor(d, what, cond)
}

// Start launches the process with its configuration file and waits until it answers PING.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s already runs", p.Name)
	}
	cmd := exec.Command(p.bin, append([]string{p.Conf}, p.args...)...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("%s exited early: %s", p.Name, p.out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", p.Addr, 200*time.Millisecond); err == nil {
			c.Close()
			p.cmd, p.done = cmd, done
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("%s did not listen within 10 s: %s", p.Name, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill SIGKILLs the process (a crash: no shutdown save) and waits for it to exit.
func (p *Proc) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// Log is what the process wrote so far.
func (p *Proc) Log() string { return p.out.String() }

// Do sends one command over a fresh connection, authenticating with password first.
func (p *Proc) Do(password string, args ...string) (string, error) {
	return do(p.Addr, password, args...)
}

func do(addr, password string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	if password != "" {
		if _, err := c.Write(encode("AUTH", password)); err != nil {
			return "", err
		}
		if line, err := r.ReadString('\n'); err != nil || line != "+OK\r\n" {
			return "", fmt.Errorf("auth: %q %v", line, err)
		}
	}
	if _, err := c.Write(encode(args...)); err != nil {
		return "", err
	}
	return readReply(r)
}

func freePorts(t testing.TB, n int) []int {
	var out []int
	var held []net.Listener
	for len(out) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("redistest: free port: %v", err)
		}
		held = append(held, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range held {
		l.Close()
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("redistest: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// Pause freezes the process (SIGSTOP): it keeps its connections but answers nothing, like a hung
// or overloaded node. Resume (SIGCONT) lets it continue.
func (p *Proc) Pause() { p.signal(syscall.SIGSTOP) }

// Resume continues a paused process.
func (p *Proc) Resume() { p.signal(syscall.SIGCONT) }

func (p *Proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}
