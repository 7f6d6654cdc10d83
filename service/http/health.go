package http

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/olumi/isl/service/isl"
)

type healthDependency struct {
	Status    string   `json:"status"` // connected | disconnected
	Backend   string   `json:"backend"`
	LatencyMS *float64 `json:"latency_ms"`
	// Replication is present when Redis runs with replicas behind Sentinel (or reports any).
	Replication *healthReplication `json:"replication,omitempty"`
}

type healthReplication struct {
	Primary         string `json:"primary"`
	Role            string `json:"role"`
	ReplicasOnline  int    `json:"replicas_online"`
	ReplicaLagBytes int64  `json:"replica_lag_bytes"`
}

type healthResponse struct {
	Status       string                      `json:"status"` // healthy | degraded
	Version      string                      `json:"version"`
	Timestamp    string                      `json:"timestamp"`
	Dependencies map[string]healthDependency `json:"dependencies"`
}

// healthTTL is how long one check of the store answers /health. /health is open and unlimited:
// pinging Redis on every call would let anyone turn probes into store load.
const healthTTL = time.Second

// healthTimeout bounds one check of the store.
const healthTimeout = 500 * time.Millisecond

// healthSnapshot is one check of the store, pre-rendered: the body is head + timestamp + tail
// (the timestamp is the only part that changes per call).
type healthSnapshot struct {
	at         time.Time
	head, tail []byte
}

// healthCache holds the last check. At most one request at a time re-checks (the others answer
// the previous check meanwhile); only the very first requests wait for a check.
type healthCache struct {
	kind  string
	store isl.Store
	repl  func() isl.Replication // nil without a Redis topology
	cur   atomic.Pointer[healthSnapshot]
	mu    sync.Mutex // held by the one re-checking request
}

func (c *healthCache) get(now time.Time) *healthSnapshot {
	s := c.cur.Load()
	if s != nil && now.Sub(s.at) < healthTTL {
		return s
	}
	if s != nil {
		if !c.mu.TryLock() {
			return s
		}
	} else {
		c.mu.Lock()
		if s = c.cur.Load(); s != nil {
			c.mu.Unlock()
			return s
		}
	}
	defer c.mu.Unlock()
	s = c.check()
	c.cur.Store(s)
	return s
}

// check pings the store (detached from any request: one client's cancellation must not be
// cached as an outage for everyone) and renders the body around the timestamp.
func (c *healthCache) check() *healthSnapshot {
	dep := healthDependency{Status: "connected", Backend: c.kind}
	if c.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
		start := time.Now()
		err := c.store.Ping(ctx)
		cancel()
		ms := float64(time.Since(start).Microseconds()) / 1000
		dep.LatencyMS = &ms
		if err != nil {
			dep.Status = "disconnected"
		}
	}
	if c.repl != nil {
		if r := c.repl(); r.Known {
			dep.Replication = &healthReplication{Primary: r.Primary, Role: r.Role, ReplicasOnline: r.ReplicasOnline, ReplicaLagBytes: r.LagBytes}
		}
	}
	status := "healthy"
	if dep.Status != "connected" {
		status = "degraded"
	}
	const mark = "\x00timestamp\x00"
	b, err := json.Marshal(healthResponse{Status: status, Version: isl.Version, Timestamp: mark,
		Dependencies: map[string]healthDependency{storeDependency(c.kind): dep}})
	if err != nil {
		panic("health: " + err.Error()) // fixed types: cannot happen
	}
	enc := []byte(`\u0000timestamp\u0000`) // how json.Marshal writes mark
	i := bytes.Index(b, enc)
	return &healthSnapshot{at: time.Now(), head: b[:i], tail: append(b[i+len(enc):], '\n')}
}

// handleHealth reports liveness plus the store's state as last checked (at most a second old). A
// degraded service still answers 200: stateless endpoints keep working, and a failing container
// healthcheck would only make things worse.
func (s *server) handleHealth() http.HandlerFunc {
	c := &healthCache{kind: s.kind, store: s.store, repl: s.repl}
	return func(w http.ResponseWriter, r *http.Request) {
		snap := c.get(time.Now())
		b := make([]byte, 0, len(snap.head)+len(snap.tail)+27)
		b = append(b, snap.head...)
		b = appendTimestamp(b, s.now().UTC())
		b = append(b, snap.tail...)
		w.Header()["Content-Type"] = jsonContentType
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	}
}

// storeDependency names the store in /health: "redis" when Redis is configured, otherwise "store"
// (backend "memory"), so that an embedded store is never reported as a connected Redis.
func storeDependency(kind string) string {
	if kind == "redis" {
		return "redis"
	}
	return "store"
}

// appendTimestamp appends t as AppendFormat(b, "2006-01-02T15:04:05.000000Z") does, digit by digit
// for years 0–9999: the layout interpreter was a sixth of GET /health's handler instructions.
func appendTimestamp(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	}
	hour, minute, sec := t.Clock()
	digits := func(b []byte, v, n int) []byte { // v in n digits, zero-padded
		start := len(b)
		for range n {
			b = append(b, '0')
		}
		for i := len(b) - 1; i >= start; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
		return b
	}
	b = digits(b, year, 4)
	b = append(b, '-')
	b = digits(b, int(month), 2)
	b = append(b, '-')
	b = digits(b, day, 2)
	b = append(b, 'T')
	b = digits(b, hour, 2)
	b = append(b, ':')
	b = digits(b, minute, 2)
	b = append(b, ':')
	b = digits(b, sec, 2)
	b = append(b, '.')
	b = digits(b, t.Nanosecond()/1000, 6)
	return append(b, 'Z')
}
