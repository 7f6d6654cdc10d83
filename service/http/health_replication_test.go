package http

import (
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/olumi/isl/service/isl"
	"github.com/olumi/isl/service/memory"
)

// With a replicated Redis, /health reports the primary, its role, the online replicas and the lag,
// in the documented schema; before the first observation it reports nothing of it.
func TestHealthReportsReplication(t *testing.T) {
	d := loadDoc(t)
	for _, tc := range []struct {
		repl isl.Replication
		want string
	}{
		{isl.Replication{Primary: "redis-replica:6379", Role: "master", ReplicasOnline: 1, LagBytes: 42, Known: true},
			`"replication":{"primary":"redis-replica:6379","role":"master","replicas_online":1,"replica_lag_bytes":42}`},
		{isl.Replication{}, ""},
	} {
		ts := httptest.NewServer(NewServer(Deps{Config: defaultTestConfig(), Store: memory.New(memory.Options{}), StoreKind: "redis",
			StoreReplication: func() isl.Replication { return tc.repl }}))
		s := &testServer{Server: ts, t: t}
		r := s.do("GET", "/health", nil)
		ts.Close()
		if tc.want != "" && !strings.Contains(string(r.Raw), tc.want) {
			t.Errorf("health %s lacks %s", r.Raw, tc.want)
		}
		if tc.want == "" && strings.Contains(string(r.Raw), "replication") {
			t.Errorf("health reports an unknown topology: %s", r.Raw)
		}
		d.validate(t, "GET", "/health", r)
	}
}

// appendTimestamp writes exactly what the layout it replaces writes, at the edges of every field
// and at random instants, and falls back to it outside years 0–9999.
func TestAppendTimestamp(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000Z"
	times := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 12, 1, 9, 5, 7, 1_000, time.UTC),
		time.Date(2026, 2, 28, 12, 0, 0, 999, time.UTC), // below a microsecond: truncated
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		times = append(times, time.Unix(rng.Int64N(253402300800), rng.Int64N(1e9)).UTC())
	}
	for _, tm := range times {
		if got, want := string(appendTimestamp([]byte("x"), tm)), "x"+tm.Format(layout); got != want {
			t.Fatalf("%v: %q, want %q", tm, got, want)
		}
	}
}
