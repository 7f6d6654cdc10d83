package http

import (
	"context"
	"net/http"
	"time"

	"github.com/olumi/isl/engine/validation"
)

// handleModelValidate is POST /validation/validate (docs/api.md#validation-validate with issue 4: testable
// implications, equation/DAG cross-check, basic = structural only).
func (s *server) handleModelValidate() http.HandlerFunc {
	duration := s.computationDuration("/validation/validate")
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
		err = s.compute(r.Context(), func(context.Context) (err error) {
			res, err = validation.Validate(req)
			return err
		})
		duration().Observe(time.Since(start).Seconds())
		if err != nil {
			s.fail(w, r, engineErr(err, "validate model"))
			return
		}
		s.metrics.ModelValidations.WithLabelValues(res.OverallQuality).Inc()
		ok(w, res)
	}
}

// decodeModelValidate: dag (required, any JSON: shape problems are the engine's 400 `Invalid
// dag`, docs/api.md#validation-validate), structural_model (any|null: non-objects are the engine's 400), context
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
