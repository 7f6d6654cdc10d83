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

	"github.com/olumi/isl/stacks"
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

// The pilot's processes: Redis primary, replica and three Sentinels first, the replicas pointed at
// the Sentinels, the entry, and the backup runner with the same Redis environment.
func TestDeclarePilotTopology(t *testing.T) {
	root, err := stacks.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Root: root, Dir: t.TempDir(), Stack: "pilot", RateLimit: -1}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadStack(o)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := allocate(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := stacks.Build(cfg, pl)
	if err != nil {
		t.Fatal(err)
	}
	st := &State{Dir: o.Dir, RedisPassword: "correct-horse-battery", ISLBinary: "/bin/isl"}
	if err := declare(b, o, st); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range st.Components {
		names = append(names, c.Name)
	}
	want := "redis redis-replica sentinel-1 sentinel-2 sentinel-3 isl-1 isl-2 isl-3 nginx alertmanager nginx-exporter prometheus backup"
	if strings.Join(names, " ") != want {
		t.Fatalf("components %v, want %s", names, want)
	}
	// The replicas are the restricted ACL user on Redis and on the Sentinels; the backup runner is
	// admin (BGSAVE).
	isl1, _ := st.Component("isl-1")
	svc := stacks.RedisServicePassword(st.RedisPassword)
	if isl1.Env["REDIS_SENTINELS"] != strings.Join(st.Sentinels, ",") || isl1.Env["REDIS_MASTER_NAME"] != "isl" ||
		isl1.Env["REDIS_USERNAME"] != stacks.RedisServiceUser || isl1.Env["REDIS_PASSWORD"] != svc ||
		isl1.Env["REDIS_SENTINEL_USERNAME"] != stacks.RedisServiceUser || isl1.Env["REDIS_SENTINEL_PASSWORD"] != svc || isl1.Env["REDIS_HOST"] != "" {
		t.Errorf("isl-1 Redis env: %v", isl1.Env)
	}
	bk, _ := st.Component("backup")
	if bk.Env["REDIS_SENTINELS"] != isl1.Env["REDIS_SENTINELS"] || bk.Env["REDIS_USERNAME"] != stacks.RedisAdminUser ||
		bk.Env["REDIS_PASSWORD"] != st.RedisPassword || bk.Env["REDIS_SENTINEL_USERNAME"] != stacks.RedisAdminUser ||
		bk.Command[1] != "backup" || bk.HealthURL == "" {
		t.Errorf("backup: %v %v", bk.Command, bk.Env)
	}
	for _, c := range st.Components {
		if c.Log == "" {
			t.Errorf("%s has no log", c.Name)
		}
	}
}
