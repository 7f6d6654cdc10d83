package scm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/jsonv"
)

// TestWorkBoundsBeforeSampling: too many distributions, or a model whose draws would exceed the
// sample-cell budget, is an input error before a single value is drawn.
func TestWorkBoundsBeforeSampling(t *testing.T) {
	model := func(dists, eqs int) Model {
		m := Model{Equations: jsonv.Map[string]{}, Distributions: jsonv.Map[Distribution]{}}
		for i := range dists {
			m.Distributions = append(m.Distributions, jsonv.Entry[Distribution]{Key: fmt.Sprintf("x%d", i),
				Value: Distribution{Type: "normal", Parameters: jsonv.Map[float64]{{Key: "mean", Value: 0}, {Key: "std", Value: 1}}}})
		}
		for i := range eqs {
			m.Equations = append(m.Equations, jsonv.Entry[string]{Key: fmt.Sprintf("y%d", i), Value: "x0 + 1"})
		}
		return m
	}
	for _, c := range []struct {
		name       string
		dists, eqs int
		samples    int
		want       string
	}{
		{"201 distributions", 201, 1, 100, "Too many distributions (201; at most 200)"},
		{"the budget at 10 000 samples", 200, 200, 10_000, ""},
		{"over the budget", 100, 1, 100_000, "exceeds 4000000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Counterfactual(context.Background(), Request{Model: model(c.dists, c.eqs), Intervention: jsonv.Map[float64]{}, Outcome: "y0"},
				Options{Samples: c.samples, Seed: 1})
			var ie *InputError
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("within the budget: %v", err)
			case c.want != "" && (!errors.As(err, &ie) || !strings.Contains(ie.Msg, c.want)):
				t.Fatalf("err = %v, want an input error containing %q", err, c.want)
			}
		})
	}
}
