package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/olumi/isl/service/internal/redistest"
	"github.com/olumi/isl/service/internal/storekey"
	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/metrics"
	"github.com/olumi/isl/service/redis"
)

func needTools(t *testing.T) {
	for _, b := range []string{"redis-check-rdb", "redis-check-aof", "redis-server"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not on PATH (required when CI=true)", b)
			}
			t.Skipf("%s not on PATH", b)
		}
	}
}

// clock hands out times one second apart, so that successive backups get distinct names.
func clock(start time.Time) func() time.Time {
	t := start
	return func() time.Time { t = t.Add(time.Second); return t }
}

// Backup → flush → restore: every user's beliefs, queries and answers are back, with their TTLs;
// retention keeps the newest backups; a corrupt backup file is rejected with a clear error.
func TestBackupFlushRestore(t *testing.T) {
	needTools(t)
	node, pw := redistest.StartPersistent(t)
	ctx := context.Background()
	store := redis.New(redis.Options{Addr: node.Addr, Password: pw, Logger: quiet})
	defer store.Close()
	users := []string{"alice", "bob", "carol"}
	for _, u := range users {
		if err := store.PutBeliefs(ctx, u, []byte(`{"beliefs":"of `+u+`"}`)); err != nil {
			t.Fatal(err)
		}
		if err := store.PutQuery(ctx, u, "query_000_x", []byte(`{"id":"query_000_x"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := store.RecordResponse(ctx, u, "query_000_x", []byte(`"A"`), time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	m := metrics.NewBackup()
	dest := t.TempDir()
	o := Options{Target: Target{Addr: node.Addr, Password: pw}, DataDirs: map[string]string{"": filepath.Dir(node.Conf)},
		Dest: dest, Keep: 2, Metrics: m, Log: quiet, Now: clock(time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC))}
	var last Backup
	for i := 0; i < 3; i++ {
		b, err := Snapshot(ctx, o)
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		last = b
	}
	if !strings.HasPrefix(last.Name, "isl-20261201T1700") || len(last.Name) != len("isl-20261201T170005Z") || last.AOFDir == "" || last.Size <= 0 {
		t.Fatalf("backup: %+v", last)
	}
	bs, err := List(dest)
	if err != nil || len(bs) != 2 || bs[1].Name != last.Name {
		t.Fatalf("retention keeps the newest 2: %+v %v", bs, err)
	}
	if n, _ := filepath.Glob(filepath.Join(dest, "*")); len(n) != 4 { // 2 × (rdb + aof dir), no temp files
		t.Fatalf("backup directory: %v", n)
	}
	if testutil.ToFloat64(m.LastSuccess) == 0 || testutil.ToFloat64(m.LastSize) != float64(last.Size) ||
		testutil.ToFloat64(m.Failures) != 0 || testutil.ToFloat64(m.Kept) != 2 || testutil.ToFloat64(m.RetentionDeletions) != 1 {
		t.Fatalf("metrics: success %v size %v failures %v kept %v", testutil.ToFloat64(m.LastSuccess), testutil.ToFloat64(m.LastSize),
			testutil.ToFloat64(m.Failures), testutil.ToFloat64(m.Kept))
	}

	// Disaster: everything is gone.
	if _, err := node.Do(pw, "FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := store.GetBeliefs(ctx, "alice"); found {
		t.Fatal("flush did not flush")
	}
	res, err := Restore(ctx, RestoreOptions{Target: Target{Addr: node.Addr, Password: pw}, File: last.RDB, Flush: true, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if res.Keys != 4*len(users) {
		t.Errorf("restored %d keys, want %d", res.Keys, 4*len(users))
	}
	for _, u := range users {
		doc, found, err := store.GetBeliefs(ctx, u)
		if err != nil || !found || string(doc) != `{"beliefs":"of `+u+`"}` {
			t.Errorf("%s: beliefs after restore: %q %v %v", u, doc, found, err)
		}
		if n, err := store.CompletedCount(ctx, u); err != nil || n != 1 {
			t.Errorf("%s: completed %d %v", u, n, err)
		}
		if _, found, _ := store.GetQuery(ctx, u, "query_000_x"); !found {
			t.Errorf("%s: query lost", u)
		}
	}
	ttl, err := store.Client().TTL(ctx, "isl:user:"+storeKeyUser("alice")+":queries").Result()
	if err != nil || ttl <= isl.QueryTTL-time.Minute || ttl > isl.QueryTTL {
		t.Errorf("TTL after restore: %s %v", ttl, err)
	}

	// Corrupt backups are refused before anything is touched.
	good, err := os.ReadFile(last.RDB)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0xff
	for name, content := range map[string][]byte{"flipped": flipped, "truncated": good[:len(good)/2], "not an rdb": []byte("hello world\n")} {
		t.Run("corrupt "+name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "isl-20261201T170000Z.rdb")
			if err := os.WriteFile(f, content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Restore(ctx, RestoreOptions{Target: Target{Addr: node.Addr, Password: pw}, File: f, Flush: true, Log: quiet})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "redis-check-rdb says") {
				t.Fatalf("want a clear integrity error, got %v", err)
			}
			if _, found, _ := store.GetBeliefs(ctx, "alice"); !found {
				t.Fatal("a rejected restore flushed the data")
			}
			var stderr bytes.Buffer
			look := func(k string) (string, bool) {
				v, ok := map[string]string{"REDIS_HOST": "127.0.0.1", "REDIS_PORT": strings.Split(node.Addr, ":")[1], "REDIS_PASSWORD": pw}[k]
				return v, ok
			}
			if code := RestoreMain(ctx, []string{"--from", f, "--flush"}, look, &bytes.Buffer{}, &stderr); code != 1 ||
				!strings.Contains(stderr.String(), "failed its integrity check") {
				t.Fatalf("isl restore: exit %d, %s", code, stderr.String())
			}
		})
	}
}

// A backup whose files cannot be read fails, counts the failure and leaves nothing behind.
func TestBackupFailureIsCounted(t *testing.T) {
	needTools(t)
	node, pw := redistest.StartPersistent(t)
	m := metrics.NewBackup()
	dest := t.TempDir()
	_, err := Snapshot(context.Background(), Options{Target: Target{Addr: node.Addr, Password: pw},
		DataDirs: map[string]string{"": t.TempDir()}, Dest: dest, Metrics: m, Log: quiet})
	if err == nil || !strings.Contains(err.Error(), "copy the RDB") {
		t.Fatalf("want a copy error, got %v", err)
	}
	if testutil.ToFloat64(m.Failures) != 1 || testutil.ToFloat64(m.LastSuccess) != 0 {
		t.Fatal("failure not counted")
	}
	if left, _ := os.ReadDir(dest); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

func TestParseDataDirs(t *testing.T) {
	got, err := ParseDataDirs([]string{"/data", "redis-replica:6379=/redis/replica"})
	if err != nil || got[""] != "/data" || got["redis-replica:6379"] != "/redis/replica" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"nohostport=/x", "h:p=/x", "h:1="} {
		if _, err := ParseDataDirs([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func storeKeyUser(u string) string { return storekey.User(u) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The runner serves the schedule with the backup series and, after a restart, reports the newest
// backup on disk as the last success; stale temporary copies are removed.
func TestRunReportsScheduleAndLastBackup(t *testing.T) {
	needTools(t)
	node, pw := redistest.StartPersistent(t)
	dest := t.TempDir()
	if err := os.WriteFile(filepath.Join(dest, "isl-20261201T160000Z.rdb.tmp"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := metrics.NewBackup()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Run(ctx, Options{Target: Target{Addr: node.Addr, Password: pw}, DataDirs: map[string]string{"": filepath.Dir(node.Conf)},
			Dest: dest, Keep: 5, Metrics: m, Log: quiet}, time.Hour)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(m.LastSuccess) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if testutil.ToFloat64(m.Interval) != 3600 || testutil.ToFloat64(m.RunnerUp) != 1 || testutil.ToFloat64(m.LastSuccess) == 0 {
		t.Fatalf("interval %v up %v last %v", testutil.ToFloat64(m.Interval), testutil.ToFloat64(m.RunnerUp), testutil.ToFloat64(m.LastSuccess))
	}
	if left, _ := filepath.Glob(filepath.Join(dest, "*.tmp")); len(left) != 0 {
		t.Fatalf("stale temporary copies kept: %v", left)
	}
	bs, _ := List(dest)
	m2 := metrics.NewBackup()
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2() // a restarted runner that is stopped at once still reports what is on disk
	Run(ctx2, Options{Target: Target{Addr: "127.0.0.1:1"}, DataDirs: map[string]string{"": "/nonexistent"}, Dest: dest, Metrics: m2, Log: quiet}, time.Hour)
	if len(bs) != 1 || testutil.ToFloat64(m2.LastSuccess) < float64(bs[0].Time.Unix()) {
		t.Fatalf("backups %v, last success after restart %v", bs, testutil.ToFloat64(m2.LastSuccess))
	}
}
