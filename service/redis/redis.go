// Package redis implements isl.Store on Redis (docs/api.md#state with ).
//
// Key layout, h = hex SHA-256(user id), q = query id (plain or "%"+hex SHA-256, see storekey.Query):
//
//	isl:user:{h}:beliefs     string      beliefs JSON           24 h, refreshed on every read hit (GETEX)
//	isl:user:{h}:query:{q}   string      issued query JSON      7 d
//	isl:user:{h}:queries     sorted set  answered q, score=unix 7 d from the last answer
//	isl:user:{h}:responses   list        {query_id,response,timestamp}   30 d from the last push, last 1 000 kept
//
// The handlers replace beliefs with SwapBeliefs (compare-and-set in one Lua script), so concurrent
// /preferences/update calls of one user on any number of instances never lose an answer.
//
// Every failure to talk to Redis is returned wrapping isl.ErrUnavailable (and the driver error), so
// the service answers 503 retryable. go-redis redials on every command; Run adds a health loop that
// tracks the connection state for the gauge and /health.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/olumi/isl/service/internal/storekey"
	"github.com/olumi/isl/service/isl"
)

// Options configures a Store. Zero values take the documented defaults.
type Options struct {
	Addr     string // host:port, default "localhost:6379"; ignored with SentinelAddrs
	Username string // REDIS_USERNAME: ACL user; empty = the default user
	Password string // REDIS_PASSWORD (docs/api.md#state); empty = no AUTH
	DB       int

	// SentinelAddrs (REDIS_SENTINELS) switches to go-redis' failover client: the primary named
	// MasterName is looked up through these Sentinels, and the client follows a failover
	// (+switch-master) by itself.
	SentinelAddrs    []string
	MasterName       string
	SentinelUsername string // the ACL user on the Sentinels; empty = their default user
	SentinelPassword string // that user's password on the Sentinels; empty = none
	// WaitReplicas (REDIS_WAIT_REPLICAS) replicas must confirm each write within WaitTimeout
	// (default 1 s) before it is acknowledged; otherwise the write fails with ErrNotReplicated.
	// 0 = no waiting (a single Redis).
	WaitReplicas int
	WaitTimeout  time.Duration
	// OnReplication is called after every topology refresh (every HealthInterval) with the previous
	// and the new state; the service feeds the isl_redis_* replication metrics from it.
	OnReplication func(prev, cur Replication)
	// OnNotReplicated is called for every write answered ErrNotReplicated.
	OnNotReplicated func()

	DialTimeout  time.Duration // default 5 s (docs/api.md#state)
	ReadTimeout  time.Duration // default 5 s
	WriteTimeout time.Duration // default 5 s
	// MaxRetries per command after a network error; default 1, negative = none. Kept low so a dead
	// Redis turns into a fast 503 instead of a slow one.
	MaxRetries int
	// HealthInterval is the period of Run's PING; default 2 s.
	HealthInterval time.Duration
	PoolSize       int // default: go-redis (10 per CPU)

	Logger *slog.Logger // default slog.Default(); never receives raw user ids
	// OnState is called on every change of the connection state (and on the first one), serially.
	// The service feeds isl_redis_connected and /health dependencies.redis from it.
	OnState func(connected bool)
	// Observe is called once per store operation with op in {get_beliefs, put_beliefs, put_query,
	// get_query, record_response, completed_count, delete_user, ping} and status "success" or
	// "error" (a miss is a success). The service feeds isl_redis_operations_total from it.
	Observe func(op, status string)
	// AdmitBelow is the fraction of Redis' maxmemory above which no new user is admitted
	// (AdmitNewUser); default 0.9. The rest is headroom for the users already stored, whose state
	// grows with their answers, up to the hard limit where Redis refuses writes (noeviction).
	AdmitBelow float64
	// OnMemory is called after every health tick that read Redis' memory (used and maxmemory in
	// bytes; max 0 = no limit). The service feeds isl_redis_memory_{used,max}_bytes from it.
	OnMemory func(used, max int64)
}

// MaxResponses is how many answers a user's history keeps (oldest dropped).
const MaxResponses = 1000

// Store is an isl.Store backed by Redis. Safe for concurrent use.
type Store struct {
	rdb  *goredis.Client
	log  *slog.Logger
	addr string

	sentinels       []*goredis.SentinelClient
	masterName      string
	waitReplicas    int
	waitTimeout     time.Duration
	onReplication   func(prev, cur Replication)
	alone           atomic.Bool // the primary has no online replica: writes are not waited for
	onNotReplicated func()
	replMu          sync.Mutex
	repl            Replication

	interval time.Duration
	pingWait time.Duration
	onState  func(bool)
	observe  func(op, status string)
	onMemory func(used, max int64)
	admit    float64

	memUsed, memMax atomic.Int64 // last INFO memory reading (max 0: unknown or unlimited)

	connected atomic.Bool
	state     atomic.Int32 // stateUnknown, stateDown, stateUp; written under mu
	mu        sync.Mutex   // serialises state changes and OnState calls
	downSince time.Time
}

const (
	stateUnknown = iota
	stateDown
	stateUp
)

var _ isl.Store = (*Store)(nil)

// New returns a Store. It does not connect: the first command or Run does.
func New(o Options) *Store {
	if o.Addr == "" {
		o.Addr = "localhost:6379"
	}
	o.DialTimeout = orDefault(o.DialTimeout, 5*time.Second)
	o.ReadTimeout = orDefault(o.ReadTimeout, 5*time.Second)
	o.WriteTimeout = orDefault(o.WriteTimeout, 5*time.Second)
	o.HealthInterval = orDefault(o.HealthInterval, 2*time.Second)
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = 1
	case o.MaxRetries < 0:
		o.MaxRetries = -1 // go-redis: -1 disables retries
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.AdmitBelow <= 0 || o.AdmitBelow > 1 {
		o.AdmitBelow = 0.9
	}
	waitDefaults(&o)
	s := &Store{
		addr:            o.Addr,
		interval:        o.HealthInterval,
		pingWait:        o.DialTimeout + o.ReadTimeout,
		onState:         o.OnState,
		observe:         o.Observe,
		masterName:      o.MasterName,
		waitReplicas:    o.WaitReplicas,
		waitTimeout:     o.WaitTimeout,
		onReplication:   o.OnReplication,
		onNotReplicated: o.OnNotReplicated,
		onMemory:        o.OnMemory,
		admit:           o.AdmitBelow,
	}
	// One set of options for either client: go-redis derives the failover and the plain client's
	// options from it.
	u := &goredis.UniversalOptions{
		Username:     o.Username,
		Password:     o.Password,
		DB:           o.DB,
		DialTimeout:  o.DialTimeout,
		ReadTimeout:  o.ReadTimeout,
		WriteTimeout: o.WriteTimeout,
		MaxRetries:   o.MaxRetries,
		// One dial attempt per try: the per-command retry and the health loop already retry, and
		// go-redis' default (5 dials, 100 ms apart) would make every call against a dead Redis slow.
		DialerRetries: 1,
		PoolSize:      o.PoolSize,
		// Keep to RESP2 so any Redis ≥ 6.2 (GETEX) works, including proxies without HELLO.
		Protocol:        2,
		DisableIdentity: true,
	}
	if len(o.SentinelAddrs) > 0 {
		s.addr = "sentinel:" + o.MasterName
		u.MasterName, u.Addrs = o.MasterName, o.SentinelAddrs
		u.SentinelUsername, u.SentinelPassword = o.SentinelUsername, o.SentinelPassword
		s.rdb = goredis.NewFailoverClient(u.Failover())
		for _, a := range o.SentinelAddrs {
			s.sentinels = append(s.sentinels, goredis.NewSentinelClient(&goredis.Options{
				Addr: a, Username: o.SentinelUsername, Password: o.SentinelPassword, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout,
				WriteTimeout: o.WriteTimeout, MaxRetries: -1, DialerRetries: 1, Protocol: 2, DisableIdentity: true,
			}))
		}
	} else {
		u.Addrs = []string{o.Addr}
		s.rdb = goredis.NewClient(u.Simple())
	}
	s.log = o.Logger.With("component", "redis", "addr", s.addr)
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// SetLibraryLogger routes go-redis' own log lines (dial failures, pool notices) to l at debug level;
// the Store logs connection changes itself, with backoff. It changes process-wide go-redis state:
// call it once at start-up.
func SetLibraryLogger(l *slog.Logger) { goredis.SetLogger(libLogger{l}) }

type libLogger struct{ l *slog.Logger }

func (g libLogger) Printf(ctx context.Context, format string, v ...any) {
	g.l.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// IsAuthError reports whether err (from this package) is Redis rejecting the credentials (NOAUTH,
// WRONGPASS): a configuration error that no retry cures. Such errors still wrap isl.ErrUnavailable.
func IsAuthError(err error) bool { return goredis.IsAuthError(err) }

// Connected reports the last known connection state (false until the first command or ping).
func (s *Store) Connected() bool { return s.connected.Load() }

// Client exposes the underlying go-redis client (tests and diagnostics).
func (s *Store) Client() *goredis.Client { return s.rdb }

func userKey(userID, suffix string) string { return "isl:user:" + storekey.User(userID) + ":" + suffix }

// GetBeliefs implements isl.Store; a hit slides the TTL back to 24 h in the same command.
func (s *Store) GetBeliefs(ctx context.Context, userID string) ([]byte, bool, error) {
	doc, err := s.rdb.GetEx(ctx, userKey(userID, "beliefs"), isl.BeliefTTL).Bytes()
	if errors.Is(err, goredis.Nil) {
		s.ok("get_beliefs")
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.fail("get_beliefs", "get beliefs", err)
	}
	s.ok("get_beliefs")
	return doc, true, nil
}

// PutBeliefs implements isl.Store.
func (s *Store) PutBeliefs(ctx context.Context, userID string, doc []byte) error {
	if err := s.write(ctx, func(c goredis.Cmdable) error {
		return c.Set(ctx, userKey(userID, "beliefs"), doc, isl.BeliefTTL).Err()
	}); err != nil {
		return s.fail("put_beliefs", "put beliefs", err)
	}
	s.ok("put_beliefs")
	return nil
}

var _ isl.BeliefsSwapper = (*Store)(nil)

// swapBeliefs compares and sets the beliefs string atomically (one Lua script, so no WATCH
// connection is pinned). ARGV: 1 = "1" if a current value is expected, 2 = expected value,
// 3 = new value, 4 = TTL seconds.
var swapBeliefs = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
return 1
`)

// errNoSwap ends a write whose compare-and-set found other beliefs (no write happened).
var errNoSwap = errors.New("beliefs changed")

// SwapBeliefs implements isl.BeliefsSwapper.
func (s *Store) SwapBeliefs(ctx context.Context, userID string, old []byte, existed bool, doc []byte) (bool, error) {
	flag := "0"
	if existed {
		flag = "1"
	}
	var n int
	err := s.write(ctx, func(c goredis.Cmdable) (err error) {
		n, err = swapBeliefs.Run(ctx, c, []string{userKey(userID, "beliefs")},
			flag, old, doc, int64(isl.BeliefTTL/time.Second)).Int()
		if err == nil && n != 1 {
			return errNoSwap // nothing written: nothing to wait for
		}
		return err
	})
	if errors.Is(err, errNoSwap) {
		s.ok("put_beliefs")
		return false, nil
	}
	if err != nil {
		return false, s.fail("put_beliefs", "swap beliefs", err)
	}
	s.ok("put_beliefs")
	return n == 1, nil
}

// PutQuery implements isl.Store. An over-long query id is an *isl.Error (validation_error).
func (s *Store) PutQuery(ctx context.Context, userID, queryID string, doc []byte) error {
	q, err := storekey.Query(queryID)
	if err != nil {
		return err
	}
	if err := s.write(ctx, func(c goredis.Cmdable) error {
		return c.Set(ctx, userKey(userID, "query:"+q), doc, isl.QueryTTL).Err()
	}); err != nil {
		return s.fail("put_query", "put query", err)
	}
	s.ok("put_query")
	return nil
}

// GetQuery implements isl.Store.
func (s *Store) GetQuery(ctx context.Context, userID, queryID string) ([]byte, bool, error) {
	q, err := storekey.Query(queryID)
	if err != nil {
		return nil, false, err
	}
	doc, err := s.rdb.Get(ctx, userKey(userID, "query:"+q)).Bytes()
	if errors.Is(err, goredis.Nil) {
		s.ok("get_query")
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.fail("get_query", "get query", err)
	}
	s.ok("get_query")
	return doc, true, nil
}

// RecordResponse implements isl.Store in one MULTI/EXEC, so the returned count includes this answer
// and concurrent answers never lose an update.
func (s *Store) RecordResponse(ctx context.Context, userID, queryID string, response []byte, at time.Time) (int64, error) {
	q, err := storekey.Query(queryID)
	if err != nil {
		return 0, err
	}
	answered, responses := userKey(userID, "queries"), userKey(userID, "responses")
	entry := storekey.Response(queryID, response, at)
	var card *goredis.IntCmd
	err = s.write(ctx, func(c goredis.Cmdable) error {
		_, err := c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.ZAdd(ctx, answered, goredis.Z{Score: float64(at.Unix()), Member: q})
			p.Expire(ctx, answered, isl.QueryTTL)
			p.RPush(ctx, responses, entry)
			// The history keeps the last MaxResponses answers (as the in-memory store does): one user
			// answering in a loop must not grow without bound.
			p.LTrim(ctx, responses, -MaxResponses, -1)
			p.Expire(ctx, responses, isl.ResponseTTL)
			card = p.ZCard(ctx, answered)
			return nil
		})
		return err
	})
	if err != nil {
		return 0, s.fail("record_response", "record response", err)
	}
	s.ok("record_response")
	return card.Val(), nil
}

// CompletedCount implements isl.Store.
func (s *Store) CompletedCount(ctx context.Context, userID string) (int64, error) {
	n, err := s.rdb.ZCard(ctx, userKey(userID, "queries")).Result()
	if err != nil {
		return 0, s.fail("completed_count", "completed count", err)
	}
	s.ok("completed_count")
	return n, nil
}

// DeleteUser implements isl.Store: it SCANs `isl:user:{h}:*` (h is hex, so the pattern cannot be
// widened by the user id) and deletes what it finds. Cost is O(keyspace) per call, acceptable for a
// rare GDPR erasure; a write racing with the deletion may survive it.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	pattern := userKey(userID, "*")
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return s.fail("delete_user", "delete user", err)
		}
		if len(keys) > 0 {
			if err := s.write(ctx, func(c goredis.Cmdable) error { return c.Del(ctx, keys...).Err() }); err != nil {
				return s.fail("delete_user", "delete user", err)
			}
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	s.ok("delete_user")
	return nil
}

// Ping implements isl.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return s.fail("ping", "ping", err)
	}
	s.ok("ping")
	return nil
}

// Close implements isl.Store.
func (s *Store) Close() error {
	errs := []error{s.rdb.Close()}
	for _, sc := range s.sentinels {
		errs = append(errs, sc.Close())
	}
	return errors.Join(errs...)
}

// Run pings Redis every HealthInterval until ctx ends, keeping Connected/OnState current while
// go-redis redials underneath (docs/api.md#state). While Redis is down it logs with backoff (first failure, then
// after 2, 4, 8 … intervals, at most once a minute) instead of every tick.
func (s *Store) Run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	var failures int
	var nextLog time.Time
	logGap := s.interval
	for {
		pctx, cancel := context.WithTimeout(ctx, s.pingWait)
		err := s.rdb.Ping(pctx).Err()
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			s.setState(true, nil)
			failures, logGap = 0, s.interval
			s.readMemory(ctx)
		}
		rctx, cancel := context.WithTimeout(ctx, s.pingWait)
		s.refreshReplication(rctx)
		cancel()
		if err != nil {
			// The first failure is logged by setState; repeat with a growing gap.
			s.setState(false, err)
			failures++
			now := time.Now()
			if failures == 1 {
				nextLog = now.Add(logGap)
			} else if !now.Before(nextLog) {
				s.logDown("redis still unavailable", err, "attempts", failures,
					"down_for", now.Sub(s.downSinceTime()).Round(time.Second).String())
				logGap = min(2*logGap, time.Minute)
				nextLog = now.Add(logGap)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var _ isl.Admission = (*Store)(nil)

// AdmitNewUser implements isl.Admission from the health loop's last memory reading: no new user
// once Redis uses AdmitBelow of its maxmemory. Without a reading (Run not started, INFO refused)
// it admits: Redis' own limit still refuses writes rather than evicting.
func (s *Store) AdmitNewUser(context.Context) error {
	used, limit := s.memUsed.Load(), s.memMax.Load()
	if limit > 0 && float64(used) >= s.admit*float64(limit) {
		return fmt.Errorf("admit new user: redis uses %d of %d bytes (new users stop at %.0f %%): %w", used, limit, 100*s.admit, isl.ErrStorageFull)
	}
	return nil
}

// readMemory reads used_memory and maxmemory from INFO memory.
func (s *Store) readMemory(ctx context.Context) {
	ictx, cancel := context.WithTimeout(ctx, s.pingWait)
	defer cancel()
	info, err := s.rdb.Info(ictx, "memory").Result()
	if err != nil {
		return
	}
	used, limit := infoField(info, "used_memory"), infoField(info, "maxmemory")
	if used < 0 || limit < 0 {
		return
	}
	s.memUsed.Store(used)
	s.memMax.Store(limit)
	if s.onMemory != nil {
		s.onMemory(used, limit)
	}
}

// infoField returns an integer field of an INFO reply, -1 when absent.
func infoField(info, name string) int64 {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}

func (s *Store) ok(op string) {
	s.setState(true, nil)
	if s.observe != nil {
		s.observe(op, "success")
	}
}

// fail records a failed operation and wraps err around isl.ErrUnavailable. A cancelled or expired
// caller context says nothing about Redis, so it does not mark the store disconnected.
func (s *Store) fail(op, what string, err error) error {
	if s.observe != nil {
		s.observe(op, "error")
	}
	if isOOM(err) {
		// noeviction at maxmemory: Redis is up and refuses to grow; nothing was evicted.
		return fmt.Errorf("%s: %w: %w", what, isl.ErrStorageFull, err)
	}
	// Nor does a write the replica did not confirm in time: the primary answered.
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrNotReplicated) {
		s.setState(false, err)
	}
	return fmt.Errorf("%s: %w: %w", what, isl.ErrUnavailable, err)
}

// isOOM reports Redis' refusal of a write at maxmemory (directly, or as the reason a MULTI was
// aborted).
func isOOM(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "OOM ") || strings.Contains(msg, "EXECABORT") && strings.Contains(msg, "OOM")
}

func (s *Store) setState(up bool, err error) {
	want := int32(stateDown)
	if up {
		want = stateUp
	}
	if s.state.Load() == want { // hot path: no change, no lock
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.state.Load()
	if prev == want {
		return
	}
	s.state.Store(want)
	s.connected.Store(up)
	if up {
		if prev == stateDown {
			s.log.Info("redis reconnected", "down_for", time.Since(s.downSince).Round(time.Millisecond).String())
		} else {
			s.log.Info("redis connected")
		}
	} else {
		s.downSince = time.Now()
		s.logDown("redis unavailable", err)
	}
	if s.onState != nil {
		s.onState(up)
	}
}

func (s *Store) downSinceTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downSince
}

// logDown logs an outage; a credential problem is logged as an error with the fix, because retrying
// will never cure it (docs/api.md#state: a misconfigured password must be loud).
func (s *Store) logDown(msg string, err error, args ...any) {
	if IsAuthError(err) {
		s.log.Error("redis authentication failed: check REDIS_PASSWORD", append(args, "error", err.Error())...)
		return
	}
	s.log.Warn(msg, append(args, "error", errString(err))...)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
