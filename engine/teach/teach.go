// Package teach chooses teaching examples by Bayesian pedagogy (docs/api.md#teach; issue 3; R-fix of
// and docs/api.md#teach).
//
// Learner. A simulated learner entertains the five concepts as hypotheses h (uniform prior) and
// explains each example d by the phenomena it shows: d is a binary feature vector over Features
// (common cause, opposing changes, mediated path, outcome spread, binding constraint, ...), and
// P(d | h) = Π_f θ[h][f]^{d_f} (1 − θ[h][f])^{1−d_f} with θ[h][f] the probability that an example of
// concept h shows phenomenon f (table `theta`). After examples D the learner believes
// P_L(h | D) ∝ P(h) Π_{d∈D} P(d | h).
//
// Teacher. Shafto–Goodman–Griffiths pedagogy: the teacher samples d with P_T(d | h*) ∝ P_L(h* | D ∪ {d})^α.
// The service returns the mode of that distribution (the limit α → ∞, deterministic, docs/api.md#determinism), chosen
// greedily example by example; a template is used at most once (repeating a lesson adds no new kind
// of evidence a human would notice), and an example is only added while it raises the learner's
// posterior on the target. information_value is that rise: P_L(h* | D ∪ {d}) − P_L(h* | D).
//
// Candidates are built from the caller's variables ranked by the mean of the user's value weights
// (their top priorities are the protagonists), and trade-off magnitudes sit at the user's own
// indifference point (Y's loss = X's gain × w̄_X / w̄_Y), so the example is a close call for this user.
// Nothing is random: the request seed of docs/api.md#determinism is not needed.
package teach

import (
	"fmt"
	"slices"
	"strings"

	"github.com/olumi/isl/engine/elicit"
	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/report"
)

// InputError is a semantic input error (→ 400 validation_error with its message).
type InputError = report.InputError

// Concepts in the contract's order with their descriptions (docs/api.md#teach).
var Concepts = []struct{ Key, Description string }{
	{"confounding", "Understanding confounding variables and their impact"},
	{"trade_offs", "Understanding trade-offs between competing objectives"},
	{"causal_mechanism", "Understanding causal mechanisms and pathways"},
	{"uncertainty", "Understanding uncertainty and risk"},
	{"optimization", "Understanding optimization and constraints"},
}

// Features are the phenomena an example can show.
const (
	fCommonCause = iota // a third factor drives two variables
	fAdjusted           // a comparison with and without controlling for a factor
	fOpposing           // improving one objective worsens another
	fMediated           // an effect passes through an intermediate variable
	fDirect             // a direct effect
	fSpread             // a range of outcomes is shown
	fRiskReturn         // a higher expected value comes with more variance
	fBinding            // a constraint limits the options
	fBest               // the best feasible option is identified
	fMulti              // more than two variables move
	nFeatures
)

// theta[h][f] = P(example of concept h shows phenomenon f).
var theta = [5][nFeatures]float64{
	{0.90, 0.60, 0.25, 0.20, 0.30, 0.15, 0.10, 0.10, 0.10, 0.40}, // confounding
	{0.10, 0.10, 0.90, 0.10, 0.40, 0.15, 0.40, 0.25, 0.25, 0.40}, // trade_offs
	{0.25, 0.20, 0.15, 0.90, 0.70, 0.10, 0.10, 0.10, 0.10, 0.40}, // causal_mechanism
	{0.10, 0.10, 0.25, 0.10, 0.30, 0.90, 0.60, 0.10, 0.15, 0.20}, // uncertainty
	{0.10, 0.10, 0.50, 0.10, 0.30, 0.15, 0.20, 0.90, 0.90, 0.40}, // optimization
}

// Request is the validated /teaching/teach body.
type Request struct {
	Beliefs     elicit.Beliefs
	Concept     string
	Context     elicit.Context
	MaxExamples int
}

// Example is one teaching example (docs/api.md#teach).
type Example struct {
	Scenario         elicit.Scenario `json:"scenario"`
	KeyInsight       string          `json:"key_insight"`
	WhyThisExample   string          `json:"why_this_example"`
	InformationValue float64         `json:"information_value"`
}

// Result is the /teaching/teach body (docs/api.md#teach).
type Result struct {
	Examples             []Example `json:"examples"`
	Explanation          string    `json:"explanation"`
	LearningObjectives   []string  `json:"learning_objectives"`
	ExpectedLearningTime string    `json:"expected_learning_time"`
}

// Candidate is a built example with the phenomena it shows.
type Candidate struct {
	Template string
	Features [nFeatures]bool
	Example  Example
}

func conceptIndex(c string) int {
	for i, k := range Concepts {
		if k.Key == c {
			return i
		}
	}
	return -1
}

func knownList() string {
	ks := make([]string, len(Concepts))
	for i, c := range Concepts {
		ks[i] = c.Key
	}
	return strings.Join(ks, ", ")
}

// Teach validates the request and selects up to MaxExamples examples.
func Teach(req Request) (*Result, error) {
	h := conceptIndex(req.Concept)
	if h < 0 {
		return nil, &InputError{Msg: fmt.Sprintf("Unknown target_concept '%s'. Known concepts: %s", req.Concept, knownList())}
	}
	if req.MaxExamples < 1 || req.MaxExamples > 5 {
		return nil, &InputError{Msg: "max_examples must be between 1 and 5"}
	}
	if err := elicit.ValidateContext(req.Context); err != nil {
		return nil, err
	}
	if err := elicit.ValidateBeliefValues(&req.Beliefs); err != nil {
		return nil, err
	}
	cands := Build(req.Context, req.Beliefs)
	chosen, gains := Select(cands, h, req.MaxExamples)
	res := &Result{Examples: []Example{}}
	for i, k := range chosen {
		ex := cands[k].Example
		ex.InformationValue = jsonv.Round(gains[i], 6)
		res.Examples = append(res.Examples, ex)
	}
	concept := Concepts[h]
	res.Explanation = fmt.Sprintf("Selected %d examples to help you understand %s. ", len(res.Examples), concept.Description) +
		"Each example was chosen because it makes a learner most likely to recognise " + strings.ReplaceAll(concept.Key, "_", " ") +
		" rather than a neighbouring idea, and it is built from the variables you weight most."
	res.LearningObjectives = []string{
		"Understand core principles of " + concept.Key,
		"Recognize " + concept.Key + " in real decision scenarios",
	}
	for i, ex := range res.Examples {
		res.LearningObjectives = append(res.LearningObjectives, fmt.Sprintf("Learn from example %d: %s", i+1, ex.KeyInsight))
	}
	res.ExpectedLearningTime = LearningTime(len(res.Examples))
	return res, nil
}

// LearningTime is docs/api.md#teach's time text for the number of examples actually returned.
func LearningTime(count int) string {
	t := 2 + 3*count
	if t < 10 {
		return fmt.Sprintf("%d minutes", t)
	}
	lo := 10 * (t / 10)
	return fmt.Sprintf("%d-%d minutes", lo, lo+10)
}

// Posterior returns the learner's posterior over the concepts after seeing the candidates idx.
func Posterior(cands []Candidate, idx []int) [5]float64 {
	var logp [5]float64
	for _, k := range idx {
		for h := range 5 {
			logp[h] += logLik(cands[k].Features, h)
		}
	}
	return softmax(logp)
}

// Select greedily picks the teacher's examples for concept h (see the package comment) and returns
// them with the rise in the learner's posterior each one causes.
func Select(cands []Candidate, h, max int) (chosen []int, gains []float64) {
	used := map[string]bool{}
	var logp [5]float64
	cur := softmax(logp)[h]
	for len(chosen) < max {
		best, bestP := -1, cur
		for k, c := range cands {
			if used[c.Template] {
				continue
			}
			var next [5]float64
			for g := range 5 {
				next[g] = logp[g] + logLik(c.Features, g)
			}
			if p := softmax(next)[h]; p > bestP+1e-12 {
				best, bestP = k, p
			}
		}
		if best < 0 {
			break
		}
		for g := range 5 {
			logp[g] += logLik(cands[best].Features, g)
		}
		used[cands[best].Template] = true
		chosen = append(chosen, best)
		gains = append(gains, bestP-cur)
		cur = bestP
	}
	return chosen, gains
}

func logLik(x [nFeatures]bool, h int) float64 {
	s := 0.0
	for f := range nFeatures {
		if x[f] {
			s += ln(theta[h][f])
		} else {
			s += ln(1 - theta[h][f])
		}
	}
	return s
}

// rankVariables orders the context variables by the user's weight mean (stable, descending).
func rankVariables(ctx elicit.Context, b elicit.Beliefs) ([]string, map[string]float64) {
	vars := slices.Clone(ctx.Variables)
	mean := map[string]float64{}
	for _, v := range vars {
		mean[v] = 1 / float64(len(vars))
		if d, ok := b.ValueWeights.Get(v); ok {
			mean[v] = elicit.DistMean(d)
		}
	}
	slices.SortStableFunc(vars, func(a, b string) int {
		switch {
		case mean[a] > mean[b]:
			return -1
		case mean[a] < mean[b]:
			return 1
		}
		return 0
	})
	return vars, mean
}
