package http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/olumi/isl/engine/dag"
	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/service/isl"
)

// causalResponse is the docs/api.md#causal-validate response, fields in contract order, then the documented extensions:
// how the effect is identified (method, estimand, front_door_set), the non-identifiability
// witness (hedge) and whether an output list was capped.
type causalResponse struct {
	Status         string          `json:"status"`
	AdjustmentSets [][]string      `json:"adjustment_sets"`
	MinimalSet     []string        `json:"minimal_set"`
	BackdoorPaths  []string        `json:"backdoor_paths"`
	Issues         []dag.Issue     `json:"issues"`
	Confidence     string          `json:"confidence"`
	Explanation    dag.Explanation `json:"explanation"`

	Method                  nullString `json:"method"`
	Estimand                nullString `json:"estimand"`
	FrontDoorSet            []string   `json:"front_door_set"`
	Hedge                   *dag.Hedge `json:"hedge"`
	AdjustmentSetsTruncated bool       `json:"adjustment_sets_truncated"`
	BackdoorPathsTruncated  bool       `json:"backdoor_paths_truncated"`
}

// causalMaxSetSize is docs/api.md#causal-validate's "all minimal sets up to size 3". When every minimal set is larger the
// engine lists the smallest ones instead of reporting a spurious cannot_identify.
const causalMaxSetSize = 3

// nullString is a string member that is null when empty (the engine's "no method", "no
// estimand"): a *string cost an allocation per member and request.
type nullString string

// MarshalJSON is the member's encoding/json form (appendJSON writes the same).
func (s nullString) MarshalJSON() ([]byte, error) { return appendJSONNullString(nil, s), nil }

// handleCausalValidate is POST /causal/validate (docs/api.md#causal-validate with docs/api.md#elicit-model: true back-door criterion,
// then the front-door criterion, then the complete ID algorithm; `observed` honoured).
func (s *server) handleCausalValidate() http.HandlerFunc {
	duration := s.computationDuration("/causal/validate")
	return func(w http.ResponseWriter, r *http.Request) {
		d, body, err := Decode(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		nodes, edges := causalDAG(body, "dag")
		treatment := body.Str("treatment")
		outcome := body.Str("outcome")
		observed, _ := body.OptStrList("observed")
		if err := d.Err(); err != nil {
			s.fail(w, r, err)
			return
		}
		var res *dag.Result
		start := time.Now()
		err = s.computeInline(r.Context(), func(ctx context.Context) (err error) {
			res, err = dag.Validate(ctx, nodes, edges, treatment, outcome, observed, dag.Options{MaxSize: causalMaxSetSize})
			return err
		})
		duration().Observe(time.Since(start).Seconds())
		if err != nil {
			s.fail(w, r, causalErr(err))
			return
		}
		s.metrics.CausalValidations.WithLabelValues(res.Status).Inc()
		ok(w, causalResponse{
			Status:         res.Status,
			AdjustmentSets: res.AdjustmentSets,
			MinimalSet:     res.MinimalSet,
			BackdoorPaths:  res.BackdoorPaths,
			Issues:         res.Issues,
			Confidence:     res.Confidence,
			Explanation:    res.Explanation,

			Method:                  nullString(res.Method),
			Estimand:                nullString(res.Estimand),
			FrontDoorSet:            res.FrontDoorSet,
			Hedge:                   res.Hedge,
			AdjustmentSetsTruncated: res.SetsTruncated,
			BackdoorPathsTruncated:  res.PathsTruncated,
		})
	}
}

// causalErr is engineErr plus the cycle: a cyclic graph's 400 carries the cycle found in details
// ({"cycle": "A -> B -> A"}) so clients can fix it; the message stays the contract text.
func causalErr(err error) error {
	var ie *dag.InputError
	if errors.As(err, &ie) && len(ie.Cycle) > 0 {
		return &isl.Error{Code: isl.EValidation, Message: ie.Msg, Details: map[string]any{"cycle": ie.CycleText()}, Err: err}
	}
	return engineErr(err, "validate causal model")
}

// causalDAG reads a required docs/api.md#types DAG member {nodes:[string], edges:[[string,string]]}. Each edge is a
// pydantic Tuple[str, str] (tuple_type / missing / too_long / string_type at
// ["body",key,"edges",i(,k)]). The docs/api.md#limits caps (dag.MaxNodes nodes, dag.MaxEdges edges) are schema
// bounds (too_long), matching the OpenAPI maxItems.
func causalDAG(o Obj, key string) (nodes []string, edges [][2]string) {
	dobj := o.Object(key)
	if items, ok := dobj.List("nodes"); ok {
		if tooLong(dobj, "nodes", items, dag.MaxNodes) {
			nodes = nil
		} else {
			nodes = o.d.strs(items, dobj.at("nodes"))
		}
	}
	items, ok := dobj.List("edges")
	if !ok || tooLong(dobj, "edges", items, dag.MaxEdges) {
		return nodes, nil
	}
	edges = make([][2]string, 0, len(items))
	for i, it := range items {
		loc := func() []any { return dobj.Loc("edges", i) } // built only for a violation
		if it.Kind != jsonv.Array {
			o.d.Fail("tuple_type", loc(), "Input should be a valid tuple", it, nil)
			continue
		}
		if n := len(it.Arr); n > 2 {
			o.d.Fail("too_long", loc(), fmt.Sprintf("Tuple should have at most 2 items after validation, not %d", n), it,
				map[string]any{"field_type": "Tuple", "max_length": 2, "actual_length": n})
			continue
		}
		var e [2]string
		good := true
		for k := range 2 {
			kloc := func() []any { return append(loc(), k) }
			if k >= len(it.Arr) {
				o.d.Fail("missing", kloc(), "Field required", it, nil)
				good = false
				continue
			}
			s, ok := o.d.str(it.Arr[k], kloc)
			good = good && ok
			e[k] = s
		}
		if good {
			edges = append(edges, e)
		}
	}
	return nodes, edges
}

// tooLong records pydantic's too_long for a list over max items.
func tooLong(o Obj, key string, items []jsonv.Value, limit int) bool {
	if len(items) <= limit {
		return false
	}
	o.d.Fail("too_long", o.Loc(key), fmt.Sprintf("List should have at most %d items after validation, not %d", limit, len(items)),
		jsonv.Value{Kind: jsonv.Array, Arr: items}, map[string]any{"field_type": "List", "max_length": limit, "actual_length": len(items)})
	return true
}
