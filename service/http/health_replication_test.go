package http

import (
	"net/http/httptest"
	"strings"
	"testing"

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
