package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/olumi/isl/service/isl"
)

// Replication is the topology as this package observes it.
type Replication = isl.Replication

// ErrNotReplicated is returned (wrapped around isl.ErrUnavailable, so the client gets 503 retryable)
// when a write reached the primary but not the required number of replicas within WaitTimeout. The
// write may or may not survive a failover; a retry of the same request is safe because every ISL
// write is an idempotent overwrite or set insertion.
var ErrNotReplicated = errors.New("write not confirmed by a replica in time")

// write runs fn against Redis. With WaitReplicas > 0 it runs fn and then WAIT on one pinned
// connection (WAIT counts the replicas that acknowledged this connection's writes), so that a write
// acknowledged to the client is on the primary and on WaitReplicas replicas: losing the primary then
// loses no acknowledged write, because Sentinel promotes a replica that has it.
//
// When the primary has no online replica at all (the replica died, hangs or is loading a full
// resync, or this is the new primary right after a failover and the old one has not rejoined yet)
// waiting cannot succeed; the write is
// then accepted on the primary alone and the guarantee degrades to its AOF (appendfsync) until a
// replica is online again (each such write asks the primary first, so the guarantee is back from the
// first write after a replica is). That state is visible as isl_redis_replicas_connected 0 and alerts.
func (s *Store) write(ctx context.Context, fn func(c goredis.Cmdable) error) error {
	if s.waitReplicas == 0 {
		return fn(s.rdb)
	}
	conn := s.rdb.Conn()
	defer conn.Close()
	if err := fn(conn); err != nil {
		return err
	}
	if s.alone.Load() {
		// Degraded: accept unless a replica is online again (checked on this write's connection, so
		// that the guarantee is back from the first write after the replica is, not a health tick later).
		info, err := conn.Info(ctx, "replication").Result()
		if err != nil || ParseReplication(info).ReplicasOnline == 0 {
			return nil
		}
		s.setAlone(false)
	}
	n, err := conn.Wait(ctx, s.waitReplicas, s.waitTimeout).Result()
	if err != nil {
		return fmt.Errorf("wait for replicas: %w", err)
	}
	if int(n) >= s.waitReplicas {
		return nil
	}
	info, err := conn.Info(ctx, "replication").Result()
	if err == nil {
		if r := ParseReplication(info); r.ReplicasOnline == 0 {
			s.setAlone(true)
			return nil
		}
	}
	if s.onNotReplicated != nil {
		s.onNotReplicated()
	}
	return fmt.Errorf("%w (%d of %d replicas within %s)", ErrNotReplicated, n, s.waitReplicas, s.waitTimeout)
}

// setAlone records whether the primary runs without any online replica (writes are then not
// waited for); it logs the change once.
func (s *Store) setAlone(alone bool) {
	if s.alone.Swap(alone) == alone || s.waitReplicas == 0 {
		return
	}
	if alone {
		s.log.Warn("redis primary has no online replica: writes are acknowledged without replication until one is back")
	} else {
		s.log.Info("redis replica online again: writes wait for replication")
	}
}

// Replication returns the last observed topology.
func (s *Store) Replication() Replication {
	s.replMu.Lock()
	defer s.replMu.Unlock()
	return s.repl
}

// refreshReplication asks the Sentinels (when configured) for the primary's address and the
// primary for INFO replication, updates the cached Replication and reports it through
// OnReplication.
func (s *Store) refreshReplication(ctx context.Context) {
	r := Replication{Primary: s.addr}
	if len(s.sentinels) > 0 {
		addr, err := s.primaryFromSentinels(ctx)
		if err != nil {
			s.log.Debug("sentinels did not name the primary", "error", err.Error())
			r.Primary = s.Replication().Primary // keep the last known address
		} else {
			r.Primary = addr
		}
	}
	info, err := s.rdb.Info(ctx, "replication").Result()
	if err == nil {
		p := ParseReplication(info)
		r.Role, r.ReplicasOnline, r.LagBytes, r.Known = p.Role, p.ReplicasOnline, p.LagBytes, true
		s.setAlone(p.Role == "master" && p.ReplicasOnline == 0)
	}
	// When INFO fails (the primary is unreachable) nothing is known about its replicas: report none
	// rather than the last figures, which would claim a replication that cannot be checked.
	s.replMu.Lock()
	prev := s.repl
	s.repl = r
	s.replMu.Unlock()
	if prev.Primary != "" && r.Primary != "" && prev.Primary != r.Primary {
		s.log.Warn("redis primary changed", "from", prev.Primary, "to", r.Primary)
	}
	if s.onReplication != nil {
		s.onReplication(prev, r)
	}
}

// primaryFromSentinels asks each Sentinel in turn for the primary's address.
func (s *Store) primaryFromSentinels(ctx context.Context) (string, error) {
	var errs []error
	for _, sc := range s.sentinels {
		cctx, cancel := context.WithTimeout(ctx, s.pingWait)
		hp, err := sc.GetMasterAddrByName(cctx, s.masterName).Result()
		cancel()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1]), nil
		}
		if err == nil {
			err = fmt.Errorf("unexpected reply %v", hp)
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}

// maxAckAge is the age in seconds (INFO's lag) of a replica's last acknowledgement beyond which it
// does not count as online.
const maxAckAge = 1

// ParseReplication reads INFO replication: role, online (streaming) replicas and the byte lag of
// the slowest of them.
func ParseReplication(info string) Replication {
	var r Replication
	var offset int64
	lowest := int64(-1)
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch {
		case k == "role":
			r.Role = v
		case k == "master_repl_offset":
			offset, _ = strconv.ParseInt(v, 10, 64)
		case strings.HasPrefix(k, "slave") && strings.Contains(v, "state="):
			// slave0:ip=10.0.0.3,port=6379,state=online,offset=1234,lag=0
			fields := map[string]string{}
			for _, kv := range strings.Split(v, ",") {
				if a, b, ok := strings.Cut(kv, "="); ok {
					fields[a] = b
				}
			}
			// A replica counts when it streams: online, and its last acknowledgement is at most a
			// second old (replicas acknowledge every second). Right after a full resync the primary
			// already says online while the replica is still loading the snapshot and acknowledges
			// nothing; waiting for it then would only turn every write into a 503 until it is done.
			if fields["state"] != "online" {
				continue
			}
			if lag, err := strconv.Atoi(fields["lag"]); err == nil && lag > maxAckAge {
				continue
			}
			r.ReplicasOnline++
			if o, err := strconv.ParseInt(fields["offset"], 10, 64); err == nil && (lowest < 0 || o < lowest) {
				lowest = o
			}
		}
	}
	if lowest >= 0 && offset > lowest {
		r.LagBytes = offset - lowest
	}
	r.Known = r.Role != ""
	return r
}

// waitDefaults fills the write-guarantee options.
func waitDefaults(o *Options) {
	if o.WaitReplicas < 0 {
		o.WaitReplicas = 0
	}
	o.WaitTimeout = orDefault(o.WaitTimeout, time.Second)
}
