package elicit

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/olumi/isl/engine/jsonv"
	"gonum.org/v1/gonum/stat/distuv"
)

// Model constants (see the package comment).
const (
	Particles          = 2000
	Rationality        = 10.0 // β: a 10 % relative gain on an average-weight variable → P(A) ≈ 0.71 (no ties)
	TieStrength        = 0.5  // ν: P(indifferent | ΔU = 0) = ν/(2+ν) = 0.2
	MaxHistory         = 100
	DefaultBase        = 100.0 // baseline index when constraints give none
	DefaultUncertainty = 0.8
	StateVersion       = 1
	weightFloor        = 1e-9
	liuWestA           = 0.95
)

// Answer is one applied answer in a State's history.
type Answer struct {
	QueryID    string             `json:"query_id"`
	Coef       jsonv.Map[float64] `json:"coef"`
	Response   string             `json:"response"`
	Confidence float64            `json:"confidence"`
}

// State is the serialisable generator of a user's posterior: prior + seed + answer history.
type State struct {
	Version       int            `json:"version"`
	Seed          uint32         `json:"seed"`
	Domain        string         `json:"domain"`
	Variables     []string       `json:"variables"`
	Directions    []int          `json:"directions"`
	Bases         []float64      `json:"bases"`
	Prior         []Distribution `json:"prior"`
	U0            []float64      `json:"u0"`
	RiskTolerance Distribution   `json:"risk_tolerance"`
	TimeHorizon   Distribution   `json:"time_horizon"`
	// Informed is false when the prior is the contract default (no supplied or stored beliefs).
	Informed bool `json:"informed"`
	// Answered counts every answer ever applied (not capped); query ids of later rounds include it.
	Answered int      `json:"answered"`
	History  []Answer `json:"history"`
}

func (s *State) index(v string) int {
	for i, x := range s.Variables {
		if x == v {
			return i
		}
	}
	return -1
}

func normalDist(mean, std float64) Distribution {
	return Distribution{Type: "normal", Parameters: jsonv.Map[float64]{{Key: "mean", Value: mean}, {Key: "std", Value: std}}}
}

// DefaultRisk and DefaultHorizon are the contract's prior (docs/api.md#elicit step 1).
func DefaultRisk() Distribution {
	return Distribution{Type: "beta", Parameters: jsonv.Map[float64]{{Key: "alpha", Value: 2}, {Key: "beta", Value: 2}}}
}
func DefaultHorizon() Distribution { return normalDist(12, 6) }

// Prepare validates the request and returns the state an /elicit works on: a fresh state from the
// supplied beliefs, else the stored state (reused as is when it covers the context's variables with
// the same directions, otherwise rebuilt with the stored posterior summary as prior), else the
// contract prior. seed is the request seed (docs/api.md#determinism); it is kept in the state for replay.
func Prepare(ctx Context, supplied *Beliefs, stored *State, seed uint32) (*State, error) {
	if err := ValidateContext(ctx); err != nil {
		return nil, err
	}
	if err := validateBases(ctx); err != nil {
		return nil, err
	}
	if supplied != nil {
		if err := ValidateBeliefs(supplied); err != nil {
			return nil, err
		}
	}
	explicit, _ := parseDirections(ctx.Constraints, ctx.Variables)
	bases := parseBases(ctx.Constraints, ctx.Variables)
	if stored != nil && stored.Version != StateVersion {
		stored = nil // unknown layout: start again rather than misread it
	}
	if supplied == nil && stored != nil && reusable(stored, ctx, explicit) {
		st := stored.clone()
		st.Domain = ctx.Domain
		st.Informed = true // stored beliefs count as known beliefs (docs/api.md#elicit step 7)
		for v, b := range bases {
			st.Bases[st.index(v)] = b
		}
		return st, nil
	}
	prior := supplied
	if supplied == nil && stored != nil {
		b := stored.Beliefs(stored.Posterior())
		prior = &b
	}
	st, err := newState(ctx, prior, seed, func(v string) int {
		if d, ok := explicit[v]; ok {
			return d
		}
		if stored != nil {
			if i := stored.index(v); i >= 0 {
				return stored.Directions[i]
			}
		}
		return More
	}, func(v string) float64 {
		if b, ok := bases[v]; ok {
			return b
		}
		if stored != nil {
			if i := stored.index(v); i >= 0 {
				return stored.Bases[i]
			}
		}
		return DefaultBase
	})
	if err != nil {
		return nil, err
	}
	if stored != nil {
		st.Answered = stored.Answered
	}
	return st, nil
}

func reusable(s *State, ctx Context, explicit map[string]int) bool {
	for _, v := range ctx.Variables {
		i := s.index(v)
		if i < 0 {
			return false
		}
		if d, ok := explicit[v]; ok && d != s.Directions[i] {
			return false
		}
	}
	return true
}

func newState(ctx Context, b *Beliefs, seed uint32, dir func(string) int, base func(string) float64) (*State, error) {
	vars := append([]string(nil), ctx.Variables...)
	if b != nil {
		in := map[string]bool{}
		for _, v := range vars {
			in[v] = true
		}
		for _, e := range b.ValueWeights {
			if !in[e.Key] {
				vars = append(vars, e.Key)
				in[e.Key] = true
			}
		}
	}
	if len(vars) > MaxVariables {
		return nil, inputErr("context.variables and current_beliefs.value_weights together must contain at most %d variables", MaxVariables)
	}
	st := &State{
		Version: StateVersion, Seed: seed, Domain: ctx.Domain, Variables: vars,
		RiskTolerance: DefaultRisk(), TimeHorizon: DefaultHorizon(), Informed: b != nil,
	}
	meanU := DefaultUncertainty
	if b != nil {
		st.RiskTolerance, st.TimeHorizon = b.RiskTolerance, b.TimeHorizon
		if len(b.UncertaintyEstimates) > 0 {
			sum := 0.0
			for _, e := range b.UncertaintyEstimates {
				sum += e.Value
			}
			meanU = sum / float64(len(b.UncertaintyEstimates))
		}
	}
	for _, v := range vars {
		st.Directions = append(st.Directions, dir(v))
		st.Bases = append(st.Bases, base(v))
		d := normalDist(1/float64(len(vars)), 0.3)
		u := meanU
		if b != nil {
			if x, ok := b.ValueWeights.Get(v); ok {
				d = x
			}
			if x, ok := b.UncertaintyEstimates.Get(v + "_weight"); ok {
				u = x
			}
		}
		st.Prior = append(st.Prior, d)
		st.U0 = append(st.U0, u)
	}
	return st, nil
}

func (s *State) clone() *State {
	c := *s
	c.Variables = append([]string(nil), s.Variables...)
	c.Directions = append([]int(nil), s.Directions...)
	c.Bases = append([]float64(nil), s.Bases...)
	c.Prior = append([]Distribution(nil), s.Prior...)
	c.U0 = append([]float64(nil), s.U0...)
	c.History = append([]Answer(nil), s.History...)
	return &c
}

// Apply returns a new state with the answer to q appended (replacing an earlier answer to the same
// query id). Coefficients of variables the state does not know are dropped (they cannot be
// attributed to any weight).
func (s *State) Apply(q IssuedQuery, response string, confidence float64) (*State, error) {
	switch response {
	case "A", "B", "indifferent":
	default:
		return nil, inputErr("response must be one of 'A', 'B', 'indifferent'")
	}
	if !(confidence >= 0 && confidence <= 1) {
		return nil, inputErr("confidence must be between 0 and 1")
	}
	var coef jsonv.Map[float64]
	for _, e := range q.Coef {
		if s.index(e.Key) >= 0 && finite(e.Value) {
			coef = append(coef, e)
		}
	}
	c := s.clone()
	// A re-answered query replaces its earlier answer (a client retry must not count twice; the
	// latest answer is the user's current view). Answered still advances so next ids stay fresh.
	c.History = slices.DeleteFunc(c.History, func(a Answer) bool { return a.QueryID == q.ID })
	c.History = append(c.History, Answer{QueryID: q.ID, Coef: coef, Response: response, Confidence: confidence})
	if len(c.History) > MaxHistory {
		c.History = c.History[len(c.History)-MaxHistory:]
	}
	c.Answered++
	return c, nil
}

// Posterior is the weighted particle cloud of a State.
type Posterior struct {
	N, V    int
	W       []float64 // N×V row-major, each row on the simplex
	Weight  []float64 // normalised particle weights
	PriorSD []float64 // per-variable std of the prior cloud
}

func (s *State) rng() *rand.Rand {
	return rand.New(rand.NewPCG(uint64(s.Seed), 0x9e3779b97f4a7c15))
}

func drawRaw(d Distribution, r *rand.Rand) float64 {
	get := func(k string) float64 { v, _ := d.Parameters.Get(k); return v }
	switch d.Type {
	case "normal":
		m, sd := get("mean"), get("std")
		if sd <= 0 {
			return math.Max(m, 0)
		}
		for range 64 {
			if x := m + sd*r.NormFloat64(); x > 0 {
				return x
			}
		}
		return 0
	case "uniform":
		lo, hi := math.Max(get("min"), 0), get("max")
		if hi <= lo {
			return math.Max(hi, 0)
		}
		return lo + (hi-lo)*r.Float64()
	case "beta":
		return distuv.Beta{Alpha: get("alpha"), Beta: get("beta"), Src: r}.Rand()
	case "exponential":
		return get("scale") * r.ExpFloat64()
	}
	return math.Max(DistMean(d), 0)
}

// Posterior replays the state: prior particles from the seed, then every answer of the history.
func (s *State) Posterior() *Posterior {
	r := s.rng()
	n := len(s.Variables)
	p := &Posterior{N: Particles, V: n, W: make([]float64, Particles*n), Weight: make([]float64, Particles)}
	for k := range Particles {
		row := p.W[k*n : (k+1)*n]
		sum := 0.0
		for v := range n {
			x := drawRaw(s.Prior[v], r)
			if !finite(x) || x < 0 {
				x = 0
			}
			row[v] = x
			sum += x
		}
		normaliseRow(row, sum)
	}
	for k := range p.Weight {
		p.Weight[k] = 1 / float64(Particles)
	}
	_, p.PriorSD = p.Moments()
	for _, a := range s.History {
		terms := s.terms(a.Coef)
		if len(terms) == 0 || a.Confidence == 0 {
			continue // a constant likelihood: skip it rather than renormalise rounding noise
		}
		z := Rationality * a.Confidence * float64(n)
		sum := 0.0
		for k := range Particles {
			row := p.W[k*n : (k+1)*n]
			du := 0.0
			for _, t := range terms {
				du += row[t.v] * t.c
			}
			p.Weight[k] *= likelihood(z*du, a.Response)
			sum += p.Weight[k]
		}
		if !(sum > 0) {
			continue // cannot happen with tabulated probabilities ≥ 1e-18; never divide by zero
		}
		for k := range p.Weight {
			p.Weight[k] /= sum
		}
		if p.ESS() < Particles/2 {
			p.resampleJitter(r)
		}
	}
	return p
}

type term struct {
	v int
	c float64
}

func (s *State) terms(coef jsonv.Map[float64]) []term {
	var ts []term
	for _, e := range coef {
		if i := s.index(e.Key); i >= 0 && finite(e.Value) && e.Value != 0 {
			ts = append(ts, term{i, e.Value})
		}
	}
	return ts
}

func normaliseRow(row []float64, sum float64) {
	n := float64(len(row))
	if !(sum > 0) || !finite(sum) {
		for i := range row {
			row[i] = 1 / n
		}
		return
	}
	low := false
	for i := range row {
		row[i] /= sum
		if row[i] < weightFloor {
			row[i] = weightFloor
			low = true
		}
	}
	if low {
		t := 0.0
		for _, x := range row {
			t += x
		}
		for i := range row {
			row[i] /= t
		}
	}
}

// likelihood is the Davidson–Bradley–Terry probability of an answer given z = β·c·ΔU (tabulated).
func likelihood(z float64, response string) float64 {
	pa, pb, pi, _ := lookup(z)
	switch response {
	case "A":
		return pa
	case "B":
		return pb
	}
	return pi
}

// probs returns P(A), P(B), P(indifferent) for z = β·ΔU.
func probs(z float64) (pa, pb, pi float64) {
	if z > 80 {
		z = 80
	} else if z < -80 {
		z = -80
	}
	e := math.Exp(z / 2)
	ie := 1 / e
	d := e + ie + TieStrength
	return e / d, ie / d, TieStrength / d
}

// ESS is the effective sample size 1/Σw².
func (p *Posterior) ESS() float64 {
	s := 0.0
	for _, w := range p.Weight {
		s += w * w
	}
	return 1 / s
}

// systematic returns m particle indices by systematic resampling with offset u ∈ [0,1).
func (p *Posterior) systematic(m int, u float64) []int {
	idx := make([]int, m)
	c, k := p.Weight[0], 0
	for i := range m {
		t := (float64(i) + u) / float64(m)
		for t > c && k < p.N-1 {
			k++
			c += p.Weight[k]
		}
		idx[i] = k
	}
	return idx
}

func (p *Posterior) resampleJitter(r *rand.Rand) {
	n := p.V
	// Liu–West kernel on the simplex coordinates: w' = a·w + (1−a)·w̄ + h·sd·ε keeps the weighted
	// mean and variance of every weight; negative draws are reflected, then rows are renormalised.
	mean, sd := p.Moments()
	idx := p.systematic(p.N, r.Float64())
	h := math.Sqrt(1 - liuWestA*liuWestA)
	nw := make([]float64, len(p.W))
	for i, k := range idx {
		row := nw[i*n : (i+1)*n]
		sum := 0.0
		for v := range n {
			y := liuWestA*p.W[k*n+v] + (1-liuWestA)*mean[v] + h*sd[v]*r.NormFloat64()
			if y < 0 {
				y = -y
			}
			row[v] = y
			sum += y
		}
		normaliseRow(row, sum)
	}
	p.W = nw
	for k := range p.Weight {
		p.Weight[k] = 1 / float64(p.N)
	}
}

// Moments returns the weighted mean and std of each normalised weight.
func (p *Posterior) Moments() (mean, sd []float64) {
	n := p.V
	mean = make([]float64, n)
	sd = make([]float64, n)
	for k := range p.N {
		w := p.Weight[k]
		for v := range n {
			mean[v] += w * p.W[k*n+v]
		}
	}
	for k := range p.N {
		w := p.Weight[k]
		for v := range n {
			d := p.W[k*n+v] - mean[v]
			sd[v] += w * d * d
		}
	}
	for v := range n {
		sd[v] = math.Sqrt(sd[v])
	}
	return mean, sd
}
