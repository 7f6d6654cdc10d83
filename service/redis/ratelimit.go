package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/httprate"
	goredis "github.com/redis/go-redis/v9"
)

// LimitCounter is an httprate.LimitCounter on Redis, so that a rate limit holds across every replica
// sharing the store (600/min per key means 600/min, not 600 per replica). It is the algorithm of
// github.com/go-chi/httprate-redis, which the Go module proxy does not serve (403): one counter
// key per limiter key and window, INCRBY + EXPIRE in one round trip, MGET of the current and the
// previous window.
//
// Redis must not make the API slower or unavailable: every call has a FallbackTimeout (100 ms),
// and while the store is down or a call fails the counter falls back to a per-process counter
// (the limit is then per replica, as before) until the store answers again.
type LimitCounter struct {
	s       *Store
	name    string
	window  time.Duration
	local   httprate.LimitCounter
	timeout time.Duration

	mu       sync.Mutex
	fallback time.Time // when non-zero: use local until this time
}

var _ httprate.LimitCounter = (*LimitCounter)(nil)

// FallbackTimeout bounds one counter round trip to Redis.
const FallbackTimeout = 100 * time.Millisecond

// fallbackFor is how long a failed call sends the counter to the local fallback.
const fallbackFor = 2 * time.Second

// LimitCounter returns the shared counter of the limiter called name.
func (s *Store) LimitCounter(name string) *LimitCounter {
	return &LimitCounter{s: s, name: name, timeout: FallbackTimeout}
}

// Config implements httprate.LimitCounter.
func (c *LimitCounter) Config(requestLimit int, windowLength time.Duration) {
	c.window = windowLength
	c.local = httprate.NewLocalLimitCounter(windowLength)
	c.local.Config(requestLimit, windowLength)
}

func (c *LimitCounter) key(key string, window time.Time) string {
	sum := sha256.Sum256([]byte(key))
	return "isl:ratelimit:" + c.name + ":" + hex.EncodeToString(sum[:12]) + ":" + strconv.FormatInt(window.Unix(), 10)
}

// useLocal reports whether the counter is in fallback.
func (c *LimitCounter) useLocal() bool {
	if !c.s.Connected() {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Before(c.fallback)
}

func (c *LimitCounter) failed() {
	c.mu.Lock()
	c.fallback = time.Now().Add(fallbackFor)
	c.mu.Unlock()
}

// Increment implements httprate.LimitCounter.
func (c *LimitCounter) Increment(key string, currentWindow time.Time) error {
	return c.IncrementBy(key, currentWindow, 1)
}

// IncrementBy implements httprate.LimitCounter. The local counter counts too, so that a fallback
// starts from this replica's share instead of zero.
func (c *LimitCounter) IncrementBy(key string, currentWindow time.Time, amount int) error {
	_ = c.local.IncrementBy(key, currentWindow, amount)
	if c.useLocal() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	k := c.key(key, currentWindow)
	_, err := c.s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.IncrBy(ctx, k, int64(amount))
		p.Expire(ctx, k, 3*c.window)
		return nil
	})
	if err != nil {
		c.failed()
	}
	return nil
}

// Get implements httprate.LimitCounter.
func (c *LimitCounter) Get(key string, currentWindow, previousWindow time.Time) (int, int, error) {
	if c.useLocal() {
		return c.local.Get(key, currentWindow, previousWindow)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	vals, err := c.s.rdb.MGet(ctx, c.key(key, currentWindow), c.key(key, previousWindow)).Result()
	if err != nil || len(vals) != 2 {
		c.failed()
		return c.local.Get(key, currentWindow, previousWindow)
	}
	return count(vals[0]), count(vals[1]), nil
}

func count(v any) int {
	s, _ := v.(string)
	n, _ := strconv.Atoi(s)
	return n
}
