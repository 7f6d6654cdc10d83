package http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/scm"
	"github.com/olumi/isl/service/isl"
)

// counterfactualRequest is the validated docs/api.md#counterfactual request.
type counterfactualRequest struct {
	Context      *jsonv.Map[float64]
	Intervention jsonv.Map[float64]
	Model        scm.Model
	Outcome      string
	Preferences  *jsonv.Value
	UserContext  *jsonv.Value
}

// seedMaterial is the docs/api.md#determinism material: the whole validated request with the contract's field names,
// number fields float64 (canonical form 50 → 50.0), preferences and user_context as parsed,
// absent optionals null, unknown members dropped.
func (q counterfactualRequest) seedMaterial() any {
	orNull := func(v *jsonv.Value) any {
		if v == nil {
			return nil
		}
		return *v
	}
	var ctx any
	if q.Context != nil {
		ctx = *q.Context
	}
	return map[string]any{
		"context": ctx, "intervention": q.Intervention, "model": q.Model, "outcome": q.Outcome,
		"preferences": orNull(q.Preferences), "user_context": orNull(q.UserContext),
	}
}

// handleCounterfactual is POST /causal/counterfactual (docs/api.md#counterfactual with docs/api.md#counterfactual-algorithm, docs/api.md#counterfactual-errors, docs/api.md#limits, docs/api.md#counterfactual-context, docs/api.md#counterfactual-attribution).
func (s *server) handleCounterfactual() http.HandlerFunc {
	duration := s.computationDuration("/causal/counterfactual")
	return func(w http.ResponseWriter, r *http.Request) {
		d, body, err := Decode(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		req := decodeCounterfactual(body)
		if err := d.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		seed, err := jsonv.Seed(req.seedMaterial())
		if err != nil {
			s.fail(w, r, internal("perform counterfactual analysis", err))
			return
		}
		var res *scm.Result
		start := time.Now()
		err = s.computeInline(r.Context(), func(ctx context.Context) (err error) {
			res, err = scm.Counterfactual(ctx, scm.Request{
				Model: req.Model, Intervention: req.Intervention, Outcome: req.Outcome, Context: req.Context,
			}, scm.Options{Samples: s.cfg.MaxMonteCarlo, Seed: seed})
			return err
		})
		elapsed := time.Since(start).Seconds()
		duration().Observe(elapsed)
		if err != nil {
			s.fail(w, r, counterfactualErr(err))
			return
		}
		s.metrics.CounterfactualComputation.Observe(elapsed)
		s.metrics.CounterfactualAnalyses.Inc()
		ok(w, res)
	}
}

// counterfactualErr maps engine errors: a non-finite outcome is the one 400 whose error_code is
// computation_error (docs/api.md#counterfactual-algorithm docs/api.md#counterfactual-errors); input errors are 400 validation_error; the rest the endpoint's 500.
func counterfactualErr(err error) error {
	var ce *scm.ComputationError
	if errors.As(err, &ce) {
		return &isl.Error{Code: isl.EComputation, Status: http.StatusBadRequest, Message: ce.Msg, Err: err}
	}
	return engineErr(err, "perform counterfactual analysis")
}

// decodeCounterfactual reads every field, recording all schema violations (422). docs/api.md#limits's caps on the
// equations and distributions are schema bounds (the OpenAPI document's maxProperties/maxLength); the engine checks
// them again.
func decodeCounterfactual(body Obj) counterfactualRequest {
	var req counterfactualRequest
	m := body.Object("model")
	req.Model.Variables = m.StrList("variables")
	req.Model.Equations = m.StrMap("equations")
	if eqs, ok := m.Field("equations", false); ok && eqs.Kind == jsonv.Object {
		loc := m.Loc("equations")
		if n := len(eqs.Obj); n > scm.MaxEquations {
			m.d.Fail("too_long", loc, fmt.Sprintf("Dictionary should have at most %d items after validation, not %d", scm.MaxEquations, n),
				eqs, map[string]any{"field_type": "Dictionary", "max_length": scm.MaxEquations, "actual_length": n})
		}
		for _, e := range eqs.Obj {
			if e.Value.Kind == jsonv.String && len(e.Value.Str) > scm.MaxEquationBytes {
				m.d.Fail("string_too_long", append(append([]any(nil), loc...), e.Key),
					fmt.Sprintf("String should have at most %d characters", scm.MaxEquationBytes), e.Value,
					map[string]any{"max_length": scm.MaxEquationBytes})
			}
		}
	}
	if ds, ok := m.Field("distributions", false); ok && ds.Kind == jsonv.Object && len(ds.Obj) > scm.MaxDistributions {
		n := len(ds.Obj)
		m.d.Fail("too_long", m.Loc("distributions"), fmt.Sprintf("Dictionary should have at most %d items after validation, not %d", scm.MaxDistributions, n),
			ds, map[string]any{"field_type": "Dictionary", "max_length": scm.MaxDistributions, "actual_length": n})
	}
	for _, e := range m.Members("distributions") {
		dist := scm.Distribution{Type: e.Value.Str("type"), Parameters: e.Value.NumMap("parameters")}
		req.Model.Distributions = append(req.Model.Distributions, jsonv.Entry[scm.Distribution]{Key: e.Key, Value: dist})
	}
	if req.Model.Distributions == nil {
		req.Model.Distributions = jsonv.Map[scm.Distribution]{}
	}
	req.Intervention = body.NumMap("intervention")
	req.Outcome = body.Str("outcome")
	if ctx, present := body.OptNumMap("context"); present {
		req.Context = &ctx
	}
	req.Preferences = optObjectValue(body, "preferences")
	req.UserContext = optObjectValue(body, "user_context")
	return req
}

// optObjectValue reads an `object|null` member (a free-form dict) kept only as seed material; nil
// when absent or null.
func optObjectValue(body Obj, key string) *jsonv.Value {
	o, present := body.OptDict(key)
	if !present {
		return nil
	}
	v := o.Value()
	return &v
}
