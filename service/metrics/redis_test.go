package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The first observation names the primary without counting a change; a new address counts one
// change and moves the info series; an unknown address ("") changes nothing.
func TestReplicationObserve(t *testing.T) {
	m := NewReplication(prometheus.NewRegistry())
	for _, step := range []struct {
		prev, cur    string
		replicas     int
		lag          int64
		changes      float64
		infoSeries   int
		current      string
		replicasWant float64
		lagWant      float64
	}{
		{"", "10.0.0.2:6379", 1, 12, 0, 1, "10.0.0.2:6379", 1, 12},
		{"10.0.0.2:6379", "10.0.0.2:6379", 1, 0, 0, 1, "10.0.0.2:6379", 1, 0},
		{"10.0.0.2:6379", "10.0.0.3:6379", 0, 0, 1, 1, "10.0.0.3:6379", 0, 0},
		{"10.0.0.3:6379", "", 0, 0, 1, 1, "10.0.0.3:6379", 0, 0},
	} {
		m.Observe(step.prev, step.cur, step.replicas, step.lag)
		if got := testutil.ToFloat64(m.PrimaryChanges); got != step.changes {
			t.Fatalf("%+v: changes %v", step, got)
		}
		if got := testutil.CollectAndCount(m.PrimaryInfo); got != step.infoSeries {
			t.Fatalf("%+v: %d info series", step, got)
		}
		if got := testutil.ToFloat64(m.PrimaryInfo.WithLabelValues(step.current)); got != 1 {
			t.Fatalf("%+v: primary_info{%s} = %v", step, step.current, got)
		}
		if testutil.ToFloat64(m.ReplicasConnected) != step.replicasWant || testutil.ToFloat64(m.ReplicaLagBytes) != step.lagWant {
			t.Fatalf("%+v: gauges", step)
		}
	}
}
