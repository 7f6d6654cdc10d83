package heapfloor

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		name        string
		live, floor uint64
		want        int
	}{
		{"nothing measured yet", 0, 32 * mb, 100},
		{"tiny heap: capped", 2 * mb, 32 * mb, MaxPercent},
		{"small heap: goal at the floor", 8 * mb, 32 * mb, 300},
		{"half the floor: default", 16 * mb, 32 * mb, 100},
		{"large heap: default", 700 * mb, 32 * mb, 100},
		{"just under half", 15 * mb, 32 * mb, 113},
		{"one byte live: capped", 1, 32 * mb, MaxPercent},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Percent(c.live, c.floor)
			if got != c.want {
				t.Fatalf("Percent(%d, %d) = %d, want %d", c.live, c.floor, got, c.want)
			}
			// The goal it gives is the floor (or twice the live heap when that is larger).
			if c.live > 0 && got < MaxPercent {
				goal := c.live + c.live*uint64(got)/100
				want := max(2*c.live, c.floor)
				if goal+c.live/100 < want || goal > want+c.live/100 {
					t.Fatalf("goal %d, want %d", goal, want)
				}
			}
		})
	}
}

func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Run raises the percent of this test binary's small heap to the cap, which the heap goal (from
// runtime/metrics) shows after a collection, and restores the percent it found.
func TestRunRaisesTheGoalAndRestores(t *testing.T) {
	t.Setenv("GOGC", "")
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	runtime.GC() // the live heap is measured at the end of a cycle
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, 256<<20, time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for gogc() != MaxPercent {
		if time.Now().After(deadline) {
			t.Fatal("percent never raised")
		}
		time.Sleep(time.Millisecond)
	}
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if goal, live := s[0].Value.Uint64(), s[1].Value.Uint64(); goal < 4*live || goal < 16<<20 {
		t.Fatalf("heap goal %d B for %d B live, want 5 × live and at least Go's 16 MB minimum at GOGC=400", goal, live)
	}
	cancel()
	<-done
	if got := gogc(); got != 100 {
		t.Fatalf("percent after Run = %d, want the 100 it found", got)
	}
}

// An operator's GOGC is left alone.
func TestRunLeavesAnExplicitGOGC(t *testing.T) {
	t.Setenv("GOGC", "50")
	prev := debug.SetGCPercent(50)
	defer debug.SetGCPercent(prev)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	Run(ctx, 256<<20, time.Millisecond)
	if got := gogc(); got != 50 {
		t.Fatalf("percent = %d, want the operator's 50", got)
	}
}
