// Package benchcpu lets benchmarks report process CPU time per op next to wall time: on a shared
// machine wall time under load mostly measures the scheduler, CPU time measures the code.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Now is the process CPU time (user + system); 0 where getrusage is unavailable.
func Now() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report records the CPU time spent since start over n ops as the metric cpu-ns/op.
func Report(b *testing.B, start time.Duration, n int) {
	if n > 0 {
		b.ReportMetric(float64(Now()-start)/float64(n), "cpu-ns/op")
	}
}
