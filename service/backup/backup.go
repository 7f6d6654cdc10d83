// Package backup takes and restores Redis backups of the ISL preference state.
//
// A backup is a point-in-time snapshot of the primary: BGSAVE, then the fresh dump.rdb and the AOF
// files (Redis 7 multi-part AOF: base, increments, manifest) are copied from the primary's data
// directory into the backup directory, named by UTC time (isl-20261201T170000Z.rdb and the
// directory isl-20261201T170000Z.aof/), and checked with redis-check-rdb and redis-check-aof before
// they count. The newest Keep backups are kept. A restore checks the chosen RDB file, loads it into a
// throw-away redis-server on loopback and copies every key (DUMP/RESTORE with its remaining TTL)
// into the running primary, which replicates it as usual: no Redis restart, works through Sentinel.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/olumi/isl/service/metrics"
)

// Target says how to reach the Redis primary: directly (Addr) or through Sentinels.
type Target struct {
	Addr             string
	Sentinels        []string
	MasterName       string
	Username         string // the ACL user (BGSAVE and INFO: the operators' admin user); empty = default
	Password         string
	SentinelUsername string
	SentinelPassword string
}

// Options configure Snapshot and Run.
type Options struct {
	Target Target
	// DataDirs maps a Redis node address (as the Sentinels announce it, or Target.Addr) to its data
	// directory as this process sees it; the key "" matches any node (a single Redis).
	DataDirs map[string]string
	Dest     string // backup directory
	Keep     int    // newest backups kept (default 24)
	CheckRDB string // default "redis-check-rdb"
	CheckAOF string // default "redis-check-aof"
	Timeout  time.Duration
	Now      func() time.Time
	Log      *slog.Logger
	Metrics  *metrics.Backup // nil = none
}

func (o *Options) defaults() {
	if o.Keep <= 0 {
		o.Keep = 24
	}
	if o.CheckRDB == "" {
		o.CheckRDB = "redis-check-rdb"
	}
	if o.CheckAOF == "" {
		o.CheckAOF = "redis-check-aof"
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Backup is one backup in the backup directory.
type Backup struct {
	Name   string    // isl-20261201T170000Z
	Time   time.Time // when it was taken (UTC)
	RDB    string    // path of the RDB file
	AOFDir string    // path of the AOF copy; empty when the primary had AOF off
	Size   int64     // bytes of both
}

// ErrCorrupt marks a backup file that failed its check.
var ErrCorrupt = errors.New("backup file failed its integrity check")

const stamp = "20060102T150405Z"

// List returns the backups in dir, oldest first. Files that do not look like backups are ignored.
func List(dir string) ([]Backup, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var out []Backup
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".rdb")
		if !ok || e.IsDir() {
			continue
		}
		ts, ok := strings.CutPrefix(name, "isl-")
		if !ok {
			continue
		}
		t, err := time.Parse(stamp, ts)
		if err != nil {
			continue
		}
		b := Backup{Name: name, Time: t, RDB: filepath.Join(dir, e.Name())}
		b.Size = size(b.RDB)
		if st, err := os.Stat(filepath.Join(dir, name+".aof")); err == nil && st.IsDir() {
			b.AOFDir = filepath.Join(dir, name+".aof")
			b.Size += size(b.AOFDir)
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func size(p string) int64 {
	var n int64
	_ = filepath.Walk(p, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// primary resolves the primary's address and returns a client to it.
func primary(ctx context.Context, t Target, timeout time.Duration) (string, *goredis.Client, error) {
	addr := t.Addr
	if len(t.Sentinels) > 0 {
		var errs []error
		addr = ""
		for _, s := range t.Sentinels {
			sc := goredis.NewSentinelClient(&goredis.Options{Addr: s, Username: t.SentinelUsername, Password: t.SentinelPassword, DialTimeout: 5 * time.Second,
				MaxRetries: -1, Protocol: 2, DisableIdentity: true})
			hp, err := sc.GetMasterAddrByName(ctx, t.MasterName).Result()
			sc.Close()
			if err == nil && len(hp) == 2 {
				addr = net.JoinHostPort(hp[0], hp[1])
				break
			}
			errs = append(errs, fmt.Errorf("sentinel %s: %v", s, err))
		}
		if addr == "" {
			return "", nil, fmt.Errorf("find the primary %q: %w", t.MasterName, errors.Join(errs...))
		}
	}
	if addr == "" {
		return "", nil, errors.New("no Redis configured (REDIS_HOST or REDIS_SENTINELS)")
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr, Username: t.Username, Password: t.Password, DialTimeout: 5 * time.Second,
		ReadTimeout: timeout, WriteTimeout: 30 * time.Second, MaxRetries: -1, Protocol: 2, DisableIdentity: true})
	return addr, c, nil
}

// Snapshot takes one backup, checks it and applies retention. On failure nothing half-written
// remains under a backup name.
func Snapshot(ctx context.Context, o Options) (Backup, error) {
	o.defaults()
	start := o.Now()
	b, err := snapshot(ctx, o)
	if m := o.Metrics; m != nil {
		if err != nil {
			m.Failures.Inc()
		} else {
			m.LastSuccess.Set(float64(o.Now().Unix()))
			m.LastSize.Set(float64(b.Size))
			m.Duration.Set(o.Now().Sub(start).Seconds())
		}
	}
	if err != nil {
		o.Log.Error("backup failed", "error", err.Error())
		return b, err
	}
	o.Log.Info("backup written", "name", b.Name, "bytes", b.Size, "aof", b.AOFDir != "")
	kept, deleted, err := prune(o.Dest, o.Keep)
	if m := o.Metrics; m != nil {
		m.Kept.Set(float64(kept))
		m.RetentionDeletions.Add(float64(deleted))
	}
	if err != nil {
		o.Log.Warn("backup retention", "error", err.Error())
	}
	return b, nil
}

func snapshot(ctx context.Context, o Options) (Backup, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := os.MkdirAll(o.Dest, 0o700); err != nil {
		return Backup{}, fmt.Errorf("backup directory: %w", err)
	}
	addr, rdb, err := primary(ctx, o.Target, o.Timeout)
	if err != nil {
		return Backup{}, err
	}
	defer rdb.Close()
	dataDir, ok := o.DataDirs[addr]
	if !ok {
		dataDir, ok = o.DataDirs[""]
	}
	if !ok {
		return Backup{}, fmt.Errorf("no data directory known for the primary %s (give --data %s=DIR)", addr, addr)
	}
	if err := bgsave(ctx, rdb); err != nil {
		return Backup{}, fmt.Errorf("bgsave on %s: %w", addr, err)
	}
	cfg, err := rdb.ConfigGet(ctx, "*").Result()
	if err != nil {
		return Backup{}, fmt.Errorf("config get on %s: %w", addr, err)
	}
	now := o.Now().UTC()
	b := Backup{Name: "isl-" + now.Format(stamp), Time: now.Truncate(time.Second)}
	b.RDB = filepath.Join(o.Dest, b.Name+".rdb")
	if _, err := os.Stat(b.RDB); err == nil {
		return Backup{}, fmt.Errorf("backup %s already exists (two backups in one second)", b.Name)
	}
	tmp := b.RDB + ".tmp"
	defer os.Remove(tmp)
	if err := copyFile(filepath.Join(dataDir, cfg["dbfilename"]), tmp); err != nil {
		return Backup{}, fmt.Errorf("copy the RDB: %w", err)
	}
	if err := CheckRDB(ctx, o.CheckRDB, tmp); err != nil {
		return Backup{}, err
	}
	if cfg["appendonly"] == "yes" {
		aofTmp := filepath.Join(o.Dest, b.Name+".aof.tmp")
		defer os.RemoveAll(aofTmp)
		src := filepath.Join(dataDir, cfg["appenddirname"])
		manifest := cfg["appendfilename"] + ".manifest"
		// The last AOF increment keeps growing while it is copied: a copy cut inside a command fails
		// the check, so try again (the next copy ends at a later, usually clean, point).
		var cerr error
		for attempt := 0; attempt < 5; attempt++ {
			_ = os.RemoveAll(aofTmp)
			if cerr = copyDir(src, aofTmp); cerr == nil {
				if cerr = CheckAOF(ctx, o.CheckAOF, filepath.Join(aofTmp, manifest)); cerr == nil {
					break
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		if cerr != nil {
			return Backup{}, fmt.Errorf("copy the AOF: %w", cerr)
		}
		b.AOFDir = filepath.Join(o.Dest, b.Name+".aof")
		if err := os.Rename(aofTmp, b.AOFDir); err != nil {
			return Backup{}, err
		}
	}
	if err := os.Rename(tmp, b.RDB); err != nil {
		return Backup{}, err
	}
	b.Size = size(b.RDB)
	if b.AOFDir != "" {
		b.Size += size(b.AOFDir)
	}
	return b, nil
}

// bgsave starts a background save and waits until it has completed successfully.
func bgsave(ctx context.Context, rdb *goredis.Client) error {
	before, err := persistence(ctx, rdb)
	if err != nil {
		return err
	}
	if err := rdb.BgSave(ctx).Err(); err != nil && !strings.Contains(err.Error(), "in progress") {
		return err
	}
	for {
		p, err := persistence(ctx, rdb)
		if err != nil {
			return err
		}
		if p["rdb_bgsave_in_progress"] == "0" && p["rdb_saves"] != before["rdb_saves"] {
			if p["rdb_last_bgsave_status"] != "ok" {
				return fmt.Errorf("the snapshot failed (rdb_last_bgsave_status:%s; see the Redis log)", p["rdb_last_bgsave_status"])
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the snapshot: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func persistence(ctx context.Context, rdb *goredis.Client) (map[string]string, error) {
	info, err := rdb.Info(ctx, "persistence").Result()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			out[k] = v
		}
	}
	if _, ok := out["rdb_saves"]; !ok {
		return nil, errors.New("INFO persistence lacks rdb_saves (Redis ≥ 7.0 required)")
	}
	return out, nil
}

// CheckRDB runs redis-check-rdb on file; a file it rejects is ErrCorrupt, with its verdict.
func CheckRDB(ctx context.Context, bin, file string) error {
	return check(ctx, bin, file, "RDB looks OK")
}

// CheckAOF runs redis-check-aof on an AOF manifest (or single AOF file).
func CheckAOF(ctx context.Context, bin, file string) error {
	return check(ctx, bin, file, "is valid")
}

func check(ctx context.Context, bin, file, okText string) error {
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("check %s: %w", file, err)
	}
	out, err := exec.CommandContext(ctx, bin, file).CombinedOutput()
	text := strings.TrimSpace(string(out))
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return fmt.Errorf("run %s: %w", bin, err)
	}
	if err != nil || !strings.Contains(text, okText) {
		return fmt.Errorf("%w: %s: %s says: %s", ErrCorrupt, filepath.Base(file), filepath.Base(bin), verdict(text))
	}
	return nil
}

// verdict is the part of a redis-check-* report that says what is wrong: the lines after its
// "ERROR DETECTED" marker, or else its last lines.
func verdict(report string) string {
	lines := strings.Split(report, "\n")
	for i, l := range lines {
		if strings.Contains(l, "ERROR DETECTED") && i+1 < len(lines) {
			rest := lines[i+1:]
			if len(rest) > 2 {
				rest = rest[:2]
			}
			return strings.Join(rest, " | ")
		}
	}
	return lastLines(report, 3)
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// prune deletes all but the newest keep backups; it returns how many remain and were deleted.
func prune(dir string, keep int) (int, int, error) {
	bs, err := List(dir)
	if err != nil {
		return 0, 0, err
	}
	deleted := 0
	var errs []error
	for len(bs)-deleted > keep {
		b := bs[deleted]
		if err := os.Remove(b.RDB); err != nil {
			errs = append(errs, err)
		}
		if b.AOFDir != "" {
			if err := os.RemoveAll(b.AOFDir); err != nil {
				errs = append(errs, err)
			}
		}
		deleted++
	}
	return len(bs) - deleted, deleted, errors.Join(errs...)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Run takes a backup now and then every interval until ctx ends. Failures are logged and counted
// (isl_backup_failures_total), never fatal: the next interval tries again.
func Run(ctx context.Context, o Options, every time.Duration) {
	o.defaults()
	// A runner stopped mid-backup leaves its temporary copies: they never count, remove them.
	if tmp, err := filepath.Glob(filepath.Join(o.Dest, "*.tmp")); err == nil {
		for _, p := range tmp {
			_ = os.RemoveAll(p)
		}
	}
	if o.Metrics != nil {
		o.Metrics.RunnerUp.Set(1)
		o.Metrics.Interval.Set(every.Seconds())
		if bs, err := List(o.Dest); err == nil && len(bs) > 0 {
			// After a restart of the runner the last backup on disk is the last success.
			last := bs[len(bs)-1]
			o.Metrics.LastSuccess.Set(float64(last.Time.Unix()))
			o.Metrics.LastSize.Set(float64(last.Size))
			o.Metrics.Kept.Set(float64(len(bs)))
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_, _ = Snapshot(ctx, o)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ParseDataDirs parses --data values: "DIR" (any node) or "HOST:PORT=DIR".
func ParseDataDirs(vals []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vals {
		addr, dir, ok := strings.Cut(v, "=")
		if !ok {
			addr, dir = "", v
		} else if _, p, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("--data %q: want DIR or HOST:PORT=DIR", v)
		} else if _, err := strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("--data %q: bad port", v)
		}
		if dir == "" {
			return nil, fmt.Errorf("--data %q: empty directory", v)
		}
		out[addr] = dir
	}
	return out, nil
}
