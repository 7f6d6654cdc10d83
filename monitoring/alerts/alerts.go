// Package alerts holds every alert threshold of the deployment, in one place. The Prometheus rule
// template (rules/isl-alerts.yml.tmpl, rendered by stacks) and the generated Grafana dashboards
// (monitoring/dashboards) both read them from here, so a threshold drawn on a panel is the one that
// pages: a test proves every threshold below appears on its panel.
package alerts

// Thresholds. Latencies are seconds, shares are fractions of 1.
const (
	// LatencyCausal is the P95 SLO of the causal and counterfactual endpoints.
	LatencyCausal = 2.0
	// LatencyPreference is the P95 SLO of the preference and teaching endpoints.
	LatencyPreference = 1.5
	// LatencyAnalysis is the P95 SLO of the analysis endpoints (model validation, team alignment,
	// sensitivity analysis).
	LatencyAnalysis = 2.0
	// ErrorRatio is the share of API requests answered 5xx above which the service is failing.
	ErrorRatio = 0.05
	// AuthFailuresPerSecond is the rate of 401/403 answers, over all replicas, that counts as a
	// surge: a client with a revoked key, or someone guessing keys. Normal use is close to zero.
	AuthFailuresPerSecond = 1.0
	// ActiveRequests is the number of requests in flight on one replica that means it is saturated.
	ActiveRequests = 100
	// MemoryShare is the share of the container's memory limit (isl_memory_limit_bytes) above which
	// a replica is close to being OOM-killed.
	MemoryShare = 0.8
	// RedisPrimaryChanges: any change of the Redis primary is a failover. increase() extrapolates
	// over its window, so one change reads as roughly 1 (never below 0.5): half a change is the cut.
	RedisPrimaryChanges = 0.5
	// RedisReplicaLagBytes is how far (in replication offset) the Redis replica may trail the
	// primary before acknowledged writes are at risk.
	RedisReplicaLagBytes = 1 << 20
	// BackupAgeIntervals: no successful backup for this many backup intervals (isl:backupInterval)
	// means backups are broken.
	BackupAgeIntervals = 2
)

// Severities route alerts in Alertmanager: critical pages (PagerDuty, if configured), warning
// only notifies.
const (
	Critical = "critical"
	Warning  = "warning"
)

// Threshold is one alert threshold and the dashboard panel that draws it.
type Threshold struct {
	Alert string  // alert name in the rule file
	Value float64 // the threshold, in the panel's unit
	Panel string  // title of the panel that draws it
}

// Panel titles that carry thresholds (the dashboards use the same constants).
const (
	PanelReplicasUp    = "Replicas up"
	PanelRedis         = "Redis connected"
	PanelLatencyCausal = "Latency P95: causal and counterfactual"
	PanelLatencyPref   = "Latency P95: preferences and teaching"
	PanelLatencyAnal   = "Latency P95: validation, team, sensitivity"
	PanelErrorRate     = "API error rate"
	PanelAuthFailures  = "401/403 answers"
	PanelActive        = "Active requests"
	PanelMemoryShare   = "Memory (share of the container limit)"
	PanelFailovers     = "Redis primary changes"
	PanelReplicaLag    = "Redis replica lag"
	PanelBackupAge     = "Backup age (intervals)"
)

// All lists every alert threshold with its panel.
func All() []Threshold {
	return []Threshold{
		{"ISLServiceDown", 1, PanelReplicasUp},
		{"ISLRedisDisconnected", 1, PanelRedis},
		{"ISLHighLatencyCausal", LatencyCausal, PanelLatencyCausal},
		{"ISLHighLatencyPreference", LatencyPreference, PanelLatencyPref},
		{"ISLHighLatencyAnalysis", LatencyAnalysis, PanelLatencyAnal},
		{"ISLHighErrorRate", ErrorRatio, PanelErrorRate},
		{"ISLAuthFailureSurge", AuthFailuresPerSecond, PanelAuthFailures},
		{"ISLTooManyActiveRequests", ActiveRequests, PanelActive},
		{"ISLHighMemory", MemoryShare, PanelMemoryShare},
		{"ISLRedisFailover", RedisPrimaryChanges, PanelFailovers},
		{"ISLRedisReplicaLag", RedisReplicaLagBytes, PanelReplicaLag},
		{"ISLBackupMissing", BackupAgeIntervals, PanelBackupAge},
	}
}

// Values is the thresholds as the rule template sees them ([[.T.LatencyCausal]]).
type Values struct {
	LatencyCausal, LatencyPreference, LatencyAnalysis, ErrorRatio, AuthFailuresPerSecond float64
	ActiveRequests, RedisReplicaLagBytes, BackupAgeIntervals                             int
	MemoryShare, RedisPrimaryChanges                                                     float64
}

// Current returns the thresholds above.
func Current() Values {
	return Values{
		LatencyCausal: LatencyCausal, LatencyPreference: LatencyPreference, LatencyAnalysis: LatencyAnalysis,
		ErrorRatio: ErrorRatio, AuthFailuresPerSecond: AuthFailuresPerSecond, ActiveRequests: ActiveRequests,
		RedisReplicaLagBytes: RedisReplicaLagBytes, BackupAgeIntervals: BackupAgeIntervals,
		MemoryShare: MemoryShare, RedisPrimaryChanges: RedisPrimaryChanges,
	}
}
