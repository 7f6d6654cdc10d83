package redis

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/olumi/isl/service/internal/redistest"
	"github.com/olumi/isl/service/isl"
)

// The write guarantee: with a replica online a write is acknowledged only once the replica has it;
// a replica that does not confirm in time makes the write fail retryable (ErrNotReplicated, wrapped
// in isl.ErrUnavailable) without marking Redis down; with no replica online at all, writes are
// accepted on the primary alone; and a replica that comes back is waited for again.
func TestWriteWaitsForTheReplica(t *testing.T) {
	ha := redistest.StartHA(t, time.Minute) // no failover during this test
	ctx := context.Background()
	notReplicated := 0
	s := New(Options{SentinelAddrs: ha.SentinelAddrs(), MasterName: redistest.MasterName, Password: ha.Password,
		SentinelPassword: ha.Password, WaitReplicas: 1, WaitTimeout: 200 * time.Millisecond,
		OnNotReplicated: func() { notReplicated++ }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer s.Close()
	replica := ha.Nodes[1]

	if err := s.PutBeliefs(ctx, "u", []byte(`{"v":1}`)); err != nil {
		t.Fatalf("write with the replica online: %v", err)
	}
	// Acknowledged means on the replica already: read it there, without waiting.
	if got, err := replica.Do(ha.Password, "GET", userKey("u", "beliefs")); err != nil || !strings.Contains(got, `{"v":1}`) {
		t.Fatalf("acknowledged write not on the replica: %q %v", got, err)
	}

	replica.Pause()
	start := time.Now()
	err := s.PutBeliefs(ctx, "u", []byte(`{"v":2}`))
	took := time.Since(start)
	replica.Resume()
	if !errors.Is(err, ErrNotReplicated) || !errors.Is(err, isl.ErrUnavailable) {
		t.Fatalf("write the hung replica never confirmed: %v", err)
	}
	if took < 200*time.Millisecond || took > 2*time.Second || notReplicated != 1 || !s.Connected() {
		t.Fatalf("took %s, counted %d, connected %v", took, notReplicated, s.Connected())
	}

	replica.Kill()
	ha.WaitFor(5*time.Second, "replica gone from the primary", func() bool {
		info, err := ha.Nodes[0].Do(ha.Password, "INFO", "replication")
		return err == nil && strings.Contains(info, "connected_slaves:0")
	})
	if err := s.PutBeliefs(ctx, "u", []byte(`{"v":3}`)); err != nil {
		t.Fatalf("write with no replica online: %v", err)
	}
	if err := replica.Start(); err != nil {
		t.Fatal(err)
	}
	// In sync on both ends: the replica's link is up and the primary counts it online (until it
	// does, a write has no replica to wait for and is accepted at once, as above).
	ha.WaitFor(10*time.Second, "replica back in sync", func() bool {
		info, err := replica.Do(ha.Password, "INFO", "replication")
		pinfo, perr := ha.Nodes[0].Do(ha.Password, "INFO", "replication")
		return err == nil && strings.Contains(info, "master_link_status:up") &&
			perr == nil && strings.Contains(pinfo, "connected_slaves:1") && strings.Contains(pinfo, "state=online")
	})
	// From the first write after the replica is back (no health tick needed), writes wait again.
	replica.Pause()
	err = s.PutBeliefs(ctx, "u", []byte(`{"v":4}`))
	replica.Resume()
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("after the replica came back, writes are waited for again: %v", err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	s.refreshReplication(rctx) // what Run does every HealthInterval
	cancel()
	if r := s.Replication(); r.ReplicasOnline != 1 || r.Primary != ha.Nodes[0].Addr || r.Role != "master" {
		t.Fatalf("replication view: %+v", r)
	}
}
