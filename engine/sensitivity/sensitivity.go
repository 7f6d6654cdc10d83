// Package sensitivity tests how robust a conclusion is to its assumptions (docs/api.md#sensitivity with
// docs/api.md#sensitivity, docs/api.md#limits, issue 4).
//
// When the request's `model` is an evaluable StructuralModel and an assumption names one of
// its parameters (see targetKind for the mapping), the model is actually run (engine/scm,
// Monte Carlo mean of the outcome with common random numbers across runs):
//   - one-at-a-time: the assumption is set to 5 evenly spaced values across its range
//     (variation_range, or ±30% of current_value); if_wrong is the outcome's swing
//     max − min over those runs;
//   - importance uses the contract thresholds on if_wrong / |baseline model outcome|
//     (|baseline_result| when the model outcome is 0);
//   - breakpoints are solved for, not guessed: the conclusion is the side of the decision
//     threshold (request member `decision_threshold`, default 0) the baseline outcome is on;
//     each tied assumption's 5 runs are searched for a sign change of outcome − threshold;
//     without one, 4 more runs widen the scan by half and one range width on each side
//     (admissible values only); the change nearest the model value is refined by Illinois
//     false position;
//   - the joint worst case sets every tied assumption at once to the tested value that moved
//     the outcome furthest towards the threshold and re-runs the model; if that reverses the
//     conclusion the robustness is at least "moderate".
//
// Assumptions that cannot be tied to the model use the contract heuristic (impact
// |b·range/cv|, 1.5× breakpoint), and their evidence says so and why. Percentages are
// 100·if_wrong/Σif_wrong (docs/api.md#sensitivity; all 0 when Σ = 0). Effect-ratio assumptions get an E-value.
package sensitivity

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/report"
	"github.com/olumi/isl/engine/scm"
)

// Limits (docs/api.md#limits).
const MaxAssumptions = 100

// InputError is a semantic input error (→ 400 validation_error with its message).
type InputError = report.InputError

var inputErr = report.Inputf

// Assumption is one request assumption. VariationRange is nil for null/absent.
type Assumption struct {
	Name           string              `json:"name"`
	CurrentValue   jsonv.Value         `json:"current_value"`
	Type           string              `json:"type"`
	VariationRange *jsonv.Map[float64] `json:"variation_range"`
}

// Request is the /analysis/sensitivity body after schema checks. Outcome and
// DecisionThreshold are optional extensions (null/absent: automatic outcome, threshold 0).
type Request struct {
	Model             jsonv.Value  `json:"model"`
	BaselineResult    float64      `json:"baseline_result"`
	Assumptions       []Assumption `json:"assumptions"`
	Outcome           *string      `json:"outcome"`
	DecisionThreshold *float64     `json:"decision_threshold"`
}

// Options control the model runs: Samples per run (1..scm.MaxSamples) and the seed
// (jsonv.Seed of the validated request, docs/api.md#determinism).
type Options struct {
	Samples int
	Seed    uint32
}

type Response struct {
	Conclusion  Conclusion  `json:"conclusion"`
	Assumptions []Analysis  `json:"assumptions"`
	Robustness  Robustness  `json:"robustness"`
	Explanation Explanation `json:"explanation"`
	// ModelRun describes the model evaluation (null when no assumption could be tied to an
	// evaluable model). Addition to the contract.
	ModelRun *ModelRun `json:"model_run"`
}

type Conclusion struct {
	Statement string  `json:"statement"`
	BaseCase  float64 `json:"base_case"`
}

type Analysis struct {
	Name           string      `json:"name"`
	CurrentValue   jsonv.Value `json:"current_value"`
	Importance     string      `json:"importance"`
	Impact         Impact      `json:"impact"`
	Confidence     string      `json:"confidence"`
	Evidence       string      `json:"evidence"`
	Recommendation string      `json:"recommendation"`
	// Method is "model" (the structural model was re-run) or "heuristic" (contract rule).
	Method string `json:"method"`
	// TestedRange is the [min, max] the assumption was varied over (null if none).
	TestedRange []float64 `json:"tested_range"`
	// OutcomeRange is the [min, max] model outcome over the tested values (model method only).
	OutcomeRange []float64 `json:"outcome_range"`
	EValue       *EValue   `json:"e_value"`
}

type Impact struct {
	IfWrong    float64 `json:"if_wrong"`
	Percentage float64 `json:"percentage"`
}

type Robustness struct {
	Overall     string       `json:"overall"`
	Summary     string       `json:"summary"`
	Breakpoints []Breakpoint `json:"breakpoints"`
	// JointWorstCase is null when no assumption is tied to the model.
	JointWorstCase *JointWorstCase `json:"joint_worst_case"`
}

type Breakpoint struct {
	Assumption string `json:"assumption"`
	Threshold  string `json:"threshold"`
	// Value is the solved assumption value at which the conclusion flips (null: heuristic or
	// no flip in the searched interval).
	Value *float64 `json:"value"`
}

type JointWorstCase struct {
	Settings jsonv.Map[float64] `json:"settings"`
	Outcome  float64            `json:"outcome"`
	Change   float64            `json:"change"`
	Reverses bool               `json:"reverses_conclusion"`
}

type ModelRun struct {
	Outcome           string  `json:"outcome"`
	BaselineOutcome   float64 `json:"baseline_outcome"`
	DecisionThreshold float64 `json:"decision_threshold"`
	Samples           int     `json:"samples"`
	Runs              int     `json:"runs"`
}

// Explanation is the contract's explanation object.
type Explanation = report.Explanation

// Check applies the semantic checks (docs/api.md#limits) in order.
func Check(req Request) error {
	if len(req.Assumptions) == 0 {
		return inputErr("At least one assumption is required")
	}
	if len(req.Assumptions) > MaxAssumptions {
		return inputErr("Too many assumptions: %d (maximum %d)", len(req.Assumptions), MaxAssumptions)
	}
	seen := map[string]bool{}
	for _, a := range req.Assumptions {
		if strings.TrimSpace(a.Name) == "" {
			return inputErr("Assumption name must not be empty")
		}
		if seen[a.Name] {
			return inputErr("Duplicate assumption name: '%s'", a.Name)
		}
		seen[a.Name] = true
	}
	if math.IsNaN(req.BaselineResult) || math.IsInf(req.BaselineResult, 0) {
		return inputErr("baseline_result must be a finite number")
	}
	return nil
}

// item is the working state of one assumption.
type item struct {
	a          Assumption
	cv         float64
	cvNum      bool
	impact     float64 // unrounded
	ratio      float64
	method     string
	reason     string // why the heuristic was used
	tested     []float64
	outRange   []float64
	t          target
	base       float64 // model's current value of the target
	xs, ys     []float64
	breakpoint *Breakpoint
	out        Analysis
}

// Analyze runs the analysis; ctx cancels model runs (the error is then ctx.Err()).
func Analyze(ctx context.Context, req Request, opt Options) (*Response, error) {
	if err := Check(req); err != nil {
		return nil, err
	}
	if opt.Samples < 1 || opt.Samples > scm.MaxSamples {
		return nil, fmt.Errorf("sensitivity: samples %d outside 1..%d", opt.Samples, scm.MaxSamples)
	}
	b := req.BaselineResult
	threshold := 0.0
	if req.DecisionThreshold != nil {
		threshold = *req.DecisionThreshold
	}
	items := make([]*item, len(req.Assumptions))
	for i, a := range req.Assumptions {
		it := &item{a: a}
		if a.CurrentValue.Kind == jsonv.Number {
			it.cv, it.cvNum = a.CurrentValue.Num, true
		}
		items[i] = it
	}

	w, y0, modelReason := prepareWorld(ctx, req, opt, items)
	var tied []*item
	if w != nil {
		for _, it := range items {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if w.analyse(it, y0, b, threshold) {
				tied = append(tied, it)
			}
		}
	}
	for _, it := range items {
		if it.method == "" {
			it.heuristic(b)
			if it.reason == "" {
				it.reason = modelReason
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// docs/api.md#sensitivity: percentages of the rounded if_wrong values. Shares are taken relative to the largest
	// value so that huge impacts (near MaxFloat64) cannot overflow the sum.
	largest := 0.0
	for _, it := range items {
		it.out.Impact.IfWrong = jsonv.Round(finite(it.impact), 2)
		largest = math.Max(largest, it.out.Impact.IfWrong)
	}
	total := 0.0
	for _, it := range items {
		if largest > 0 {
			total += it.out.Impact.IfWrong / largest
		}
	}
	for _, it := range items {
		if total > 0 {
			it.out.Impact.Percentage = it.out.Impact.IfWrong / largest / total * 100
		}
		it.finish()
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].out.Impact.IfWrong > items[j].out.Impact.IfWrong })

	var joint *JointWorstCase
	if w != nil && len(tied) > 0 {
		w.maxRuns++ // the joint run is always allowed
		joint = w.jointWorst(tied, y0, threshold)
	}
	rob := robustness(items, b, joint)
	if w != nil && len(tied) > 0 {
		rob.Summary += fmt.Sprintf(" Setting all %d model-linked assumption(s) to their worst tested values moves %s from %s to %s",
			len(tied), w.outcome, num(y0), num(joint.Outcome))
		if joint.Reverses {
			rob.Summary += fmt.Sprintf(", across the decision threshold %s.", num(threshold))
		} else {
			rob.Summary += fmt.Sprintf(", still on the same side of the decision threshold %s.", num(threshold))
		}
	}
	resp := &Response{
		Conclusion:  Conclusion{Statement: "Result is " + jsonv.F0(b), BaseCase: b},
		Assumptions: make([]Analysis, len(items)),
		Robustness:  rob,
	}
	var crit, mod, minor int
	for i, it := range items {
		resp.Assumptions[i] = it.out
		switch it.out.Importance {
		case "critical":
			crit++
		case "moderate":
			mod++
		default:
			minor++
		}
	}
	if w != nil && len(tied) > 0 {
		resp.ModelRun = &ModelRun{Outcome: w.outcome, BaselineOutcome: y0, DecisionThreshold: threshold,
			Samples: w.opt.Samples, Runs: w.runs}
	}
	samples := opt.Samples
	if w != nil {
		samples = w.opt.Samples
	}
	resp.Explanation = explain(b, rob.Overall, crit, mod, minor, len(tied), w, samples)
	return resp, nil
}

// prepareWorld parses the model, binds free parameters named by numeric assumptions and finds
// the outcome. A nil world comes with the reason the model cannot be used.
func prepareWorld(ctx context.Context, req Request, opt Options, items []*item) (*world, float64, string) {
	m, reason := parseModel(req.Model)
	if reason != "" {
		return nil, 0, reason
	}
	w := &world{model: m, opt: scm.Options{Samples: opt.Samples, Seed: opt.Seed}, ctx: ctx}
	w.plan(opt.Samples, len(items))
	ids := identifiers(m)
	w.ids = ids
	for _, it := range items {
		t, ok := resolve(m, ids, it.a.Name)
		if ok && t.kind == tFree {
			v, ok := it.centre()
			if ok {
				w.bindings.Set(t.variable, v)
			}
		}
	}
	outcome := ""
	if req.Outcome != nil {
		outcome = *req.Outcome
	}
	name, y0, reason := w.outcomeOf(outcome, ids, req.BaselineResult)
	if reason != "" {
		return nil, 0, reason
	}
	w.outcome = name
	return w, y0, ""
}

// centre is the value a free parameter is bound to: current_value, else the middle of a
// complete variation_range.
func (it *item) centre() (float64, bool) {
	if it.cvNum {
		return it.cv, true
	}
	if it.a.VariationRange != nil {
		lo, okl := it.a.VariationRange.Get("min")
		hi, okh := it.a.VariationRange.Get("max")
		if okl && okh {
			return (lo + hi) / 2, true
		}
	}
	return 0, false
}

// contractRange is docs/api.md#sensitivity's range: variation_range if non-empty (missing bounds 0.7cv/1.3cv when
// cv is numeric), else ±30% of a numeric cv, else none. ok false: no complete numeric range.
func (it *item) contractRange() (lo, hi float64, ok bool) {
	vr := it.a.VariationRange
	if vr != nil && len(*vr) > 0 {
		lo, okl := vr.Get("min")
		hi, okh := vr.Get("max")
		if !okl && it.cvNum {
			lo, okl = it.cv*0.7, true
		}
		if !okh && it.cvNum {
			hi, okh = it.cv*1.3, true
		}
		return finite(lo), finite(hi), okl && okh
	}
	if it.cvNum {
		return finite(it.cv * 0.7), finite(it.cv * 1.3), true
	}
	return 0, 0, false
}

// heuristic is the contract's docs/api.md#sensitivity rule (with ).
func (it *item) heuristic(b float64) {
	it.method = "heuristic"
	lo, hi, ok := it.contractRange()
	impact := math.Abs(b * 0.1)
	if ok && it.cvNum && it.cv != 0 {
		impact = math.Abs(b * (math.Abs(hi-lo) / math.Abs(it.cv)))
		if impact == 0 {
			impact = math.Abs(b * 0.1)
		}
	}
	if ok {
		it.tested = []float64{math.Min(lo, hi), math.Max(lo, hi)}
	}
	it.impact = impact
	if b != 0 {
		it.ratio = impact / math.Abs(b)
	} else {
		it.ratio = 0.1
	}
}

func importance(ratio float64) string {
	switch {
	case ratio >= 0.3:
		return "critical"
	case ratio >= 0.1:
		return "moderate"
	}
	return "minor"
}

// finish fills the response item (importance, confidence, evidence, recommendation, E-value).
func (it *item) finish() {
	a := it.a
	imp := importance(it.ratio)
	conf := "medium"
	if a.Type == "structural" {
		conf = "low"
	}
	var evidence string
	if it.method == "model" {
		evidence = it.out.Evidence
	} else {
		switch a.Type {
		case "parametric":
			evidence = "Parameter value based on current model: " + jsonv.PyStr(a.CurrentValue)
		case "structural":
			evidence = "Structural assumption based on domain knowledge"
		case "distributional":
			evidence = "Distributional assumption based on prior data"
		default:
			evidence = "Assumption based on expert judgment"
		}
		evidence += ". Impact estimated with the proportional heuristic (|baseline × range / current value|), not by running the model: " + it.reason + "."
	}
	var rec string
	switch imp {
	case "critical":
		rec = fmt.Sprintf("CRITICAL: Validate %s with additional data or experiments before making final decision", a.Name)
	case "moderate":
		rec = fmt.Sprintf("Consider validating %s if possible to reduce uncertainty", a.Name)
	default:
		rec = fmt.Sprintf("%s has minimal impact; no additional validation needed", a.Name)
	}
	var ev *EValue
	if isEffectRatio(a) && it.cvNum {
		lo, hi, haveCI := 0.0, 0.0, false
		if vr := a.VariationRange; vr != nil {
			var okl, okh bool
			lo, okl = vr.Get("min")
			hi, okh = vr.Get("max")
			haveCI = okl && okh
		}
		if e, ok := computeEValue(it.cv, lo, hi, haveCI); ok {
			ev = e
			evidence += fmt.Sprintf(" E-value %s: an unmeasured confounder associated with both treatment and outcome by a risk ratio of %s each could explain away the observed ratio %s",
				jsonv.F2(e.Point), jsonv.F2(e.Point), num(it.cv))
			if e.CILimit != nil {
				if *e.CILimit == 1 {
					evidence += "; the interval already includes 1 (no confounding needed to move it to the null)"
				} else {
					evidence += fmt.Sprintf("; %s would move the confidence interval to include 1", jsonv.F2(*e.CILimit))
				}
			}
			evidence += " (VanderWeele & Ding 2017)."
		}
	}
	it.out = Analysis{
		Name: a.Name, CurrentValue: a.CurrentValue, Importance: imp,
		Impact:     it.out.Impact,
		Confidence: conf, Evidence: evidence, Recommendation: rec,
		Method: it.method, TestedRange: it.tested, OutcomeRange: it.outRange, EValue: ev,
	}
}

// isEffectRatio: type effect_ratio/risk_ratio, or a name mentioning a risk ratio / relative risk.
func isEffectRatio(a Assumption) bool {
	switch strings.ToLower(a.Type) {
	case "effect_ratio", "risk_ratio", "relative_risk":
		return true
	}
	n := strings.ToLower(a.Name)
	return strings.Contains(n, "risk ratio") || strings.Contains(n, "relative risk") ||
		strings.Contains(n, "risk_ratio") || strings.Contains(n, "relative_risk")
}

func robustness(items []*item, b float64, joint *JointWorstCase) Robustness {
	// docs/api.md#sensitivity: r = max if_wrong/|b| (0 when b = 0) for the heuristic items, with the rounded
	// if_wrong as the contract computes it; model items use their own ratio (scale: the
	// baseline model outcome).
	r := 0.0
	for _, it := range items {
		ratio := it.ratio
		if it.method == "heuristic" {
			ratio = 0
			if b != 0 {
				ratio = it.out.Impact.IfWrong / math.Abs(b)
			}
		}
		r = math.Max(r, ratio)
	}
	rob := Robustness{Breakpoints: []Breakpoint{}, JointWorstCase: joint}
	switch {
	case r < 0.15:
		rob.Overall = "robust"
	case r < 0.35:
		rob.Overall = "moderate"
	default:
		rob.Overall = "fragile"
	}
	if joint != nil && joint.Reverses && rob.Overall == "robust" {
		rob.Overall = "moderate"
	}
	switch rob.Overall {
	case "robust":
		rob.Summary = "Conclusion holds across a wide range of assumption variations."
	case "moderate":
		rob.Summary = "Conclusion holds under most reasonable assumption variations, but some assumptions are critical."
	default:
		rob.Summary = "Conclusion depends heavily on specific assumptions being correct."
	}
	for _, it := range items {
		switch {
		case it.breakpoint != nil:
			rob.Breakpoints = append(rob.Breakpoints, *it.breakpoint)
		case it.method == "heuristic" && it.out.Importance == "critical":
			text := fmt.Sprintf("If %s varies by more than ±30%%", it.a.Name)
			if it.cvNum {
				text = fmt.Sprintf("If %s exceeds %s, conclusion may reverse", it.a.Name, jsonv.F2(finite(it.cv*1.5)))
			}
			rob.Breakpoints = append(rob.Breakpoints, Breakpoint{Assumption: it.a.Name, Threshold: text})
		}
	}
	return rob
}

func explain(b float64, overall string, crit, mod, minor, tied int, w *world, samples int) Explanation {
	desc, concl := "fragile", "depends heavily on specific assumptions being correct"
	switch overall {
	case "robust":
		desc, concl = "highly robust", "holds across a wide range of assumption variations"
	case "moderate":
		desc, concl = "moderately robust", "holds under most reasonable assumption variations"
	}
	n := crit + mod + minor
	reasoning := fmt.Sprintf("The baseline result of %s was tested against variations in %d assumptions. "+
		"The analysis found %d critical assumptions, %d moderately important assumptions, and %d minor assumptions. "+
		"The conclusion %s.", jsonv.F0(b), n, crit, mod, minor, concl)
	if crit > 0 {
		reasoning += fmt.Sprintf(" However, the %d critical assumption(s) should be validated before making final decisions.", crit)
	}
	if tied > 0 {
		reasoning += fmt.Sprintf(" %d of %d assumptions were assessed by re-running the structural model for %s; the others use the proportional heuristic.",
			tied, n, w.outcome)
	} else {
		reasoning += " No assumption could be tied to an evaluable structural model, so impacts use the proportional heuristic."
	}
	basis := "One-at-a-time sensitivity analysis over each assumption's variation range (default ±30%)."
	if tied > 0 {
		basis += fmt.Sprintf(" Model-linked assumptions: the structural model is re-run (mean of %d Monte Carlo draws, common random numbers) at 5 values across the range; "+
			"breakpoints are solved by bracketing and Illinois false position; a joint worst case combines the adverse ends.", samples)
	}
	basis += " Other assumptions: impact = |baseline × range width / current value|. Percentages = 100 × if_wrong / Σ if_wrong."
	return Explanation{
		Summary:        fmt.Sprintf("Conclusion is %s with %d critical assumption(s)", desc, crit),
		Reasoning:      reasoning,
		TechnicalBasis: basis,
		Assumptions: []string{
			"One-at-a-time results ignore interactions except in the joint worst case",
			"Variation ranges cover the plausible values of each assumption",
			"The structural model, where used, represents the decision correctly",
		},
	}
}

// finite maps ±Inf onto ±MaxFloat64 and NaN onto 0: outputs are never non-finite (docs/api.md#responses), and an
// overflowing swing is "as large as a float can say".
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

// num formats a value for texts: 2 decimals from 1 up, else 3 significant digits.
func num(x float64) string {
	if x == 0 || math.Abs(x) >= 1 {
		return jsonv.F2(x)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.*f", 2-int(math.Floor(math.Log10(math.Abs(x)))), x), "0"), ".")
}
