// Package heapfloor keeps the garbage collector from running on a tiny heap.
//
// With Go's default GOGC=100 the collector starts when the heap reaches twice what survived the
// last cycle, but at least 4 MB. An ISL replica keeps a few MB live (its state is in Redis) and
// allocates ~9 kB per causal/validate request, so at 10 000 requests/s it collected about 30 times
// a second: marking, sweeping, and shrinking the idle connections' stacks that the next request
// grows again. Raising the goal (GOGC=400 on a small heap) cut the server CPU per request by
// 19 % (validate) and 26 % (counterfactual) under isl-cpu (benchmarks/RESULTS.md); GOGC=400 did as
// well as 1 600, so the floor need not be large. A fixed higher GOGC would do the same for a small
// heap but multiply a large one: the embedded store can hold hundreds of MB of users, where GOGC
// stays at 100 here.
//
// The goal is max(2 × live heap, floor) but at most 5 × live (MaxPercent), set through debug.SetGCPercent from the live heap that
// runtime/metrics reports, polled often (app uses 100 ms) so that a heap that grows fast is back on
// GOGC=100 within a cycle or two. GOMEMLIMIT (the deployment sets it to 90 % of the container's memory)
// still bounds the heap: the collector runs earlier when the total nears it, whatever the percent.
package heapfloor

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Floor is the smallest heap goal Run keeps: 32 MB, well under any replica's memory limit.
const Floor = 32 << 20

// MaxPercent caps the percent: it applies to the live heap of the next cycle, not the one it was
// computed from, so a heap that grew meanwhile overshoots the floor by the percent's factor. At 400
// that is at most five times the live heap, and Go's minimum goal (4 MB × GOGC/100) is 16 MB.
const MaxPercent = 400

// Percent is the GOGC that puts the heap goal at max(2 × live, floor) for a live heap of live bytes,
// at most MaxPercent.
func Percent(live, floor uint64) int {
	if live == 0 || floor <= 2*live {
		return 100
	}
	return int(min(100*(floor-live)/live, MaxPercent))
}

// Run adjusts the collector's percent every interval until ctx ends, then restores the one it
// found. It does nothing when the operator set GOGC: that choice is theirs.
func Run(ctx context.Context, floor uint64, every time.Duration) {
	if os.Getenv("GOGC") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	cur := 100
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			// Changing the percent only when it moves by more than an eighth: the live heap
			// wobbles between cycles and each change recomputes the pacer's goal.
			if p := Percent(sample[0].Value.Uint64(), floor); p < cur-cur/8 || p > cur+cur/8 {
				debug.SetGCPercent(p)
				cur = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
