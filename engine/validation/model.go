package validation

import (
	"fmt"
	"slices"
	"strings"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/scm"
)

// length is Python's len() for the containers a model member may hold; ok is false for
// values len() rejects (numbers, booleans, null).
func length(v jsonv.Value) (n int, ok bool) {
	switch v.Kind {
	case jsonv.Array:
		return len(v.Arr), true
	case jsonv.Object:
		return len(v.Obj), true
	case jsonv.String:
		return len([]rune(v.Str)), true
	}
	return 0, false
}

// truthy is Python truthiness of a JSON value.
func truthy(v jsonv.Value) bool {
	switch v.Kind {
	case jsonv.Null:
		return false
	case jsonv.Bool:
		return v.Bool
	case jsonv.Number:
		return v.Num != 0
	}
	n, _ := length(v)
	return n > 0
}

// distribution parameter rules of docs/api.md#types and docs/api.md#counterfactual-errors.
var requiredParams = map[string][]string{
	"normal":      {"mean", "std"},
	"uniform":     {"min", "max"},
	"beta":        {"alpha", "beta"},
	"exponential": {"scale"},
}

// distributionProblem explains why a {type, parameters} entry cannot be sampled, or "".
func distributionProblem(name string, spec jsonv.Value) string {
	t, _ := spec.Get("type")
	params, _ := spec.Get("parameters")
	if t.Kind != jsonv.String {
		return fmt.Sprintf("'%s': type must be a string", name)
	}
	req, known := requiredParams[t.Str]
	if !known {
		return fmt.Sprintf("'%s': unknown distribution type '%s' (use normal, uniform, beta or exponential)", name, t.Str)
	}
	if params.Kind != jsonv.Object {
		return fmt.Sprintf("'%s': parameters must be an object", name)
	}
	vals := map[string]float64{}
	for _, p := range req {
		v, ok := params.Get(p)
		if !ok {
			return fmt.Sprintf("'%s': %s requires parameter '%s'", name, t.Str, p)
		}
		if v.Kind != jsonv.Number {
			return fmt.Sprintf("'%s': parameter '%s' must be a number", name, p)
		}
		vals[p] = v.Num
	}
	switch t.Str {
	case "normal":
		if vals["std"] < 0 {
			return fmt.Sprintf("'%s': std must not be negative", name)
		}
	case "exponential":
		if vals["scale"] < 0 {
			return fmt.Sprintf("'%s': scale must not be negative", name)
		}
	case "beta":
		if vals["alpha"] <= 0 || vals["beta"] <= 0 {
			return fmt.Sprintf("'%s': alpha and beta must be positive", name)
		}
	}
	return ""
}

// statistical runs the docs/api.md#validation-validate statistical checks plus the distribution and equation/DAG
// analyses; it returns the checks and the suggestions the equation analysis produced.
func statistical(m *model, g *graph) ([]Check, []Suggestion) {
	if m == nil {
		return []Check{check("model_provided", warning, "No structural model provided for statistical validation",
			"Provide structural model for complete validation")}, nil
	}
	checks := []Check{}
	vars, _ := m.obj.Get("variables")
	if n, ok := length(vars); ok && n > 0 && vars.Kind == jsonv.Array {
		checks = append(checks, check("variables_defined", pass, fmt.Sprintf("%d variables defined", n), ""))
	} else if truthy(vars) {
		checks = append(checks, check("variables_defined", fail, "Structural model variables must be a list of names",
			"Define model variables as a list"))
	} else {
		checks = append(checks, check("variables_defined", fail, "No variables defined in structural model",
			"Define model variables"))
	}

	dists, _ := m.obj.Get("distributions")
	var problems []string
	if truthy(dists) {
		if dists.Kind != jsonv.Object {
			n, _ := length(dists)
			checks = append(checks, check("distributions_valid", warning,
				fmt.Sprintf("Only 0/%d distributions fully specified", n),
				"Give distributions as an object mapping each variable to {type, parameters}"))
		} else {
			valid := 0
			for _, e := range dists.Obj {
				if e.Value.Kind == jsonv.Object && e.Value.Obj.Has("type") && e.Value.Obj.Has("parameters") {
					valid++
					if p := distributionProblem(e.Key, e.Value); p != "" {
						problems = append(problems, p)
					}
				}
			}
			if valid == len(dists.Obj) {
				checks = append(checks, check("distributions_valid", pass,
					fmt.Sprintf("All %d distributions properly specified", len(dists.Obj)), ""))
			} else {
				checks = append(checks, check("distributions_valid", warning,
					fmt.Sprintf("Only %d/%d distributions fully specified", valid, len(dists.Obj)),
					"Ensure all distributions have type and parameters"))
			}
		}
	}

	eqs, _ := m.obj.Get("equations")
	var sugg []Suggestion
	if truthy(eqs) {
		if eqs.Kind != jsonv.Object {
			checks = append(checks, check("equations_defined", fail,
				"Structural equations must be an object mapping each variable to an expression",
				"Give equations as {variable: expression}"))
		} else {
			checks = append(checks, check("equations_defined", pass,
				fmt.Sprintf("%d structural equations defined", len(eqs.Obj)), ""))
			var distVars map[string]bool
			if dists.Kind == jsonv.Object {
				distVars = map[string]bool{}
				for _, e := range dists.Obj {
					distVars[e.Key] = true
				}
			}
			var eqChecks []Check
			eqChecks, sugg = analyseEquations(eqs.Obj, distVars, g)
			checks = append(checks, eqChecks...)
		}
	}
	if len(problems) > 0 {
		checks = append(checks, check("distribution_parameters", warning,
			fmt.Sprintf("%d distribution(s) cannot be sampled: %s", len(problems), strings.Join(problems, "; ")),
			"Use a supported type with all required parameters in range"))
	}
	return checks, sugg
}

// analyseEquations parses every equation (engine/scm grammar) and compares the
// variables each one reads with the DAG's edges:
//   - an equation that does not parse                    → equations_valid fail, restructure
//   - equation for V, V not a DAG node                   → add_node V
//   - equation for V reads W, W not a DAG node           → add_node W (with edge W → V)
//   - reads W, both nodes, no edge W → V                 → add_edge W → V
//   - equation for V reads V                             → restructure
//   - DAG edge X → V, V's equation does not read X       → remove_edge X → V
//   - V has a distribution and an equation               → restructure (the equation is dead:
//     docs/api.md#counterfactual-algorithm binds sampled variables before evaluating equations)
//   - V has DAG parents but only a distribution          → restructure (V ignores its causes)
//   - equations depend on each other in a circle         → restructure
//
// Each finding except unparsable equations counts towards one model_consistency warning.
//
// The DAG comparisons run only when the DAG has nodes.
func analyseEquations(eqs jsonv.Map[jsonv.Value], distVars map[string]bool, g *graph) ([]Check, []Suggestion) {
	var sugg []Suggestion
	var unparsable []string
	inconsistencies := 0
	reads := map[string][]string{}
	useDAG := len(g.names) > 0
	// add records a finding; unparsable equations have their own check, everything
	// else counts towards model_consistency.
	add := func(typ, desc, why string, conf float64, impact string) {
		sugg = append(sugg, Suggestion{Type: typ, Description: desc, Rationale: why, Confidence: conf, Impact: impact})
		inconsistencies++
	}
	for i, e := range eqs {
		v := e.Key
		if i >= MaxEquations {
			break
		}
		var eq *scm.Equation
		var err error
		if e.Value.Kind == jsonv.String {
			eq, err = scm.ParseEquation(e.Value.Str)
		}
		if e.Value.Kind != jsonv.String || err != nil {
			unparsable = append(unparsable, v)
			inconsistencies--
			add("restructure", fmt.Sprintf("Rewrite the equation for '%s' using numbers, variables, + - * / **, parentheses and sqrt/exp/log/abs/max/min", v),
				fmt.Sprintf("The equation for '%s' cannot be parsed, so the model cannot be evaluated", v), 0.95, "high")
			continue
		}
		ids := eq.Identifiers()
		reads[v] = ids
		if distVars[v] {
			add("restructure", fmt.Sprintf("Remove either the distribution or the equation for '%s'", v),
				fmt.Sprintf("'%s' is sampled from its distribution, so its equation is never evaluated", v), 0.85, "medium")
		}
		if !useDAG {
			continue
		}
		_, vInDAG := g.index[v]
		if !vInDAG {
			add("add_node", fmt.Sprintf("Add node '%s' to the DAG", v),
				fmt.Sprintf("The structural model has an equation for '%s', but the DAG has no such node", v), 0.9, "high")
		}
		for _, w := range ids {
			_, wInDAG := g.index[w]
			switch {
			case w == v:
				add("restructure", fmt.Sprintf("Remove the self-reference from the equation for '%s'", v),
					fmt.Sprintf("'%s' cannot cause itself; a structural equation must be written in terms of other variables", v), 0.9, "high")
			case !wInDAG:
				add("add_node", fmt.Sprintf("Add node '%s' to the DAG with edge %s → %s", w, w, v),
					fmt.Sprintf("The equation for '%s' uses '%s', which the DAG does not contain", v, w), 0.9, "high")
			case vInDAG && !g.hasEdge(w, v):
				add("add_edge", fmt.Sprintf("Add edge %s → %s", w, v),
					fmt.Sprintf("The equation for '%s' uses '%s', but the DAG has no edge %s → %s, so the graph omits a direct cause", v, w, w, v), 0.9, "high")
			}
		}
		if vi, ok := g.index[v]; ok {
			for _, p := range g.parents[vi] {
				x := g.names[p]
				if x != v && !slices.Contains(ids, x) {
					add("remove_edge", fmt.Sprintf("Remove edge %s → %s, or add a term in %s to the equation for '%s'", x, v, x, v),
						fmt.Sprintf("The DAG says %s directly causes %s, but the structural equation for %s does not use %s", x, v, v, x), 0.7, "medium")
				}
			}
		}
	}
	// Variables that are sampled although the DAG gives them causes.
	if useDAG && distVars != nil {
		for _, name := range g.names {
			vi := g.index[name]
			if !distVars[name] || eqs.Has(name) || len(g.parents[vi]) == 0 {
				continue
			}
			ps := make([]string, len(g.parents[vi]))
			for k, p := range g.parents[vi] {
				ps[k] = g.names[p]
			}
			add("restructure", fmt.Sprintf("Give '%s' a structural equation in terms of %s, or remove those edges", name, strings.Join(ps, ", ")),
				fmt.Sprintf("The DAG says %s cause(s) %s, but the model samples %s independently from its distribution", strings.Join(ps, ", "), name, name), 0.75, "medium")
		}
	}
	if cyc := equationCycle(eqs, reads); cyc != nil {
		add("restructure", "Break the circular dependency between equations "+strings.Join(cyc, " → "),
			"Structural equations must be evaluable in a causal order; circular definitions have no solution order", 0.9, "high")
	}
	var checks []Check
	if len(unparsable) > 0 {
		checks = append(checks, check("equations_valid", fail,
			fmt.Sprintf("%d of %d equations cannot be parsed: %s", len(unparsable), len(eqs), jsonv.PyRepr(unparsable)),
			"Use only numbers, variables, + - * / **, parentheses and sqrt/exp/log/abs/max/min"))
	}
	if inconsistencies > 0 {
		checks = append(checks, check("model_consistency", warning,
			fmt.Sprintf("Found %d inconsistencies between the structural equations, distributions and DAG", inconsistencies),
			"Align the DAG and the structural model (see suggestions)"))
	}
	return checks, sugg
}

// equationCycle finds a cycle of length ≥ 2 in "V reads W" among equation variables
// (self-references are reported separately); nil if none.
func equationCycle(eqs jsonv.Map[jsonv.Value], reads map[string][]string) []string {
	var names []string
	for _, e := range eqs {
		if _, ok := reads[e.Key]; ok && !slices.Contains(names, e.Key) {
			names = append(names, e.Key)
		}
	}
	g := &graph{index: map[string]int{}}
	for _, n := range names {
		g.index[n] = len(g.names)
		g.names = append(g.names, n)
	}
	g.children = make([][]int, len(names))
	for _, v := range names {
		for _, w := range reads[v] {
			if wi, ok := g.index[w]; ok && w != v {
				// Edge W → V: W must be computed before V.
				g.children[wi] = append(g.children[wi], g.index[v])
			}
		}
	}
	return g.findCycle()
}
