package elicit

import (
	"syscall"
	"testing"
	"time"
)

// cpuTimer reports process CPU time per op next to wall time: the benchmark machine is shared, and
// under load wall time measures the scheduler rather than the code.
type cpuTimer struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU(b *testing.B) *cpuTimer { b.ResetTimer(); return &cpuTimer{start: cpuNow()} }

func (c *cpuTimer) stop(b *testing.B) {
	b.StopTimer()
	b.ReportMetric(float64(cpuNow()-c.start)/float64(b.N), "cpu-ns/op")
}
