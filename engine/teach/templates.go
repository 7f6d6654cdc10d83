package teach

import (
	"math"

	"github.com/olumi/isl/engine/elicit"
	"github.com/olumi/isl/engine/jsonv"
)

func ln(x float64) float64 { return math.Log(x) }

func softmax(l [5]float64) [5]float64 {
	m := l[0]
	for _, x := range l[1:] {
		m = math.Max(m, x)
	}
	var out [5]float64
	s := 0.0
	for i, x := range l {
		out[i] = math.Exp(x - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func pct(x float64) string { return jsonv.F0(math.Abs(x)*100) + "%" }

type outcome struct {
	v string
	x float64
}

func scenario(desc string, outs []outcome, trade ...string) elicit.Scenario {
	s := elicit.Scenario{Description: desc, TradeOffs: trade}
	for _, o := range outs {
		s.Outcomes = append(s.Outcomes, jsonv.Entry[float64]{Key: o.v, Value: jsonv.Round(o.x, 6)})
	}
	return s
}

func feats(fs ...int) [nFeatures]bool {
	var x [nFeatures]bool
	for _, f := range fs {
		x[f] = true
	}
	return x
}

// constraintLabel names the first numeric constraint, else a generic budget.
func constraintLabel(c *jsonv.Value) string {
	if c != nil && c.Kind == jsonv.Object {
		for _, e := range c.Obj {
			if e.Value.Kind == jsonv.Number {
				return "the limit on " + e.Key + " (" + jsonv.PyStr(e.Value.Interface()) + ")"
			}
		}
	}
	return "a fixed budget"
}

// Build returns every candidate example the caller's variables allow, in template order.
func Build(ctx elicit.Context, b elicit.Beliefs) []Candidate {
	vars, mean := rankVariables(ctx, b)
	n := len(vars)
	var out []Candidate
	add := func(tmpl string, f [nFeatures]bool, sc elicit.Scenario, insight, why string) {
		out = append(out, Candidate{Template: tmpl, Features: f,
			Example: Example{Scenario: sc, KeyInsight: insight, WhyThisExample: why}})
	}
	var x, y, z string
	if n >= 1 {
		x = vars[0]
	}
	if n >= 2 {
		y = vars[1]
	}
	if n >= 3 {
		z = vars[2]
	}
	// q: the loss in Y that balances a 20 % gain in X for this user (w̄_X/w̄_Y), kept in [5 %, 50 %].
	q := 0.5
	if n >= 2 && mean[y] > 0 {
		q = math.Min(0.5, math.Max(0.05, 0.2*mean[x]/mean[y]))
	}
	if math.IsNaN(q) {
		q = 0.5 // e.g. two infinite means (uniform with huge bounds): no usable ratio
	}
	q = jsonv.Round(q, 2)
	limit := constraintLabel(ctx.Constraints)

	if n >= 2 {
		cause := "an outside factor such as market conditions"
		outs := []outcome{{x, 0.2}, {y, 0.15}}
		if n >= 3 {
			cause = z
			outs = append(outs, outcome{z, 0.3})
		}
		add("confounding_common_cause", feats(fCommonCause),
			scenario(x+" and "+y+" rise together because "+cause+" drives both; changing "+x+" alone would not move "+y,
				outs, "Correlation between "+x+" and "+y, "No causal link from "+x+" to "+y),
			x+" and "+y+" move together only because "+cause+" drives both: correlation is not causation",
			"It shows a common cause and nothing else, so the pattern can only be read as confounding")
	}
	if n >= 3 {
		add("confounding_adjustment", feats(fCommonCause, fAdjusted),
			scenario("Holding "+z+" fixed, the apparent link between "+x+" and "+y+" disappears",
				[]outcome{{x, 0.2}, {y, 0}, {z, 0}}, "Raw comparison suggests "+x+" drives "+y, "Adjusted comparison shows no effect"),
			"Controlling for "+z+" removes the spurious association between "+x+" and "+y,
			"Contrasting the raw and the adjusted comparison isolates what adjusting for a confounder does")
		add("confounding_false_trade_off", feats(fCommonCause, fOpposing, fMulti),
			scenario(z+" pushes "+x+" up and "+y+" down, so "+x+" and "+y+" look like a trade-off",
				[]outcome{{z, 0.3}, {x, 0.2}, {y, -q}}, "Apparent trade-off between "+x+" and "+y, "Both driven by "+z),
			"An apparent trade-off between "+x+" and "+y+" can be produced by "+z+" alone",
			"It shows that confounding can masquerade as a trade-off, a common misreading of data")
	}
	if n >= 2 {
		add("trade_off_pair", feats(fOpposing),
			scenario("Improving "+x+" by 20% costs "+pct(q)+" of "+y, []outcome{{x, 0.2}, {y, -q}},
				"Higher "+x, "Lower "+y),
			"Gaining "+x+" costs "+y+"; at these sizes the two effects roughly balance for you",
			"The loss in "+y+" is sized from your own weights, so the choice is a genuine close call")
	}
	if n >= 3 {
		add("trade_off_multi", feats(fOpposing, fMulti),
			scenario("Improving "+x+" by 20% costs "+y+" and "+z, []outcome{{x, 0.2}, {y, -q / 2}, {z, -q / 2}},
				"Higher "+x, "Lower "+y+" and "+z),
			"A gain in one objective can be paid for by several others at once",
			"Spreading the cost over two objectives shows that trade-offs are rarely one-to-one")
	}
	if n >= 2 {
		add("trade_off_risk", feats(fOpposing, fRiskReturn),
			scenario("A plan with higher "+x+" makes "+y+" less predictable", []outcome{{x, 0.2}, {y, -0.1}},
				"Higher expected "+x, "More volatile "+y),
			"Choosing more "+x+" means accepting risk in "+y,
			"It links a trade-off to risk, which most real choices involve")
		add("mechanism_direct", feats(fDirect),
			scenario(x+" directly changes "+y, []outcome{{x, 0.2}, {y, 0.1}}, "Direct effect of "+x, "No intermediate step"),
			"A change in "+x+" reaches "+y+" without intermediaries",
			"The simplest causal pathway, a baseline for richer mechanisms")
	}
	if n >= 3 {
		add("mechanism_mediated", feats(fMediated, fDirect, fMulti),
			scenario(x+" affects "+z+" both directly and through "+y, []outcome{{x, 0.2}, {y, 0.1}, {z, 0.15}},
				"Direct path "+x+" → "+z, "Indirect path via "+y),
			"Part of the effect of "+x+" on "+z+" travels through "+y,
			"It separates a direct from a mediated path, the core of a causal mechanism")
		add("mechanism_chain", feats(fMediated, fMulti),
			scenario(x+" affects "+z+" only through "+y, []outcome{{x, 0.2}, {y, 0.1}, {z, 0.05}},
				"Chain "+x+" → "+y+" → "+z, "Blocking "+y+" stops the effect"),
			"If "+y+" does not move, "+x+" cannot change "+z,
			"A pure chain shows why mediators matter for interventions")
	}
	if n >= 1 {
		add("uncertainty_spread", feats(fSpread),
			scenario("Two plans with the same expected "+x+" but ranges of ±5% and ±25%", []outcome{{x, 0.1}},
				"Same average "+x, "Different spread"),
			"Plans with the same average "+x+" can carry very different risk",
			"Only the spread differs, so the example is about uncertainty and nothing else")
		add("uncertainty_risk_return", feats(fSpread, fRiskReturn),
			scenario("High expected "+x+" but also high variance", []outcome{{x, 0.25}},
				"Higher expected "+x, "Wider range of outcomes"),
			"A higher expected "+x+" often comes with a wider range of outcomes",
			"It pairs expected value with variance, the basic risk–return tension")
		add("optimization_constraint", feats(fBinding, fBest),
			scenario("Best achievable "+x+" subject to "+limit, []outcome{{x, 0.15}},
				"Best feasible "+x, "Limited by "+limit),
			"The best plan is the best feasible one: "+limit+" caps "+x,
			"It shows a binding constraint deciding the optimum")
	}
	if n >= 2 {
		add("optimization_trade_off", feats(fOpposing, fBinding, fBest),
			scenario("Best balance of "+x+" and "+y+" under "+limit, []outcome{{x, 0.15}, {y, -0.05}},
				"Best feasible mix", "Constraint forces giving up some "+y),
			"Under "+limit+", improving "+x+" further would cost "+y,
			"It combines a constraint with a trade-off, which is how optimisation problems look in practice")
	}
	return out
}
