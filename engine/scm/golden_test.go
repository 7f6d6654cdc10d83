package scm

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/jsonv"
)

// wireRequest decodes a docs/api.md#counterfactual request body the way the service does (ordered objects).
type wireRequest struct {
	Model        Model               `json:"model"`
	Intervention jsonv.Map[float64]  `json:"intervention"`
	Outcome      string              `json:"outcome"`
	Context      *jsonv.Map[float64] `json:"context"`
}

func (w wireRequest) engine() Request {
	return Request{Model: w.Model, Intervention: w.Intervention, Outcome: w.Outcome, Context: w.Context}
}

func decodeRequest(t testing.TB, body string) Request {
	var w wireRequest
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		if t == nil {
			panic(err)
		}
		t.Fatalf("decode request: %v", err)
	}
	return w.engine()
}

var defaultOpt = Options{Samples: 10000, Seed: 70778290}

func TestGolden(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name        string             `json:"name"`
		Request     json.RawMessage    `json:"request"`
		ExactRaw    map[string]float64 `json:"exact"`
		Overall     string             `json:"overall"`
		Sources     []Source           `json:"sources"`
		Score       string             `json:"score"`
		Assumptions []struct {
			Var    string  `json:"var"`
			Impact float64 `json:"impact"`
		} `json:"assumptions"`
		Summary         string `json:"summary"`
		ReasoningPrefix string `json:"reasoning_prefix"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			req := decodeRequest(t, string(tc.Request))
			res, err := Counterfactual(context.Background(), req, defaultOpt)
			if err != nil {
				t.Fatal(err)
			}
			p := res.Prediction
			got := map[string]float64{"point_estimate": p.PointEstimate, "lower": p.ConfidenceInterval.Lower,
				"upper": p.ConfidenceInterval.Upper, "optimistic": p.SensitivityRange.Optimistic,
				"pessimistic": p.SensitivityRange.Pessimistic}
			for k, want := range tc.ExactRaw {
				if got[k] != want {
					t.Errorf("%s = %v, want %v", k, got[k], want)
				}
			}
			if p.ConfidenceInterval.ConfidenceLevel != 0.95 {
				t.Errorf("confidence_level %v", p.ConfidenceInterval.ConfidenceLevel)
			}
			if res.Uncertainty.Overall != tc.Overall {
				t.Errorf("overall %q, want %q", res.Uncertainty.Overall, tc.Overall)
			}
			if len(res.Uncertainty.Sources) != len(tc.Sources) {
				t.Fatalf("sources %+v", res.Uncertainty.Sources)
			}
			for i, s := range tc.Sources {
				if res.Uncertainty.Sources[i] != s {
					t.Errorf("source %d = %+v, want %+v", i, res.Uncertainty.Sources[i], s)
				}
			}
			if res.Robustness.Score != tc.Score {
				t.Errorf("score %q, want %q", res.Robustness.Score, tc.Score)
			}
			if len(res.Robustness.CriticalAssumptions) != len(tc.Assumptions) {
				t.Fatalf("assumptions %+v", res.Robustness.CriticalAssumptions)
			}
			for i, a := range tc.Assumptions {
				g := res.Robustness.CriticalAssumptions[i]
				if g.Assumption != "Structural equation for "+a.Var+" is correctly specified" ||
					g.Recommendation != "Validate "+a.Var+" equation with additional data if possible" ||
					g.Confidence != "medium" || math.Abs(g.Impact-a.Impact) > 1e-9*math.Abs(a.Impact) {
					t.Errorf("assumption %d = %+v, want %s %v", i, g, a.Var, a.Impact)
				}
			}
			if res.Explanation.Summary != tc.Summary {
				t.Errorf("summary %q, want %q", res.Explanation.Summary, tc.Summary)
			}
			if !strings.HasPrefix(res.Explanation.Reasoning, tc.ReasoningPrefix) {
				t.Errorf("reasoning %q, want prefix %q", res.Explanation.Reasoning, tc.ReasoningPrefix)
			}
			if len(res.Explanation.Assumptions) != 4 || res.Explanation.TechnicalBasis == "" {
				t.Errorf("explanation %+v", res.Explanation)
			}
			// The body must serialise with the contract's field order and no NaN/Inf.
			b, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			order := []string{`"scenario"`, `"intervention"`, `"outcome"`, `"context"`, `"prediction"`, `"point_estimate"`,
				`"confidence_interval"`, `"lower"`, `"upper"`, `"confidence_level"`, `"sensitivity_range"`, `"optimistic"`,
				`"pessimistic"`, `"explanation"`, `"uncertainty"`, `"overall"`, `"sources"`, `"factor"`, `"impact"`,
				`"confidence"`, `"explanation"`, `"basis"`, `"robustness"`, `"score"`, `"critical_assumptions"`,
				`"assumption"`, `"impact"`, `"confidence"`, `"recommendation"`, `"explanation"`, `"summary"`,
				`"reasoning"`, `"technical_basis"`, `"assumptions"`}
			rest := string(b)
			for _, k := range order {
				i := strings.Index(rest, k)
				if i < 0 {
					t.Fatalf("field %s missing or out of order in %s", k, b)
				}
				rest = rest[i+len(k):]
			}
		})
	}
}

// docs/api.md#counterfactual-context without context: Revenue = 17500 − 200·baseline_brand − 900 ~ N(6600, 1000²).
func TestW4Statistical(t *testing.T) {
	req := decodeRequest(t, `{"model":{"variables":[],"equations":{"Brand":"baseline_brand + 0.3 * Price",
		"Revenue":"10000 + 500 * Price - 200 * Brand"},"distributions":{"baseline_brand":{"type":"normal",
		"parameters":{"mean":50,"std":5}}}},"intervention":{"Price":15},"outcome":"Revenue"}`)
	for _, seed := range []uint32{70778290, 1, 2} {
		res, err := Counterfactual(context.Background(), req, Options{Samples: 10000, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		p := res.Prediction
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"point", p.PointEstimate, 6600}, {"lower", p.ConfidenceInterval.Lower, 4640},
			{"upper", p.ConfidenceInterval.Upper, 8560}, {"pessimistic", p.SensitivityRange.Pessimistic, 5318},
			{"optimistic", p.SensitivityRange.Optimistic, 7882},
		} {
			if math.Abs(c.got-c.want) > 100 {
				t.Errorf("seed %d: %s = %v, want %v ± 100", seed, c.name, c.got, c.want)
			}
		}
		if res.Uncertainty.Overall != "medium" {
			t.Errorf("overall %q", res.Uncertainty.Overall)
		}
		// docs/api.md#counterfactual-attribution: Var(y) − Var(y | baseline_brand = 50) = 200²·25 = 1e6 (the value before attribution by variance contribution was
		// the input's own variance, 25). Sampling error of a variance at N=1e4 is ≈1.4 %.
		s := res.Uncertainty.Sources[0]
		if s.Factor != "Baseline Brand" || math.Abs(s.Impact-1e6) > 0.06e6 || s.Confidence != "medium" {
			t.Errorf("source %+v", s)
		}
		// Robustness: 200·(baseline_brand+4.5)·0.3 at the median ≈ 60·55 = 3300.
		a := res.Robustness.CriticalAssumptions
		if len(a) != 2 || !strings.Contains(a[0].Assumption, "Revenue") || math.Abs(a[0].Impact-3300) > 60 ||
			math.Abs(a[1].Impact-270) > 1e-6 || res.Robustness.Score != "fragile" {
			t.Errorf("robustness %+v", res.Robustness)
		}
	}
}

func TestDeterminism(t *testing.T) {
	req := decodeRequest(t, `{"model":{"variables":[],"equations":{"Y":"2*X + U*exp(V/10)"},"distributions":{
		"X":{"type":"uniform","parameters":{"min":0,"max":2}},"U":{"type":"beta","parameters":{"alpha":2,"beta":3}},
		"V":{"type":"exponential","parameters":{"scale":3}}}},"intervention":{},"outcome":"Y"}`)
	a, err := Counterfactual(context.Background(), req, defaultOpt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Counterfactual(context.Background(), req, defaultOpt)
	c, _ := Counterfactual(context.Background(), req, Options{Samples: 10000, Seed: 7})
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	jc, _ := json.Marshal(c)
	if string(ja) != string(jb) {
		t.Fatal("same seed gave different results")
	}
	if string(ja) == string(jc) {
		t.Fatal("different seeds gave identical results")
	}
	// Three sources in request order, sorted by impact (stable).
	if n := len(a.Uncertainty.Sources); n != 3 {
		t.Fatalf("sources %d", n)
	}
}
