package teach

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/elicit"
	"github.com/olumi/isl/engine/jsonv"
)

func dist(typ string, kv ...float64) elicit.Distribution {
	names := map[string][]string{"normal": {"mean", "std"}, "beta": {"alpha", "beta"}, "uniform": {"min", "max"}, "exponential": {"scale"}}[typ]
	d := elicit.Distribution{Type: typ}
	for i, x := range kv {
		d.Parameters = append(d.Parameters, jsonv.Entry[float64]{Key: names[i], Value: x})
	}
	return d
}

// w7Beliefs: weight means revenue 0.7, churn 0.4, brand 0.3 (docs/api.md#causal-validate-examples docs/api.md#teach), with a beta and a uniform (docs/api.md#distribution).
func w7Beliefs() elicit.Beliefs {
	return elicit.Beliefs{
		ValueWeights: jsonv.Map[elicit.Distribution]{
			{Key: "revenue", Value: dist("normal", 0.7, 0.1)},
			{Key: "churn", Value: dist("beta", 2, 3)},
			{Key: "brand", Value: dist("uniform", 0.1, 0.5)},
		},
		RiskTolerance: dist("beta", 2, 2), TimeHorizon: dist("normal", 12, 6),
		UncertaintyEstimates: jsonv.Map[float64]{{Key: "revenue_weight", Value: 0.3}},
	}
}

func ctx3() elicit.Context {
	return elicit.Context{Domain: "pricing", Variables: []string{"brand", "churn", "revenue"}}
}

func TestTeachW7(t *testing.T) {
	res, err := Teach(Request{Beliefs: w7Beliefs(), Concept: "trade_offs", Context: ctx3(), MaxExamples: 3})
	if err != nil {
		t.Fatal(err)
	}
	n := len(res.Examples)
	if n == 0 || n > 3 {
		t.Fatalf("%d examples", n)
	}
	if !strings.HasPrefix(res.Explanation, fmt.Sprintf("Selected %d examples to help you understand Understanding trade-offs between competing objectives. ", n)) {
		t.Errorf("explanation %q", res.Explanation)
	}
	if len(res.LearningObjectives) != 2+n || res.LearningObjectives[0] != "Understand core principles of trade_offs" ||
		res.LearningObjectives[1] != "Recognize trade_offs in real decision scenarios" ||
		res.LearningObjectives[2] != "Learn from example 1: "+res.Examples[0].KeyInsight {
		t.Errorf("objectives %q", res.LearningObjectives)
	}
	if res.ExpectedLearningTime != LearningTime(n) {
		t.Errorf("time %q for %d examples", res.ExpectedLearningTime, n)
	}
	// Protagonists are the user's top priorities (revenue 0.7, churn 0.4), not the request order.
	if !strings.Contains(res.Examples[0].Scenario.Description, "revenue") {
		t.Errorf("first example ignores the top priority: %q", res.Examples[0].Scenario.Description)
	}
	total := 0.0
	for i, ex := range res.Examples {
		if !(ex.InformationValue > 0) || (i > 0 && ex.InformationValue > res.Examples[i-1].InformationValue) {
			t.Errorf("information values %v", ex.InformationValue)
		}
		total += ex.InformationValue
	}
	// Values are the learner's posterior gains: they add up to final posterior − prior (0.2).
	if math.Abs(total-(posteriorOf(t, res, ctx3(), 1)-0.2)) > 1e-5 {
		t.Errorf("gains %v do not add up", total)
	}
}

// posteriorOf recomputes the learner's posterior on concept h after the returned examples.
func posteriorOf(t *testing.T, res *Result, ctx elicit.Context, h int) float64 {
	cands := Build(ctx, w7Beliefs())
	var idx []int
	for _, ex := range res.Examples {
		for k, c := range cands {
			if c.Example.KeyInsight == ex.KeyInsight && c.Example.Scenario.Description == ex.Scenario.Description {
				idx = append(idx, k)
			}
		}
	}
	if len(idx) != len(res.Examples) {
		t.Fatalf("examples not found among candidates")
	}
	return Posterior(cands, idx)[h]
}

func TestTradeOffSizedFromBeliefs(t *testing.T) {
	cands := Build(ctx3(), w7Beliefs())
	for _, c := range cands {
		if c.Template == "trade_off_pair" {
			// 20 % revenue balances 0.2·0.7/0.4 = 35 % churn for this user.
			if c.Example.Scenario.Description != "Improving revenue by 20% costs 35% of churn" {
				t.Errorf("got %q", c.Example.Scenario.Description)
			}
			return
		}
	}
	t.Fatal("no trade_off_pair candidate")
}

func TestOneVariableConfounding(t *testing.T) {
	res, err := Teach(Request{Beliefs: w7Beliefs(), Concept: "confounding",
		Context: elicit.Context{Domain: "d", Variables: []string{"revenue"}}, MaxExamples: 3})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.Examples)
	if string(b) != "[]" || res.ExpectedLearningTime != "2 minutes" || len(res.LearningObjectives) != 2 {
		t.Errorf("got %s %q %q", b, res.ExpectedLearningTime, res.LearningObjectives)
	}
}

func TestErrors(t *testing.T) {
	ok := Request{Beliefs: w7Beliefs(), Concept: "uncertainty", Context: ctx3(), MaxExamples: 2}
	neg := ok
	neg.Beliefs = w7Beliefs()
	neg.Beliefs.ValueWeights[0].Value = dist("normal", 0.5, -1)
	miss := ok
	miss.Beliefs = w7Beliefs()
	miss.Beliefs.ValueWeights[1].Value = dist("beta", 2)
	unc := ok
	unc.Beliefs = w7Beliefs()
	unc.Beliefs.UncertaintyEstimates[0].Value = -0.1
	unknown := ok
	unknown.Concept = "statistics"
	noVars := ok
	noVars.Context = elicit.Context{Domain: "d"}
	for _, tc := range []struct {
		name string
		req  Request
		want string
	}{
		{"unknown concept", unknown, "Unknown target_concept 'statistics'. Known concepts: confounding, trade_offs, causal_mechanism, uncertainty, optimization"},
		{"negative std", neg, "Invalid parameters for distribution 'revenue'"},
		{"missing parameter", miss, "Distribution for 'churn' requires parameter 'beta'"},
		{"uncertainty", unc, "current_beliefs.uncertainty_estimates['revenue_weight'] must be between 0 and 1"},
		{"no variables", noVars, "context.variables must contain at least one variable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Teach(tc.req)
			var ie interface{ InputError() string }
			if !errors.As(err, &ie) || ie.InputError() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLearningTime(t *testing.T) {
	for n, want := range map[int]string{0: "2 minutes", 1: "5 minutes", 2: "8 minutes", 3: "10-20 minutes", 5: "10-20 minutes", 6: "20-30 minutes"} {
		if got := LearningTime(n); got != want {
			t.Errorf("LearningTime(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestTeacherBeatsRandom: for every concept and example budget, the teacher's examples leave the
// simulated learner with a higher posterior on the target concept than random examples do.
func TestTeacherBeatsRandom(t *testing.T) {
	ctx := elicit.Context{Domain: "ops", Variables: []string{"cost", "quality", "speed", "risk"},
		Constraints: func() *jsonv.Value { v, _ := jsonv.Parse([]byte(`{"budget":100000}`)); return &v }()}
	cands := Build(ctx, w7Beliefs())
	r := rand.New(rand.NewPCG(1, 2))
	for h, c := range Concepts {
		for k := 1; k <= 3; k++ {
			chosen, _ := Select(cands, h, k)
			teacher := Posterior(cands, chosen)[h]
			const trials = 500
			random := 0.0
			for range trials {
				random += Posterior(cands, r.Perm(len(cands))[:k])[h] / trials
			}
			if !(teacher > random+0.2) {
				t.Errorf("%s k=%d: teacher %.3f vs random %.3f", c.Key, k, teacher, random)
			}
		}
	}
}

func FuzzTeach(f *testing.F) {
	f.Add("trade_offs", "a,b,c", 3, 0.5, `{"budget":10}`)
	f.Add("confounding", "a", 1, -1.0, `null`)
	f.Add("optimization", "x,y", 5, 2.0, `{"limit":"none","cap":1e308}`)
	f.Fuzz(func(t *testing.T, concept, vars string, n int, mean float64, constraints string) {
		c, err := jsonv.Parse([]byte(constraints))
		if err != nil || (c.Kind != jsonv.Object && c.Kind != jsonv.Null) {
			return
		}
		b := w7Beliefs()
		b.ValueWeights[0].Value = dist("normal", mean, 0.1)
		req := Request{Beliefs: b, Concept: concept, Context: elicit.Context{Domain: "d", Variables: strings.Split(vars, ","), Constraints: &c}, MaxExamples: n}
		res, err := Teach(req)
		if err != nil {
			var ie interface{ InputError() string }
			if !errors.As(err, &ie) {
				t.Fatalf("non-input error %v", err)
			}
			return
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatal(err)
		}
	})
}
