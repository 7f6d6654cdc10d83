package http

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/olumi/isl/engine/elicit"
	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/service/isl"
)

// Preference endpoints (docs/api.md#elicit–docs/api.md#teach, docs/api.md#state, issue 3). The engine packages are pure; this file does the I/O:
// the user's beliefs document (UserBeliefModel summary + the replayable posterior state) and every
// issued query live in the store, so any instance sharing the store can answer the next request.

// beliefsDoc is what user:beliefs holds: the contract's UserBeliefModel (for humans and tools) and
// the engine state the posterior is replayed from.
type beliefsDoc struct {
	Beliefs   elicit.Beliefs `json:"beliefs"`
	Posterior *elicit.State  `json:"posterior"`
}

type elicitResponse struct {
	Queries                   []elicit.Query     `json:"queries"`
	Strategy                  elicit.Strategy    `json:"strategy"`
	ExpectedInformationGain   float64            `json:"expected_information_gain"`
	EstimatedQueriesRemaining int                `json:"estimated_queries_remaining"`
	Explanation               elicit.Explanation `json:"explanation"`
}

type updateResponse struct {
	UpdatedBeliefs            elicit.Beliefs  `json:"updated_beliefs"`
	QueriesCompleted          int64           `json:"queries_completed"`
	EstimatedQueriesRemaining int             `json:"estimated_queries_remaining"`
	NextQueries               []elicit.Query  `json:"next_queries"`
	LearningSummary           elicit.Learning `json:"learning_summary"`
}

const (
	msgNoBeliefs    = "No beliefs found for user. Please start with /elicit endpoint."
	msgUnknownQuery = "Unknown query_id"
)

func decodeDistribution(o Obj) elicit.Distribution {
	return elicit.Distribution{Type: o.Str("type"), Parameters: o.NumMap("parameters")}
}

func decodeBeliefs(o Obj) *elicit.Beliefs {
	b := &elicit.Beliefs{}
	for _, m := range o.Members("value_weights") {
		b.ValueWeights = append(b.ValueWeights, jsonv.Entry[elicit.Distribution]{Key: m.Key, Value: decodeDistribution(m.Value)})
	}
	b.RiskTolerance = decodeDistribution(o.Object("risk_tolerance"))
	b.TimeHorizon = decodeDistribution(o.Object("time_horizon"))
	b.UncertaintyEstimates = o.NumMap("uncertainty_estimates")
	return b
}

func decodeContext(o Obj) elicit.Context {
	c := elicit.Context{Domain: o.Str("domain"), Variables: o.StrList("variables")}
	if co, ok := o.OptObject("constraints"); ok {
		v := co.Value()
		c.Constraints = &v
	}
	return c
}

func publicQueries(qs []elicit.IssuedQuery) []elicit.Query {
	out := make([]elicit.Query, len(qs))
	for i, q := range qs {
		out[i] = q.Query
	}
	return out
}

// loadState reads the user's posterior state. raw and found describe the stored document as read,
// for the compare-and-set in saveState. A document that cannot be read back (foreign or corrupted)
// gives a nil state rather than failing every later request of that user.
func (s *server) loadState(r *http.Request, userID string) (raw []byte, found bool, st *elicit.State, err error) {
	doc, found, err := s.store.GetBeliefs(r.Context(), userID)
	if err != nil {
		return nil, false, nil, err
	}
	if !found {
		s.metrics.CacheMisses.Inc()
		return nil, false, nil, nil
	}
	s.metrics.CacheHits.Inc()
	var d beliefsDoc
	if err := json.Unmarshal(doc, &d); err != nil || d.Posterior == nil || d.Posterior.Version != elicit.StateVersion ||
		len(d.Posterior.Variables) == 0 || len(d.Posterior.Prior) != len(d.Posterior.Variables) ||
		len(d.Posterior.Directions) != len(d.Posterior.Variables) || len(d.Posterior.Bases) != len(d.Posterior.Variables) ||
		len(d.Posterior.U0) != len(d.Posterior.Variables) {
		s.log.Warn("unreadable beliefs document ignored", "user", UserTag(s.cfg.SecretKey, userID))
		return doc, true, nil, nil
	}
	return doc, true, d.Posterior, nil
}

// maxStateAttempts bounds the read–compute–swap retries of one request that keeps losing the race
// for a user's state to concurrent requests of the same user.
const maxStateAttempts = 8

// errStateContention is the answer when maxStateAttempts were all lost: retryable, like a busy store.
var errStateContention = &isl.Error{Code: isl.EUnavailable,
	Message: "Too many concurrent updates for this user; retry shortly"}

// stateChange is one computed change of a user's preference state: what to save.
type stateChange struct {
	state   *elicit.State
	beliefs elicit.Beliefs
	queries []elicit.IssuedQuery
}

// withState runs an optimistic read-compute-write cycle on the user's state: step sees the stored
// state (nil when there is none) and returns the change to save; when another request changed the
// state in between (the store's compare-and-swap fails), the cycle runs again on the new state, at
// most maxStateAttempts times. Errors from loading, step or saving end it.
func (s *server) withState(r *http.Request, userID string, step func(stored *elicit.State) (stateChange, error)) error {
	for attempt := 1; ; attempt++ {
		raw, found, stored, err := s.loadState(r, userID)
		if err != nil {
			return err
		}
		ch, err := step(stored)
		if err != nil {
			return err
		}
		saved, err := s.saveState(r, userID, raw, found, ch.state, ch.beliefs, ch.queries)
		if err != nil {
			return err
		}
		if saved {
			return nil
		}
		if attempt == maxStateAttempts {
			return errStateContention
		}
	}
}

// saveState stores the issued queries, then the beliefs document. When the store offers
// compare-and-set (isl.BeliefsSwapper) the beliefs are written only if they are still what
// loadState read (prev, prevFound); false means another request of the same user got there first
// and the caller must re-read and recompute, so that no concurrent answer is lost. Queries written
// by a losing attempt are harmless: an id (pool index + round hash) always renders the same query.
func (s *server) saveState(r *http.Request, userID string, prev []byte, prevFound bool, st *elicit.State, b elicit.Beliefs, queries []elicit.IssuedQuery) (bool, error) {
	if a, ok := s.store.(isl.Admission); ok && !prevFound {
		// A new user: refused before anything of theirs is written when the store is full.
		if err := a.AdmitNewUser(r.Context()); err != nil {
			return false, err
		}
	}
	for _, q := range queries {
		doc, err := json.Marshal(q)
		if err != nil {
			return false, err
		}
		if err := s.store.PutQuery(r.Context(), userID, q.ID, doc); err != nil {
			return false, err
		}
	}
	doc, err := json.Marshal(beliefsDoc{Beliefs: b, Posterior: st})
	if err != nil {
		return false, err
	}
	if sw, ok := s.store.(isl.BeliefsSwapper); ok {
		return sw.SwapBeliefs(r.Context(), userID, prev, prevFound, doc)
	}
	return true, s.store.PutBeliefs(r.Context(), userID, doc)
}

func (s *server) handleElicit() http.HandlerFunc {
	duration := s.computationDuration("/preferences/elicit")
	return func(w http.ResponseWriter, r *http.Request) {
		d, body, err := Decode(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		userID := body.Str("user_id")
		ctx := decodeContext(body.Object("context"))
		var supplied *elicit.Beliefs
		if bo, ok := body.OptObject("current_beliefs"); ok {
			supplied = decodeBeliefs(bo)
		}
		n := body.IntDefault("num_queries", 5, 1, elicit.MaxQueries)
		if err := d.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		if userID == "" {
			s.fail(w, r, badRequest("user_id must not be empty"))
			return
		}
		if err := elicit.ValidateContext(ctx); err != nil {
			s.fail(w, r, engineErr(err, "generate preference queries"))
			return
		}
		if supplied != nil {
			if err := elicit.ValidateBeliefs(supplied); err != nil {
				s.fail(w, r, engineErr(err, "generate preference queries"))
				return
			}
		}
		seed, err := jsonv.Seed(map[string]any{"context": ctx, "num_queries": n})
		if err != nil {
			s.fail(w, r, internal("generate preference queries", err))
			return
		}
		var res *elicit.ElicitResult
		err = s.withState(r, userID, func(stored *elicit.State) (stateChange, error) {
			var st *elicit.State
			start := time.Now()
			err := s.computeInline(r.Context(), func(context.Context) (err error) {
				if st, err = elicit.Prepare(ctx, supplied, stored, seed); err != nil {
					return err
				}
				h8, err := elicit.QueryHash(ctx, userID, st.Answered)
				if err != nil {
					return err
				}
				res, err = elicit.Elicit(st, ctx, n, h8)
				return err
			})
			if err != nil {
				return stateChange{}, err
			}
			took := time.Since(start).Seconds()
			duration().Observe(took)
			s.metrics.ActivaComputation.Observe(took)
			return stateChange{st, res.Beliefs, res.Queries}, nil
		})
		if err != nil {
			s.fail(w, r, engineErr(err, "generate preference queries"))
			return
		}
		s.metrics.PreferenceQueriesGenerated.WithLabelValues(res.Strategy.Type).Add(float64(len(res.Queries)))
		ok(w, elicitResponse{
			Queries: publicQueries(res.Queries), Strategy: res.Strategy,
			ExpectedInformationGain: res.ExpectedInformationGain, EstimatedQueriesRemaining: res.EstimatedQueriesRemaining,
			Explanation: res.Explanation,
		})
	}
}

func (s *server) handleUpdate() http.HandlerFunc {
	duration := s.computationDuration("/preferences/update")
	return func(w http.ResponseWriter, r *http.Request) {
		d, body, err := Decode(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		userID := body.Str("user_id")
		queryID := body.Str("query_id")
		response := body.Enum("response", []string{"A", "B", "indifferent"}, "")
		confidence := body.NumDefault("confidence", 1.0)
		body.Bound("confidence", confidence, 0, 1)
		if err := d.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		if userID == "" {
			s.fail(w, r, badRequest("user_id must not be empty"))
			return
		}
		if queryID == "" {
			s.fail(w, r, badRequest("query_id must not be empty"))
			return
		}
		var q elicit.IssuedQuery
		var res *elicit.UpdateResult
		err = s.withState(r, userID, func(st *elicit.State) (stateChange, error) {
			if st == nil {
				return stateChange{}, badRequest(msgNoBeliefs)
			}
			if q.ID == "" {
				qdoc, found, err := s.store.GetQuery(r.Context(), userID, queryID)
				if err != nil {
					return stateChange{}, err
				}
				if !found || json.Unmarshal(qdoc, &q) != nil || q.ID != queryID {
					return stateChange{}, badRequest(msgUnknownQuery)
				}
			}
			var next *elicit.State
			start := time.Now()
			err := s.computeInline(r.Context(), func(context.Context) (err error) {
				if next, err = st.Apply(q, response, confidence); err != nil {
					return err
				}
				h8, err := elicit.QueryHash(next.NextContext(), userID, next.Answered)
				if err != nil {
					return err
				}
				res = elicit.Summarize(next, h8)
				return nil
			})
			if err != nil {
				return stateChange{}, err
			}
			took := time.Since(start).Seconds()
			duration().Observe(took)
			s.metrics.BayesianUpdateDuration.Observe(took)
			return stateChange{next, res.UpdatedBeliefs, res.NextQueries}, nil
		})
		if err != nil {
			s.fail(w, r, engineErr(err, "update beliefs"))
			return
		}
		entry, _ := json.Marshal(map[string]any{"query_id": queryID, "response": response, "confidence": confidence})
		completed, err := s.store.RecordResponse(r.Context(), userID, queryID, entry, s.now())
		if err != nil {
			s.fail(w, r, engineErr(err, "update beliefs"))
			return
		}
		s.metrics.BeliefUpdates.Inc()
		ok(w, updateResponse{
			UpdatedBeliefs: res.UpdatedBeliefs, QueriesCompleted: completed,
			EstimatedQueriesRemaining: res.EstimatedQueriesRemaining, NextQueries: publicQueries(res.NextQueries),
			LearningSummary: res.LearningSummary,
		})
	}
}
