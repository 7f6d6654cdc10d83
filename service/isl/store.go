package isl

import (
	"context"
	"time"
)

// TTLs promised to users (docs/api.md#state, seed guide "Data privacy"): beliefs slide on every read.
const (
	BeliefTTL   = 24 * time.Hour
	QueryTTL    = 7 * 24 * time.Hour
	ResponseTTL = 30 * 24 * time.Hour
)

// Store keeps per-user preference state. Values are opaque JSON documents owned by the handlers.
// Implementations key everything by SHA-256(user id) (docs/api.md#state) and never log raw user ids.
// Any failure to reach the backing store is returned wrapped around ErrUnavailable.
type Store interface {
	// GetBeliefs returns the user's beliefs and refreshes their TTL (sliding, BeliefTTL).
	GetBeliefs(ctx context.Context, userID string) (doc []byte, found bool, err error)
	// PutBeliefs stores beliefs with BeliefTTL.
	PutBeliefs(ctx context.Context, userID string, doc []byte) error
	// PutQuery stores one issued query under its id with QueryTTL.
	PutQuery(ctx context.Context, userID, queryID string, doc []byte) error
	// GetQuery returns an issued query of this user.
	GetQuery(ctx context.Context, userID, queryID string) (doc []byte, found bool, err error)
	// RecordResponse appends a response (ResponseTTL), marks the query answered (QueryTTL) and returns
	// the number of distinct queries the user has answered.
	RecordResponse(ctx context.Context, userID, queryID string, response []byte, at time.Time) (completed int64, err error)
	// CompletedCount returns the number of distinct answered queries.
	CompletedCount(ctx context.Context, userID string) (int64, error)
	// DeleteUser erases every key of the user; deleting an unknown user is not an error.
	DeleteUser(ctx context.Context, userID string) error
	// Ping reports whether the backing store is reachable.
	Ping(ctx context.Context) error
	// Close releases resources.
	Close() error
}

// Admission is implemented by stores with a capacity limit. The preference handlers ask it before
// writing the first state of a user who has none, so that a full store refuses new users with a
// clear error while the users it already holds keep working.
type Admission interface {
	// AdmitNewUser returns an error wrapping ErrStorageFull when no new user may be stored.
	AdmitNewUser(ctx context.Context) error
}

// BeliefsSwapper is implemented by stores that can replace a user's beliefs only if nobody changed
// them since they were read (optimistic concurrency). The preference handlers use it, when the store
// offers it, so that two concurrent /preferences/update calls for one user — on one instance or on
// several sharing the store — both land in the posterior instead of the last write winning; they
// re-read and recompute on a lost race.
type BeliefsSwapper interface {
	// SwapBeliefs stores doc with BeliefTTL iff the user's current beliefs are byte-equal to old
	// (existed=true) or the user has no beliefs (existed=false). swapped reports whether it wrote.
	SwapBeliefs(ctx context.Context, userID string, old []byte, existed bool, doc []byte) (swapped bool, err error)
}

// ResponseCache keeps complete responses of deterministic requests (ENABLE_CACHE), so that a
// repeated request is answered without computing. Keys are opaque hex digests made by the HTTP
// layer; values are response bodies. A cache is an optimisation: callers treat every error as a
// miss and never fail a request because of it.
type ResponseCache interface {
	// GetResponse returns the body stored under key.
	GetResponse(ctx context.Context, key string) (body []byte, found bool, err error)
	// PutResponse stores body under key for ttl.
	PutResponse(ctx context.Context, key string, body []byte, ttl time.Duration) error
}
