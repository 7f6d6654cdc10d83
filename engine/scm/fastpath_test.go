package scm

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// The scalar statistics must be bit-identical to the same statistics on N copies of the value.
func TestScalarStatsMatchVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 38750, 0.1, 1.0 / 3, -2.5e-300, 5e-324, 1e300, -7.25, 123456789.123}
	for range 200 {
		vals = append(vals, (rng.Float64()-0.5)*math.Pow(10, float64(rng.IntN(40)-20)), float64(rng.IntN(1<<30)))
	}
	for _, n := range []int{1, 2, 3, 7, 1000, 10000, 100000} {
		for _, s := range vals {
			vec := make([]float64, n)
			for i := range vec {
				vec[i] = s
			}
			m1, v1 := meanVarOf(scalar(s), n)
			m2, v2 := meanVar(vec)
			if math.Float64bits(m1) != math.Float64bits(m2) || math.Float64bits(v1) != math.Float64bits(v2) {
				t.Fatalf("n=%d s=%v: meanVarOf (%v,%v), loop (%v,%v)", n, s, m1, v1, m2, v2)
			}
			st := sortedStats{n: n, s: s}
			for _, q := range []float64{2.5, 10, 50, 90, 97.5} {
				if a, b := st.percentile(q), percentile(vec, q); math.Float64bits(a) != math.Float64bits(b) {
					t.Fatalf("n=%d s=%v q=%v: %v vs %v", n, s, q, a, b)
				}
			}
			if a, b := st.median(), median(vec); math.Float64bits(a) != math.Float64bits(b) {
				t.Fatalf("n=%d s=%v median: %v vs %v", n, s, a, b)
			}
		}
	}
}

// Skipping the draws no run reads (drawsUsed) must not change any answer: every model below is
// answered identically with all distributions drawn.
func TestSkippedDrawsDoNotChangeAnswers(t *testing.T) {
	u := `{"type":"uniform","parameters":{"min":0,"max":2}}`
	e := `{"type":"exponential","parameters":{"scale":3}}`
	b := `{"type":"beta","parameters":{"alpha":2,"beta":5}}`
	for name, body := range map[string]string{
		"intervened only input (W2)": `{` + model(`"Revenue":"10000 + 500 * Price"`, `"Price":{"type":"normal","parameters":{"mean":50,"std":5}}`) +
			`,"intervention":{"Price":57.5},"outcome":"Revenue"}`,
		"intervened input before a used one": `{` + model(`"Y":"2*A + B"`, `"A":`+stdNormal+`,"B":`+u) +
			`,"intervention":{"A":1},"outcome":"Y"}`,
		"unreferenced inputs around a used one": `{` + model(`"Y":"3*B + 1"`, `"A":`+e+`,"B":`+stdNormal+`,"C":`+b) +
			`,"intervention":{},"outcome":"Y"}`,
		"context fixes an input": `{` + model(`"Y":"A*B"`, `"A":`+stdNormal+`,"B":`+u) +
			`,"intervention":{},"context":{"A":2},"outcome":"Y"}`,
		"abduction reads intervened factual draws": `{` + model(`"M":"2*X + U","Y":"M + X"`, `"X":`+stdNormal+`,"U":`+u) +
			`,"intervention":{"X":1},"context":{"M":3},"outcome":"Y"}`,
		"outcome is an input": `{` + model(`"Y":"A + 1"`, `"A":`+stdNormal+`,"B":`+e) +
			`,"intervention":{},"outcome":"B"}`,
		"input also defined by an equation": `{` + model(`"A":"B + 1","Y":"A*2"`, `"A":`+stdNormal+`,"B":`+b) +
			`,"intervention":{"B":0.5},"outcome":"Y"}`,
	} {
		t.Run(name, func(t *testing.T) {
			req := decodeRequest(t, body)
			for _, n := range []int{10000, 999} {
				opt := Options{Samples: n, Seed: 12345}
				all := opt
				all.drawAll = true
				got, err1 := Counterfactual(context.Background(), req, opt)
				want, err2 := Counterfactual(context.Background(), req, all)
				if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
					t.Fatalf("errors differ: %v vs %v", err1, err2)
				}
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				if string(gj) != string(wj) || !reflect.DeepEqual(got, want) {
					t.Fatalf("n=%d answers differ:\n%s\n%s", n, gj, wj)
				}
				s1, _ := Simulate(req, opt)
				s2, _ := Simulate(req, all)
				if !reflect.DeepEqual(s1, s2) {
					t.Fatalf("n=%d Simulate differs", n)
				}
			}
		})
	}
}
