package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/olumi/isl/service/isl"
)

// The response cache lives in the same Redis as the preference state, so every replica shares
// it. Its keys are separate from user keys (isl:cache:<digest>) and always carry a TTL. Cache
// traffic is counted (operation cache_get / cache_put) but does not change the store's
// connection state: a failed cache read is a miss, not an outage.

var _ isl.ResponseCache = (*Store)(nil)

// MaxCachedResponse bounds one cached body in Redis: larger answers are computed again rather
// than stored (they are the rare ones, and they would crowd the user state).
const MaxCachedResponse = 256 << 10

// CacheBelow is the share of Redis' maxmemory above which no response is cached. Redis runs
// noeviction, so cached answers are never evicted for user state; they only expire (TTL). Keeping
// them to the lower half of memory means the cache can never be what makes Redis refuse new users
// (AdmitBelow, 90 %) or acknowledged writes: past this share a response is simply computed again.
const CacheBelow = 0.5

func cacheKey(key string) string { return "isl:cache:" + key }

// GetResponse implements isl.ResponseCache.
func (s *Store) GetResponse(ctx context.Context, key string) ([]byte, bool, error) {
	body, err := s.rdb.Get(ctx, cacheKey(key)).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		s.observeOp("cache_get", "success")
		return nil, false, nil
	case err != nil:
		s.observeOp("cache_get", "error")
		return nil, false, fmt.Errorf("get cached response: %w", err)
	}
	s.observeOp("cache_get", "success")
	return body, true, nil
}

// PutResponse implements isl.ResponseCache.
func (s *Store) PutResponse(ctx context.Context, key string, body []byte, ttl time.Duration) error {
	if len(body) > MaxCachedResponse {
		return nil
	}
	if used, limit := s.memUsed.Load(), s.memMax.Load(); limit > 0 && float64(used) >= CacheBelow*float64(limit) {
		s.observeOp("cache_put", "skipped_memory")
		return nil
	}
	if err := s.rdb.Set(ctx, cacheKey(key), body, ttl).Err(); err != nil {
		s.observeOp("cache_put", "error")
		return fmt.Errorf("put cached response: %w", err)
	}
	s.observeOp("cache_put", "success")
	return nil
}

func (s *Store) observeOp(op, status string) {
	if s.observe != nil {
		s.observe(op, status)
	}
}
