package redis

import (
	"testing"

	"github.com/olumi/isl/service/isl"
)

func TestParseReplication(t *testing.T) {
	for _, tc := range []struct {
		name, info string
		want       isl.Replication
	}{
		{"primary with two replicas, one syncing", "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n" +
			"slave0:ip=10.0.0.3,port=6379,state=online,offset=900,lag=0\r\nslave1:ip=10.0.0.4,port=6379,state=wait_bgsave,offset=0,lag=0\r\n" +
			"master_repl_offset:1000\r\n", isl.Replication{Role: "master", ReplicasOnline: 1, LagBytes: 100, Known: true}},
		{"lag is against the slowest online replica", "role:master\r\nslave0:ip=a,port=1,state=online,offset=990,lag=0\r\n" +
			"slave1:ip=b,port=1,state=online,offset=700,lag=1\r\nmaster_repl_offset:1000\r\n", isl.Replication{Role: "master", ReplicasOnline: 2, LagBytes: 300, Known: true}},
		{"a replica still loading its resync acknowledges nothing: not online", "role:master\r\n" +
			"slave0:ip=a,port=1,state=online,offset=500,lag=3\r\nmaster_repl_offset:1000\r\n", isl.Replication{Role: "master", Known: true}},
		{"alone", "role:master\r\nconnected_slaves:0\r\nmaster_repl_offset:5\r\n", isl.Replication{Role: "master", Known: true}},
		{"a replica", "role:slave\r\nmaster_host:10.0.0.2\r\nslave_repl_offset:10\r\n", isl.Replication{Role: "slave", Known: true}},
		{"garbage", "hello\r\n", isl.Replication{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseReplication(tc.info); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
