package elicit

import (
	"fmt"
	"math"
	"slices"

	"github.com/olumi/isl/engine/jsonv"
)

// ElicitResult is the body of /preferences/elicit (docs/api.md#elicit).
type ElicitResult struct {
	Queries                   []IssuedQuery
	Strategy                  Strategy
	ExpectedInformationGain   float64
	EstimatedQueriesRemaining int
	Explanation               Explanation
	// Beliefs is the posterior summary the service stores next to the state.
	Beliefs Beliefs
}

// Learning is the learning_summary of /preferences/update (docs/api.md#update).
type Learning struct {
	TopPriorities           []string `json:"top_priorities"`
	Confidence              float64  `json:"confidence"`
	Insights                []string `json:"insights"`
	ReadyForRecommendations bool     `json:"ready_for_recommendations"`
}

// UpdateResult is the body of /preferences/update (docs/api.md#update) minus queries_completed, which the store owns.
type UpdateResult struct {
	UpdatedBeliefs            Beliefs
	EstimatedQueriesRemaining int
	NextQueries               []IssuedQuery
	LearningSummary           Learning
}

// NextQueryCount is the number of next_queries /update returns (docs/api.md#update step 3).
const NextQueryCount = 3

// ExpectedLossRatio is the stopping threshold: ready when E[max w − w_best] ≤ ratio·E[max w].
const ExpectedLossRatio = 0.05

// QueryHash is h8 of the query ids: first 8 hex of SHA-256(CanonJSON({"context", "user_id"})) (docs/api.md#query-ids).
// From the second elicitation round on (round = answers applied so far) the material also holds
// "round", so ids issued after an answer never collide with ids issued before it for the same context.
func QueryHash(ctx Context, userID string, round int) (string, error) {
	m := map[string]any{"context": ctx, "user_id": userID}
	if round > 0 {
		m["round"] = round
	}
	return jsonv.Hash8(m)
}

// NextContext is the context of /update's next queries: the state's domain and variables (docs/api.md#update step 3;
// the stored directions and baselines stand in for the constraints).
func (s *State) NextContext() Context {
	return Context{Domain: s.Domain, Variables: append([]string(nil), s.Variables...)}
}

// Elicit scores candidate queries over ctx.Variables under the state's posterior and returns the
// n most informative (docs/api.md#elicit, docs/api.md#elicit-model). h8 comes from QueryHash.
func Elicit(s *State, ctx Context, n int, h8 string) (*ElicitResult, error) {
	if err := ValidateContext(ctx); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxQueries {
		return nil, inputErr("num_queries must be between 1 and %d", MaxQueries)
	}
	post := s.Posterior()
	mean, sd := post.Moments()
	u := s.uncertainty(post, sd)
	queries := s.selectQueries(post, ctx.Variables, ctx.Domain, n, h8)
	total := 0.0
	for _, q := range queries {
		total += q.InformationGain
	}
	st := s.strategy(u)
	remaining := 5
	if s.Informed || len(s.History) > 0 {
		remaining = int(math.Trunc(meanOf(u) * 10))
	}
	ex := Explanation{
		Summary:   fmt.Sprintf("Generated %d queries using %s strategy", len(queries), st.Type),
		Reasoning: st.Rationale,
		TechnicalBasis: fmt.Sprintf("Particle posterior (%d particles) over normalised value weights; "+
			"Davidson–Bradley–Terry choice likelihood (rationality %g, tie strength %g) on utility differences of "+
			"direction-signed relative changes; candidates ranked by the mutual information between the answer "+
			"and the weights (nats).", Particles, Rationality, TieStrength),
		Assumptions: make([]string, 0, len(st.FocusAreas)),
	}
	for _, f := range st.FocusAreas {
		ex.Assumptions = append(ex.Assumptions, "Focus area: "+f)
	}
	return &ElicitResult{
		Queries: queries, Strategy: st, ExpectedInformationGain: jsonv.Round(total, 10),
		EstimatedQueriesRemaining: max(remaining, 0), Explanation: ex, Beliefs: s.beliefs(mean, sd, u),
	}, nil
}

// Summarize computes /update's body for a state that already has the new answer applied. h8 is the
// id hash of the next round (QueryHash(s.NextContext(), user, s.Answered)).
func Summarize(s *State, h8 string) *UpdateResult {
	post := s.Posterior()
	mean, sd := post.Moments()
	u := s.uncertainty(post, sd)
	ls := s.learning(post, mean, u)
	next := s.selectQueries(post, s.Variables, s.Domain, NextQueryCount, h8)
	remaining := 0
	if !ls.ReadyForRecommendations {
		remaining = max(1, int(math.Trunc(meanOf(u)*10)))
	}
	return &UpdateResult{
		UpdatedBeliefs: s.beliefs(mean, sd, u), EstimatedQueriesRemaining: remaining,
		NextQueries: next, LearningSummary: ls,
	}
}

// Beliefs summarises a posterior as a UserBeliefModel: normal{mean, std} marginals of the
// normalised weights, the carried risk tolerance and time horizon, and v_weight uncertainties.
func (s *State) Beliefs(post *Posterior) Beliefs {
	mean, sd := post.Moments()
	return s.beliefs(mean, sd, s.uncertainty(post, sd))
}

func (s *State) beliefs(mean, sd, u []float64) Beliefs {
	b := Beliefs{RiskTolerance: s.RiskTolerance, TimeHorizon: s.TimeHorizon}
	for i, v := range s.Variables {
		b.ValueWeights = append(b.ValueWeights, jsonv.Entry[Distribution]{Key: v,
			Value: normalDist(jsonv.Round(mean[i], 6), jsonv.Round(sd[i], 6))})
		b.UncertaintyEstimates = append(b.UncertaintyEstimates, jsonv.Entry[float64]{Key: v + "_weight", Value: jsonv.Round(u[i], 6)})
	}
	return b
}

func (s *State) uncertainty(post *Posterior, sd []float64) []float64 {
	u := make([]float64, len(sd))
	for i := range sd {
		switch {
		case post.PriorSD[i] > 0:
			u[i] = s.U0[i] * sd[i] / post.PriorSD[i]
		default:
			u[i] = s.U0[i]
		}
		u[i] = math.Min(1, math.Max(0, u[i]))
	}
	return u
}

func meanOf(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func (s *State) strategy(u []float64) Strategy {
	ub := meanOf(u)
	switch {
	case ub > 0.6:
		return Strategy{Type: "uncertainty_sampling", FocusAreas: []string{"All preference dimensions"},
			Rationale: fmt.Sprintf("Your value weights are still broadly uncertain (mean uncertainty %s), so the "+
				"queries are the trade-offs whose answers are expected to tell us the most about all of them.", jsonv.F2(ub))}
	case ub > 0.3:
		keys := make([]int, len(u))
		for i := range keys {
			keys[i] = i
		}
		slices.SortStableFunc(keys, func(a, b int) int {
			switch {
			case u[a] > u[b]:
				return -1
			case u[a] < u[b]:
				return 1
			}
			return 0
		})
		var focus []string
		for _, k := range keys[:min(3, len(keys))] {
			focus = append(focus, s.Variables[k]+"_weight")
		}
		return Strategy{Type: "expected_improvement", FocusAreas: focus,
			Rationale: fmt.Sprintf("Part of your preferences is already clear (mean uncertainty %s); the most "+
				"informative queries now concern the least certain weights.", jsonv.F2(ub))}
	}
	return Strategy{Type: "exploration", FocusAreas: []string{"Boundary conditions", "Extreme scenarios"},
		Rationale: fmt.Sprintf("Your preferences are well understood (mean uncertainty %s); the remaining queries "+
			"probe close calls at the boundary between your priorities.", jsonv.F2(ub))}
}

func (s *State) learning(post *Posterior, mean, u []float64) Learning {
	n := post.V
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case mean[a] > mean[b]:
			return -1
		case mean[a] < mean[b]:
			return 1
		}
		return 0
	})
	ls := Learning{TopPriorities: []string{}, Insights: []string{}}
	for _, i := range order[:min(3, n)] {
		ls.TopPriorities = append(ls.TopPriorities, s.Variables[i])
	}
	ub := meanOf(u)
	ls.Confidence = jsonv.Round(1-ub, 2)
	best := order[0]
	// P(best is the largest weight), P(w_best > w_second), E[max w], E[max w − w_best].
	var pTop, pOver, eMax, eLoss float64
	for k := range post.N {
		row := post.W[k*n : (k+1)*n]
		wk := post.Weight[k]
		mx, arg := row[0], 0
		for v := 1; v < n; v++ {
			if row[v] > mx {
				mx, arg = row[v], v
			}
		}
		if arg == best {
			pTop += wk
		}
		if n > 1 && row[best] > row[order[1]] {
			pOver += wk
		}
		eMax += wk * mx
		eLoss += wk * (mx - row[best])
	}
	if n > 1 {
		if pTop >= 0.8 {
			ls.Insights = append(ls.Insights, fmt.Sprintf("You strongly prioritize %s in your decisions", s.Variables[best]))
		}
		if pOver >= 0.75 {
			ls.Insights = append(ls.Insights, fmt.Sprintf("You value %s over %s", s.Variables[best], s.Variables[order[1]]))
		}
	}
	switch {
	case ub < 0.3:
		ls.Insights = append(ls.Insights, "We have high confidence in understanding your preferences")
	case ub < 0.6:
		ls.Insights = append(ls.Insights, "We're developing a good understanding of your preferences")
	default:
		ls.Insights = append(ls.Insights, "We're still learning about your preferences")
	}
	if n > 1 {
		// Coefficient of variation of the posterior means: simplex weights shrink with |V|, so an
		// absolute threshold (the original's std < 0.15) would call almost every model "balanced".
		m := meanOf(mean)
		v := 0.0
		for _, x := range mean {
			v += (x - m) * (x - m)
		}
		if math.Sqrt(v/float64(n))/m < 0.25 {
			ls.Insights = append(ls.Insights, "You tend to balance multiple factors fairly evenly")
		} else {
			ls.Insights = append(ls.Insights, "You have clear, distinct priorities")
		}
	}
	ls.ReadyForRecommendations = eLoss <= ExpectedLossRatio*eMax
	return ls
}
