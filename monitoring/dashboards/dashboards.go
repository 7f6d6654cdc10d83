// Package dashboards builds the Grafana dashboards as code, with Grafana's own Go SDK
// (grafana-foundation-sdk), from the same threshold constants as the alert rules
// (github.com/olumi/isl/monitoring/alerts). `make dashboards` writes them as JSON into
// monitoring/grafana/dashboards, which stacks provisions into Grafana; a test proves the committed
// JSON is what this package generates.
//
// Every panel query is plain PromQL (no Grafana variables), so the tests evaluate each one against
// a live Prometheus.
package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/olumi/isl/monitoring/alerts"
)

// DatasourceUID is the provisioned Prometheus datasource (grafana/provisioning/datasource.yml.tmpl).
const DatasourceUID = "isl-prometheus"

// API routes versus the service's own plumbing: container healthchecks and Prometheus' scrapes hit
// /health and /metrics all the time and always answer 200, which would drown the API's rates.
const (
	apiOnly    = `job="isl", endpoint!~"/health|/metrics"`
	plumbing   = `job="isl", endpoint=~"/health|/metrics"`
	causal     = `job="isl", endpoint=~".*/causal/.*"`
	preference = `job="isl", endpoint=~".*/(preferences|teaching)/.*"`
	analysis   = `job="isl", endpoint=~".*/(validation|team|analysis)/.*"`
)

var ds = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(DatasourceUID)}

func query(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).LegendFormat(legend).Datasource(ds)
}

// steps is a threshold ladder: base colour, then value → colour.
func steps(base string, more ...any) *dashboard.ThresholdsConfigBuilder {
	s := []dashboard.Threshold{{Value: nil, Color: base}}
	for i := 0; i+1 < len(more); i += 2 {
		v := toFloat(more[i])
		s = append(s, dashboard.Threshold{Value: &v, Color: more[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic(fmt.Sprintf("threshold %v is not a number", v))
}

// alertLine is the threshold ladder of a panel whose alert fires above limit: green below, red
// from the limit up, drawn on the graph as a dashed line.
func alertLine(limit any) *dashboard.ThresholdsConfigBuilder { return steps("green", limit, "red") }

func graph(title, unit string, w, h uint32, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Unit(unit).Span(w).Height(h).Datasource(ds).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone))
	for _, t := range targets {
		p.WithTarget(t)
	}
	return p
}

// withAlert draws an alert threshold on a graph.
func withAlert(p *timeseries.PanelBuilder, limit any) *timeseries.PanelBuilder {
	return p.Thresholds(alertLine(limit)).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

// updown is a red/green stat: each series is 0 (red, off) or 1 (green, on); no data is red too.
func updown(title, expr, legend, on, off, none string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Span(6).Height(5).Datasource(ds).
		WithTarget(query("A", expr, legend)).
		ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeValueAndName).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Thresholds(steps("red", 1, "green")).
		Mappings([]dashboard.ValueMapping{
			{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
				"0": {Text: cog.ToPtr(off), Color: cog.ToPtr("red"), Index: cog.ToPtr[int32](0)},
				"1": {Text: cog.ToPtr(on), Color: cog.ToPtr("green"), Index: cog.ToPtr[int32](1)},
			}}},
			{SpecialValueMap: &dashboard.SpecialValueMap{Type: dashboard.MappingTypeSpecialValue, Options: dashboard.DashboardSpecialValueMapOptions{
				Match: dashboard.SpecialValueMatchNullAndNan, Result: dashboard.ValueMappingResult{Text: cog.ToPtr(none), Color: cog.ToPtr("red"), Index: cog.ToPtr[int32](2)},
			}}},
		})
}

func p95(sel string) string {
	return fmt.Sprintf(`histogram_quantile(0.95, sum by (le, endpoint) (rate(isl_http_request_duration_seconds_bucket{%s}[5m])))`, sel)
}

// Overview is the ISL overview dashboard.
func Overview() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("ISL overview").Uid("isl-overview").Tags([]string{"isl"}).
		Timezone(common.TimeZoneUtc).Refresh("30s").Time("now-1h", "now").Editable().Readonly().
		WithRow(dashboard.NewRowBuilder("Health"))

	// Health: red/green at a glance.
	b.WithPanel(updown(alerts.PanelReplicasUp, `up{job="isl"}`, "{{instance}}", "up", "down", "no data"))
	b.WithPanel(updown(alerts.PanelRedis, `isl_redis_connected{job="isl"}`, "{{instance}}", "connected", "lost", "no data"))
	b.WithPanel(updown("Redis primary role", `max by (address) (isl_redis_primary_info{job="isl"})`, "{{address}}", "primary", "not primary", "no primary"))
	b.WithPanel(updown("Redis replicas connected", `min by (job) (clamp_max(isl_redis_replicas_connected{job="isl"}, 1))`, "replica", "connected", "none", "no data"))

	// The API: requests to the API routes, apart from healthchecks and scrapes.
	b.WithRow(dashboard.NewRowBuilder("API (routes under the API prefix; /health and /metrics apart)"))
	b.WithPanel(graph("Request rate by API route", "reqps", 12, 8,
		query("A", fmt.Sprintf(`sum by (endpoint) (rate(isl_http_requests_total{%s}[1m]))`, apiOnly), "{{endpoint}}")))
	b.WithPanel(withAlert(graph(alerts.PanelErrorRate, "percentunit", 12, 8,
		query("A", fmt.Sprintf(`sum(rate(isl_http_requests_total{%s, status=~"5.."}[5m])) / sum(rate(isl_http_requests_total{%s}[5m]))`, apiOnly, apiOnly), "5xx"),
		query("B", fmt.Sprintf(`sum(rate(isl_http_requests_total{%s, status=~"4.."}[5m])) / sum(rate(isl_http_requests_total{%s}[5m]))`, apiOnly, apiOnly), "4xx")),
		alerts.ErrorRatio))
	b.WithPanel(withAlert(graph(alerts.PanelLatencyCausal, "s", 8, 8, query("A", p95(causal), "{{endpoint}}")), alerts.LatencyCausal))
	b.WithPanel(withAlert(graph(alerts.PanelLatencyPref, "s", 8, 8, query("A", p95(preference), "{{endpoint}}")), alerts.LatencyPreference))
	b.WithPanel(withAlert(graph(alerts.PanelLatencyAnal, "s", 8, 8, query("A", p95(analysis), "{{endpoint}}")), alerts.LatencyAnalysis))
	b.WithPanel(graph("Latency P50 and P99 by API route", "s", 12, 8,
		query("A", fmt.Sprintf(`histogram_quantile(0.5, sum by (le, endpoint) (rate(isl_http_request_duration_seconds_bucket{%s}[5m])))`, apiOnly), "P50 {{endpoint}}"),
		query("B", fmt.Sprintf(`histogram_quantile(0.99, sum by (le, endpoint) (rate(isl_http_request_duration_seconds_bucket{%s}[5m])))`, apiOnly), "P99 {{endpoint}}")))
	b.WithPanel(graph("Errors by API route and status", "reqps", 12, 8,
		query("A", fmt.Sprintf(`sum by (endpoint, error_code) (rate(isl_http_errors_total{%s}[5m]))`, apiOnly), "{{endpoint}} {{error_code}}")))
	b.WithPanel(withAlert(graph(alerts.PanelAuthFailures, "reqps", 12, 8,
		// or vector(0): no refusals is a rate of zero, not a gap.
		query("A", `sum(rate(isl_http_requests_total{job="isl", status=~"401|403"}[5m])) or vector(0)`, "401/403")), alerts.AuthFailuresPerSecond))
	b.WithPanel(withAlert(graph(alerts.PanelActive, "none", 12, 8,
		query("A", `sum by (instance) (isl_active_requests{job="isl"})`, "{{instance}}")), alerts.ActiveRequests))
	b.WithPanel(graph("Health checks and scrapes", "reqps", 12, 8,
		query("A", fmt.Sprintf(`sum by (endpoint) (rate(isl_http_requests_total{%s}[1m]))`, plumbing), "{{endpoint}}")))

	// Resources.
	b.WithRow(dashboard.NewRowBuilder("Resources"))
	b.WithPanel(withAlert(graph(alerts.PanelMemoryShare, "percentunit", 12, 8,
		query("A", `process_resident_memory_bytes{job="isl"} / on (job, instance) isl_memory_limit_bytes{job="isl"}`, "{{instance}}")).Min(0).Max(1),
		alerts.MemoryShare))
	b.WithPanel(graph("Go memory", "bytes", 12, 8,
		query("A", `process_resident_memory_bytes{job="isl"}`, "resident {{instance}}"),
		query("B", `go_memstats_heap_alloc_bytes{job="isl"}`, "heap {{instance}}"),
		query("C", `isl_memory_limit_bytes{job="isl"}`, "limit {{instance}}")))
	b.WithPanel(graph("Goroutines", "none", 12, 8, query("A", `go_goroutines{job="isl"}`, "{{instance}}")))
	b.WithPanel(graph("GC rate", "ops", 12, 8, query("A", `rate(go_gc_duration_seconds_count{job="isl"}[5m])`, "{{instance}}")))

	// Redis: the store, its failovers and its replica.
	b.WithRow(dashboard.NewRowBuilder("Redis"))
	b.WithPanel(graph("Redis operations", "ops", 8, 8,
		query("A", `sum by (operation, status) (rate(isl_redis_operations_total{job="isl"}[5m]))`, "{{operation}} {{status}}")))
	b.WithPanel(withAlert(graph(alerts.PanelFailovers, "none", 8, 8,
		query("A", `max by (job) (increase(isl_redis_primary_changes_total{job="isl"}[5m]))`, "changes in 5m")), alerts.RedisPrimaryChanges))
	b.WithPanel(withAlert(graph(alerts.PanelReplicaLag, "bytes", 8, 8,
		query("A", `max by (job) (isl_redis_replica_lag_bytes{job="isl"})`, "lag")), alerts.RedisReplicaLagBytes))

	// Backups.
	b.WithRow(dashboard.NewRowBuilder("Backups"))
	b.WithPanel(withAlert(graph(alerts.PanelBackupAge, "none", 8, 8,
		query("A", `isl:backup_age:intervals{job="isl-backup"}`, "age")), alerts.BackupAgeIntervals))
	b.WithPanel(graph("Backup size", "bytes", 8, 8, query("A", `max by (job) (isl_backup_last_size_bytes{job="isl-backup"})`, "last backup")))
	b.WithPanel(graph("Backup failures", "none", 8, 8,
		query("A", `sum by (job) (increase(isl_backup_failures_total{job="isl-backup"}[1h]))`, "failures in 1h")))
	return b.Build()
}

// Files returns every dashboard as indented JSON, by file name.
func Files() (map[string][]byte, error) {
	d, err := Overview()
	if err != nil {
		return nil, fmt.Errorf("build the overview dashboard: %w", err)
	}
	j, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal the overview dashboard: %w", err)
	}
	return map[string][]byte{"isl-overview.json": append(j, '\n')}, nil
}
