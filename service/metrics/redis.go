package metrics

import "github.com/prometheus/client_golang/prometheus"

// Replication holds the Redis topology series (primary + replica behind Sentinel). The alert rules
// and dashboards use exactly these names.
type Replication struct {
	PrimaryChanges    prometheus.Counter   // isl_redis_primary_changes_total
	ReplicasConnected prometheus.Gauge     // isl_redis_replicas_connected
	ReplicaLagBytes   prometheus.Gauge     // isl_redis_replica_lag_bytes
	PrimaryInfo       *prometheus.GaugeVec // isl_redis_primary_info{address}
	NotReplicated     prometheus.Counter   // isl_redis_writes_not_replicated_total
}

// NewReplication registers the replication series on r.
func NewReplication(r prometheus.Registerer) *Replication {
	m := &Replication{
		PrimaryChanges: prometheus.NewCounter(prometheus.CounterOpts{Name: "isl_redis_primary_changes_total",
			Help: "Times this replica saw the Redis primary's address change (a Sentinel failover)."}),
		ReplicasConnected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_redis_replicas_connected",
			Help: "Online replicas of the Redis primary (INFO replication)."}),
		ReplicaLagBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_redis_replica_lag_bytes",
			Help: "Primary master_repl_offset minus the lowest online replica offset."}),
		PrimaryInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "isl_redis_primary_info",
			Help: "1 for the address of the current Redis primary."}, []string{"address"}),
		NotReplicated: prometheus.NewCounter(prometheus.CounterOpts{Name: "isl_redis_writes_not_replicated_total",
			Help: "Writes answered 503 because no replica confirmed them within REDIS_WAIT_TIMEOUT_MS."}),
	}
	r.MustRegister(m.PrimaryChanges, m.ReplicasConnected, m.ReplicaLagBytes, m.PrimaryInfo, m.NotReplicated)
	return m
}

// Observe records one topology refresh: prev and cur primary addresses ("" = unknown), the
// online replicas and the lag.
func (m *Replication) Observe(prevPrimary, curPrimary string, replicas int, lagBytes int64) {
	if curPrimary != "" && prevPrimary != curPrimary {
		if prevPrimary != "" {
			m.PrimaryChanges.Inc()
			m.PrimaryInfo.DeleteLabelValues(prevPrimary)
		}
		m.PrimaryInfo.WithLabelValues(curPrimary).Set(1)
	}
	m.ReplicasConnected.Set(float64(replicas))
	m.ReplicaLagBytes.Set(float64(lagBytes))
}
