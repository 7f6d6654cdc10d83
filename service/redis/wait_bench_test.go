package redis

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/olumi/isl/service/internal/redistest"
)

// BenchmarkPutBeliefs measures what the write guarantee costs per write: the same primary with a
// replica, writes acknowledged by the primary alone (wait=0) or after the replica confirmed them
// (wait=1, WAIT on the pinned connection).
func BenchmarkPutBeliefs(b *testing.B) {
	ha := redistest.StartHA(b, time.Minute)
	doc := []byte(`{"beliefs":{"value_weights":{"a":{"type":"normal","parameters":{"mean":0.5,"std":0.3}}}}}`)
	for _, wait := range []int{0, 1} {
		b.Run(map[int]string{0: "wait=0", 1: "wait=1"}[wait], func(b *testing.B) {
			s := New(Options{SentinelAddrs: ha.SentinelAddrs(), MasterName: redistest.MasterName, Password: ha.Password,
				SentinelPassword: ha.Password, WaitReplicas: wait, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			defer s.Close()
			ctx := context.Background()
			if err := s.PutBeliefs(ctx, "warm", doc); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.PutBeliefs(ctx, "bench", doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
