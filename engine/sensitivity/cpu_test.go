package sensitivity

import (
	"syscall"
	"time"
)

// cpuTime is the process CPU time (user + system): on the shared benchmark machine wall time
// mostly measures the scheduler, so benchmarks also report cpu-ns/op.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
