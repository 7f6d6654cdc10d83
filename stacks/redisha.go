package stacks

import (
	"fmt"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Redis HA (pilot; optional on staging): one primary and one replica, both with AOF and the same
// ACL, and three Sentinels (quorum 2), each its own container or process. Each node's file is the
// shared redis.conf (rendered with the node's address and paths) followed by the replication
// settings, so that a setting of redis.conf (ACL users, maxmemory, persistence) applies to both
// nodes alike. It is one file, not an `include` of redis.conf: Sentinel's CONFIG REWRITE on a
// failover writes every ACL user into the node's own file, and users that an included file also
// declares make the next start fail ("Duplicate user found").
const (
	RedisReplicaAlias   = "redis-replica"
	SentinelAliasPrefix = "sentinel-" // sentinel-1 … sentinel-3
	SentinelPort        = 26379
	SentinelCount       = 3
	SentinelQuorum      = 2
	RedisMasterName     = "isl"
	RedisNodeConfPath   = "/data/redis-node.conf" // in the node's volume: Sentinel rewrites it on failover
	SentinelConfPath    = "/data/sentinel.conf"   // Sentinel insists on a writable file
	BackupAlias         = "isl-backup"
	BackupMetricsPort   = 9121
	BackupDir           = "/backups"
	BackupDataRoot      = "/redis" // the Redis volumes, read-only, as /redis/<alias>
	SentinelMemoryMB    = 64
	BackupMemoryMB      = 128
)

// RedisHAConfig configures the replicated Redis.
type RedisHAConfig struct {
	Enabled           bool
	DownAfterMS       int // Sentinel down-after-milliseconds: how long the primary may be silent
	FailoverTimeoutMS int
	WaitTimeoutMS     int // REDIS_WAIT_TIMEOUT_MS of the service
}

// BackupConfig configures the scheduled backups.
type BackupConfig struct {
	Interval  string // Prometheus duration ("1h", "1d"); "0" = no scheduled backups
	Retention int    // backups kept
}

// Every is the interval as a duration (0 when off).
func (b BackupConfig) Every() time.Duration {
	d, _ := ParseInterval(b.Interval)
	return d
}

func init() {
	settings = append(settings,
		setting{"isl:redisHA", boolInto(func(c *Config) *bool { return &c.RedisHA.Enabled }),
			"Redis primary + replica with three Sentinels (quorum 2) and automatic failover"},
		setting{"isl:sentinelDownAfterMs", intInto(func(c *Config) *int { return &c.RedisHA.DownAfterMS }),
			"Sentinel down-after-milliseconds: silence of the primary before a failover starts"},
		setting{"isl:sentinelFailoverMs", intInto(func(c *Config) *int { return &c.RedisHA.FailoverTimeoutMS }),
			"Sentinel failover-timeout"},
		setting{"isl:redisWaitTimeoutMs", intInto(func(c *Config) *int { return &c.RedisHA.WaitTimeoutMS }),
			"with isl:redisHA: how long a write waits for the replica's confirmation before answering 503 retryable"},
		setting{"isl:backupInterval", parser{"string", func(c *Config, v string) error {
			if v != "0" {
				if _, err := ParseInterval(v); err != nil {
					return fmt.Errorf("a duration like 1h or 1d, or 0 for none: %w", err)
				}
			}
			c.Backup.Interval = v
			return nil
		}}, "scheduled Redis backup (BGSAVE, RDB + AOF copied and checked) every this long (Prometheus duration like 6h); 0 = none"},
		setting{"isl:backupRetention", intInto(func(c *Config) *int { return &c.Backup.Retention }),
			"newest backups kept in the backup volume"},
	)
}

// validateHA checks the Redis HA and backup settings.
func (c Config) validateHA(bad func(key, format string, a ...any)) {
	h := c.RedisHA
	if h.Enabled && c.Tier == Dev {
		bad("isl:redisHA", "dev runs a single Redis (set it on staging or pilot)")
	}
	if c.Tier == Pilot && !h.Enabled {
		bad("isl:redisHA", "the pilot runs Redis as primary + replica with Sentinel (got false)")
	}
	if h.DownAfterMS < 100 || h.DownAfterMS > 600000 {
		bad("isl:sentinelDownAfterMs", "between 100 and 600000 (got %d)", h.DownAfterMS)
	}
	if h.FailoverTimeoutMS < 2*h.DownAfterMS {
		bad("isl:sentinelFailoverMs", "at least twice isl:sentinelDownAfterMs (got %d)", h.FailoverTimeoutMS)
	}
	if h.WaitTimeoutMS < 1 || h.WaitTimeoutMS > 60000 {
		bad("isl:redisWaitTimeoutMs", "between 1 and 60000 (got %d)", h.WaitTimeoutMS)
	}
	every := c.Backup.Every()
	switch {
	case c.Tier != Dev && every == 0:
		bad("isl:backupInterval", "backups are scheduled on %s: set an interval like 1h (got %q)", c.Tier, c.Backup.Interval)
	case every != 0 && every < time.Minute:
		bad("isl:backupInterval", "at least 1m (got %q)", c.Backup.Interval)
	}
	if every != 0 && (c.Backup.Retention < 1 || c.Backup.Retention > 10000) {
		bad("isl:backupRetention", "between 1 and 10000 backups (got %d)", c.Backup.Retention)
	}
}

// RedisNodeParams is one Redis node's own file: the shared redis.conf plus replication.
type RedisNodeParams struct {
	Origin     string
	Name       string      // alias / process name
	Shared     RedisParams // redis.conf's settings; its address, paths and password are this node's
	Bind       string
	Port       int
	Dir        string
	PidFile    string
	LogFile    string
	Announce   string // host the node announces to the primary and Sentinels
	ReplicaOf  string // "host port"; empty for the initial primary
	Password   string // masterauth (filled in at render time)
	MasterUser string // masteruser, when the nodes replicate as an ACL user; empty = the default user
}

// SentinelParams is one Sentinel's file.
type SentinelParams struct {
	Origin            string
	Name              string
	Bind              string
	Port              int
	Dir               string
	PidFile           string
	LogFile           string
	Announce          string // how the other Sentinels reach this one
	MasterName        string
	PrimaryHost       string
	PrimaryPort       int
	Quorum            int
	DownAfterMS       int
	FailoverTimeoutMS int
	// Password is the admin ACL user's (filled in at render time): the Sentinels authenticate as
	// admin to the Redis nodes and to each other, and operators use it on the Sentinels too.
	Password string
	// ClientUser/ClientPassword is the Sentinels' ACL user for the service (filled in at render
	// time): it may only look up the primary and follow failovers, not reconfigure the Sentinels.
	ClientUser     string
	ClientPassword string
}

// RedisHAParams is the whole replicated Redis of a bundle.
type RedisHAParams struct {
	MasterName string
	Nodes      []RedisNodeParams // primary first
	Sentinels  []SentinelParams
}

// SentinelAddrs is REDIS_SENTINELS.
func (h RedisHAParams) SentinelAddrs() []string {
	var out []string
	for _, s := range h.Sentinels {
		out = append(out, net.JoinHostPort(s.Announce, strconv.Itoa(s.Port)))
	}
	return out
}

// BackupParams is the scheduled backup runner (`isl backup --every … --keep …`).
type BackupParams struct {
	Every         string
	Keep          int
	Dest          string
	MetricsListen string
	MetricsAddr   string            // what Prometheus scrapes (job isl-backup)
	DataDirs      map[string]string // node address → data directory as the runner sees it
}

// Args is the runner's command line after the binary.
func (b BackupParams) Args() []string {
	args := []string{"backup", "--every", b.Every, "--keep", strconv.Itoa(b.Keep), "--dest", b.Dest, "--metrics-addr", b.MetricsListen}
	keys := make([]string, 0, len(b.DataDirs))
	for k := range b.DataDirs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" { // any node: a single Redis
			args = append(args, "--data", b.DataDirs[k])
		} else {
			args = append(args, "--data", k+"="+b.DataDirs[k])
		}
	}
	return args
}

// ServiceRedisEnv is the non-secret Redis part of the service's environment for a bundle: a single
// Redis by host and port, or the Sentinels (the passwords are secrets, added by the caller:
// REDIS_PASSWORD, and with HA REDIS_SENTINEL_PASSWORD, both RedisServicePassword of the admin one).
func (b Bundle) ServiceRedisEnv() []string {
	if b.RedisHA == nil {
		host := RedisAlias
		if b.Placement.Local {
			host = "127.0.0.1"
		}
		return []string{"REDIS_HOST=" + host, "REDIS_PORT=" + strconv.Itoa(b.Redis.Port), "REDIS_DB=0"}
	}
	return []string{"REDIS_SENTINELS=" + strings.Join(b.RedisHA.SentinelAddrs(), ","), "REDIS_MASTER_NAME=" + b.RedisHA.MasterName,
		"REDIS_SENTINEL_USERNAME=" + RedisServiceUser, "REDIS_DB=0", "REDIS_WAIT_REPLICAS=1", "REDIS_WAIT_TIMEOUT_MS=" + strconv.Itoa(b.Config.RedisHA.WaitTimeoutMS)}
}

// localHADefaults gives a local placement the default ports of the HA processes it did not name:
// the replica on the Redis port + 1, the Sentinels on 26379…26381, the backup runner's metrics on
// 127.0.0.1:9121 (`make pilot-local` picks free ports instead).
func localHADefaults(pl *Placement, redisPort int) error {
	if !pl.Local {
		return nil
	}
	if pl.RedisReplicaPort == 0 {
		pl.RedisReplicaPort = redisPort + 1
	}
	if len(pl.SentinelPorts) == 0 {
		for i := 0; i < SentinelCount; i++ {
			pl.SentinelPorts = append(pl.SentinelPorts, SentinelPort+i)
		}
	}
	if len(pl.SentinelPorts) != SentinelCount {
		return fmt.Errorf("build topology: local Redis HA needs %d Sentinel ports (got %d)", SentinelCount, len(pl.SentinelPorts))
	}
	if pl.BackupMetricsAddr == "" {
		pl.BackupMetricsAddr = "127.0.0.1:" + strconv.Itoa(BackupMetricsPort)
	}
	return nil
}

// buildHA fills the Redis HA and backup parameters of a bundle.
func buildHA(b *Bundle) {
	cfg, pl := b.Config, b.Placement
	origin := b.Redis.Origin
	if cfg.RedisHA.Enabled {
		h := &RedisHAParams{MasterName: RedisMasterName}
		primaryHost, primaryPort := RedisAlias, RedisPort
		if pl.Local {
			primaryHost, primaryPort = "127.0.0.1", b.Redis.Port
		}
		for i, name := range []string{RedisAlias, RedisReplicaAlias} {
			// Either node replicates as the admin ACL user (the default user is off).
			n := RedisNodeParams{Origin: origin, Name: name, Shared: b.Redis, Bind: b.Redis.Bind, Port: RedisPort, Dir: RedisDataPath,
				Announce: name, MasterUser: RedisAdminUser}
			if pl.Local {
				n.Port = b.Redis.Port
				if i == 1 {
					n.Port = pl.RedisReplicaPort
				}
				n.Announce, n.Dir = "127.0.0.1", path.Join(pl.Dir, name+"-data")
				n.PidFile, n.LogFile = path.Join(pl.Dir, name+".pid"), path.Join(pl.Dir, name+".log")
				if i == 0 { // the primary keeps the single-Redis paths of redis.conf
					n.Dir, n.PidFile, n.LogFile = b.Redis.Dir, b.Redis.PidFile, b.Redis.LogFile
				}
			}
			if i == 1 {
				n.ReplicaOf = primaryHost + " " + strconv.Itoa(primaryPort)
			}
			h.Nodes = append(h.Nodes, n)
		}
		for i := 0; i < SentinelCount; i++ {
			name := SentinelAliasPrefix + strconv.Itoa(i+1)
			s := SentinelParams{Origin: origin, Name: name, Bind: "0.0.0.0", Port: SentinelPort, Dir: RedisDataPath, Announce: name,
				MasterName: RedisMasterName, PrimaryHost: primaryHost, PrimaryPort: primaryPort, Quorum: SentinelQuorum,
				DownAfterMS: cfg.RedisHA.DownAfterMS, FailoverTimeoutMS: cfg.RedisHA.FailoverTimeoutMS}
			if pl.Local {
				s.Bind, s.Announce, s.Port = "127.0.0.1", "127.0.0.1", pl.SentinelPorts[i]
				s.Dir, s.PidFile, s.LogFile = path.Join(pl.Dir, name+"-data"), path.Join(pl.Dir, name+".pid"), path.Join(pl.Dir, name+".log")
			}
			h.Sentinels = append(h.Sentinels, s)
		}
		b.RedisHA = h
	}
	if every := cfg.Backup.Every(); every > 0 {
		bp := &BackupParams{Every: every.String(), Keep: cfg.Backup.Retention, Dest: BackupDir,
			MetricsListen: ":" + strconv.Itoa(BackupMetricsPort), MetricsAddr: net.JoinHostPort(BackupAlias, strconv.Itoa(BackupMetricsPort)),
			DataDirs: map[string]string{}}
		if pl.Local {
			bp.Dest, bp.MetricsListen, bp.MetricsAddr = path.Join(pl.Dir, "backups"), pl.BackupMetricsAddr, pl.BackupMetricsAddr
		}
		if b.RedisHA != nil {
			for _, n := range b.RedisHA.Nodes {
				dir := path.Join(BackupDataRoot, n.Name)
				if pl.Local {
					dir = n.Dir
				}
				bp.DataDirs[net.JoinHostPort(n.Announce, strconv.Itoa(n.Port))] = dir
			}
		} else if pl.Local {
			bp.DataDirs[""] = b.Redis.Dir
		} else {
			bp.DataDirs[""] = path.Join(BackupDataRoot, RedisAlias)
		}
		b.Backup = bp
		b.Prometheus.BackupTargets = []string{bp.MetricsAddr}
	}
}

// RenderRedisNode renders one HA node's file (contains the password).
func RenderRedisNode(p RedisNodeParams) ([]byte, error) {
	if err := checkPassword(p.Password); err != nil {
		return nil, fmt.Errorf("render %s.conf: %w", p.Name, err)
	}
	if p.Port < 1 || p.Port > 65535 {
		return nil, fmt.Errorf("render %s.conf: bad port %d", p.Name, p.Port)
	}
	for what, v := range map[string]string{"name": p.Name, "bind": p.Bind, "dir": p.Dir, "announce": p.Announce} {
		if err := checkToken(what, v); err != nil {
			return nil, fmt.Errorf("render %s.conf: %w", p.Name, err)
		}
	}
	for what, v := range map[string]string{"pidfile": p.PidFile, "logfile": p.LogFile, "masteruser": p.MasterUser} {
		if v != "" {
			if err := checkToken(what, v); err != nil {
				return nil, fmt.Errorf("render %s.conf: %w", p.Name, err)
			}
		}
	}
	if p.ReplicaOf != "" {
		h, port, ok := strings.Cut(p.ReplicaOf, " ")
		if n, err := strconv.Atoi(port); !ok || err != nil || n < 1 || n > 65535 || checkToken("replicaof", h) != nil {
			return nil, fmt.Errorf("render %s.conf: bad replicaof %q", p.Name, p.ReplicaOf)
		}
	}
	shared := p.Shared
	shared.Bind, shared.Port, shared.Dir, shared.PidFile, shared.LogFile, shared.Password = p.Bind, p.Port, p.Dir, p.PidFile, p.LogFile, p.Password
	base, err := RenderRedis(shared)
	if err != nil {
		return nil, fmt.Errorf("render %s.conf: %w", p.Name, err)
	}
	repl, err := render(p.Name+".conf", "templates/redis-node.conf.tmpl", goDelims, p)
	if err != nil {
		return nil, err
	}
	return append(append(base, '\n'), repl...), nil
}

// RenderSentinel renders one Sentinel's file (contains the password).
func RenderSentinel(p SentinelParams) ([]byte, error) {
	for _, pw := range []string{p.Password, p.ClientPassword} {
		if err := checkPassword(pw); err != nil {
			return nil, fmt.Errorf("render %s.conf: %w", p.Name, err)
		}
	}
	if p.Port < 1 || p.Port > 65535 || p.PrimaryPort < 1 || p.PrimaryPort > 65535 {
		return nil, fmt.Errorf("render %s.conf: bad port", p.Name)
	}
	if p.Quorum < 1 || p.DownAfterMS < 1 || p.FailoverTimeoutMS < 1 {
		return nil, fmt.Errorf("render %s.conf: quorum and timeouts must be positive", p.Name)
	}
	for what, v := range map[string]string{"name": p.Name, "bind": p.Bind, "dir": p.Dir, "announce": p.Announce,
		"master name": p.MasterName, "primary": p.PrimaryHost, "client user": p.ClientUser} {
		if err := checkToken(what, v); err != nil {
			return nil, fmt.Errorf("render %s.conf: %w", p.Name, err)
		}
	}
	for what, v := range map[string]string{"pidfile": p.PidFile, "logfile": p.LogFile} {
		if v != "" {
			if err := checkToken(what, v); err != nil {
				return nil, fmt.Errorf("render %s.conf: %w", p.Name, err)
			}
		}
	}
	return render(p.Name+".conf", "templates/sentinel.conf.tmpl", goDelims, p)
}

// HAFiles renders the nodes' and Sentinels' files (secret: they carry the password). Container
// paths: every node's file is RedisNodeConfPath and every Sentinel's SentinelConfPath, each in its
// own container; locally they are <dir>/<name>.conf.
func (b Bundle) HAFiles(redisPassword string) ([]File, error) {
	if b.RedisHA == nil {
		return nil, nil
	}
	var out []File
	add := func(name, containerPath string, content []byte) {
		p := containerPath
		if b.Placement.Local {
			p = path.Join(b.Placement.Dir, name)
		}
		out = append(out, File{Name: name, Path: p, Content: content, Secret: true, Mode: "0600"})
	}
	for _, n := range b.RedisHA.Nodes {
		n.Password = redisPassword
		c, err := RenderRedisNode(n)
		if err != nil {
			return nil, err
		}
		add(n.Name+"-node.conf", RedisNodeConfPath, c)
	}
	for _, s := range b.RedisHA.Sentinels {
		s.Password, s.ClientUser, s.ClientPassword = redisPassword, RedisServiceUser, RedisServicePassword(redisPassword)
		c, err := RenderSentinel(s)
		if err != nil {
			return nil, err
		}
		add(s.Name+".conf", SentinelConfPath, c)
	}
	return out, nil
}

func checkPassword(pw string) error {
	if len(pw) < 8 || !passwordRe.MatchString(pw) || strings.ContainsAny(pw, `"'\#`) {
		return fmt.Errorf("the Redis password must be ≥ 8 printable characters without spaces, quotes, backslashes or #")
	}
	return nil
}
