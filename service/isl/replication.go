package isl

// Replication is what the service knows about its Redis topology (primary + replicas behind
// Sentinel): /health and `isl diagnose` report it, the isl_redis_* replication series expose it.
type Replication struct {
	Primary        string // host:port of the primary (through Sentinel: as the Sentinels announce it)
	Role           string // what the primary says it is ("master"; anything else: a failover is under way)
	ReplicasOnline int    // replicas streaming from the primary: state=online, acknowledged within the last second
	LagBytes       int64  // master_repl_offset minus the lowest online replica's offset; 0 without replicas
	Known          bool   // false until the first successful INFO
}
