package metrics

import (
	"github.com/olumi/isl/service/isl"
	"github.com/prometheus/client_golang/prometheus"
)

// newBuildInfo is isl_build_info: constant 1, labelled with what was built (the Prometheus
// convention for versions), so a dashboard or alert can tell which release each replica runs.
func newBuildInfo() prometheus.Collector {
	b := isl.Build()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "isl_build_info",
		Help: "Constant 1, labelled with the version, commit, build date and Go version of the running binary."},
		[]string{"version", "commit", "build_date", "goversion"})
	g.WithLabelValues(b.Version, b.Commit, b.BuildDate, b.GoVersion).Set(1)
	return g
}
