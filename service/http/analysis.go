package http

import (
	"context"
	"net/http"
	"time"

	"github.com/olumi/isl/engine/align"
	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/sensitivity"
	"github.com/olumi/isl/engine/validation"
)

// sensitivityMaxSamples caps the Monte Carlo draws per sensitivity model run. The analysis re-runs
// the model ~10 times per assumption with common random numbers, so differences between runs are
// precise long before 10,000 draws (breakpoints agree with 10,000 draws to ~0.3 % on the
// benchmark model) while the cost is 5× lower (engine/BENCHMARKS.md).
const sensitivityMaxSamples = 2000

// handleModelValidate is POST /validation/validate (§8 with F8 and issue 4: testable
// implications, equation/DAG cross-check, basic = structural only).
func (s *server) handleModelValidate() http.HandlerFunc {
	route := s.cfg.APIPrefix + "/validation/validate"
	return func(w http.ResponseWriter, r *http.Request) {
		d, body, err := Decode(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		req := decodeModelValidate(body)
		if err := d.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		var res *validation.Response
		start := time.Now()
		err = s.compute(r.Context(), func() (err error) {
			res, err = validation.Validate(req)
			return err
		})
		s.metrics.ComputationDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		if err != nil {
			s.fail(w, r, engineErr(err, "validate model"))
			return
		}
		s.metrics.ModelValidations.WithLabelValues(res.OverallQuality).Inc()
		ok(w, res)
	}
}

// decodeModelValidate: dag (required, any JSON: shape problems are the engine's 400 `Invalid
// dag`, F8), structural_model (any|null: non-objects are the engine's 400), context
// (object|null), validation_level (enum, default standard).
func decodeModelValidate(body Obj) validation.Request {
	var req validation.Request
	req.DAG, _ = body.Any("dag")
	if v, ok := body.Field("structural_model", false); ok {
		req.StructuralModel = v
	}
	if ctx, present := body.OptObject("context"); present {
		req.Context = ctx.Value()
	}
	req.ValidationLevel = body.Enum("validation_level", []string{"basic", "standard", "comprehensive"}, "standard")
	return req
}

// handleTeamAlign is POST /team/align (§9 with F10, R14, R15 and whole-word matching).
func (s *server) handleTeamAlign() http.HandlerFunc {
	route := s.cfg.APIPrefix + "/team/align"
	return func(w http.ResponseWriter, r *http.Request) {
		d, body, err := Decode(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		req := decodeTeamAlign(body)
		if err := d.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		var res *align.Response
		start := time.Now()
		err = s.compute(r.Context(), func() (err error) {
			res, err = align.Align(req)
			return err
		})
		s.metrics.ComputationDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		if err != nil {
			s.fail(w, r, engineErr(err, "perform team alignment"))
			return
		}
		ok(w, res)
	}
}

func decodeTeamAlign(body Obj) align.Request {
	req := align.Request{Perspectives: []align.Perspective{}, Options: []align.Option{}}
	items, _ := body.List("perspectives")
	for i, it := range items {
		p := body.Item("perspectives", i, it)
		persp := align.Perspective{Role: p.Str("role"), Priorities: p.StrList("priorities"), Constraints: p.StrList("constraints")}
		if pref, present := p.OptStrList("preferred_options"); present {
			persp.PreferredOptions = pref
		}
		req.Perspectives = append(req.Perspectives, persp)
	}
	items, _ = body.List("options")
	for i, it := range items {
		o := body.Item("options", i, it)
		opt := align.Option{ID: o.Str("id"), Name: o.Str("name")}
		if attrs := o.Object("attributes"); attrs.OK() {
			opt.Attributes = attrs.Value().Obj
		}
		if opt.Attributes == nil {
			opt.Attributes = jsonv.Map[jsonv.Value]{}
		}
		req.Options = append(req.Options, opt)
	}
	return req
}

// handleSensitivity is POST /analysis/sensitivity (§10 with F9, R13–R15 and issue 4: the model is
// run when it can be, breakpoints are solved, E-values for effect ratios).
func (s *server) handleSensitivity() http.HandlerFunc {
	route := s.cfg.APIPrefix + "/analysis/sensitivity"
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
		err = s.compute(r.Context(), func() (err error) {
			// The engine checks ctx before every model run, so an abandoned computation stops.
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
			defer cancel()
			res, err = sensitivity.Analyze(ctx, req, sensitivity.Options{Samples: samples, Seed: seed})
			return err
		})
		s.metrics.ComputationDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		if err != nil {
			s.fail(w, r, engineErr(err, "perform sensitivity analysis"))
			return
		}
		ok(w, res)
	}
}

// sensitivitySeedMaterial is the §12 material for the model runs: the whole validated request
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
		if x, ok := body.d.num(v, body.Loc("decision_threshold")); ok {
			req.DecisionThreshold = &x
		}
	}
	return req
}
