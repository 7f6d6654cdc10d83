package http

import (
	"context"
	"net/http"
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

// handleHealth reports liveness plus the store's state (R11). A degraded service still answers 200:
// stateless endpoints keep working, and a failing container healthcheck would only make things worse.
func (s *server) handleHealth() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		dep := healthDependency{Status: "connected", Backend: s.kind}
		if s.store != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 500*time.Millisecond)
			start := time.Now()
			err := s.store.Ping(ctx)
			cancel()
			ms := float64(time.Since(start).Microseconds()) / 1000
			dep.LatencyMS = &ms
			if err != nil {
				dep.Status = "disconnected"
			}
		}
		if s.repl != nil {
			if r := s.repl(); r.Known {
				dep.Replication = &healthReplication{Primary: r.Primary, Role: r.Role, ReplicasOnline: r.ReplicasOnline, ReplicaLagBytes: r.LagBytes}
			}
		}
		status := "healthy"
		if dep.Status != "connected" {
			status = "degraded"
		}
		ok(w, healthResponse{
			Status:       status,
			Version:      isl.Version,
			Timestamp:    s.now().UTC().Format("2006-01-02T15:04:05.000000Z"),
			Dependencies: map[string]healthDependency{s.storeDependency(): dep},
		})
	}
}

// storeDependency names the store in /health: "redis" when Redis is configured, otherwise "store"
// (backend "memory"), so that an embedded store is never reported as a connected Redis.
func (s *server) storeDependency() string {
	if s.kind == "redis" {
		return "redis"
	}
	return "store"
}
