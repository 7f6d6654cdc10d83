package scm

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strings"
	"unicode"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/report"
)

// Result mirrors the docs/api.md#counterfactual response body (field names and order as in the contract).
type Result struct {
	Scenario    Scenario    `json:"scenario"`
	Prediction  Prediction  `json:"prediction"`
	Uncertainty Uncertainty `json:"uncertainty"`
	Robustness  Robustness  `json:"robustness"`
	Explanation Explanation `json:"explanation"`
	// Context says how each context entry was used (docs/api.md#counterfactual-context); not part of the contract body, the
	// same information is in explanation.technical_basis.
	Context []ContextNote `json:"-"`
}

type Scenario struct {
	Intervention jsonv.Map[float64]  `json:"intervention"`
	Outcome      string              `json:"outcome"`
	Context      *jsonv.Map[float64] `json:"context"`
}

type Prediction struct {
	PointEstimate      float64            `json:"point_estimate"`
	ConfidenceInterval ConfidenceInterval `json:"confidence_interval"`
	SensitivityRange   SensitivityRange   `json:"sensitivity_range"`
}

type ConfidenceInterval struct {
	Lower           float64 `json:"lower"`
	Upper           float64 `json:"upper"`
	ConfidenceLevel float64 `json:"confidence_level"`
}

type SensitivityRange struct {
	Optimistic  float64 `json:"optimistic"`
	Pessimistic float64 `json:"pessimistic"`
	Explanation string  `json:"explanation"`
}

type Uncertainty struct {
	Overall string   `json:"overall"`
	Sources []Source `json:"sources"`
}

type Source struct {
	Factor      string  `json:"factor"`
	Impact      float64 `json:"impact"`
	Confidence  string  `json:"confidence"`
	Explanation string  `json:"explanation"`
	Basis       string  `json:"basis"`
}

type Robustness struct {
	Score               string       `json:"score"`
	CriticalAssumptions []Assumption `json:"critical_assumptions"`
}

type Assumption struct {
	Assumption     string  `json:"assumption"`
	Impact         float64 `json:"impact"`
	Confidence     string  `json:"confidence"`
	Recommendation string  `json:"recommendation"`
}

// Explanation is the contract's explanation object.
type Explanation = report.Explanation

// Perturbation factors for the robustness analysis (docs/api.md#counterfactual-attribution).
var perturbFactors = [2]float64{0.7, 1.3}

// Simulation is a single run without statistics (for callers such as sensitivity analysis).
type Simulation struct {
	Outcome []float64     // N samples of the outcome in the counterfactual world
	Context []ContextNote // how each context entry was used
}

// Simulate validates req and returns the outcome samples of the counterfactual world.
func Simulate(req Request, opt Options) (*Simulation, error) {
	c, err := compile(req, opt)
	if err != nil {
		return nil, err
	}
	r := c.simulate(c.base(), c.n)
	return &Simulation{Outcome: append([]float64(nil), r.y.vector(c.n)...), Context: r.notes}, nil
}

// Counterfactual runs docs/api.md#counterfactual-algorithm with docs/api.md#counterfactual-context (abduction), docs/api.md#counterfactual-attribution (variance-based attribution, literal
// perturbation). ctx cancels the re-runs; the error is then ctx.Err().
func Counterfactual(ctx context.Context, req Request, opt Options) (*Result, error) {
	c, err := compile(req, opt)
	if err != nil {
		return nil, err
	}
	base := c.simulate(c.base(), c.n)
	if !finiteValue(base.y) {
		return nil, &ComputationError{Msg: fmt.Sprintf("Model produced non-finite values for '%s'", req.Outcome)}
	}
	// An outcome that depends on no draw (every input intervened or fixed) is a scalar: its
	// statistics are computed on the one value, with the same arithmetic as on N copies of it.
	stats := sortedStats{n: c.n, s: base.y.s}
	if !base.y.isScalar() {
		stats.sorted = append([]float64(nil), base.y.v...)
		sort.Float64s(stats.sorted)
	}
	pe := stats.median()
	lower, upper := stats.percentile(2.5), stats.percentile(97.5)
	res := &Result{
		Scenario: Scenario{Intervention: orEmpty(req.Intervention), Outcome: req.Outcome, Context: req.Context},
		Prediction: Prediction{
			PointEstimate:      pe,
			ConfidenceInterval: ConfidenceInterval{Lower: lower, Upper: upper, ConfidenceLevel: 0.95},
			SensitivityRange: SensitivityRange{
				Optimistic: stats.percentile(90), Pessimistic: stats.percentile(10),
				Explanation: "Range between the pessimistic (10th percentile) and optimistic (90th percentile) simulated outcomes",
			},
		},
		Context: base.notes,
	}
	mean, variance := meanVarOf(base.y, c.n)
	res.Uncertainty.Overall = overallLevel(mean, variance)
	if res.Uncertainty.Sources, err = c.sources(ctx, base); err != nil {
		return nil, err
	}
	if res.Robustness, err = c.robustness(ctx, base, pe); err != nil {
		return nil, err
	}
	res.Explanation = c.explanation(req, res, base.notes)
	if !finiteResult(res) {
		return nil, &ComputationError{Msg: fmt.Sprintf("Model produced non-finite values for '%s'", req.Outcome)}
	}
	return res, nil
}

func orEmpty(m jsonv.Map[float64]) jsonv.Map[float64] {
	if m == nil {
		return jsonv.Map[float64]{}
	}
	return m
}

// rerunBudget caps the work of the docs/api.md#counterfactual-attribution re-runs (attribution and robustness separately) in node
// evaluations: when re-running on all N draws would exceed it, the re-runs use the first M draws
// (and compare with the base run on the same M draws), M = max(minRerunSamples, budget/cost).
// Small models (the common case) always use all N draws.
const (
	rerunBudget     = 20_000_000
	minRerunSamples = 500
)

// robustnessHardBudget bounds the robustness re-runs in node evaluations whatever the model (about
// a second of work): past it, a model's equations are perturbed whole (all literals of an equation
// scaled together, 2 re-runs per equation instead of 2 per literal) and, if still needed, on fewer
// draws, down to minRobustSamples. Without it a valid but huge model (200 long equations with
// thousands of literals) would run into the request deadline instead of answering.
const (
	robustnessHardBudget = 2_000_000_000
	minRobustSamples     = 50
)

// robustnessPlan chooses per-literal or per-equation perturbation and the number of draws, given
// the per-sample cost of each design and N.
func robustnessPlan(litCost, eqCost, n int) (perLiteral bool, m int) {
	budgeted := func(cost int) int {
		if cost <= 0 || cost*n <= rerunBudget {
			return n
		}
		return min(n, max(minRerunSamples, rerunBudget/cost))
	}
	m = budgeted(litCost)
	if litCost*m <= robustnessHardBudget {
		return true, m
	}
	m = budgeted(eqCost)
	if eqCost*m > robustnessHardBudget {
		m = min(n, max(minRobustSamples, robustnessHardBudget/eqCost))
	}
	return false, m
}

func (c *compiled) rerunSamples(cost int) int {
	if cost <= 0 || cost*c.n <= rerunBudget {
		return c.n
	}
	return min(c.n, max(minRerunSamples, rerunBudget/cost))
}

// sources: docs/api.md#counterfactual-attribution impact = Var(y) − Var(y | input held at its distribution mean), from a re-run with
// the same draws for every other input (common random numbers), clamped at 0. Inputs that the
// request binds (context; intervention unless abduction used its factual samples) or that an
// equation defines, and abducted noise (its value is determined by the observation), have impact 0.
func (c *compiled) sources(ctx context.Context, base run) ([]Source, error) {
	attributed := make([]bool, len(c.distVars))
	cost := 0
	for k, name := range c.distVars {
		_, iv := c.interv[name]
		_, cx := c.ctxVal[name]
		// An intervened input still matters when abduction read its factual samples.
		attributed[k] = (!iv || len(base.abducted) > 0) && !cx && c.exogenous(name) && !base.abducted[name]
		if attributed[k] {
			cost += c.rerunCost(base, -1, name)
		}
	}
	m := c.rerunSamples(cost)
	_, varY := meanVarOf(base.y, m)
	out := make([]Source, 0, len(c.distVars))
	for k, name := range c.distVars {
		d := c.dists[k]
		impact := 0.0
		if attributed[k] {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			c.rerun(base, scenario{fixed: k, fixedVal: DistributionMean(d)}, -1, m, func(y value) {
				// Overflowing variances (|y| near 1e308) give no usable difference: impact 0.
				if _, v := meanVarOf(y, m); varY-v > 0 && !math.IsInf(varY-v, 0) {
					impact = varY - v
				}
			})
		}
		out = append(out, Source{
			Factor:      Factor(name),
			Impact:      impact,
			Confidence:  sourceConfidence(d),
			Explanation: fmt.Sprintf("Uncertainty in %s affects the outcome", name),
			Basis:       fmt.Sprintf("Distribution: %s with parameters %s", d.Type, jsonv.PyRepr(d.Parameters)),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Impact > out[j].Impact })
	if len(out) > 5 {
		out = out[:5]
	}
	return out, nil
}

// robustness (docs/api.md#counterfactual-attribution): each numeric literal of an equation is scaled by 0.7 and by 1.3, one literal at
// a time with every other literal as given (one-at-a-time design, same draws); an equation's
// impact is the largest |Δ point estimate| over its literals and both factors. A perturbation that
// makes the outcome non-finite counts as |pe| (the estimate is lost entirely). Equations bound by
// the intervention or without literals have impact 0. Top 3 by impact (stable). The score compares
// the largest impact with |pe| (docs/api.md#counterfactual-algorithm thresholds).
func (c *compiled) robustness(ctx context.Context, base run, pe float64) (Robustness, error) {
	litCost, eqCost := 0, 0
	for j, name := range c.eqVars {
		if _, iv := c.interv[name]; !iv && len(c.eqs[j].lits) > 0 {
			rc := c.rerunCost(base, j, "")
			litCost += 2 * len(c.eqs[j].lits) * rc
			eqCost += 2 * rc
		}
	}
	perLiteral, m := robustnessPlan(litCost, eqCost, c.n)
	var buf []float64 // finiteMedian's scratch, for vector outcomes only
	if !base.y.isScalar() {
		buf = make([]float64, m)
	}
	ref := pe
	if m < c.n && !base.y.isScalar() {
		ref, _ = finiteMedian(value{v: base.y.v[:m]}, m, buf)
	}
	items := make([]Assumption, 0, len(c.eqs))
	for j, name := range c.eqVars {
		impact := 0.0
		_, iv := c.interv[name]
		if !iv {
			lits := make([][]float64, len(c.eqs))
			perturbations := len(c.eqs[j].lits)
			if !perLiteral && perturbations > 0 {
				perturbations = 1 // k = -1: every literal of the equation at once
			}
			for pk := 0; pk < perturbations; pk++ {
				k := pk
				if !perLiteral {
					k = -1
				}
				for _, f := range perturbFactors {
					if err := ctx.Err(); err != nil {
						return Robustness{}, err
					}
					p := append([]float64(nil), c.eqs[j].lits...)
					for i := range p {
						if k < 0 || i == k {
							p[i] = float64(p[i] * f)
						}
					}
					lits[j] = p
					d := math.Abs(pe)
					c.rerun(base, scenario{lits: lits, fixed: -1}, j, m, func(y value) {
						if v, ok := finiteMedian(y, m, buf); ok {
							d = math.Abs(v - ref)
						}
					})
					if d > impact && !math.IsInf(d, 0) {
						impact = d
					}
				}
			}
		}
		items = append(items, Assumption{
			Assumption:     fmt.Sprintf("Structural equation for %s is correctly specified", name),
			Impact:         impact,
			Confidence:     "medium",
			Recommendation: fmt.Sprintf("Validate %s equation with additional data if possible", name),
		})
	}
	mx := 0.0
	for _, it := range items {
		mx = math.Max(mx, it.Impact)
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].Impact > items[b].Impact })
	if len(items) > 3 {
		items = items[:3]
	}
	ape := math.Abs(pe)
	score := "fragile"
	switch {
	case mx < float64(ape*0.1):
		score = "robust"
	case mx < float64(ape*0.3):
		score = "moderate"
	}
	return Robustness{Score: score, CriticalAssumptions: items}, nil
}

func (c *compiled) explanation(req Request, res *Result, notes []ContextNote) Explanation {
	p := res.Prediction
	lo, hi := p.ConfidenceInterval.Lower, p.ConfidenceInterval.Upper
	dir := "changes"
	switch {
	case lo >= 0 && hi >= 0:
		dir = "increases"
	case lo <= 0 && hi <= 0:
		dir = "decreases"
	}
	parts := make([]string, len(req.Intervention))
	for i, e := range req.Intervention {
		parts[i] = e.Key + "=" + jsonv.PyFloat(e.Value)
	}
	reasoning := fmt.Sprintf("Under the intervention %s, %s is predicted to be %s.",
		strings.Join(parts, ", "), req.Outcome, jsonv.F0(p.PointEstimate))
	switch res.Uncertainty.Overall {
	case "low":
		reasoning += " Uncertainty is low: the simulated outcomes are tightly concentrated around this estimate."
	case "medium":
		reasoning += " Uncertainty is moderate: the outcome varies noticeably across simulated scenarios."
	default:
		reasoning += " Uncertainty is high: the outcome varies widely across simulated scenarios, so treat the estimate with caution."
	}
	basis := fmt.Sprintf("Monte Carlo simulation of the structural causal model with %d samples; "+
		"interventions applied with the do-operator; statistics are the median and the 2.5th/97.5th percentiles", c.n)
	ctxAssumption := "Interventions change only the targeted variables; all other mechanisms stay as specified"
	if len(notes) > 0 {
		var ns []string
		for _, n := range notes {
			ns = append(ns, n.String())
		}
		basis += "; context handled by abduction-action-prediction (" + strings.Join(ns, "; ") + ")"
		ctxAssumption = "Context values are observations of the factual world: exogenous noise is abducted where an equation is invertible, otherwise the value is held fixed"
	}
	return Explanation{
		Summary:        fmt.Sprintf("%s likely %s to %s (range: %s to %s)", req.Outcome, dir, jsonv.F0(p.PointEstimate), jsonv.F0(lo), jsonv.F0(hi)),
		Reasoning:      reasoning,
		TechnicalBasis: basis,
		Assumptions: []string{
			"Structural equations correctly represent the causal mechanisms",
			"Exogenous distributions reflect real-world variability",
			"No unmodelled confounding between variables",
			ctxAssumption,
		},
	}
}

// Factor formats a variable name for display: `_`→space, a space between a lower- and an
// upper-case ASCII letter, then Python str.title() (baseline_brand → Baseline Brand,
// CustomerAcquisition → Customer Acquisition).
func Factor(name string) string {
	var b strings.Builder
	rs := []rune(strings.ReplaceAll(name, "_", " "))
	for i, r := range rs {
		if i > 0 && rs[i-1] >= 'a' && rs[i-1] <= 'z' && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return pyTitle(b.String())
}

// pyTitle is Python's str.title(): the first cased character after an uncased one is upper-cased,
// the rest lower-cased.
func pyTitle(s string) string {
	var b strings.Builder
	prevCased := false
	for _, r := range s {
		cased := unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
		switch {
		case cased && !prevCased:
			b.WriteRune(unicode.ToTitle(r))
		case cased:
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
		prevCased = cased
	}
	return b.String()
}

func sourceConfidence(d Distribution) string {
	mean, okM := d.Parameters.Get("mean")
	std, okS := d.Parameters.Get("std")
	if !okM || !okS {
		return "medium"
	}
	cv := 1.0
	if mean != 0 {
		cv = std / math.Abs(mean)
	}
	switch {
	case cv < 0.1:
		return "high"
	case cv < 0.3:
		return "medium"
	}
	return "low"
}

func overallLevel(mean, variance float64) string {
	cv := 0.0
	if mean != 0 {
		cv = math.Sqrt(variance) / math.Abs(mean)
	}
	switch {
	case cv < 0.1:
		return "low"
	case cv < 0.3:
		return "medium"
	}
	return "high"
}

// sortedStats are order statistics of N samples: sorted, or n copies of the scalar s when sorted
// is nil (the same arithmetic as percentile and median on such a slice, without building it).
type sortedStats struct {
	sorted []float64
	n      int
	s      float64
}

func (st sortedStats) percentile(q float64) float64 {
	if st.sorted != nil {
		return percentile(st.sorted, q)
	}
	h := float64(st.n-1) * q / 100
	i := int(math.Floor(h))
	if i >= st.n-1 {
		return st.s
	}
	return st.s + (h-float64(i))*(st.s-st.s)
}

func (st sortedStats) median() float64 {
	if st.sorted != nil {
		return median(st.sorted)
	}
	if st.n%2 == 1 {
		return st.s
	}
	return (st.s + st.s) / 2
}

// finiteValue reports whether every sample of x is finite.
func finiteValue(x value) bool {
	if x.isScalar() {
		return !math.IsNaN(x.s) && !math.IsInf(x.s, 0)
	}
	for _, v := range x.v {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// meanVarOf is meanVar of the first n samples of x (a scalar broadcast to n). For a scalar the
// two-pass sums are exact when every partial sum k·s (k ≤ n) is representable, i.e. when s's odd
// significand times n stays below 2^53: then the mean is s and the variance 0 exactly, as the
// loop would compute. Otherwise the loop runs on the scalar without building the vector.
func meanVarOf(x value, n int) (float64, float64) {
	if !x.isScalar() {
		return meanVar(x.v[:n])
	}
	s := x.s
	if s == 0 {
		return 0, 0 // +0 even for -0, as the sum starting at +0 gives
	}
	if !math.IsNaN(s) && !math.IsInf(s, 0) && !math.IsInf(s*float64(n), 0) {
		b := math.Float64bits(math.Abs(s))
		mant := b & (1<<52 - 1)
		if b>>52 != 0 {
			mant |= 1 << 52 // normal: implicit leading bit
		}
		odd := mant >> bits.TrailingZeros64(mant)
		if odd <= (1<<53-1)/uint64(n) {
			return s, 0
		}
	}
	sum := 0.0
	for range n {
		sum += s
	}
	m := sum / float64(n)
	d := s - m
	ss := 0.0
	for range n {
		ss += d * d
	}
	return m, ss / float64(n)
}

// percentile is numpy's "linear" percentile of sorted data: h=(N−1)q/100, i=⌊h⌋,
// y[i]+(h−i)(y[i+1]−y[i]).
func percentile(sorted []float64, q float64) float64 {
	n := len(sorted)
	h := float64(n-1) * q / 100
	i := int(math.Floor(h))
	if i >= n-1 {
		return sorted[n-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// median is numpy.median: the middle value, or the mean of the two middle values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// finiteMedian computes the median of x (broadcast to n) in O(n) by selection, using buf as
// scratch; ok is false if any value is non-finite.
func finiteMedian(x value, n int, buf []float64) (float64, bool) {
	if x.isScalar() {
		return x.s, !math.IsNaN(x.s) && !math.IsInf(x.s, 0)
	}
	copy(buf, x.v)
	for _, v := range buf {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false
		}
	}
	k := n / 2
	hi := selectK(buf, k)
	if n%2 == 1 {
		return hi, true
	}
	lo := buf[0]
	for _, v := range buf[1:k] {
		if v > lo {
			lo = v
		}
	}
	return (lo + hi) / 2, true
}

// selectK partially orders a so that a[k] is the k-th smallest, a[:k] ≤ a[k] ≤ a[k+1:]
// (Hoare quickselect, median-of-three pivot).
func selectK(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}

// meanVar is numpy mean and population variance (two-pass).
func meanVar(x []float64) (float64, float64) {
	s := 0.0
	for _, v := range x {
		s += v
	}
	m := s / float64(len(x))
	ss := 0.0
	for _, v := range x {
		d := v - m
		ss += d * d
	}
	return m, ss / float64(len(x))
}

func finiteResult(r *Result) bool {
	fs := []float64{r.Prediction.PointEstimate, r.Prediction.ConfidenceInterval.Lower,
		r.Prediction.ConfidenceInterval.Upper, r.Prediction.SensitivityRange.Optimistic,
		r.Prediction.SensitivityRange.Pessimistic}
	for _, s := range r.Uncertainty.Sources {
		fs = append(fs, s.Impact)
	}
	for _, a := range r.Robustness.CriticalAssumptions {
		fs = append(fs, a.Impact)
	}
	for _, f := range fs {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
