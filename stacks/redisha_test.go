package stacks

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tiers get the Redis topology the issue asks for: dev one Redis and no backups, staging one
// Redis with backups, the pilot primary + replica + 3 Sentinels (quorum 2) with backups; every HA
// file is a secret, and the service is pointed at the Sentinels.
func TestRedisHABundle(t *testing.T) {
	for _, tc := range []struct {
		tier    Tier
		ha      bool
		backups bool
	}{{Dev, false, false}, {Staging, false, true}, {Pilot, true, true}} {
		t.Run(string(tc.tier), func(t *testing.T) {
			cfg := loadStack(t, string(tc.tier))
			b, err := Build(cfg, Placement{})
			if err != nil {
				t.Fatal(err)
			}
			if (b.RedisHA != nil) != tc.ha || (b.Backup != nil) != tc.backups {
				t.Fatalf("HA %v backups %v", b.RedisHA != nil, b.Backup != nil)
			}
			files, err := b.Files("correct-horse-battery")
			if err != nil {
				t.Fatal(err)
			}
			prom, _ := FindFile(files, "prometheus.yml")
			if strings.Contains(string(prom.Content), "job_name: isl-backup") != tc.backups {
				t.Errorf("isl-backup scrape job present=%v, want %v", !tc.backups, tc.backups)
			}
			env := strings.Join(b.ServiceRedisEnv(), " ")
			if !tc.ha {
				if !strings.Contains(env, "REDIS_HOST=redis") || strings.Contains(env, "SENTINEL") {
					t.Errorf("single Redis env: %s", env)
				}
				if _, ok := FindFile(files, "sentinel-1.conf"); ok {
					t.Error("sentinel files without HA")
				}
				return
			}
			if want := "REDIS_SENTINELS=sentinel-1:26379,sentinel-2:26379,sentinel-3:26379 REDIS_MASTER_NAME=isl"; !strings.Contains(env, want) ||
				strings.Contains(env, "REDIS_HOST") || !strings.Contains(env, "REDIS_WAIT_REPLICAS=1") {
				t.Errorf("HA env: %s", env)
			}
			if len(b.RedisHA.Nodes) != 2 || len(b.RedisHA.Sentinels) != 3 {
				t.Fatalf("topology: %d nodes, %d sentinels", len(b.RedisHA.Nodes), len(b.RedisHA.Sentinels))
			}
			for _, name := range []string{"redis-node.conf", "redis-replica-node.conf", "sentinel-1.conf", "sentinel-2.conf", "sentinel-3.conf"} {
				f, ok := FindFile(files, name)
				if !ok || !f.Secret || !strings.Contains(string(f.Content), "correct-horse-battery") {
					t.Errorf("%s: present %v secret %v", name, ok, f.Secret)
				}
			}
			rep, _ := FindFile(files, "redis-replica-node.conf")
			if strings.Contains(string(rep.Content), "\ninclude ") || strings.Count(string(rep.Content), "\nuser admin on ") != 1 || strings.Count(string(rep.Content), "\nport ") != 1 {
				t.Errorf("replica conf must hold redis.conf's settings once, not include them:\n%s", rep.Content)
			}
			for _, want := range []string{"replicaof redis 6379", "masteruser admin", "maxmemory-policy noeviction", "masterauth correct-horse-battery", "replica-announce-ip redis-replica"} {
				if !strings.Contains(string(rep.Content), want) {
					t.Errorf("replica conf lacks %q", want)
				}
			}
			prim, _ := FindFile(files, "redis-node.conf")
			if strings.Contains(string(prim.Content), "\nreplicaof ") || !strings.Contains(string(prim.Content), "masterauth") {
				t.Errorf("primary conf:\n%s", prim.Content)
			}
			s1, _ := FindFile(files, "sentinel-1.conf")
			if !strings.Contains(string(s1.Content), "sentinel monitor isl redis 6379 2\n") || !strings.Contains(string(s1.Content), "sentinel down-after-milliseconds isl 5000") {
				t.Errorf("sentinel conf:\n%s", s1.Content)
			}
			args := strings.Join(b.Backup.Args(), " ")
			if args != "backup --every 1h0m0s --keep 48 --dest /backups --metrics-addr :9121 --data redis-replica:6379=/redis/redis-replica --data redis:6379=/redis/redis" {
				t.Errorf("backup args: %s", args)
			}
		})
	}
	bad := loadStack(t, "dev")
	bad.RedisHA.Enabled = true
	bad.Backup.Interval = "30s"
	err := bad.Validate(Structural)
	for _, want := range []string{"isl:redisHA: dev runs a single Redis", "isl:backupInterval: at least 1m"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	pilot := loadStack(t, "pilot")
	pilot.RedisHA.Enabled, pilot.Backup.Interval = false, "0"
	err = pilot.Validate(Structural)
	for _, want := range []string{"isl:redisHA: the pilot runs Redis as primary + replica", "isl:backupInterval: backups are scheduled on pilot"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
}

// The rendered local files run: real redis-server primary and replica, three real Sentinels; the
// replica syncs, the Sentinels find each other and the replica, and agree on the primary.
func TestRenderedRedisHARuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five redis-server processes")
	}
	requireBinary(t, "redis-server")
	cli := requireBinary(t, "redis-cli")
	dir := t.TempDir()
	ports := []int{freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)}
	cfg := loadStack(t, "pilot")
	cfg.RedisHA.DownAfterMS, cfg.RedisHA.FailoverTimeoutMS = 1000, 5000
	b, err := Build(cfg, Placement{Local: true, Dir: dir, Upstreams: []string{"127.0.0.1:8101"}, RedisPort: ports[0],
		RedisReplicaPort: ports[1], SentinelPorts: ports[2:], BackupMetricsAddr: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct-horse-battery"
	files, err := b.Files(pw)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(f.Path, f.Content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var procs []*exec.Cmd
	t.Cleanup(func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	})
	startProc := func(args ...string) {
		c := exec.Command("redis-server", args...)
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, c)
	}
	for _, n := range b.RedisHA.Nodes {
		if err := os.MkdirAll(n.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		startProc(filepath.Join(dir, n.Name+"-node.conf"))
	}
	ask := func(port int, args ...string) string {
		out, _ := exec.Command(cli, append([]string{"-p", strconv.Itoa(port), "--user", RedisAdminUser, "--pass", pw, "--no-auth-warning"}, args...)...).CombinedOutput()
		return string(out)
	}
	askAsService := func(port int, args ...string) string {
		out, _ := exec.Command(cli, append([]string{"-p", strconv.Itoa(port), "--user", RedisServiceUser, "--pass", RedisServicePassword(pw), "--no-auth-warning"}, args...)...).CombinedOutput()
		return string(out)
	}
	// The Sentinels learn the replica from the primary's INFO, which they poll every 10 s: start them
	// once the replica is attached, so that the first poll already sees it.
	waitUntil(t, 10*time.Second, "replica attached", func() bool {
		return strings.Contains(ask(ports[1], "INFO", "replication"), "master_link_status:up")
	})
	for _, s := range b.RedisHA.Sentinels {
		if err := os.MkdirAll(s.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		startProc(filepath.Join(dir, s.Name+".conf"), "--sentinel")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rep := ask(ports[1], "INFO", "replication")
		ok := strings.Contains(rep, "master_link_status:up")
		for _, sp := range ports[2:] {
			m := strings.Fields(ask(sp, "SENTINEL", "MASTER", "isl"))
			i := slices.Index(m, "num-slaves")
			j := slices.Index(m, "num-other-sentinels")
			ok = ok && i >= 0 && j >= 0 && m[i+1] == "1" && m[j+1] == "2"
			addr := strings.Fields(ask(sp, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "isl"))
			ok = ok && len(addr) == 2 && addr[1] == strconv.Itoa(ports[0])
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("topology not formed:\nreplica: %s\nsentinel: %s", rep, ask(ports[2], "SENTINEL", "MASTER", "isl"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The service's ACL user finds the primary through a Sentinel and may WAIT on it, but can neither
	// reconfigure a Sentinel nor use the default user (off on nodes and Sentinels alike).
	if addr := strings.Fields(askAsService(ports[2], "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "isl")); len(addr) != 2 || addr[1] != strconv.Itoa(ports[0]) {
		t.Errorf("the service user cannot look up the primary: %v", addr)
	}
	if got := askAsService(ports[2], "SENTINEL", "FAILOVER", "isl"); !strings.Contains(got, "NOPERM") {
		t.Errorf("the service user may start a failover: %q", got)
	}
	if got := askAsService(ports[0], "WAIT", "1", "100"); strings.TrimSpace(got) != "1" {
		t.Errorf("WAIT as the service user: %q", got)
	}
	for _, p := range []int{ports[0], ports[2]} {
		out, _ := exec.Command(cli, "-p", strconv.Itoa(p), "-a", pw, "--no-auth-warning", "PING").CombinedOutput()
		if strings.Contains(string(out), "PONG") {
			t.Errorf("port %d: the default user is on", p)
		}
	}
	// Sentinel's CONFIG REWRITE (on every failover) writes the ACL users into the node's file; the
	// node must still start from it.
	for i, n := range b.RedisHA.Nodes {
		if got := ask(ports[i], "CONFIG", "REWRITE"); !strings.Contains(got, "OK") {
			t.Fatalf("%s CONFIG REWRITE: %q", n.Name, got)
		}
	}
	_ = procs[0].Process.Kill()
	_ = procs[0].Wait()
	procs = procs[1:]
	startProc(filepath.Join(dir, b.RedisHA.Nodes[0].Name+"-node.conf"))
	waitUntil(t, 10*time.Second, "primary restarted from its rewritten file", func() bool {
		return strings.Contains(ask(ports[0], "PING"), "PONG")
	})
	if !strings.Contains(ask(ports[0], "CONFIG", "GET", "appendonly"), "yes") || !strings.Contains(ask(ports[1], "CONFIG", "GET", "appendonly"), "yes") {
		t.Error("AOF is not on on both nodes")
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The backup runner's --data flags are what `isl backup` parses: DIR for a single Redis,
// HOST:PORT=DIR per node with HA.
func TestBackupArgs(t *testing.T) {
	single := BackupParams{Every: "1h0m0s", Keep: 3, Dest: "/backups", MetricsListen: ":9121", DataDirs: map[string]string{"": "/redis/redis"}}
	if got := strings.Join(single.Args(), " "); got != "backup --every 1h0m0s --keep 3 --dest /backups --metrics-addr :9121 --data /redis/redis" {
		t.Errorf("single: %s", got)
	}
}
