package scm

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/olumi/isl/engine/jsonv"
)

// FuzzCounterfactual: arbitrary equations for Y and Z (with context observations that trigger
// abduction) never panic; the result is either an input/computation error or a body that encodes
// as JSON (so no NaN/Inf escaped).
func FuzzCounterfactual(f *testing.F) {
	f.Add("2*X + U", "Y - U", 1.0, 3.0, true)
	f.Add("exp(U) * X", "max(Y, U)", 0.0, 1.0, true)
	f.Add("log(X)", "Y", 1.0, 1.0, false)
	f.Add("U / X", "Z", 2.0, 0.0, true)
	f.Add("X ** U", "sqrt(Y)", -1.0, 2.0, true)
	f.Fuzz(func(t *testing.T, eqY, eqZ string, obsX, obsY float64, withCtx bool) {
		dists := jsonv.Map[Distribution]{
			{Key: "X", Value: Distribution{Type: "normal", Parameters: jsonv.Map[float64]{{Key: "mean", Value: 1}, {Key: "std", Value: 1}}}},
			{Key: "U", Value: Distribution{Type: "uniform", Parameters: jsonv.Map[float64]{{Key: "min", Value: -1}, {Key: "max", Value: 2}}}},
		}
		req := Request{
			Model:        Model{Equations: jsonv.Map[string]{{Key: "Y", Value: eqY}, {Key: "Z", Value: eqZ}}, Distributions: dists},
			Intervention: jsonv.Map[float64]{{Key: "X", Value: 2}},
			Outcome:      "Z",
		}
		if withCtx {
			req.Context = &jsonv.Map[float64]{{Key: "X", Value: obsX}, {Key: "Y", Value: obsY}}
		}
		res, err := Counterfactual(context.Background(), req, Options{Samples: 64, Seed: 3})
		if err != nil {
			var ie *InputError
			var ce *ComputationError
			if !errors.As(err, &ie) && !errors.As(err, &ce) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
	})
}
