package metrics

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// memoryLimitDesc is the memory the kernel lets this process use: the tightest cgroup limit on its
// path (cgroup v2 memory.max, v1 memory.limit_in_bytes), or the machine's memory without one. The
// memory alert divides resident memory by it, so it judges each replica by the limit it actually
// runs under rather than by a configured value that may not be the one in force.
var memoryLimitDesc = prometheus.NewDesc("isl_memory_limit_bytes",
	"Memory limit in force for this process: the tightest cgroup limit (memory.max or memory.limit_in_bytes), else the machine's memory.", nil, nil)

// memoryLimitCollector reads the limit at every scrape: `docker update --memory` changes it live.
type memoryLimitCollector struct{ root fs.FS }

// NewMemoryLimitCollector returns the isl_memory_limit_bytes collector reading the real /proc and
// /sys. A scrape where nothing can be read reports no sample rather than a made-up one.
func NewMemoryLimitCollector() prometheus.Collector { return memoryLimitCollector{root: os.DirFS("/")} }

func (c memoryLimitCollector) Describe(ch chan<- *prometheus.Desc) { ch <- memoryLimitDesc }

func (c memoryLimitCollector) Collect(ch chan<- prometheus.Metric) {
	if v, err := MemoryLimit(c.root); err == nil {
		ch <- prometheus.MustNewConstMetric(memoryLimitDesc, prometheus.GaugeValue, v)
	}
}

// MemoryLimit returns the memory limit in bytes in force for the current process, reading
// proc/self/cgroup, the cgroup files under sys/fs/cgroup and proc/meminfo from root (the file
// system root; a directory of fixtures in tests). Limits are hierarchical, so every level from the
// process's cgroup up to the root counts, and the smallest wins; hybrid hosts mount both cgroup
// versions, and both are read.
func MemoryLimit(root fs.FS) (float64, error) {
	limit := math.Inf(1)
	if total, err := memTotal(root); err == nil {
		limit = total
	}
	cg, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil && math.IsInf(limit, 1) {
		return 0, fmt.Errorf("read memory limit: %w", err)
	}
	for _, line := range strings.Split(string(cg), "\n") {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "": // cgroup v2 (unified)
			limit = math.Min(limit, walkLimit(root, "sys/fs/cgroup", parts[2], "memory.max"))
		case hasController(parts[1], "memory"): // cgroup v1
			limit = math.Min(limit, walkLimit(root, "sys/fs/cgroup/memory", parts[2], "memory.limit_in_bytes"))
		}
	}
	if math.IsInf(limit, 1) {
		return 0, errors.New("read memory limit: no cgroup limit and no MemTotal in proc/meminfo")
	}
	return limit, nil
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// walkLimit returns the smallest limit in file from the cgroup dir up to the mount root, +Inf if
// none is set. Inside a container without its own cgroup namespace /proc/self/cgroup names the
// host's path, which does not exist in the container's mount: then only the levels that exist
// count, and the mount root is the container's own cgroup.
func walkLimit(root fs.FS, mount, dir, file string) float64 {
	limit := math.Inf(1)
	dir = path.Clean("/" + dir)
	for {
		if v, ok := readLimit(root, path.Join(mount, dir, file)); ok {
			limit = math.Min(limit, v)
		}
		if dir == "/" {
			return limit
		}
		dir = path.Dir(dir)
	}
}

// readLimit parses one limit file: a byte count, or "max" (v2) for none. cgroup v1 spells "none"
// as the largest page-aligned int64, which is larger than any machine, so min() discards it.
func readLimit(root fs.FS, name string) (float64, bool) {
	b, err := fs.ReadFile(root, strings.TrimPrefix(name, "/"))
	if err != nil {
		return 0, false
	}
	s := string(bytes.TrimSpace(b))
	if s == "max" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v == 0 {
		return 0, false
	}
	return float64(v), true
}

func memTotal(root fs.FS) (float64, error) {
	f, err := root.Open("proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse MemTotal: %w", err)
			}
			return float64(kb) * 1024, nil
		}
	}
	return 0, errors.New("no MemTotal in proc/meminfo")
}
