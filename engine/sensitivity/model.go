package sensitivity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/scm"
)

// How an assumption is tied to the structural model. The name decides, tried in order:
//
//	"V.p"  p is a parameter of V's distribution            → that parameter (e.g. Price.mean)
//	"V[k]" V has an equation with at least k literals        → its k-th numeric literal (1-based,
//	       source order; "Revenue[2]" is 500 in "10000 + 500 * Price")
//	"V"    V has a distribution and no equation              → V's distribution mean (normal mean;
//	       uniform shifted keeping its width; exponential scale; beta keeping α+β)
//	"V"    V is read by an equation but defined nowhere      → a free model parameter bound to the
//	       assumption's value (the baseline uses current_value)
//	"V"    V has an equation                                 → do(V = x)
//
// Anything else (or a model that cannot be evaluated) falls back to the contract heuristic.
type targetKind uint8

const (
	tParam targetKind = iota + 1
	tLiteral
	tMean
	tFree
	tDo
)

type target struct {
	kind     targetKind
	variable string
	param    string // tParam
	lit      int    // tLiteral, 0-based
	// min is the smallest admissible value (std, scale ≥ 0); open marks it exclusive (α, β > 0;
	// beta means in (0, 1) also have max 1).
	min, max         float64
	openMin, openMax bool
}

func (t target) String() string {
	switch t.kind {
	case tParam:
		return fmt.Sprintf("parameter '%s' of the distribution of %s", t.param, t.variable)
	case tLiteral:
		return fmt.Sprintf("constant #%d of the equation for %s", t.lit+1, t.variable)
	case tMean:
		return fmt.Sprintf("the mean of %s's distribution", t.variable)
	case tFree:
		return fmt.Sprintf("model parameter %s", t.variable)
	}
	return fmt.Sprintf("do(%s = x)", t.variable)
}

func (t target) admissible(x float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return false
	}
	if x < t.min || (t.openMin && x == t.min) || x > t.max || (t.openMax && x == t.max) {
		return false
	}
	return true
}

// world is an evaluable model: the parsed StructuralModel, bindings of free parameters and the
// outcome whose Monte Carlo mean is the conclusion's value.
type world struct {
	model    scm.Model
	bindings jsonv.Map[float64] // free parameters (intervention on unbound identifiers)
	outcome  string
	opt      scm.Options
	runs     int
	maxRuns  int
	ctx      context.Context
	ids      map[string][]string // identifiers read by each equation
}

// Work budget. Every run re-compiles the model (about 20 µs per equation + 0.4 µs per byte) and evaluates
// Samples draws (about 5 ns per draw and cost unit, cost = 1 + distributions + Σ(1 + equation
// bytes/4)), measured on the 2-core benchmark machine. The sample count per run is lowered
// (not below minSamples) so that the expected runs fit workBudget; maxRuns stops anything beyond
// twice the budget, and assumptions left without runs use the heuristic. Both depend only on
// the request, so results stay deterministic. Without this, 100 assumptions on 200 long
// equations at 10000 draws would run for many minutes.
var workBudget = 2e9 // ns; a variable so tests can shrink it

const (
	minSamples     = 200
	runsPerAssumpt = 12 // 5 grid + 4 scan + a few solver steps, typical
)

var errBudget = errors.New("model evaluation budget exhausted")

// plan sets the sample count and run cap for a request with k assumptions.
func (w *world) plan(requested, k int) {
	perSample, eqBytes := 1.0+float64(len(w.model.Distributions)), 0
	for _, e := range w.model.Equations {
		perSample += 1 + float64(len(e.Value)/4)
		eqBytes += len(e.Value)
	}
	compile := 20000*float64(len(w.model.Equations)) + 400*float64(eqBytes)
	runCost := func(n int) float64 { return compile + 5*float64(n)*perSample }
	expected := k*runsPerAssumpt + len(w.model.Equations) + 2
	n := requested
	if float64(expected)*runCost(n) > workBudget {
		fit := (workBudget/float64(expected) - compile) / (5 * perSample)
		n = min(requested, max(minSamples, int(fit)))
	}
	w.opt.Samples = n
	w.maxRuns = min(2*expected, max(1, int(2*workBudget/runCost(n))))
}

// parseModel reads the request's `model` as a StructuralModel; the reason explains a failure.
func parseModel(v jsonv.Value) (scm.Model, string) {
	var m scm.Model
	if v.Kind != jsonv.Object {
		return m, "the model is not a structural model object"
	}
	b, err := v.MarshalJSON()
	if err != nil {
		return m, "the model is not a structural model object"
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, "the model does not have the StructuralModel shape (variables, equations, distributions)"
	}
	if len(m.Equations) == 0 {
		return m, "the model has no structural equations"
	}
	return m, ""
}

// mean runs the model with the given changes and returns the outcome's sample mean.
func (w *world) mean(m scm.Model, interv jsonv.Map[float64], outcome string) (float64, error) {
	if w.ctx != nil {
		if err := w.ctx.Err(); err != nil {
			return 0, err
		}
	}
	if w.maxRuns > 0 && w.runs >= w.maxRuns {
		return 0, errBudget
	}
	w.runs++
	sim, err := scm.Simulate(scm.Request{Model: m, Intervention: interv, Outcome: outcome}, w.opt)
	if err != nil {
		return 0, err
	}
	s := 0.0
	for _, y := range sim.Outcome {
		s += y
	}
	mu := s / float64(len(sim.Outcome))
	if math.IsNaN(mu) || math.IsInf(mu, 0) {
		return 0, fmt.Errorf("model produced non-finite values for '%s'", outcome)
	}
	return mu, nil
}

// identifiers lists, per equation variable, the names it reads (nil if it does not parse).
func identifiers(m scm.Model) map[string][]string {
	out := map[string][]string{}
	for _, e := range m.Equations {
		if eq, err := scm.ParseEquation(e.Value); err == nil {
			out[e.Key] = eq.Identifiers()
		}
	}
	return out
}

// resolve ties an assumption name to the model (see targetKind); ok false when it names nothing.
func resolve(m scm.Model, ids map[string][]string, name string) (target, bool) {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		v, p := name[:i], name[i+1:]
		if d, ok := m.Distributions.Get(v); ok && d.Parameters.Has(p) {
			t := target{kind: tParam, variable: v, param: p, min: math.Inf(-1), max: math.Inf(1)}
			switch {
			case p == "std" && d.Type == "normal", p == "scale" && d.Type == "exponential":
				t.min = 0
			case (p == "alpha" || p == "beta") && d.Type == "beta":
				t.min, t.openMin = 0, true
			}
			return t, true
		}
	}
	if strings.HasSuffix(name, "]") {
		if i := strings.LastIndexByte(name, '['); i > 0 {
			v := name[:i]
			k, err := strconv.Atoi(name[i+1 : len(name)-1])
			if src, ok := m.Equations.Get(v); ok && err == nil && k >= 1 {
				if eq, err := scm.ParseEquation(src); err == nil && k <= len(eq.Literals()) {
					return target{kind: tLiteral, variable: name[:i], lit: k - 1, min: math.Inf(-1), max: math.Inf(1)}, true
				}
			}
		}
	}
	_, hasEq := m.Equations.Get(name)
	if d, ok := m.Distributions.Get(name); ok && !hasEq {
		t := target{kind: tMean, variable: name, min: math.Inf(-1), max: math.Inf(1)}
		switch d.Type {
		case "exponential":
			t.min = 0
		case "beta":
			t.min, t.max, t.openMin, t.openMax = 0, 1, true, true
		}
		return t, true
	}
	if hasEq {
		return target{kind: tDo, variable: name, min: math.Inf(-1), max: math.Inf(1)}, true
	}
	for _, e := range m.Equations {
		for _, id := range ids[e.Key] {
			if id == name {
				return target{kind: tFree, variable: name, min: math.Inf(-1), max: math.Inf(1)}, true
			}
		}
	}
	return target{}, false
}

// baseValue is the model's own current value of the target (free parameters: their binding).
func (w *world) baseValue(t target) (float64, error) {
	switch t.kind {
	case tParam:
		d, _ := w.model.Distributions.Get(t.variable)
		v, _ := d.Parameters.Get(t.param)
		return v, nil
	case tLiteral:
		src, _ := w.model.Equations.Get(t.variable)
		eq, err := scm.ParseEquation(src)
		if err != nil {
			return 0, err
		}
		return eq.Literals()[t.lit], nil
	case tMean:
		d, _ := w.model.Distributions.Get(t.variable)
		return scm.DistributionMean(d), nil
	case tFree:
		v, _ := w.bindings.Get(t.variable)
		return v, nil
	}
	return w.mean(w.model, w.bindings, t.variable)
}

// setting is one assumption held at a value.
type setting struct {
	t target
	x float64
}

// apply returns the model and interventions with the settings applied (copies; the world's
// model is never modified).
func (w *world) apply(settings ...setting) (scm.Model, jsonv.Map[float64], error) {
	m := w.model
	interv := append(jsonv.Map[float64](nil), w.bindings...)
	copiedEq, copiedDist := false, false
	for _, s := range settings {
		if !s.t.admissible(s.x) {
			return m, nil, fmt.Errorf("value %v outside the admissible range of %s", s.x, s.t)
		}
		switch s.t.kind {
		case tParam, tMean:
			if !copiedDist {
				m.Distributions = append(jsonv.Map[scm.Distribution](nil), m.Distributions...)
				copiedDist = true
			}
			for i := range m.Distributions {
				if m.Distributions[i].Key != s.t.variable {
					continue
				}
				d := m.Distributions[i].Value
				d.Parameters = append(jsonv.Map[float64](nil), d.Parameters...)
				if s.t.kind == tParam {
					d.Parameters.Set(s.t.param, s.x)
				} else {
					setMean(&d, s.x)
				}
				m.Distributions[i].Value = d
			}
		case tLiteral:
			if !copiedEq {
				m.Equations = append(jsonv.Map[string](nil), m.Equations...)
				copiedEq = true
			}
			src, _ := m.Equations.Get(s.t.variable)
			out, ok := replaceLiteral(src, s.t.lit, s.x)
			if !ok {
				return m, nil, fmt.Errorf("cannot rewrite the equation for %s", s.t.variable)
			}
			m.Equations.Set(s.t.variable, out)
		case tFree, tDo:
			interv.Set(s.t.variable, s.x)
		}
	}
	return m, interv, nil
}

// setMean moves a distribution so that its docs/api.md#distribution mean is x (see targetKind).
func setMean(d *scm.Distribution, x float64) {
	p := func(k string) float64 { v, _ := d.Parameters.Get(k); return v }
	switch d.Type {
	case "normal":
		d.Parameters.Set("mean", x)
	case "uniform":
		half := (p("max") - p("min")) / 2
		d.Parameters.Set("min", x-half)
		d.Parameters.Set("max", x+half)
	case "exponential":
		d.Parameters.Set("scale", x)
	case "beta":
		k := p("alpha") + p("beta")
		d.Parameters.Set("alpha", x*k)
		d.Parameters.Set("beta", (1-x)*k)
	}
}

// replaceLiteral swaps the k-th numeric literal (0-based, source order, as scm counts them)
// of an equation for x. Literal spans follow the docs/api.md#equation-grammar NUMBER token: digits, optional
// fraction, optional exponent; digits inside identifiers (x1) are not literals.
func replaceLiteral(src string, k int, x float64) (string, bool) {
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	isIdent := func(c byte) bool { return c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') }
	n := 0
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case isIdent(c) && !isDigit(c):
			for i < len(src) && isIdent(src[i]) {
				i++
			}
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			j := i
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			if j < len(src) && src[j] == '.' {
				j++
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				q := j + 1
				if q < len(src) && (src[q] == '+' || src[q] == '-') {
					q++
				}
				if q < len(src) && isDigit(src[q]) {
					for q < len(src) && isDigit(src[q]) {
						q++
					}
					j = q
				}
			}
			if n == k {
				lit := strconv.FormatFloat(math.Abs(x), 'g', -1, 64)
				if x < 0 || (x == 0 && math.Signbit(x)) {
					lit = "(-" + lit + ")"
				}
				return src[:i] + lit + src[j:], true
			}
			n++
			i = j
		default:
			i++
		}
	}
	return src, false
}

// outcomeOf picks the variable whose mean is the conclusion: the requested one, else the only
// equation variable no other equation reads, else (several such sinks) the sink whose baseline
// mean is closest to baseline_result (ties: request order).
func (w *world) outcomeOf(requested string, ids map[string][]string, baseline float64) (string, float64, string) {
	if requested != "" {
		_, e := w.model.Equations.Get(requested)
		_, d := w.model.Distributions.Get(requested)
		if !e && !d {
			return "", 0, fmt.Sprintf("the outcome '%s' is not defined by the model", requested)
		}
		y, err := w.mean(w.model, w.bindings, requested)
		if err != nil {
			return "", 0, "the model cannot be evaluated: " + err.Error()
		}
		return requested, y, ""
	}
	read := map[string]bool{}
	for _, e := range w.model.Equations {
		for _, id := range ids[e.Key] {
			if id != e.Key {
				read[id] = true
			}
		}
	}
	best, bestY, bestD := "", 0.0, math.Inf(1)
	var firstErr error
	for _, e := range w.model.Equations {
		if read[e.Key] {
			continue
		}
		y, err := w.mean(w.model, w.bindings, e.Key)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if d := math.Abs(y - baseline); d < bestD {
			best, bestY, bestD = e.Key, y, d
		}
	}
	if best == "" {
		if firstErr != nil {
			return "", 0, "the model cannot be evaluated: " + firstErr.Error()
		}
		return "", 0, "the model has no outcome equation (every equation feeds another)"
	}
	return best, bestY, ""
}
