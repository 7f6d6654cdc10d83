package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Backup holds the series of the scheduled Redis backup runner (`isl backup --every`), served on
// its own /metrics and scraped as Prometheus job isl-backup.
type Backup struct {
	Registry           *prometheus.Registry
	LastSuccess        prometheus.Gauge   // isl_backup_last_success_timestamp_seconds
	Failures           prometheus.Counter // isl_backup_failures_total
	LastSize           prometheus.Gauge   // isl_backup_last_size_bytes
	Duration           prometheus.Gauge   // isl_backup_last_duration_seconds
	Kept               prometheus.Gauge   // isl_backup_kept
	RunnerUp           prometheus.Gauge   // isl_backup_up
	Interval           prometheus.Gauge   // isl_backup_interval_seconds: the schedule, for "no fresh backup for 2 intervals"
	RetentionDeletions prometheus.Counter // isl_backup_deleted_total
}

// NewBackup registers the backup series on a fresh registry.
func NewBackup() *Backup {
	r := prometheus.NewRegistry()
	m := &Backup{Registry: r,
		LastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_backup_last_success_timestamp_seconds",
			Help: "Unix time of the last backup that was written and checked; 0 until the first."}),
		Failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "isl_backup_failures_total",
			Help: "Backups that failed (snapshot, copy or check)."}),
		LastSize: prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_backup_last_size_bytes",
			Help: "Bytes of the last successful backup (RDB plus AOF files)."}),
		Duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_backup_last_duration_seconds",
			Help: "How long the last successful backup took."}),
		Kept: prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_backup_kept",
			Help: "Backups in the backup directory after retention."}),
		RunnerUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_backup_up", Help: "1 while the backup runner runs."}),
		Interval: prometheus.NewGauge(prometheus.GaugeOpts{Name: "isl_backup_interval_seconds",
			Help: "The runner's backup interval (isl:backupInterval), so that an alert can say \"no fresh backup for two intervals\"."}),
		RetentionDeletions: prometheus.NewCounter(prometheus.CounterOpts{Name: "isl_backup_deleted_total",
			Help: "Backups deleted by retention (isl:backupRetention)."}),
	}
	r.MustRegister(m.LastSuccess, m.Failures, m.LastSize, m.Duration, m.Kept, m.RunnerUp, m.Interval, m.RetentionDeletions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
