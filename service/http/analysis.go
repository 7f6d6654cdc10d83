package http

import (
	"context"
	"net/http"
	"time"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/sensitivity"
)

// sensitivityMaxSamples caps the Monte Carlo draws per sensitivity model run. The analysis re-runs
// the model ~10 times per assumption with common random numbers, so differences between runs are
// precise long before 10,000 draws (breakpoints agree with 10,000 draws to ~0.3 % on the
// benchmark model) while the cost is 5× lower (engine/BENCHMARKS.md).
const sensitivityMaxSamples = 2000

// handleSensitivity is POST /analysis/sensitivity (docs/api.md#sensitivity with –docs/api.md#limits and issue 4: the model is
// run when it can be, breakpoints are solved, E-values for effect ratios).
func (s *server) handleSensitivity() http.HandlerFunc {
	duration := s.computationDuration("/analysis/sensitivity")
	return func(w http.ResponseWriter, r *http.Request) {
		d, body, err := Decode(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		req := decodeSensitivity(body)
		if err := d.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		seed, err := jsonv.Seed(sensitivitySeedMaterial(req))
		if err != nil {
			s.fail(w, r, internal("perform sensitivity analysis", err))
			return
		}
		samples := min(s.cfg.MaxMonteCarlo, sensitivityMaxSamples)
		var res *sensitivity.Response
		start := time.Now()
		err = s.computeInline(r.Context(), func(ctx context.Context) (err error) {
			res, err = sensitivity.Analyze(ctx, req, sensitivity.Options{Samples: samples, Seed: seed})
			return err
		})
		duration().Observe(time.Since(start).Seconds())
		if err != nil {
			s.fail(w, r, engineErr(err, "perform sensitivity analysis"))
			return
		}
		ok(w, res)
	}
}

// sensitivitySeedMaterial is the docs/api.md#determinism material for the model runs: the whole validated request
// (model as parsed, numbers as float64, absent optionals null).
func sensitivitySeedMaterial(req sensitivity.Request) any {
	var outcome, threshold any
	if req.Outcome != nil {
		outcome = *req.Outcome
	}
	if req.DecisionThreshold != nil {
		threshold = *req.DecisionThreshold
	}
	return map[string]any{
		"model": req.Model, "baseline_result": req.BaselineResult, "assumptions": req.Assumptions,
		"outcome": outcome, "decision_threshold": threshold,
	}
}

// decodeSensitivity: model (required, any JSON: the engine falls back to the heuristic when it
// cannot be evaluated), baseline_result (number), assumptions (list of {name, current_value:
// string|number|object, type, variation_range: object<number>|null}); extensions outcome
// (string|null) and decision_threshold (number|null).
func decodeSensitivity(body Obj) sensitivity.Request {
	req := sensitivity.Request{Assumptions: []sensitivity.Assumption{}}
	req.Model, _ = body.Any("model")
	req.BaselineResult = body.Num("baseline_result")
	items, _ := body.List("assumptions")
	for i, it := range items {
		a := body.Item("assumptions", i, it)
		as := sensitivity.Assumption{Name: a.Str("name")}
		if cv, ok := a.Field("current_value", true); ok {
			switch cv.Kind {
			case jsonv.String, jsonv.Number, jsonv.Object:
				as.CurrentValue = cv
			default:
				a.d.Fail("union_type", a.Loc("current_value"), "Input should be a valid string, number or dictionary", cv, nil)
			}
		}
		as.Type = a.Str("type")
		if vr, present := a.OptNumMap("variation_range"); present {
			as.VariationRange = &vr
		}
		req.Assumptions = append(req.Assumptions, as)
	}
	req.Outcome = body.OptStr("outcome")
	if v, present := body.Field("decision_threshold", false); present && v.Kind != jsonv.Null {
		if x, ok := body.d.num(v, body.at("decision_threshold")); ok {
			req.DecisionThreshold = &x
		}
	}
	return req
}
