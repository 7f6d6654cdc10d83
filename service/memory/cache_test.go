package memory

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The cache stays within its byte bound by evicting the least recently used entries, refuses
// bodies above an eighth of the bound, and forgets entries at their expiry.
func TestCacheBoundAndExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	c := NewCache(64<<10, func() time.Time { return now })
	body := make([]byte, 1000)
	for i := range 200 {
		if err := c.PutResponse(ctx, fmt.Sprintf("k%03d", i), body, time.Minute); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			c.GetResponse(ctx, "k000") // recently used: survives the next evictions
		}
		if c.size > c.max {
			t.Fatalf("size %d over bound %d", c.size, c.max)
		}
	}
	if _, ok, _ := c.GetResponse(ctx, "k001"); ok {
		t.Fatal("oldest entry not evicted")
	}
	if b, ok, _ := c.GetResponse(ctx, "k199"); !ok || len(b) != 1000 {
		t.Fatal("newest entry missing")
	}
	if n := c.Len(); n < 50 || n > 64 {
		t.Fatalf("%d entries of ~1.2 KB in 64 KiB", n)
	}
	c.PutResponse(ctx, "huge", make([]byte, 9<<10), time.Minute)
	if _, ok, _ := c.GetResponse(ctx, "huge"); ok {
		t.Fatal("a body over an eighth of the bound was kept")
	}
	now = now.Add(time.Minute)
	if _, ok, _ := c.GetResponse(ctx, "k199"); ok {
		t.Fatal("expired entry returned")
	}
}
