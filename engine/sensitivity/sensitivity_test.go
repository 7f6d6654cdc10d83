package sensitivity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

var testOpt = Options{Samples: 2000, Seed: 12345}

func decode(t testing.TB, body string) Request {
	t.Helper()
	var r Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return r
}

func run(t testing.TB, body string) *Response {
	t.Helper()
	resp, err := Analyze(context.Background(), decode(t, body), testOpt)
	if err != nil {
		t.Fatalf("Analyze(%s): %v", body, err)
	}
	if _, err := json.Marshal(resp); err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return resp
}

func byName(r *Response, name string) Analysis {
	for _, a := range r.Assumptions {
		if a.Name == name {
			return a
		}
	}
	return Analysis{}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// docs/api.md#sensitivity with the documented behaviour: the model `{}` cannot be evaluated, so every assumption uses the
// contract heuristic (evidence starts with the contract text and says why). Changes against
// the contract text: percentages are 100·if_wrong/Σ (docs/api.md#sensitivity; contract 0.0), `[]` is a 400 (docs/api.md#limits;
// contract: robust), and evidence carries the heuristic note.
func TestGoldenW10(t *testing.T) {
	r := run(t, `{"model":{},"baseline_result":51000,"assumptions":[
		{"name":"Market timing","current_value":"90 days","type":"structural","variation_range":null},
		{"name":"Customer price sensitivity","current_value":0.5,"type":"parametric","variation_range":{"min":0.3,"max":0.8}},
		{"name":"Seasonal effects","current_value":{"Q4_multiplier":1.08},"type":"distributional"}]}`)
	type row struct {
		name, importance, confidence string
		ifWrong, pct                 float64
	}
	want := []row{
		{"Customer price sensitivity", "critical", "medium", 51000, 100 * 51000.0 / 61200},
		{"Market timing", "moderate", "low", 5100, 100 * 5100.0 / 61200},
		{"Seasonal effects", "moderate", "medium", 5100, 100 * 5100.0 / 61200},
	}
	for i, w := range want {
		a := r.Assumptions[i]
		if a.Name != w.name || a.Importance != w.importance || a.Confidence != w.confidence ||
			a.Impact.IfWrong != w.ifWrong || !near(a.Impact.Percentage, w.pct, 1e-9) || a.Method != "heuristic" {
			t.Errorf("assumption %d = %+v, want %+v", i, a, w)
		}
	}
	if r.Assumptions[0].Recommendation != "CRITICAL: Validate Customer price sensitivity with additional data or experiments before making final decision" ||
		r.Assumptions[1].Recommendation != "Consider validating Market timing if possible to reduce uncertainty" {
		t.Errorf("recommendations %q / %q", r.Assumptions[0].Recommendation, r.Assumptions[1].Recommendation)
	}
	if ev := r.Assumptions[0].Evidence; !strings.HasPrefix(ev, "Parameter value based on current model: 0.5. Impact estimated with the proportional heuristic") ||
		!strings.HasSuffix(ev, "the model has no structural equations.") {
		t.Errorf("evidence %q", ev)
	}
	if string(mustJSON(t, r.Assumptions[2].CurrentValue)) != `{"Q4_multiplier":1.08}` {
		t.Errorf("current_value echo %s", mustJSON(t, r.Assumptions[2].CurrentValue))
	}
	if r.Robustness.Overall != "fragile" || len(r.Robustness.Breakpoints) != 1 ||
		r.Robustness.Breakpoints[0].Threshold != "If Customer price sensitivity exceeds 0.75, conclusion may reverse" {
		t.Errorf("robustness %+v", r.Robustness)
	}
	if r.Conclusion.Statement != "Result is 51000" || r.Conclusion.BaseCase != 51000 {
		t.Errorf("conclusion %+v", r.Conclusion)
	}
	if r.Explanation.Summary != "Conclusion is fragile with 1 critical assumption(s)" {
		t.Errorf("summary %q", r.Explanation.Summary)
	}
	if r.ModelRun != nil || r.Robustness.JointWorstCase != nil {
		t.Errorf("model run reported for an unevaluable model")
	}

	cases := []struct {
		name, assumption, importance string
		ifWrong                      float64
		breakpoint                   string
	}{
		{"range 450-520", `{"name":"Price","current_value":500,"type":"parametric","variation_range":{"min":450,"max":520}}`, "moderate", 7140, ""},
		{"no range ±30%", `{"name":"Churn","current_value":0.05,"type":"parametric"}`, "critical", 30600, "If Churn exceeds 0.08, conclusion may reverse"},
		{"cv 0 with range (F9)", `{"name":"Zero","current_value":0,"type":"parametric","variation_range":{"min":-1,"max":1}}`, "moderate", 5100, ""},
		{"string cv with range (F9)", `{"name":"S","current_value":"high","type":"parametric","variation_range":{"min":1,"max":2}}`, "moderate", 5100, ""},
		{"partial range, string cv", `{"name":"S","current_value":"x","type":"other","variation_range":{"min":1}}`, "moderate", 5100, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, `{"model":{"equations":{}},"baseline_result":51000,"assumptions":[`+c.assumption+`]}`)
			a := r.Assumptions[0]
			if a.Importance != c.importance || a.Impact.IfWrong != c.ifWrong || a.Impact.Percentage != 100 {
				t.Fatalf("%+v", a)
			}
			var bp string
			if len(r.Robustness.Breakpoints) > 0 {
				bp = r.Robustness.Breakpoints[0].Threshold
			}
			if bp != c.breakpoint {
				t.Fatalf("breakpoint %q", bp)
			}
		})
	}
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInputErrors(t *testing.T) {
	var many []string
	for i := 0; i < 101; i++ {
		many = append(many, fmt.Sprintf(`{"name":"a%d","current_value":1,"type":"parametric"}`, i))
	}
	cases := []struct{ body, msg string }{
		{`{"model":{},"baseline_result":1,"assumptions":[]}`, "At least one assumption is required"},
		{`{"model":{},"baseline_result":1,"assumptions":[` + strings.Join(many, ",") + `]}`, "Too many assumptions: 101 (maximum 100)"},
		{`{"model":{},"baseline_result":1,"assumptions":[{"name":" ","current_value":1,"type":"x"}]}`, "Assumption name must not be empty"},
		{`{"model":{},"baseline_result":1,"assumptions":[{"name":"a","current_value":1,"type":"x"},{"name":"a","current_value":2,"type":"y"}]}`, "Duplicate assumption name: 'a'"},
	}
	for _, c := range cases {
		_, err := Analyze(context.Background(), decode(t, c.body), testOpt)
		var ie interface{ InputError() string }
		if !errors.As(err, &ie) || err.Error() != c.msg {
			t.Errorf("err = %v, want %q", err, c.msg)
		}
	}
	if _, err := Analyze(context.Background(), decode(t, `{"model":{},"baseline_result":1,"assumptions":`+`[`+strings.Join(many[:100], ",")+`]}`), testOpt); err != nil {
		t.Errorf("100 assumptions: %v", err)
	}
}

// Hand-derived: Profit = Price·Volume − Cost with all three as free parameters bound by the
// assumptions (no distributions, so every run is exact).
//
//	Price  ∈ [8, 12]:      Profit = 100·p − 900 ∈ [−100, 300], swing 400, flips at p = 9
//	Volume ∈ [70, 130]:    Profit = 10·v − 900  ∈ [−200, 400], swing 600, flips at v = 90
//	Cost   ∈ [800, 1000]:  Profit = 1000 − c    ∈ [0, 200],    swing 200, flips at c = 1000
//
// Baseline 100; joint worst case p=8, v=70, c=1000 → 560 − 1000 = −440.
func TestModelLinearHandDerived(t *testing.T) {
	r := run(t, `{"model":{"variables":[],"equations":{"Profit":"Price * Volume - Cost"},"distributions":{}},
		"baseline_result":100,"assumptions":[
		{"name":"Price","current_value":10,"type":"parametric","variation_range":{"min":8,"max":12}},
		{"name":"Volume","current_value":100,"type":"parametric"},
		{"name":"Cost","current_value":900,"type":"parametric","variation_range":{"min":800,"max":1000}}]}`)
	want := []struct {
		name           string
		swing, pct, bp float64
		verb           string
	}{
		{"Volume", 600, 50, 90, "falls below 90.00"},
		{"Price", 400, 100.0 / 3, 9, "falls below 9.00"},
		{"Cost", 200, 100.0 / 6, 1000, "exceeds 1000.00"},
	}
	sum := 0.0
	for i, w := range want {
		a := r.Assumptions[i]
		sum += a.Impact.Percentage
		if a.Name != w.name || a.Method != "model" || a.Impact.IfWrong != w.swing || !near(a.Impact.Percentage, w.pct, 1e-9) || a.Importance != "critical" {
			t.Errorf("%d: %+v", i, a)
		}
		bp := r.Robustness.Breakpoints[i]
		if bp.Assumption != w.name || bp.Value == nil || !near(*bp.Value, w.bp, 1e-6) || !strings.Contains(bp.Threshold, w.verb) {
			t.Errorf("breakpoint %d: %+v (value %v)", i, bp, bp.Value)
		}
	}
	if !near(sum, 100, 1e-9) {
		t.Errorf("percentages sum to %v", sum)
	}
	if got := r.Robustness.Breakpoints[0].Threshold; got != "If Volume falls below 90.00, Profit crosses the decision threshold 0.00 and the conclusion reverses (inside the tested range)" {
		t.Errorf("breakpoint text %q", got)
	}
	if r.Assumptions[0].TestedRange[0] != 70 || r.Assumptions[0].TestedRange[1] != 130 ||
		r.Assumptions[0].OutcomeRange[0] != -200 || r.Assumptions[0].OutcomeRange[1] != 400 {
		t.Errorf("ranges %v %v", r.Assumptions[0].TestedRange, r.Assumptions[0].OutcomeRange)
	}
	j := r.Robustness.JointWorstCase
	if j == nil || j.Outcome != -440 || j.Change != -540 || !j.Reverses ||
		string(mustJSON(t, j.Settings)) != `{"Price":8,"Volume":70,"Cost":1000}` {
		t.Fatalf("joint %+v", j)
	}
	if r.ModelRun == nil || r.ModelRun.Outcome != "Profit" || r.ModelRun.BaselineOutcome != 100 {
		t.Fatalf("model run %+v", r.ModelRun)
	}
	if r.Robustness.Overall != "fragile" {
		t.Errorf("overall %s", r.Robustness.Overall)
	}
	// A decision threshold moves the breakpoints: Profit = 200 at p = 11 (outside nothing).
	r = run(t, `{"model":{"variables":[],"equations":{"Profit":"Price * Volume - Cost"},"distributions":{}},
		"baseline_result":100,"decision_threshold":-50,"assumptions":[
		{"name":"Price","current_value":10,"type":"parametric","variation_range":{"min":9.8,"max":10.2}},
		{"name":"Volume","current_value":100,"type":"parametric"},
		{"name":"Cost","current_value":900,"type":"parametric"}]}`)
	// Price: 100p − 900 = −50 → p = 8.5, outside even the widened scan [9.4, 10.6], so no flip is
	// found; the swing 40 (ratio 0.4) is critical → "No reversal found".
	bp := map[string]Breakpoint{}
	for _, b := range r.Robustness.Breakpoints {
		bp[b.Assumption] = b
	}
	if b := bp["Price"]; b.Value != nil || !strings.HasPrefix(b.Threshold, "No reversal found: Profit stays above the decision threshold -50.00 for Price between 9.40 and 10.60") {
		t.Errorf("price breakpoint %+v", b)
	}
	// Volume: 10v − 900 = −50 → v = 85, inside [70, 130].
	if b := bp["Volume"]; b.Value == nil || !near(*b.Value, 85, 1e-6) {
		t.Errorf("volume breakpoint %+v", b)
	}
	// Cost: 1000 − c = −50 → c = 1050, inside [630, 1170].
	if b := bp["Cost"]; b.Value == nil || !near(*b.Value, 1050, 1e-6) || !strings.Contains(b.Threshold, "exceeds 1050.00") {
		t.Errorf("cost breakpoint %+v", b)
	}
}

// Distribution parameters, equation constants, distribution means and do() on a Monte Carlo
// model. With common random numbers the mean of Revenue = 10000 + 500·Price is exactly
// 10000 + 500·(m + 5·z̄) with the same z̄ in every run.
func TestModelTargets(t *testing.T) {
	model := `{"variables":["Price","Revenue"],"equations":{"Revenue":"10000 + 500 * Price"},
		"distributions":{"Price":{"type":"normal","parameters":{"mean":50,"std":5}}}}`
	r := run(t, `{"model":`+model+`,"baseline_result":35000,"decision_threshold":36000,"assumptions":[
		{"name":"Price.mean","current_value":50,"type":"parametric","variation_range":{"min":40,"max":60}},
		{"name":"Revenue[2]","current_value":500,"type":"parametric"},
		{"name":"Revenue","current_value":35000,"type":"structural"},
		{"name":"Price","current_value":55,"type":"distributional","variation_range":{"min":45,"max":55}},
		{"name":"Market timing","current_value":"Q3","type":"structural"}]}`)
	y0 := r.ModelRun.BaselineOutcome
	if !near(y0, 35000, 500) {
		t.Fatalf("baseline %v", y0)
	}
	pbar := (y0 - 10000) / 500 // sample mean of Price
	check := func(name string, swing float64) Analysis {
		t.Helper()
		a := byName(r, name)
		if a.Method != "model" || !near(a.Impact.IfWrong, swing, 0.011) {
			t.Errorf("%s: method %s if_wrong %v, want %v (%s)", name, a.Method, a.Impact.IfWrong, swing, a.Evidence)
		}
		return a
	}
	check("Price.mean", 500*20)
	check("Revenue[2]", 0.6*500*pbar)
	check("Revenue", 0.6*35000)
	a := check("Price", 500*10)
	if !strings.Contains(a.Evidence, "current_value 55.00 differs from the model's 50.00") {
		t.Errorf("evidence %q", a.Evidence)
	}
	if a := byName(r, "Market timing"); a.Method != "heuristic" || !strings.Contains(a.Evidence, "'Market timing' does not name") {
		t.Errorf("fallback %+v", a)
	}
	// Breakpoint of Price.mean: 10000 + 500·(m + (pbar−50)) = 36000 → m = 52 − (pbar − 50).
	for _, b := range r.Robustness.Breakpoints {
		if b.Assumption == "Price.mean" {
			if b.Value == nil || !near(*b.Value, 52-(pbar-50), 1e-6) {
				t.Errorf("Price.mean breakpoint %+v", b)
			}
			return
		}
	}
	t.Errorf("no Price.mean breakpoint in %+v", r.Robustness.Breakpoints)
}

func TestOutcomeSelection(t *testing.T) {
	// Two sinks: A = 10, B = 1000. baseline 990 picks B; explicit outcome picks A.
	model := `{"variables":[],"equations":{"A":"2 * k","B":"200 * k"},"distributions":{}}`
	r := run(t, `{"model":`+model+`,"baseline_result":990,"assumptions":[{"name":"k","current_value":5,"type":"parametric"}]}`)
	if r.ModelRun.Outcome != "B" || r.ModelRun.BaselineOutcome != 1000 {
		t.Fatalf("%+v", r.ModelRun)
	}
	r = run(t, `{"model":`+model+`,"outcome":"A","baseline_result":990,"assumptions":[{"name":"k","current_value":5,"type":"parametric"}]}`)
	if r.ModelRun.Outcome != "A" || !near(r.Assumptions[0].Impact.IfWrong, 6, 1e-9) {
		t.Fatalf("%+v %+v", r.ModelRun, r.Assumptions[0])
	}
	r = run(t, `{"model":`+model+`,"outcome":"Z","baseline_result":990,"assumptions":[{"name":"k","current_value":5,"type":"parametric"}]}`)
	if r.ModelRun != nil || !strings.Contains(r.Assumptions[0].Evidence, "the outcome 'Z' is not defined by the model") {
		t.Fatalf("%+v", r.Assumptions[0])
	}
	// Unknown identifier without an assumption binding it: the model cannot be evaluated.
	r = run(t, `{"model":`+model+`,"baseline_result":990,"assumptions":[{"name":"q","current_value":5,"type":"parametric"}]}`)
	if r.ModelRun != nil || !strings.Contains(r.Assumptions[0].Evidence, "Unknown variable 'k'") {
		t.Fatalf("%+v", r.Assumptions[0])
	}
}

func TestZeroImpactPercentages(t *testing.T) {
	r := run(t, `{"model":null,"baseline_result":0,"assumptions":[
		{"name":"a","current_value":1,"type":"parametric"},{"name":"b","current_value":"x","type":"structural"}]}`)
	for _, a := range r.Assumptions {
		if a.Impact.IfWrong != 0 || a.Impact.Percentage != 0 {
			t.Fatalf("%+v", a)
		}
	}
	if r.Robustness.Overall != "robust" {
		t.Fatalf("%s", r.Robustness.Overall)
	}
}

func TestEValue(t *testing.T) {
	r := run(t, `{"model":{},"baseline_result":1,"assumptions":[
		{"name":"Smoking lung cancer","current_value":10.73,"type":"effect_ratio","variation_range":{"min":8.02,"max":14.36}},
		{"name":"Protective relative risk","current_value":0.5,"type":"parametric","variation_range":{"min":0.3,"max":0.8}},
		{"name":"Null-crossing risk ratio","current_value":1.3,"type":"parametric","variation_range":{"min":0.9,"max":1.8}},
		{"name":"Point only","current_value":2,"type":"risk_ratio"},
		{"name":"Not a ratio","current_value":2,"type":"parametric"}]}`)
	cases := []struct {
		name  string
		point float64
		ci    float64 // 0: none
	}{
		{"Smoking lung cancer", 20.94777, 15.52336},
		{"Protective relative risk", 2 + math.Sqrt2, 1.25 + math.Sqrt(1.25*0.25)},
		{"Null-crossing risk ratio", 1.3 + math.Sqrt(1.3*0.3), 1},
		{"Point only", 2 + math.Sqrt2, 0},
	}
	for _, c := range cases {
		a := byName(r, c.name)
		if a.EValue == nil || !near(a.EValue.Point, c.point, 5e-6) {
			t.Errorf("%s: %+v", c.name, a.EValue)
			continue
		}
		if (c.ci == 0) != (a.EValue.CILimit == nil) || (c.ci != 0 && !near(*a.EValue.CILimit, c.ci, 5e-6)) {
			t.Errorf("%s: ci %v", c.name, a.EValue.CILimit)
		}
	}
	if a := byName(r, "Not a ratio"); a.EValue != nil {
		t.Errorf("E-value for a non-ratio")
	}
	if a := byName(r, "Smoking lung cancer"); !strings.Contains(a.Evidence, "E-value 20.95") || !strings.Contains(a.Evidence, "15.52 would move the confidence interval") {
		t.Errorf("evidence %q", a.Evidence)
	}
}

func TestEValueEdge(t *testing.T) {
	for _, rr := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if _, ok := computeEValue(rr, 0, 0, false); ok {
			t.Errorf("E-value for RR %v", rr)
		}
	}
	if ev, _ := computeEValue(1, 0.5, 2, true); ev.Point != 1 || *ev.CILimit != 1 {
		t.Errorf("RR 1: %+v", ev)
	}
}

func TestReplaceLiteral(t *testing.T) {
	cases := []struct {
		src  string
		k    int
		x    float64
		want string
	}{
		{"10000 + 500 * Price", 1, 650, "10000 + 650 * Price"},
		{"x1 + .5 * 2e3 - np.sqrt(4)", 0, 0.25, "x1 + 0.25 * 2e3 - np.sqrt(4)"},
		{"x1 + .5 * 2e3 - np.sqrt(4)", 1, 1e21, "x1 + .5 * 1e+21 - np.sqrt(4)"},
		{"a ** 2", 0, -3, "a ** (-3)"},
		{"1.5e-3*b", 0, 7, "7*b"},
	}
	for _, c := range cases {
		got, ok := replaceLiteral(c.src, c.k, c.x)
		if !ok || got != c.want {
			t.Errorf("replaceLiteral(%q, %d, %v) = %q, %v; want %q", c.src, c.k, c.x, got, ok, c.want)
		}
	}
	if _, ok := replaceLiteral("a + b", 0, 1); ok {
		t.Error("replaced a literal that does not exist")
	}
}

// Property: no input panics; outputs are finite (JSON encoding fails on NaN/Inf); percentages
// sum to 100 or are all 0; order is by if_wrong.
func checkInvariants(t testing.TB, req Request) {
	resp, err := Analyze(context.Background(), req, Options{Samples: 20, Seed: 1})
	if err != nil {
		var ie interface{ InputError() string }
		if !errors.As(err, &ie) {
			t.Fatalf("non-input error: %v", err)
		}
		return
	}
	if _, err := json.Marshal(resp); err != nil {
		t.Fatalf("marshal: %v", err)
	}
	sum := 0.0
	for i, a := range resp.Assumptions {
		sum += a.Impact.Percentage
		if i > 0 && a.Impact.IfWrong > resp.Assumptions[i-1].Impact.IfWrong {
			t.Fatalf("not sorted")
		}
	}
	if sum != 0 && !near(sum, 100, 1e-6) {
		t.Fatalf("percentages sum to %v", sum)
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add([]byte(`{"model":{},"baseline_result":51000,"assumptions":[{"name":"a","current_value":0.5,"type":"parametric","variation_range":{"min":0.3,"max":0.8}}]}`))
	f.Add([]byte(`{"model":{"variables":[],"equations":{"P":"x * y - 1/z"},"distributions":{"y":{"type":"uniform","parameters":{"min":-1,"max":1}}}},"baseline_result":3,"decision_threshold":1,"assumptions":[{"name":"x","current_value":2,"type":"p"},{"name":"z","current_value":0,"type":"p","variation_range":{"min":-1,"max":1}},{"name":"y.max","current_value":1,"type":"p"},{"name":"P[1]","current_value":1,"type":"p"}]}`))
	f.Add([]byte(`{"model":{"equations":{"Y":"log(b)"},"distributions":{"b":{"type":"beta","parameters":{"alpha":2,"beta":3}}}},"baseline_result":-1,"assumptions":[{"name":"b","current_value":0.4,"type":"distributional"},{"name":"b.alpha","current_value":2,"type":"p","variation_range":{"min":-5,"max":5}},{"name":"RR","current_value":3,"type":"effect_ratio","variation_range":{"min":4,"max":2}}]}`))
	f.Add([]byte(`{"model":null,"baseline_result":1e300,"assumptions":[{"name":"p","current_value":1e308,"type":"effect_ratio","variation_range":{}},{"name":"q","current_value":-3,"type":"parametric","variation_range":{"max":1e308,"min":-1.5}}]}`))
	f.Add([]byte(`{"model":{"equations":{"Y":"q * 1e300"}},"baseline_result":-1e308,"assumptions":[{"name":"q","current_value":1e308,"type":"p","variation_range":{"min":-1e308,"max":1e308}},{"name":"Y[1]","current_value":1e300,"type":"p"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req Request
		if json.Unmarshal(body, &req) != nil {
			return
		}
		checkInvariants(t, req)
	})
}

// A model far beyond the (shrunk) budget (40 assumptions on 40 equations of ~900 bytes) must finish
// with a bounded number of runs: fewer draws per run, and the assumptions left without runs
// fall back to the heuristic saying why.
func TestWorkBudget(t *testing.T) {
	old := workBudget
	workBudget = 2e8
	defer func() { workBudget = old }()
	var eqs, as []string
	long := strings.Repeat("p + ", 200) + "p"
	for i := 1; i <= 40; i++ {
		eqs = append(eqs, fmt.Sprintf(`"E%d":"E%d + 0.001 * (%s)"`, i, i-1, long))
	}
	for i := 1; i <= 39; i++ {
		as = append(as, fmt.Sprintf(`{"name":"E%d[1]","current_value":0.001,"type":"parametric"}`, i))
	}
	as = append(as, `{"name":"p","current_value":1,"type":"parametric"}`)
	body := fmt.Sprintf(`{"model":{"variables":[],"equations":{"E0":"1",%s},"distributions":{}},"baseline_result":1,"assumptions":[%s]}`,
		strings.Join(eqs, ","), strings.Join(as, ","))
	req := decode(t, body)
	resp, err := Analyze(context.Background(), req, Options{Samples: 10000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := parseModel(req.Model)
	w := &world{model: m}
	w.plan(10000, len(req.Assumptions))
	if resp.ModelRun == nil || resp.ModelRun.Samples != w.opt.Samples || w.opt.Samples >= 10000 || resp.ModelRun.Runs > w.maxRuns+1 {
		t.Fatalf("model run %+v, plan samples %d max runs %d", resp.ModelRun, w.opt.Samples, w.maxRuns)
	}
	fallback := 0
	for _, a := range resp.Assumptions {
		if a.Method == "heuristic" && strings.Contains(a.Evidence, "budget exhausted") {
			fallback++
		}
	}
	if fallback == 0 {
		t.Fatalf("no assumption fell back although the budget allows %d runs", w.maxRuns)
	}
}
