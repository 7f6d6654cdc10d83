package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/olumi/isl/service/redis"
)

// RestoreOptions configure Restore.
type RestoreOptions struct {
	Target Target
	DB     int
	File   string // the RDB file of the backup to restore
	// Flush empties the target database first, so that it holds exactly the backup's keys; without
	// it the backup's keys overwrite their current values and other keys stay.
	Flush       bool
	RedisServer string // default "redis-server" (loads the backup into a throw-away instance)
	CheckRDB    string // default "redis-check-rdb"
	Log         *slog.Logger
}

// RestoreResult says what a restore did.
type RestoreResult struct {
	Primary  string // where the keys went
	Keys     int    // keys restored
	Skipped  int    // keys that expired while restoring
	Replicas int64  // replicas that confirmed the restored keys (WAIT)
}

// Restore checks the backup file, loads it into a temporary redis-server on a private unix socket
// and copies every key with its remaining TTL into the primary (RESTORE … REPLACE).
func Restore(ctx context.Context, o RestoreOptions) (RestoreResult, error) {
	if o.RedisServer == "" {
		o.RedisServer = "redis-server"
	}
	if o.CheckRDB == "" {
		o.CheckRDB = "redis-check-rdb"
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	var res RestoreResult
	if err := CheckRDB(ctx, o.CheckRDB, o.File); err != nil {
		return res, fmt.Errorf("restore %s: %w", o.File, err)
	}
	src, stop, err := loadTemporary(ctx, o.RedisServer, o.File, o.DB)
	if err != nil {
		return res, fmt.Errorf("restore %s: %w", o.File, err)
	}
	defer stop()
	addr, dst, err := primary(ctx, o.Target, time.Minute)
	if err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	defer dst.Close()
	res.Primary = addr
	// One connection for every write, so that the final WAIT covers them all.
	conn := dst.Conn()
	defer conn.Close()
	if err := conn.Select(ctx, o.DB).Err(); err != nil {
		return res, fmt.Errorf("restore: select db %d on %s: %w", o.DB, addr, err)
	}
	if o.Flush {
		if err := conn.FlushDB(ctx).Err(); err != nil {
			return res, fmt.Errorf("restore: flush %s: %w", addr, err)
		}
	}
	var cursor uint64
	for {
		keys, next, err := src.Scan(ctx, cursor, "*", 500).Result()
		if err != nil {
			return res, fmt.Errorf("restore: scan the backup: %w", err)
		}
		if err := copyKeys(ctx, src, conn, keys, &res); err != nil {
			return res, fmt.Errorf("restore into %s: %w", addr, err)
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	// Report how many of the primary's online replicas have the restored keys (no waiting without one).
	if info, err := conn.Info(ctx, "replication").Result(); err == nil {
		if online := redis.ParseReplication(info).ReplicasOnline; online > 0 {
			if n, err := conn.Wait(ctx, online, 5*time.Second).Result(); err == nil {
				res.Replicas = n
			}
		}
	}
	o.Log.Info("backup restored", "file", o.File, "primary", addr, "keys", res.Keys, "replicas_confirmed", res.Replicas)
	return res, nil
}

func copyKeys(ctx context.Context, src *goredis.Client, dst *goredis.Conn, keys []string, res *RestoreResult) error {
	if len(keys) == 0 {
		return nil
	}
	dumps := make([]*goredis.StringCmd, len(keys))
	ttls := make([]*goredis.DurationCmd, len(keys))
	if _, err := src.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			dumps[i], ttls[i] = p.Dump(ctx, k), p.PTTL(ctx, k)
		}
		return nil
	}); err != nil && !errors.Is(err, goredis.Nil) {
		return err
	}
	_, err := dst.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			payload, err := dumps[i].Result()
			ttl := ttls[i].Val()
			if errors.Is(err, goredis.Nil) || ttl == -2 || (ttl >= 0 && ttl < time.Millisecond) {
				res.Skipped++ // expired in the meantime
				continue
			}
			if err != nil {
				return err
			}
			if ttl < 0 { // -1: no expiry
				ttl = 0
			}
			p.RestoreReplace(ctx, k, ttl, payload)
			res.Keys++
		}
		return nil
	})
	return err
}

// loadTemporary starts redis-server on a copy of file, listening only on a unix socket in a private
// temporary directory, and waits until the data is loaded.
func loadTemporary(ctx context.Context, bin, file string, db int) (*goredis.Client, func(), error) {
	dir, err := os.MkdirTemp("", "isl-restore-")
	if err != nil {
		return nil, nil, err
	}
	if err := copyFile(file, filepath.Join(dir, "dump.rdb")); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700", "--dir", dir,
		"--dbfilename", "dump.rdb", "--appendonly", "no", "--save", "", "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("start %s: %w", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c := goredis.NewClient(&goredis.Options{Network: "unix", Addr: sock, DB: db, MaxRetries: -1, Protocol: 2, DisableIdentity: true})
	stop := func() {
		c.Close()
		_ = cmd.Process.Kill()
		<-done
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			stop()
			return nil, nil, fmt.Errorf("the temporary redis-server could not load the backup: %s", lastLines(strings.TrimSpace(string(log)), 4))
		default:
		}
		err := c.Ping(ctx).Err()
		if err == nil {
			return c, stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return nil, nil, fmt.Errorf("the temporary redis-server did not load the backup in time: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
