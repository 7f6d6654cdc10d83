package http

import (
	"context"
	"net/http"
	"time"

	"github.com/olumi/isl/engine/teach"
)

// handleTeach is POST /teaching/teach: Bayesian teaching examples for a concept, from the beliefs
// the caller sends (nothing is read from or written to the store).
func (s *server) handleTeach() http.HandlerFunc {
	duration := s.computationDuration("/teaching/teach")
	return func(w http.ResponseWriter, r *http.Request) {
		d, body, err := Decode(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		userID := body.Str("user_id")
		beliefs := decodeBeliefs(body.Object("current_beliefs"))
		concept := body.Str("target_concept")
		ctx := decodeContext(body.Object("context"))
		n := body.IntDefault("max_examples", 3, 1, 5)
		if err := d.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		if userID == "" {
			s.fail(w, r, badRequest("user_id must not be empty"))
			return
		}
		var res *teach.Result
		start := time.Now()
		err = s.compute(r.Context(), func(context.Context) (err error) {
			res, err = teach.Teach(teach.Request{Beliefs: *beliefs, Concept: concept, Context: ctx, MaxExamples: n})
			return err
		})
		if err != nil {
			s.fail(w, r, engineErr(err, "generate teaching examples"))
			return
		}
		duration().Observe(time.Since(start).Seconds())
		s.metrics.TeachingExamplesGenerated.WithLabelValues(concept).Add(float64(len(res.Examples)))
		ok(w, res)
	}
}
