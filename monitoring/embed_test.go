package monitoring

import (
	"strings"
	"testing"
)

func TestDashboardQueries(t *testing.T) {
	qs, err := DashboardQueries()
	if err != nil {
		t.Fatal(err)
	}
	// The dashboards must cover what the deployment issue asks for.
	want := map[string]string{
		"request rate":        "isl_http_requests_total",
		"latency":             "isl_http_request_duration_seconds_bucket",
		"active requests":     "isl_active_requests",
		"redis state":         "isl_redis_connected",
		"go memory":           "go_memstats_heap_alloc_bytes",
		"goroutines":          "go_goroutines",
		"error rate (5xx)":    `status=~"5.."`,
		"p95 latency":         "histogram_quantile(0.95",
		"resident memory":     "process_resident_memory_bytes",
		"replica up (scrape)": "up{",
	}
	for what, needle := range want {
		found := false
		for _, q := range qs {
			if strings.Contains(q.Expr, needle) {
				found = true
			}
		}
		if !found {
			t.Errorf("no dashboard query for %s (%q)", what, needle)
		}
	}
	for _, q := range qs {
		if strings.Contains(q.Expr, "$") {
			t.Errorf("panel %q uses a Grafana variable, not evaluable as plain PromQL: %s", q.Panel, q.Expr)
		}
		if !strings.Contains(q.Expr, `job="isl`) {
			t.Errorf("panel %q does not select the isl or isl-backup job: %s", q.Panel, q.Expr)
		}
	}
}

func TestTemplatesPresent(t *testing.T) {
	for _, n := range []string{"templates/nginx.conf.tmpl", "templates/redis.conf.tmpl",
		"templates/prometheus.yml.tmpl", "rules/isl-alerts.yml.tmpl", "grafana/provisioning/datasource.yml.tmpl",
		"grafana/provisioning/dashboards.yml.tmpl", "tests/isl-alerts.test.yml"} {
		if _, err := Template(n); err != nil {
			t.Error(err)
		}
	}
}
