package pilotlocal

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/olumi/isl/stacks/certs"
)

func TestFreePorts(t *testing.T) {
	ports, err := freePorts(7, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: want 7 distinct", ports)
		}
		seen[p] = true
	}
	// From a base, taken ports are skipped.
	base, err := freePorts(3, ports[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(base) != 3 || base[0] < ports[0] || base[1] <= base[0] || base[2] <= base[1] {
		t.Fatalf("from base %d: %v", ports[0], base)
	}
}

func TestSelfSignedIsUsableByTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls", "c.pem"), filepath.Join(dir, "tls", "k.pem")
	if err := certs.SelfSigned(cert, key, 7*24*time.Hour, "127.0.0.1", "localhost"); err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(cert)
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("certificate does not verify for 127.0.0.1 against itself: %v", err)
	}
	if st, _ := os.Stat(key); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", st.Mode().Perm())
	}
}

func TestStateRoundTripAndLookup(t *testing.T) {
	dir := t.TempDir()
	st := &State{Dir: dir, Endpoint: "https://127.0.0.1:1", APIKey: "k", Components: []*Component{
		{Name: "redis", Kind: "redis"}, {Name: "isl-1", Kind: "isl"}, {Name: "isl-2", Kind: "isl"}, {Name: "nginx", Kind: "nginx"}}}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, StateFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v: it holds secrets", fi.Mode().Perm())
	}
	got, err := Load(dir)
	if err != nil || got.APIKey != "k" || len(got.Replicas()) != 2 || got.Replicas()[1].Name != "isl-2" {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := got.Component("isl-9"); err == nil || !strings.Contains(err.Error(), "isl-1, isl-2, nginx, redis") {
		t.Errorf("unknown component error %v", err)
	}
}

// TestLaunchStopByPID runs a real process through launch/alive/stop: the PID check refuses a
// process whose command line is not the recorded program.
func TestLaunchStopByPID(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	dir := t.TempDir()
	c := &Component{Name: "sleeper", Command: []string{sleep, "30"}, Log: filepath.Join(dir, "logs", "s.log"), Env: map[string]string{"X": "1"}}
	if err := launch(c); err != nil {
		t.Fatal(err)
	}
	if !alive(c) {
		t.Fatal("launched process not alive")
	}
	impostor := &Component{Name: "other", PID: c.PID, Command: []string{"/usr/sbin/nginx"}}
	if alive(impostor) {
		t.Fatal("a PID running another program must not count as ours")
	}
	start := time.Now()
	if err := stop(c, syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if alive(c) || time.Since(start) > 4*time.Second {
		t.Fatalf("stop: alive=%v after %s", alive(c), time.Since(start))
	}
	if b, _ := os.ReadFile(c.Log); !strings.Contains(string(b), "pilot-local: starting sleeper") {
		t.Errorf("log %q", b)
	}
	if err := stop(c, syscall.SIGTERM, time.Second); err != nil { // stopping a stopped process is a no-op
		t.Fatal(err)
	}
}

func TestUpRefusesWithoutRoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Up(t.Context(), Options{Root: dir, Dir: filepath.Join(dir, "state"), Stack: "nosuch"})
	if err == nil {
		t.Fatal("want an error for a missing stack file")
	}
}
