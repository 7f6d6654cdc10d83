package scm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/internal/benchcpu"
)

func benchCPU(b *testing.B, f func()) {
	b.ReportAllocs()
	t0 := benchcpu.Now()
	for i := 0; i < b.N; i++ {
		f()
	}
	benchcpu.Report(b, t0, b.N)
}

// benchModel builds a chain of k equations over k exogenous inputs with a mix of operators:
// V0 = 100 + 2*U0; Vi = 0.9*V{i-1} + 3*Ui - 0.01*V{i-1}*Ui + sqrt(abs(Ui)) (i ≥ 1).
func benchModel(k int) Request {
	var eqs, dists []string
	for i := 0; i < k; i++ {
		dists = append(dists, fmt.Sprintf(`"U%d":{"type":"normal","parameters":{"mean":1,"std":0.5}}`, i))
		if i == 0 {
			eqs = append(eqs, `"V0":"100 + 2*U0"`)
		} else {
			eqs = append(eqs, fmt.Sprintf(`"V%d":"0.9*V%d + 3*U%d - 0.01*V%d*U%d + sqrt(abs(U%d))"`, i, i-1, i, i-1, i, i))
		}
	}
	body := `{` + model(strings.Join(eqs, ","), strings.Join(dists, ",")) +
		fmt.Sprintf(`,"intervention":{"U0":1.5},"outcome":"V%d"}`, k-1)
	return decodeRequest(nil, body)
}

// BenchmarkSimulate: one Monte Carlo pass (validation, sampling, evaluation) at N = 10000.
func BenchmarkSimulate(b *testing.B) {
	for _, k := range []int{2, 10, 50} {
		req := benchModel(k)
		b.Run(fmt.Sprintf("eq=%d", k), func(b *testing.B) {
			benchCPU(b, func() {
				if _, err := Simulate(req, defaultOpt); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkEvaluate: equation evaluation only (draws reused), the "10 equations × 10000 samples" target.
func BenchmarkEvaluate(b *testing.B) {
	for _, k := range []int{2, 10, 50} {
		c, err := compile(benchModel(k), defaultOpt)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("eq=%d", k), func(b *testing.B) {
			benchCPU(b, func() { c.simulate(c.base(), c.n) })
		})
	}
}

// BenchmarkCounterfactual: the whole endpoint computation incl. docs/api.md#counterfactual-attribution re-runs (one per input for
// attribution, two per literal for robustness).
func BenchmarkCounterfactual(b *testing.B) {
	for _, k := range []int{2, 10, 50} {
		req := benchModel(k)
		b.Run(fmt.Sprintf("eq=%d", k), func(b *testing.B) {
			benchCPU(b, func() {
				if _, err := Counterfactual(context.Background(), req, defaultOpt); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
