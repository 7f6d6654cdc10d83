// Package memory implements isl.Store in process memory, for running without Redis (docs/api.md#state: used only
// when no Redis is configured). It keeps the Redis store's semantics: users are held under
// SHA-256(user id), beliefs live 24 h and slide on every read, issued queries live 7 d, the answered
// set 7 d and the response history 30 d from their last write.
//
// Memory is bounded: at most MaxUsers users (default 100 000) — adding one more evicts the least
// recently used user (any read or write counts as use) — and per user at most MaxQueriesPerUser
// issued queries (oldest-expiring dropped), MaxAnsweredPerUser answered ids (oldest answer dropped,
// which lowers the count) and MaxResponsesPerUser history entries (oldest dropped). Expired data is
// purged lazily on access and by Sweep, which Run calls periodically.
package memory

import (
	"bytes"
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/olumi/isl/service/internal/storekey"
	"github.com/olumi/isl/service/isl"
)

// Options configures a Store. Zero values take the documented defaults.
type Options struct {
	Now                 func() time.Time // clock, default time.Now (tests inject a fake one)
	MaxUsers            int              // default 100 000
	MaxQueriesPerUser   int              // default 1 000
	MaxAnsweredPerUser  int              // default 10 000
	MaxResponsesPerUser int              // default 1 000
	SweepInterval       time.Duration    // Run's period, default 1 min
}

// Store is an in-memory isl.Store. Safe for concurrent use (one mutex; every operation is O(1)
// except at the per-user caps and in Sweep).
type Store struct {
	o Options

	mu    sync.Mutex
	users map[string]*user // by storekey.User(user id): not even the process holds raw ids
	lru   *list.List       // of *user, most recently used at the front
}

type user struct {
	key  string
	elem *list.Element

	beliefs    []byte
	beliefsExp time.Time // zero: no beliefs

	queries map[string]query // by storekey.Query form

	answered    map[string]int64 // query id form -> unix seconds of the last answer
	answeredExp time.Time

	responses    [][]byte
	responsesExp time.Time
}

type query struct {
	doc []byte
	exp time.Time
}

var _ isl.Store = (*Store)(nil)

// New returns an empty Store.
func New(o Options) *Store {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.MaxUsers = orDefault(o.MaxUsers, 100_000)
	o.MaxQueriesPerUser = orDefault(o.MaxQueriesPerUser, 1_000)
	o.MaxAnsweredPerUser = orDefault(o.MaxAnsweredPerUser, 10_000)
	o.MaxResponsesPerUser = orDefault(o.MaxResponsesPerUser, 1_000)
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Minute
	}
	return &Store{o: o, users: make(map[string]*user), lru: list.New()}
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// expired reports whether a deadline has passed; like Redis, a key is gone at its expiry instant.
func expired(exp, now time.Time) bool { return !now.Before(exp) }

// purge drops u's expired parts and reports whether nothing is left.
func (u *user) purge(now time.Time) bool {
	if u.beliefs != nil && expired(u.beliefsExp, now) {
		u.beliefs, u.beliefsExp = nil, time.Time{}
	}
	for id, q := range u.queries {
		if expired(q.exp, now) {
			delete(u.queries, id)
		}
	}
	if u.answered != nil && expired(u.answeredExp, now) {
		u.answered = nil
	}
	if u.responses != nil && expired(u.responsesExp, now) {
		u.responses = nil
	}
	return u.beliefs == nil && len(u.queries) == 0 && len(u.answered) == 0 && len(u.responses) == 0
}

// lookup returns the live user for userID, creating it when create is set; nil if absent. It marks
// the user as recently used and evicts the least recently used one beyond MaxUsers. Caller holds mu.
func (s *Store) lookup(userID string, create bool, now time.Time) *user {
	key := storekey.User(userID)
	u := s.users[key]
	if u != nil && u.purge(now) && !create {
		s.remove(u)
		return nil
	}
	if u == nil {
		if !create {
			return nil
		}
		u = &user{key: key, queries: make(map[string]query)}
		u.elem = s.lru.PushFront(u)
		s.users[key] = u
		for len(s.users) > s.o.MaxUsers {
			s.remove(s.lru.Back().Value.(*user))
		}
		return u
	}
	s.lru.MoveToFront(u.elem)
	return u
}

func (s *Store) remove(u *user) {
	s.lru.Remove(u.elem)
	delete(s.users, u.key)
}

// clone copies b; the result is never nil, because nil marks "no beliefs".
func clone(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }

// GetBeliefs implements isl.Store; a hit extends the beliefs' life to 24 h from now.
func (s *Store) GetBeliefs(_ context.Context, userID string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	u := s.lookup(userID, false, now)
	if u == nil || u.beliefs == nil {
		return nil, false, nil
	}
	u.beliefsExp = now.Add(isl.BeliefTTL)
	return clone(u.beliefs), true, nil
}

// PutBeliefs implements isl.Store.
func (s *Store) PutBeliefs(_ context.Context, userID string, doc []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	u := s.lookup(userID, true, now)
	u.beliefs, u.beliefsExp = clone(doc), now.Add(isl.BeliefTTL)
	return nil
}

var _ isl.BeliefsSwapper = (*Store)(nil)

// SwapBeliefs implements isl.BeliefsSwapper.
func (s *Store) SwapBeliefs(_ context.Context, userID string, old []byte, existed bool, doc []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	u := s.lookup(userID, false, now)
	has := u != nil && u.beliefs != nil
	if has != existed || has && !bytes.Equal(u.beliefs, old) {
		return false, nil
	}
	if u == nil {
		u = s.lookup(userID, true, now)
	}
	u.beliefs, u.beliefsExp = clone(doc), now.Add(isl.BeliefTTL)
	return true, nil
}

// PutQuery implements isl.Store. An over-long query id is an *isl.Error (validation_error).
func (s *Store) PutQuery(_ context.Context, userID, queryID string, doc []byte) error {
	q, err := storekey.Query(queryID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	u := s.lookup(userID, true, now)
	if _, ok := u.queries[q]; !ok && len(u.queries) >= s.o.MaxQueriesPerUser {
		var oldest string
		var first time.Time
		for id, e := range u.queries {
			if first.IsZero() || e.exp.Before(first) {
				oldest, first = id, e.exp
			}
		}
		delete(u.queries, oldest)
	}
	u.queries[q] = query{doc: clone(doc), exp: now.Add(isl.QueryTTL)}
	return nil
}

// GetQuery implements isl.Store.
func (s *Store) GetQuery(_ context.Context, userID, queryID string) ([]byte, bool, error) {
	q, err := storekey.Query(queryID)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(userID, false, s.o.Now())
	if u == nil {
		return nil, false, nil
	}
	e, ok := u.queries[q]
	if !ok {
		return nil, false, nil
	}
	return clone(e.doc), true, nil
}

// RecordResponse implements isl.Store.
func (s *Store) RecordResponse(_ context.Context, userID, queryID string, response []byte, at time.Time) (int64, error) {
	q, err := storekey.Query(queryID)
	if err != nil {
		return 0, err
	}
	entry := storekey.Response(queryID, response, at)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	u := s.lookup(userID, true, now)
	if u.answered == nil {
		u.answered = make(map[string]int64)
	}
	if _, ok := u.answered[q]; !ok && len(u.answered) >= s.o.MaxAnsweredPerUser {
		var oldest string
		first := int64(0)
		for id, ts := range u.answered {
			if oldest == "" || ts < first || ts == first && id < oldest {
				oldest, first = id, ts
			}
		}
		delete(u.answered, oldest)
	}
	u.answered[q] = at.Unix()
	u.answeredExp = now.Add(isl.QueryTTL)
	u.responses = append(u.responses, entry)
	if over := len(u.responses) - s.o.MaxResponsesPerUser; over > 0 {
		u.responses = append([][]byte(nil), u.responses[over:]...)
	}
	u.responsesExp = now.Add(isl.ResponseTTL)
	return int64(len(u.answered)), nil
}

// CompletedCount implements isl.Store.
func (s *Store) CompletedCount(_ context.Context, userID string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(userID, false, s.o.Now())
	if u == nil {
		return 0, nil
	}
	return int64(len(u.answered)), nil
}

// Responses returns a copy of the user's response history, oldest first (the docs/api.md#state list elements).
func (s *Store) Responses(userID string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookup(userID, false, s.o.Now())
	if u == nil {
		return nil
	}
	out := make([][]byte, len(u.responses))
	for i, r := range u.responses {
		out[i] = clone(r)
	}
	return out
}

// DeleteUser implements isl.Store.
func (s *Store) DeleteUser(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[storekey.User(userID)]; u != nil {
		s.remove(u)
	}
	return nil
}

// Ping implements isl.Store; memory is always reachable.
func (s *Store) Ping(context.Context) error { return nil }

// Close implements isl.Store. The store stays usable; it holds no outside resources.
func (s *Store) Close() error { return nil }

// Len returns the number of users held, expired ones not yet swept included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// Sweep purges expired data of every user, drops users left empty and returns how many it dropped.
func (s *Store) Sweep() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	n := 0
	for _, u := range s.users {
		if u.purge(now) {
			s.remove(u)
			n++
		}
	}
	return n
}

// Run calls Sweep every SweepInterval until ctx ends.
func (s *Store) Run(ctx context.Context) {
	t := time.NewTicker(s.o.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep()
		}
	}
}
