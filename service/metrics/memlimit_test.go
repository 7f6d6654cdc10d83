package metrics

import (
	"math"
	"os"
	"testing"
	"testing/fstest"
)

const meminfo = "MemTotal:       16384000 kB\nMemFree:         1000 kB\n"

func TestMemoryLimit(t *testing.T) {
	machine := 16384000.0 * 1024
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	cases := []struct {
		name  string
		files fstest.MapFS
		want  float64
	}{
		{"v2 container limit", fstest.MapFS{
			"proc/self/cgroup": file("0::/\n"), "proc/meminfo": file(meminfo),
			"sys/fs/cgroup/memory.max": file("536870912\n"),
		}, 512 << 20},
		{"v2 unlimited: the machine", fstest.MapFS{
			"proc/self/cgroup": file("0::/user.slice/session-1.scope\n"), "proc/meminfo": file(meminfo),
			"sys/fs/cgroup/user.slice/session-1.scope/memory.max": file("max\n"),
			"sys/fs/cgroup/user.slice/memory.max":                 file("max\n"),
		}, machine},
		{"v2 parent tighter than the leaf", fstest.MapFS{
			"proc/self/cgroup": file("0::/a/b\n"), "proc/meminfo": file(meminfo),
			"sys/fs/cgroup/a/b/memory.max": file("2147483648\n"),
			"sys/fs/cgroup/a/memory.max":   file("1073741824\n"),
		}, 1 << 30},
		{"v1 container without cgroupns: host path absent, mount root is ours", fstest.MapFS{
			"proc/self/cgroup": file("12:pids:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n"), "proc/meminfo": file(meminfo),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("1073741824\n"),
		}, 1 << 30},
		{"v1 unlimited (largest page-aligned int64)", fstest.MapFS{
			"proc/self/cgroup": file("4:memory:/\n"), "proc/meminfo": file(meminfo),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("9223372036854771712\n"),
		}, machine},
		{"v1 controllers listed together", fstest.MapFS{
			"proc/self/cgroup": file("3:cpu,memory:/job\n"), "proc/meminfo": file(meminfo),
			"sys/fs/cgroup/memory/job/memory.limit_in_bytes": file("268435456\n"),
		}, 256 << 20},
		{"hybrid: v1 memory limit, v2 tree without memory files", fstest.MapFS{
			"proc/self/cgroup": file("4:memory:/svc\n0::/svc\n"), "proc/meminfo": file(meminfo),
			"sys/fs/cgroup/memory/svc/memory.limit_in_bytes": file("805306368\n"),
			"sys/fs/cgroup/unified/svc/cgroup.procs":         file("1\n"),
		}, 768 << 20},
		{"limit above the machine: the machine", fstest.MapFS{
			"proc/self/cgroup": file("0::/\n"), "proc/meminfo": file(meminfo),
			"sys/fs/cgroup/memory.max": file("99999999999999\n"),
		}, machine},
		{"no cgroup file: the machine", fstest.MapFS{"proc/meminfo": file(meminfo)}, machine},
		{"garbage limit ignored", fstest.MapFS{
			"proc/self/cgroup": file("0::/\n"), "proc/meminfo": file(meminfo),
			"sys/fs/cgroup/memory.max": file("lots\n"),
		}, machine},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MemoryLimit(tc.files)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("limit = %.0f, want %.0f", got, tc.want)
			}
		})
	}
	if _, err := MemoryLimit(fstest.MapFS{}); err == nil {
		t.Error("no /proc at all: want an error, not a made-up limit")
	}
}

// On the machine running the tests: a positive, finite limit no larger than the machine's memory.
func TestMemoryLimitHere(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("no /proc/meminfo (not Linux)")
	}
	got, err := MemoryLimit(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	total, err := memTotal(os.DirFS("/"))
	if err != nil {
		t.Fatal(err)
	}
	if !(got > 0) || math.IsInf(got, 0) || got > total {
		t.Errorf("limit %.0f, machine %.0f", got, total)
	}
	mfs, err := New().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "isl_memory_limit_bytes" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != got {
				t.Errorf("isl_memory_limit_bytes = %.0f, want %.0f", v, got)
			}
			return
		}
	}
	t.Error("isl_memory_limit_bytes not registered")
}
