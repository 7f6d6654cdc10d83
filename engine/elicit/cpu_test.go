package elicit

import (
	"testing"
	"time"

	"github.com/olumi/isl/engine/internal/benchcpu"
)

// cpuTimer reports process CPU time per op next to wall time (see benchcpu).
type cpuTimer struct{ start time.Duration }

func startCPU(b *testing.B) *cpuTimer { b.ResetTimer(); return &cpuTimer{start: benchcpu.Now()} }

func (c *cpuTimer) stop(b *testing.B) {
	b.StopTimer()
	benchcpu.Report(b, c.start, b.N)
}
