package elicit

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/jsonv"
)

func normal(m, s float64) Distribution { return normalDist(m, s) }

func w5Context(t testing.TB) Context {
	return Context{Domain: "pricing", Variables: []string{"revenue", "churn", "brand_perception"},
		Constraints: mustValue(t, `{"industry":"SaaS","current_price":49}`)}
}

func mustPrepare(t testing.TB, ctx Context, b *Beliefs, stored *State) *State {
	t.Helper()
	st, err := Prepare(ctx, b, stored, 7)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func mustElicit(t testing.TB, st *State, ctx Context, n int) *ElicitResult {
	t.Helper()
	res, err := Elicit(st, ctx, n, "abcdef01")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestQueryHashF4(t *testing.T) {
	ctx := w5Context(t)
	h, err := QueryHash(ctx, "test_user_pricing_001", 0)
	if err != nil || h != "5fbb49d3" {
		t.Fatalf("h8 = %q, %v; want 5fbb49d3 (§13 W5)", h, err)
	}
	h1, _ := QueryHash(ctx, "test_user_pricing_001", 1)
	h2, _ := QueryHash(ctx, "test_user_pricing_001", 2)
	if h1 == h || h2 == h1 {
		t.Errorf("round hashes must differ: %s %s %s", h, h1, h2)
	}
}

var idRE = regexp.MustCompile(`^query_\d{3,}_abcdef01$`)

func checkQueries(t *testing.T, qs []IssuedQuery, domain string) {
	t.Helper()
	seen := map[string]bool{}
	for i, q := range qs {
		if !idRE.MatchString(q.ID) || seen[q.ID] {
			t.Errorf("bad or duplicate id %q", q.ID)
		}
		seen[q.ID] = true
		a, _ := json.Marshal(q.ScenarioA.Outcomes)
		b, _ := json.Marshal(q.ScenarioB.Outcomes)
		if string(a) == string(b) {
			t.Errorf("%s: identical scenarios %s", q.ID, a)
		}
		if !(q.InformationGain >= 0) || math.IsInf(q.InformationGain, 0) {
			t.Errorf("%s: IG %v", q.ID, q.InformationGain)
		}
		if i > 0 && q.InformationGain > qs[i-1].InformationGain {
			t.Errorf("queries not sorted by IG at %d", i)
		}
		if !strings.HasPrefix(q.Question, "Which outcome would you prefer?\n\n**Option A:** "+q.ScenarioA.Description+"\n") ||
			!strings.HasSuffix(q.Question, "\nConsider the trade-offs in "+domain+" decisions.") {
			t.Errorf("question format: %q", q.Question)
		}
	}
}

func TestElicitW5(t *testing.T) {
	ctx := w5Context(t)
	st := mustPrepare(t, ctx, nil, nil)
	res := mustElicit(t, st, ctx, 5)
	if len(res.Queries) != 5 {
		t.Fatalf("got %d queries", len(res.Queries))
	}
	checkQueries(t, res.Queries, "pricing")
	sum := 0.0
	pairs := map[string]bool{}
	for _, q := range res.Queries {
		sum += q.InformationGain
		if q.InformationGain <= 0.01 {
			t.Errorf("uninformative query under a wide prior: %v", q.InformationGain)
		}
		pairs[strings.Join(q.Coef.Keys(), "|")] = true
	}
	if len(pairs) != 3 {
		t.Errorf("first three queries should cover the three variable pairs, got %v", pairs)
	}
	if math.Abs(sum-res.ExpectedInformationGain) > 1e-9 {
		t.Errorf("expected IG %v != sum %v", res.ExpectedInformationGain, sum)
	}
	if res.Strategy.Type != "uncertainty_sampling" || res.EstimatedQueriesRemaining != 5 {
		t.Errorf("strategy %+v remaining %d", res.Strategy, res.EstimatedQueriesRemaining)
	}
	if res.Explanation.Summary != "Generated 5 queries using uncertainty_sampling strategy" ||
		res.Explanation.Assumptions[0] != "Focus area: All preference dimensions" {
		t.Errorf("explanation %+v", res.Explanation)
	}
}

func TestElicitCounts(t *testing.T) {
	for _, tc := range []struct {
		vars    []string
		n, want int
	}{
		{[]string{"a", "b"}, 10, 10},
		{[]string{"a"}, 5, 3},
		{[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, 10, 10},
	} {
		t.Run(strings.Join(tc.vars, ""), func(t *testing.T) {
			ctx := Context{Domain: "general", Variables: tc.vars}
			res := mustElicit(t, mustPrepare(t, ctx, nil, nil), ctx, tc.n)
			if len(res.Queries) != tc.want {
				t.Fatalf("got %d queries, want %d", len(res.Queries), tc.want)
			}
			checkQueries(t, res.Queries, "general")
		})
	}
}

func TestElicitFiftyVariables(t *testing.T) {
	vars := make([]string, MaxVariables)
	for i := range vars {
		vars[i] = fmt.Sprintf("v%02d", i)
	}
	ctx := Context{Domain: "general", Variables: vars}
	res := mustElicit(t, mustPrepare(t, ctx, nil, nil), ctx, 10)
	checkQueries(t, res.Queries, "general")
	if len(res.Queries) != 10 {
		t.Fatalf("got %d", len(res.Queries))
	}
}

func TestDirections(t *testing.T) {
	vars := []string{"revenue", "churn", "cost"}
	for _, tc := range []struct {
		name, constraints string
		want              map[string]int
		err               string
	}{
		{"null", `null`, map[string]int{}, ""},
		{"list", `{"minimize":["churn","cost"]}`, map[string]int{"churn": Less, "cost": Less}, ""},
		{"single", `{"Minimise":"churn","maximize":["revenue"]}`, map[string]int{"churn": Less, "revenue": More}, ""},
		{"per var", `{"churn":"lower_is_better","cost":"less","revenue":"SaaS"}`, map[string]int{"churn": Less, "cost": Less}, ""},
		{"suffix", `{"churn_direction":"minimize"}`, map[string]int{"churn": Less}, ""},
		{"object", `{"directions":{"churn":"less","revenue":"more","other":"less"}}`, map[string]int{"churn": Less, "revenue": More}, ""},
		{"conflict", `{"minimize":["churn"],"maximize":["churn"]}`, nil,
			"context.constraints give conflicting directions for variable 'churn'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDirections(mustValue(t, tc.constraints), vars)
			if tc.err != "" {
				var ie *InputError
				if !errors.As(err, &ie) || ie.Msg != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestDirectionAndBaseShapeScenarios(t *testing.T) {
	ctx := Context{Domain: "pricing", Variables: []string{"revenue", "churn"},
		Constraints: mustValue(t, `{"minimize":["churn"],"current_revenue":50000,"current":{"churn":0.05}}`)}
	st := mustPrepare(t, ctx, nil, nil)
	res := mustElicit(t, st, ctx, 10)
	for _, q := range res.Queries {
		for _, sc := range []Scenario{q.ScenarioA, q.ScenarioB} {
			r, _ := sc.Outcomes.Get("revenue")
			c, _ := sc.Outcomes.Get("churn")
			if r < 50000 || c > 0.05 {
				t.Errorf("%s: improvements must raise revenue and lower churn: %v", q.ID, sc.Outcomes)
			}
		}
		if strings.Contains(q.Question, "churn increases") || strings.Contains(q.Question, "revenue decreases") {
			t.Errorf("wrong direction in %q", q.Question)
		}
	}
	q := st.render(candidate{i: 0, j: 1, p: 0.2, q: 0.1}, "pricing")
	want := "Which outcome would you prefer?\n\n**Option A:** revenue increases by 20%, churn unchanged\n" +
		"  - revenue: 60,000\n  - churn: 5.0%\nTrade-offs: Better revenue, No improvement in churn\n\n" +
		"**Option B:** churn decreases by 10%, revenue unchanged\n  - revenue: 50,000\n  - churn: 4.5%\n" +
		"Trade-offs: Better churn, No improvement in revenue\n\nConsider the trade-offs in pricing decisions."
	if q.Question != want {
		t.Errorf("question:\n%q\nwant\n%q", q.Question, want)
	}
	if fmt.Sprint(q.Coef) != fmt.Sprint(jsonv.Map[float64]{{Key: "revenue", Value: 0.2}, {Key: "churn", Value: -0.1}}) {
		t.Errorf("coef %v", q.Coef)
	}
}

func TestFormatOutcome(t *testing.T) {
	for x, want := range map[float64]string{0.05: "5.0%", -0.5: "-50.0%", 120: "120", 999.4: "999", 50000: "50,000", -1234567: "-1,234,567"} {
		if got := FormatOutcome(x); got != want {
			t.Errorf("FormatOutcome(%v) = %q, want %q", x, got, want)
		}
	}
}

func beliefs(u float64, ws ...any) *Beliefs {
	b := &Beliefs{RiskTolerance: DefaultRisk(), TimeHorizon: DefaultHorizon()}
	for i := 0; i < len(ws); i += 2 {
		b.ValueWeights = append(b.ValueWeights, jsonv.Entry[Distribution]{Key: ws[i].(string), Value: ws[i+1].(Distribution)})
		b.UncertaintyEstimates = append(b.UncertaintyEstimates, jsonv.Entry[float64]{Key: ws[i].(string) + "_weight", Value: u})
	}
	return b
}

func TestValidation(t *testing.T) {
	ok := Context{Domain: "d", Variables: []string{"a", "b"}}
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprint("v", i)
	}
	neg := beliefs(0.5, "a", normal(0.5, -0.1))
	outside := beliefs(1.5, "a", normal(0.5, 0.1))
	empty := beliefs(0.5, "a", normal(0.5, 0.1))
	empty.UncertaintyEstimates = nil
	missing := beliefs(0.5, "a", Distribution{Type: "normal", Parameters: jsonv.Map[float64]{{Key: "mean", Value: 1}}})
	badBeta := beliefs(0.5, "a", Distribution{Type: "beta", Parameters: jsonv.Map[float64]{{Key: "alpha", Value: 0}, {Key: "beta", Value: 1}}})
	dup := beliefs(0.5, "a", normal(0.5, 0.1), "a", normal(0.5, 0.1))
	for _, tc := range []struct {
		name string
		ctx  Context
		b    *Beliefs
		want string
	}{
		{"no variables", Context{Domain: "d"}, nil, "context.variables must contain at least one variable"},
		{"too many", Context{Domain: "d", Variables: many}, nil, "context.variables must contain at most 50 variables"},
		{"duplicate", Context{Domain: "d", Variables: []string{"a", "a"}}, nil, "context.variables contains duplicate variable 'a'"},
		{"empty name", Context{Domain: "d", Variables: []string{""}}, nil, "context.variables must not contain an empty variable name"},
		{"empty uncertainty", ok, empty, "current_beliefs.uncertainty_estimates must not be empty"},
		{"uncertainty range", ok, outside, "current_beliefs.uncertainty_estimates['a_weight'] must be between 0 and 1"},
		{"negative std", ok, neg, "Invalid parameters for distribution 'a'"},
		{"missing parameter", ok, missing, "Distribution for 'a' requires parameter 'std'"},
		{"beta alpha 0", ok, badBeta, "Invalid parameters for distribution 'a'"},
		{"duplicate weight", ok, dup, "current_beliefs.value_weights contains duplicate variable 'a'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Prepare(tc.ctx, tc.b, nil, 1)
			var ie interface{ InputError() string }
			if !errors.As(err, &ie) || ie.InputError() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	st := mustPrepare(t, ok, nil, nil)
	for _, n := range []int{0, 11} {
		if _, err := Elicit(st, ok, n, "x"); err == nil {
			t.Errorf("num_queries %d accepted", n)
		}
	}
	if _, err := st.Apply(IssuedQuery{}, "C", 1); err == nil {
		t.Error("response C accepted")
	}
	if _, err := st.Apply(IssuedQuery{}, "A", 1.5); err == nil {
		t.Error("confidence 1.5 accepted")
	}
}

func means(st *State) map[string]float64 {
	m, _ := st.Posterior().Moments()
	out := map[string]float64{}
	for i, v := range st.Variables {
		out[v] = m[i]
	}
	return out
}

func TestUpdateDirections(t *testing.T) {
	ctx := Context{Domain: "d", Variables: []string{"revenue", "churn", "brand"}}
	st := mustPrepare(t, ctx, nil, nil)
	q := st.render(candidate{i: 0, j: 1, p: 0.2, q: 0.2}, "d")
	before := means(st)
	gap := func(m map[string]float64) float64 { return m["revenue"] - m["churn"] }
	for _, tc := range []struct {
		resp string
		conf float64
		test func(after map[string]float64) bool
	}{
		{"A", 1, func(a map[string]float64) bool { return gap(a) > gap(before)+0.05 }},
		{"B", 1, func(a map[string]float64) bool { return gap(a) < gap(before)-0.05 }},
		{"A", 0, func(a map[string]float64) bool { return fmt.Sprint(a) == fmt.Sprint(before) }},
		{"B", 0.3, func(a map[string]float64) bool { return gap(a) < gap(before) && gap(a) > gap(before)-0.1 }},
	} {
		t.Run(fmt.Sprint(tc.resp, tc.conf), func(t *testing.T) {
			st2, err := st.Apply(q, tc.resp, tc.conf)
			if err != nil {
				t.Fatal(err)
			}
			if a := means(st2); !tc.test(a) {
				t.Errorf("before %v after %v", before, a)
			}
		})
	}
	// Indifference pulls two very different weights together.
	b := beliefs(0.6, "revenue", normal(0.6, 0.15), "churn", normal(0.2, 0.15), "brand", normal(0.2, 0.1))
	st = mustPrepare(t, ctx, b, nil)
	before = means(st)
	for range 3 {
		st, _ = st.Apply(q, "indifferent", 1)
	}
	if after := means(st); !(gap(after) < gap(before)-0.05) {
		t.Errorf("indifferent: before %v after %v", before, after)
	}
}

func TestDeterministicReplayAndSize(t *testing.T) {
	vars := make([]string, MaxVariables)
	for i := range vars {
		vars[i] = fmt.Sprintf("variable_%02d", i)
	}
	ctx := Context{Domain: "general", Variables: vars}
	st := mustPrepare(t, ctx, nil, nil)
	res := mustElicit(t, st, ctx, 10)
	for i := range MaxHistory + 5 {
		q := res.Queries[i%10]
		q.ID = fmt.Sprintf("query_%03d_x", i) // distinct ids: re-answering an id replaces its answer
		st, _ = st.Apply(q, []string{"A", "B", "indifferent"}[i%3], 0.7)
	}
	if len(st.History) != MaxHistory || st.Answered != MaxHistory+5 {
		t.Fatalf("history %d answered %d", len(st.History), st.Answered)
	}
	doc, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) > 100_000 {
		t.Errorf("state is %d bytes", len(doc))
	}
	var back State
	if err := json.Unmarshal(doc, &back); err != nil {
		t.Fatal(err)
	}
	r1, _ := json.Marshal(Summarize(st, "h"))
	r2, _ := json.Marshal(Summarize(&back, "h"))
	if string(r1) != string(r2) {
		t.Error("replay after a JSON round trip differs")
	}
	if strings.Contains(string(r1), "NaN") || strings.Contains(string(r1), "Inf") {
		t.Error("non-finite output")
	}
}

func TestSuppliedAndStored(t *testing.T) {
	ctx := Context{Domain: "d", Variables: []string{"revenue", "churn"}}
	b := beliefs(0.4, "revenue", normal(0.7, 0.1), "churn", normal(0.2, 0.1), "brand", Distribution{Type: "beta",
		Parameters: jsonv.Map[float64]{{Key: "alpha", Value: 1}, {Key: "beta", Value: 9}}})
	st := mustPrepare(t, ctx, b, nil)
	if fmt.Sprint(st.Variables) != "[revenue churn brand]" || !st.Informed {
		t.Fatalf("variables %v", st.Variables)
	}
	m := means(st)
	if !(m["revenue"] > m["churn"] && m["churn"] > m["brand"]) {
		t.Errorf("supplied ordering lost: %v", m)
	}
	res := mustElicit(t, st, ctx, 3)
	if res.EstimatedQueriesRemaining != 4 || res.Strategy.Type != "expected_improvement" {
		t.Errorf("remaining %d strategy %s", res.EstimatedQueriesRemaining, res.Strategy.Type)
	}
	st2, _ := st.Apply(res.Queries[0], "A", 1)
	// Same variables: the stored state (with its history) is reused.
	again := mustPrepare(t, ctx, nil, st2)
	if len(again.History) != 1 || again.Answered != 1 {
		t.Errorf("stored state not reused: %+v", again.History)
	}
	// A new variable: rebuilt from the stored posterior summary, counter carried.
	ctx2 := Context{Domain: "d", Variables: []string{"revenue", "cost"}, Constraints: mustValue(t, `{"minimize":"cost"}`)}
	re := mustPrepare(t, ctx2, nil, st2)
	if len(re.History) != 0 || re.Answered != 1 || fmt.Sprint(re.Variables) != "[revenue cost churn brand]" || re.Directions[1] != Less {
		t.Errorf("rebuild: %+v", re)
	}
	// A flipped direction also forces a rebuild.
	ctx3 := Context{Domain: "d", Variables: []string{"churn"}, Constraints: mustValue(t, `{"churn":"minimize"}`)}
	if re := mustPrepare(t, ctx3, nil, st2); len(re.History) != 0 || re.Directions[re.index("churn")] != Less {
		t.Errorf("direction flip kept history")
	}
}

func TestLearningSummary(t *testing.T) {
	ctx := Context{Domain: "d", Variables: []string{"revenue", "churn", "brand"}}
	st := mustPrepare(t, ctx, nil, nil)
	fresh := Summarize(st, "h")
	if fresh.LearningSummary.ReadyForRecommendations || fresh.LearningSummary.Confidence != 0.2 {
		t.Errorf("fresh summary %+v", fresh.LearningSummary)
	}
	// A user who always takes revenue.
	for range 12 {
		res, err := Elicit(st, ctx, 1, fmt.Sprintf("%08d", st.Answered))
		if err != nil {
			t.Fatal(err)
		}
		q := res.Queries[0]
		resp := "B"
		if v, _ := q.Coef.Get("revenue"); v > 0 {
			resp = "A"
		} else if _, ok := q.Coef.Get("revenue"); !ok {
			resp = "indifferent"
		}
		st, _ = st.Apply(q, resp, 1)
	}
	s := Summarize(st, "h")
	ls := s.LearningSummary
	if ls.TopPriorities[0] != "revenue" || !ls.ReadyForRecommendations || s.EstimatedQueriesRemaining != 0 {
		t.Errorf("summary %+v remaining %d", ls, s.EstimatedQueriesRemaining)
	}
	if ls.Insights[0] != "You strongly prioritize revenue in your decisions" || !strings.HasPrefix(ls.Insights[1], "You value revenue over ") {
		t.Errorf("insights %q", ls.Insights)
	}
	if len(s.NextQueries) != NextQueryCount || len(s.UpdatedBeliefs.ValueWeights) != 3 {
		t.Errorf("next %d", len(s.NextQueries))
	}
	u, _ := s.UpdatedBeliefs.UncertaintyEstimates.Get("revenue_weight")
	if !(u < DefaultUncertainty) {
		t.Errorf("uncertainty did not shrink: %v", u)
	}
}

func FuzzPrepare(f *testing.F) {
	f.Add(`{"minimize":["churn"],"current_revenue":50000}`, "revenue,churn", 3)
	f.Add(`{"directions":{"a":"less"},"current":{"a":-0.5}}`, "a", 1)
	f.Add(`{"a":0,"b":"max","maximize":"a","minimize":["b",1,null]}`, "a,b,c", 10)
	f.Add(`null`, "", 0)
	f.Fuzz(func(t *testing.T, constraints, vars string, n int) {
		v, err := jsonv.Parse([]byte(constraints))
		if err != nil || (v.Kind != jsonv.Object && v.Kind != jsonv.Null) {
			return
		}
		ctx := Context{Domain: "d", Variables: strings.Split(vars, ","), Constraints: &v}
		if vars == "" {
			ctx.Variables = nil
		}
		st, err := Prepare(ctx, nil, nil, 1)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("non-input error %v", err)
			}
			return
		}
		res, err := Elicit(st, ctx, min(max(n, 1), 10), "h")
		if err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(res)
		if err != nil {
			t.Fatalf("marshal: %v", err) // NaN/Inf would fail here
		}
		_ = out
	})
}

func TestReanswerReplaces(t *testing.T) {
	ctx := Context{Domain: "d", Variables: []string{"a", "b"}}
	st := mustPrepare(t, ctx, nil, nil)
	q := mustElicit(t, st, ctx, 1).Queries[0]
	once, _ := st.Apply(q, "A", 1)
	twice, _ := once.Apply(q, "A", 1)
	flipped, _ := once.Apply(q, "B", 1)
	if len(twice.History) != 1 || twice.Answered != 2 || fmt.Sprint(means(twice)) != fmt.Sprint(means(once)) {
		t.Errorf("retry changed the posterior: %v vs %v", means(twice), means(once))
	}
	if flipped.History[0].Response != "B" {
		t.Errorf("latest answer must win")
	}
}

// TestHugeBaselines: a baseline near the float64 limit is a 400, never an infinite scenario value
// (which cannot be encoded and used to surface as a 500); baselines up to MaxBase stay finite.
func TestHugeBaselines(t *testing.T) {
	for _, tc := range []struct {
		constraints string
		want        string
	}{
		{`{"current_x":1.7e308}`, "context.constraints: the baseline of 'x' must be at most 1e+308 in magnitude"},
		{`{"baseline":{"y":-1.7e308},"minimize":"y"}`, "context.constraints: the baseline of 'y' must be at most 1e+308 in magnitude"},
		{`{"current_x":1e308,"y":-1e308,"minimize":"y"}`, ""},
	} {
		ctx := Context{Domain: "d", Variables: []string{"x", "y"}, Constraints: mustValue(t, tc.constraints)}
		st, err := Prepare(ctx, nil, nil, 1)
		if tc.want != "" {
			var ie interface{ InputError() string }
			if !errors.As(err, &ie) || ie.InputError() != tc.want {
				t.Errorf("%s: err = %v, want %q", tc.constraints, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.constraints, err)
		}
		res := mustElicit(t, st, ctx, MaxQueries)
		for _, q := range res.Queries {
			if _, err := json.Marshal(q); err != nil {
				t.Errorf("%s: query %s cannot be encoded: %v", tc.constraints, q.ID, err)
			}
		}
	}
}

// TestMaxBaseFitsLevels: every improvement level applied to a baseline of MaxBase stays finite.
func TestMaxBaseFitsLevels(t *testing.T) {
	for _, l := range levels {
		if math.IsInf(MaxBase*(1+math.Max(l.p, l.q)), 0) {
			t.Errorf("level %+v overflows at MaxBase", l)
		}
	}
	for _, p := range singleLevels {
		if math.IsInf(MaxBase*(1+p), 0) {
			t.Errorf("single level %g overflows at MaxBase", p)
		}
	}
}
