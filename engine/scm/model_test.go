package scm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func model(eqs, dists string) string {
	return fmt.Sprintf(`"model":{"variables":[],"equations":{%s},"distributions":{%s}}`, eqs, dists)
}

const stdNormal = `{"type":"normal","parameters":{"mean":0,"std":1}}`

func TestInputErrors(t *testing.T) {
	for _, c := range []struct {
		name, body, want string
	}{
		{"invalid equation first", `{` + model(`"Y":"X + U","Z":"len(X)"`, `"X":{"type":"normal","parameters":{"std":1}}`) +
			`,"intervention":{},"outcome":"Y"}`, "Invalid equation: len(X)"},
		{"missing parameter", `{` + model(`"Y":"X"`, `"X":{"type":"normal","parameters":{"std":1}}`) +
			`,"intervention":{},"outcome":"Y"}`, "Distribution for 'X' requires parameter 'mean'"},
		{"missing uniform max", `{` + model(`"Y":"X"`, `"X":{"type":"uniform","parameters":{"min":1}}`) +
			`,"intervention":{},"outcome":"Y"}`, "Distribution for 'X' requires parameter 'max'"},
		{"negative std", `{` + model(`"Y":"X"`, `"X":{"type":"normal","parameters":{"mean":0,"std":-1}}`) +
			`,"intervention":{},"outcome":"Y"}`, "Invalid parameters for distribution 'X'"},
		{"negative scale", `{` + model(`"Y":"X"`, `"X":{"type":"exponential","parameters":{"scale":-1}}`) +
			`,"intervention":{},"outcome":"Y"}`, "Invalid parameters for distribution 'X'"},
		{"beta zero", `{` + model(`"Y":"X"`, `"X":{"type":"beta","parameters":{"alpha":0,"beta":1}}`) +
			`,"intervention":{},"outcome":"Y"}`, "Invalid parameters for distribution 'X'"},
		{"unknown variable", `{` + model(`"Y":"X + W"`, `"X":`+stdNormal) +
			`,"intervention":{},"outcome":"Y"}`, "Unknown variable 'W' in equation for 'Y'"},
		{"cycle", `{` + model(`"A":"B + 1","B":"A + 1","Y":"A"`, ``) +
			`,"intervention":{},"outcome":"Y"}`, "Circular dependencies detected in structural equations"},
		{"outcome undefined", `{` + model(`"Y":"X"`, `"X":`+stdNormal) +
			`,"intervention":{},"outcome":"Profit"}`, "Outcome 'Profit' is not defined by the model"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Counterfactual(context.Background(), decodeRequest(t, c.body), defaultOpt)
			var ie *InputError
			if !errors.As(err, &ie) || ie.Error() != c.want {
				t.Fatalf("err = %v, want InputError %q", err, c.want)
			}
		})
	}
}

func TestCaps(t *testing.T) {
	var eqs []string
	for i := 0; i <= MaxEquations; i++ {
		eqs = append(eqs, fmt.Sprintf(`"V%d":"1"`, i))
	}
	_, err := Counterfactual(context.Background(), decodeRequest(t, `{`+model(strings.Join(eqs, ","), "")+
		`,"intervention":{},"outcome":"V0"}`), defaultOpt)
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("201 equations: %v", err)
	}
	_, err = Counterfactual(context.Background(), decodeRequest(t, `{`+model(`"Y":"`+strings.Repeat("1+", 600)+`1"`, "")+
		`,"intervention":{},"outcome":"Y"}`), defaultOpt)
	if !errors.As(err, &ie) {
		t.Fatalf("long equation: %v", err)
	}
	for _, n := range []int{0, MaxSamples + 1} {
		if _, err := Simulate(decodeRequest(t, `{`+model(`"Y":"1"`, "")+`,"intervention":{},"outcome":"Y"}`),
			Options{Samples: n}); err == nil || errors.As(err, &ie) {
			t.Fatalf("samples %d: %v", n, err)
		}
	}
}

func TestNonFiniteOutcome(t *testing.T) {
	_, err := Counterfactual(context.Background(), decodeRequest(t, `{`+model(`"Y":"log(X)"`, `"X":`+stdNormal)+
		`,"intervention":{},"outcome":"Y"}`), defaultOpt)
	var ce *ComputationError
	var ie *InputError
	if !errors.As(err, &ce) || errors.As(err, &ie) || ce.Error() != "Model produced non-finite values for 'Y'" {
		t.Fatalf("err = %v", err)
	}
	// Non-finite values in a variable the outcome does not use are not an error.
	if _, err := Counterfactual(context.Background(), decodeRequest(t, `{`+model(`"W":"log(X)","Y":"X"`, `"X":`+stdNormal)+
		`,"intervention":{},"outcome":"Y"}`), defaultOpt); err != nil {
		t.Fatal(err)
	}
}

// docs/api.md#counterfactual-algorithm: equations are evaluated in dependency order; an intervention on a cycle member breaks the
// cycle (bound equations are skipped), so it is no error.
func TestDependencyOrderAndBrokenCycle(t *testing.T) {
	res, err := Counterfactual(context.Background(), decodeRequest(t, `{`+model(`"Y":"Z * 2","Z":"W + 1","W":"3"`, "")+
		`,"intervention":{},"outcome":"Y"}`), defaultOpt)
	if err != nil || res.Prediction.PointEstimate != 8 {
		t.Fatalf("%v %+v", err, res)
	}
	res, err = Counterfactual(context.Background(), decodeRequest(t, `{`+model(`"A":"B + 1","B":"A + 1"`, "")+
		`,"intervention":{"A":1},"outcome":"B"}`), defaultOpt)
	if err != nil || res.Prediction.PointEstimate != 2 {
		t.Fatalf("%v %+v", err, res)
	}
}

func cf(t *testing.T, body string) *Result {
	t.Helper()
	res, err := Counterfactual(context.Background(), decodeRequest(t, body), defaultOpt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func treatments(res *Result) string {
	var s []string
	for _, n := range res.Context {
		s = append(s, n.Variable+":"+n.Treatment+":"+n.Noise)
	}
	return strings.Join(s, ",")
}

func constantPrediction(t *testing.T, res *Result, want float64) {
	t.Helper()
	p := res.Prediction
	for _, v := range []float64{p.PointEstimate, p.ConfidenceInterval.Lower, p.ConfidenceInterval.Upper,
		p.SensitivityRange.Optimistic, p.SensitivityRange.Pessimistic} {
		if math.Abs(v-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Fatalf("prediction %+v, want constant %v", p, want)
		}
	}
}

// docs/api.md#counterfactual-context: abduction–action–prediction.
func TestAbduction(t *testing.T) {
	twoNoise := `"X":` + stdNormal + `,"U":` + stdNormal
	t.Run("additive noise", func(t *testing.T) {
		// Y = 2X + U, observe X=1, Y=3 ⇒ U=1; do(X=2) ⇒ Y = 5. Override semantics would give 3.
		res := cf(t, `{`+model(`"Y":"2*X + U"`, twoNoise)+`,"intervention":{"X":2},"outcome":"Y","context":{"X":1,"Y":3}}`)
		constantPrediction(t, res, 5)
		if got := treatments(res); got != "X:fixed:,Y:abducted:U" {
			t.Fatalf("treatments %s", got)
		}
		if !strings.Contains(res.Explanation.TechnicalBasis, "abduct") {
			t.Errorf("technical_basis %q", res.Explanation.TechnicalBasis)
		}
	})
	t.Run("multiplicative noise", func(t *testing.T) {
		// Y = U·X, X=2, Y=6 ⇒ U=3; do(X=4) ⇒ 12.
		res := cf(t, `{`+model(`"Y":"U * X"`, twoNoise)+`,"intervention":{"X":4},"outcome":"Y","context":{"X":2,"Y":6}}`)
		constantPrediction(t, res, 12)
	})
	t.Run("chain of observations", func(t *testing.T) {
		// X = 1 + V (V abducted = 0 from X=1), Y = 2X + U (U = 1 from Y=3); do(X=2) ⇒ 5; the
		// descendant Z = Y - U... uses the abducted U as well: Z = 5 - 1 = 4.
		res := cf(t, `{`+model(`"X":"1 + V","Y":"2*X + U","Z":"Y - U"`, `"V":`+stdNormal+`,"U":`+stdNormal)+
			`,"intervention":{"X":2},"outcome":"Z","context":{"Y":3,"X":1}}`)
		constantPrediction(t, res, 4)
		if got := treatments(res); got != "Y:abducted:U,X:abducted:V" {
			t.Fatalf("treatments %s", got)
		}
	})
	t.Run("observation only, noise inferred per sample", func(t *testing.T) {
		// Observe Y=3 only: U = 3 − 2·X_factual per sample; do(X=2) ⇒ Y = 7 − 2·X_factual ~ N(7, 4).
		res := cf(t, `{`+model(`"Y":"2*X + U"`, twoNoise)+`,"intervention":{"X":2},"outcome":"Y","context":{"Y":3}}`)
		if math.Abs(res.Prediction.PointEstimate-7) > 0.1 {
			t.Fatalf("pe %v", res.Prediction.PointEstimate)
		}
		// The variance stems from X's factual uncertainty: attribution ≈ Var(y) ≈ 4; U is abducted.
		for _, s := range res.Uncertainty.Sources {
			switch s.Factor {
			case "X":
				if math.Abs(s.Impact-4) > 0.3 {
					t.Errorf("X impact %v", s.Impact)
				}
			case "U":
				if s.Impact != 0 {
					t.Errorf("U impact %v", s.Impact)
				}
			}
		}
	})
	t.Run("exogenous context is fixed (W4)", func(t *testing.T) {
		res := cf(t, `{`+model(`"Brand":"baseline_brand + 0.3 * Price","Revenue":"10000 + 500 * Price - 200 * Brand"`,
			`"baseline_brand":{"type":"normal","parameters":{"mean":50,"std":5}}`)+
			`,"intervention":{"Price":15},"outcome":"Revenue","context":{"baseline_brand":52}}`)
		constantPrediction(t, res, 6200)
	})
	t.Run("observed factual parent differs from intervention", func(t *testing.T) {
		// Price observed 10, Brand observed 52 ⇒ baseline_brand = 49; do(Price=15) ⇒ Brand 53.5,
		// Revenue = 10000 + 7500 − 10700 = 6800 (override semantics: 7100).
		res := cf(t, `{`+model(`"Brand":"baseline_brand + 0.3 * Price","Revenue":"10000 + 500 * Price - 200 * Brand"`,
			`"baseline_brand":{"type":"normal","parameters":{"mean":50,"std":5}}`)+
			`,"intervention":{"Price":15},"outcome":"Revenue","context":{"Price":10,"Brand":52}}`)
		constantPrediction(t, res, 6800)
	})
	for _, c := range []struct {
		name, body, treatment string
		want                  float64
	}{
		{"parent without factual value", `{` + model(`"Brand":"baseline_brand + 0.3 * Price","Revenue":"10000 + 500 * Price - 200 * Brand"`,
			`"baseline_brand":{"type":"normal","parameters":{"mean":50,"std":5}}`) +
			`,"intervention":{"Price":15},"outcome":"Revenue","context":{"Brand":52}}`, "Brand:overridden:", 7100},
		{"not affine", `{` + model(`"Y":"exp(U) + X"`, twoNoise) + `,"intervention":{"X":2},"outcome":"Y","context":{"X":1,"Y":5}}`,
			"X:fixed:,Y:overridden:", 5},
		{"two noise terms", `{` + model(`"Y":"X + U"`, twoNoise) + `,"intervention":{},"outcome":"Y","context":{"Y":5}}`,
			"Y:overridden:", 5},
		{"kink beyond the probes", `{` + model(`"Y":"max(U, -50) + X"`, twoNoise) + `,"intervention":{"X":1},"outcome":"Y","context":{"X":0,"Y":-60}}`,
			"X:fixed:,Y:overridden:", -60},
		{"deterministic equation", `{` + model(`"Y":"2 * X"`, twoNoise) + `,"intervention":{"X":2},"outcome":"Y","context":{"Y":3}}`,
			"Y:overridden:", 3},
		{"zero slope", `{` + model(`"Y":"U * X"`, twoNoise) + `,"intervention":{"X":2},"outcome":"Y","context":{"X":0,"Y":3}}`,
			"X:fixed:,Y:overridden:", 3},
	} {
		t.Run("fallback "+c.name, func(t *testing.T) {
			res := cf(t, c.body)
			constantPrediction(t, res, c.want)
			if got := treatments(res); got != c.treatment {
				t.Fatalf("treatments %s, want %s", got, c.treatment)
			}
			if !strings.Contains(res.Explanation.TechnicalBasis, "overridden") {
				t.Errorf("technical_basis %q", res.Explanation.TechnicalBasis)
			}
		})
	}
}

func TestFactor(t *testing.T) {
	for in, want := range map[string]string{
		"baseline_brand": "Baseline Brand", "CustomerAcquisition": "Customer Acquisition", "Price": "Price",
		"X": "X", "price2x": "Price2X", "ROI": "Roi", "marketShare_q4": "Market Share Q4", "__x": "  X",
	} {
		if got := Factor(in); got != want {
			t.Errorf("Factor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPercentileMedian(t *testing.T) {
	ys := []float64{1, 2, 3, 4}
	if p := percentile(ys, 2.5); p != 1.075 {
		t.Errorf("P2.5 %v", p)
	}
	if p := percentile(ys, 97.5); math.Abs(p-3.925) > 1e-15 {
		t.Errorf("P97.5 %v", p)
	}
	if m := median(ys); m != 2.5 {
		t.Errorf("median %v", m)
	}
	// Selection-based median equals the sorted one.
	for n := 1; n < 60; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64((i*7919)%n) - float64(n)/3
		}
		sorted := append([]float64(nil), xs...)
		sortFloats(sorted)
		m, ok := finiteMedian(value{v: xs}, n, make([]float64, n))
		if !ok || m != median(sorted) {
			t.Fatalf("n=%d: %v vs %v", n, m, median(sorted))
		}
	}
}

func sortFloats(x []float64) {
	for i := 1; i < len(x); i++ {
		for j := i; j > 0 && x[j] < x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
}

// The hand-inlined normal/uniform samplers must draw exactly what gonum's distuv draws.
func TestSamplerMatchesDistuv(t *testing.T) {
	dists := decodeRequest(t, `{`+model(``, `"A":{"type":"normal","parameters":{"mean":3,"std":2}},"B":{"type":"uniform","parameters":{"min":-1,"max":4}}`)+
		`,"intervention":{},"outcome":"A"}`).Model.Distributions
	got := sample(dists, 100, 42, nil)
	src := rand.NewPCG(42, pcgStream)
	n := distuv.Normal{Mu: 3, Sigma: 2, Src: src}
	u := distuv.Uniform{Min: -1, Max: 4, Src: src}
	for i := 0; i < 100; i++ {
		if w := n.Rand(); got[0][i] != w {
			t.Fatalf("normal draw %d: %v vs %v", i, got[0][i], w)
		}
	}
	for i := 0; i < 100; i++ {
		if w := u.Rand(); got[1][i] != w {
			t.Fatalf("uniform draw %d: %v vs %v", i, got[1][i], w)
		}
	}
}

// Incremental re-runs must equal full re-simulation bit for bit.
func TestRerunMatchesSimulate(t *testing.T) {
	for _, req := range []Request{benchModel(6), decodeRequest(t, `{`+model(`"Brand":"baseline_brand + 0.3 * Price",
		"Revenue":"10000 + 500 * Price - 200 * Brand","Other":"Brand * 2"`, `"baseline_brand":{"type":"normal","parameters":{"mean":50,"std":5}},
		"Price":{"type":"uniform","parameters":{"min":1,"max":3}}`)+`,"intervention":{},"outcome":"Revenue","context":{"Price":2}}`)} {
		c, err := compile(req, Options{Samples: 257, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		base := c.simulate(c.base(), c.n)
		if !base.incremental {
			t.Fatal("expected incremental base")
		}
		same := func(what string, a, b value) {
			for i := 0; i < c.n; i++ {
				if x, y := a.at(i), b.at(i); x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
					t.Fatalf("%s sample %d: %v vs %v", what, i, x, y)
				}
			}
		}
		for k, d := range c.dists {
			sc := scenario{fixed: k, fixedVal: DistributionMean(d)}
			want := c.simulate(sc, c.n).y
			c.rerun(base, sc, -1, c.n, func(y value) { same(fmt.Sprintf("fixed %d", k), y, want) })
		}
		for j, eq := range c.eqs {
			for l := range eq.lits {
				lits := make([][]float64, len(c.eqs))
				lits[j] = append([]float64(nil), eq.lits...)
				lits[j][l] *= 1.3
				sc := scenario{lits: lits, fixed: -1}
				want := c.simulate(sc, c.n).y
				c.rerun(base, sc, j, c.n, func(y value) { same(fmt.Sprintf("eq %d lit %d", j, l), y, want) })
				// Re-runs on a prefix of the draws (large models) equal a simulation of that prefix.
				full := c.simulate(sc, 100).y
				c.rerun(base, sc, j, 100, func(short value) {
					for i := 0; i < 100; i++ {
						if x, y := short.at(i), full.at(i); x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
							t.Fatalf("prefix eq %d lit %d sample %d: %v vs %v", j, l, i, x, y)
						}
					}
				})
				// Recycled buffers must not leak into the base world.
				same("base after re-runs", base.y, c.simulate(c.base(), c.n).y)
			}
		}
	}
}

// The robustness design stays within its budget for any model size: per literal while affordable,
// per equation past it, and never more than the hard budget unless already at the sample floor.
func TestRobustnessPlanIsBounded(t *testing.T) {
	for _, c := range []struct {
		name            string
		litCost, eqCost int
		wantPerLiteral  bool
	}{
		{"small model", 2 * 3 * 10, 2 * 10, true},
		{"medium model", 2 * 200 * 2000, 2 * 2000, true},
		{"huge model", 2 * 20000 * 60000, 2 * 200 * 60000, false},
		{"absurd model", 2 * 20000 * 600000, 2 * 2000 * 600000, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			per, m := robustnessPlan(c.litCost, c.eqCost, 10000)
			if per != c.wantPerLiteral {
				t.Fatalf("perLiteral = %v, want %v", per, c.wantPerLiteral)
			}
			cost := c.eqCost
			if per {
				cost = c.litCost
			}
			if m < 1 || m > 10000 {
				t.Fatalf("m = %d", m)
			}
			if cost*m > robustnessHardBudget && m != minRobustSamples {
				t.Fatalf("work %d over the hard budget with m = %d", cost*m, m)
			}
		})
	}
}
