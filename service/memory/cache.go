package memory

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/olumi/isl/service/isl"
)

// Cache is an in-process isl.ResponseCache bounded in bytes: adding past the bound evicts the
// least recently used entries; expired entries are dropped when met. Safe for concurrent use.
type Cache struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // of *cacheEntry
	lru     *list.List               // most recently used at the front
	size    int
}

type cacheEntry struct {
	key  string
	body []byte
	exp  time.Time
}

// entryOverhead approximates the bookkeeping of one entry (map slot, list element, key).
const entryOverhead = 160

var _ isl.ResponseCache = (*Cache)(nil)

// NewCache returns an empty cache holding at most maxBytes (bodies, keys and bookkeeping); now is
// the clock (nil: time.Now).
func NewCache(maxBytes int, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{max: maxBytes, now: now, entries: map[string]*list.Element{}, lru: list.New()}
}

func (c *Cache) cost(e *cacheEntry) int { return len(e.key) + len(e.body) + entryOverhead }

// GetResponse implements isl.ResponseCache. The body is shared: callers must not modify it.
func (c *Cache) GetResponse(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.exp) {
		c.remove(el)
		return nil, false, nil
	}
	c.lru.MoveToFront(el)
	return e.body, true, nil
}

// PutResponse implements isl.ResponseCache. A body larger than an eighth of the bound is not
// kept: one huge answer must not flush everything else.
func (c *Cache) PutResponse(_ context.Context, key string, body []byte, ttl time.Duration) error {
	e := &cacheEntry{key: key, body: append([]byte(nil), body...), exp: c.now().Add(ttl)}
	if c.cost(e) > c.max/8 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	c.entries[key] = c.lru.PushFront(e)
	c.size += c.cost(e)
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
	return nil
}

func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.key)
	c.size -= c.cost(e)
}

// Len is the number of entries (tests).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
