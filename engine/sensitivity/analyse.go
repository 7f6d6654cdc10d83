package sensitivity

import (
	"fmt"
	"math"
	"sort"

	"github.com/olumi/isl/engine/jsonv"
)

// gridPoints is the number of one-at-a-time runs across an assumption's range.
const gridPoints = 5

// analyse ties it to the model and runs it; false (with it.reason set) means the heuristic
// must be used instead.
func (w *world) analyse(it *item, y0, b, threshold float64) bool {
	name := it.a.Name
	t, ok := resolve(w.model, w.ids, name)
	if !ok {
		it.reason = fmt.Sprintf("'%s' does not name a distribution parameter (Var.param), equation constant (Var[k]), distribution or variable of the model", name)
		return false
	}
	base, err := w.baseValue(t)
	if err != nil {
		it.reason = "the model cannot be evaluated for " + t.String() + ": " + err.Error()
		return false
	}
	lo, hi, ok := it.contractRange()
	if !ok {
		lo, hi = 0.7*base, 1.3*base
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if !(hi > lo) {
		it.reason = "the range to test has no width (±30% of 0 is empty); give a variation_range"
		return false
	}
	var xs, ys []float64
	var firstErr error
	for k := 0; k < gridPoints; k++ {
		x := lo + (hi-lo)*float64(k)/float64(gridPoints-1)
		y, err := w.at(t, x)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		xs, ys = append(xs, x), append(ys, y)
	}
	if len(xs) < 2 {
		it.reason = fmt.Sprintf("the model could not be evaluated across [%s, %s]", num(lo), num(hi))
		if firstErr != nil {
			it.reason += ": " + firstErr.Error()
		}
		return false
	}
	ymin, ymax := ys[0], ys[0]
	for _, y := range ys {
		ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
	}
	it.method = "model"
	it.t, it.base, it.xs, it.ys = t, base, xs, ys
	it.impact = ymax - ymin
	it.tested = []float64{lo, hi}
	it.outRange = []float64{ymin, ymax}
	switch {
	case y0 != 0:
		it.ratio = it.impact / math.Abs(y0)
	case b != 0:
		it.ratio = it.impact / math.Abs(b)
	case it.impact > 0:
		it.ratio = 1
	}
	it.out.Evidence = fmt.Sprintf("Model run: varying %s over [%s, %s] (model value %s) moves the mean of %s between %s and %s (baseline %s).",
		t, num(lo), num(hi), num(base), w.outcome, num(ymin), num(ymax), num(y0))
	if it.cvNum && (t.kind == tParam || t.kind == tLiteral || t.kind == tMean) &&
		math.Abs(it.cv-base) > 1e-9*math.Max(1, math.Abs(base)) {
		it.out.Evidence += fmt.Sprintf(" Note: current_value %s differs from the model's %s; the model's value is the baseline.", num(it.cv), num(base))
	}
	it.breakpoint = w.breakpoint(it, y0, threshold, lo, hi)
	return true
}

// at runs the model with target t set to x.
func (w *world) at(t target, x float64) (float64, error) {
	m, interv, err := w.apply(setting{t, x})
	if err != nil {
		return 0, err
	}
	return w.mean(m, interv, w.outcome)
}

// breakpoint solves for the assumption value at which the outcome crosses the threshold,
// first among the 5 range runs, then widening the scan (see the package comment).
func (w *world) breakpoint(it *item, y0, threshold, lo, hi float64) *Breakpoint {
	name := it.a.Name
	if y0 == threshold {
		v := it.base
		return &Breakpoint{Assumption: name, Value: &v,
			Threshold: fmt.Sprintf("%s is exactly at the decision threshold %s; any change in %s can reverse the conclusion", w.outcome, num(threshold), name)}
	}
	type pt struct{ x, y float64 }
	pts := make([]pt, 0, len(it.xs)+8)
	for i := range it.xs {
		pts = append(pts, pt{it.xs[i], it.ys[i]})
	}
	s0 := math.Copysign(1, y0-threshold)
	// bracket returns the sign change of outcome − threshold nearest to the model value.
	bracket := func() int {
		sort.Slice(pts, func(i, j int) bool { return pts[i].x < pts[j].x })
		best, bestDist := -1, math.Inf(1)
		for i := 0; i+1 < len(pts); i++ {
			a, c := pts[i], pts[i+1]
			fa, fc := a.y-threshold, c.y-threshold
			if !((fa < 0 && fc > 0) || (fa > 0 && fc < 0) || ((fa == 0) != (fc == 0))) {
				continue
			}
			if d := math.Abs((a.x+c.x)/2 - it.base); d < bestDist {
				best, bestDist = i, d
			}
		}
		return best
	}
	best := bracket()
	if best < 0 {
		// Widen: half a range width and a full range width beyond each end.
		width := hi - lo
		for _, x := range []float64{lo - width/2, hi + width/2, lo - width, hi + width} {
			if !it.t.admissible(x) {
				continue
			}
			if y, err := w.at(it.t, x); err == nil {
				pts = append(pts, pt{x, y})
			}
		}
		best = bracket()
	}
	searchLo, searchHi := pts[0].x, pts[len(pts)-1].x
	if best < 0 {
		if importance(it.ratio) != "critical" {
			return nil
		}
		where := "above"
		if s0 < 0 {
			where = "below"
		}
		return &Breakpoint{Assumption: name, Threshold: fmt.Sprintf("No reversal found: %s stays %s the decision threshold %s for %s between %s and %s",
			w.outcome, where, num(threshold), name, num(searchLo), num(searchHi))}
	}
	x := w.solve(it.t, threshold, pts[best].x, pts[best].y, pts[best+1].x, pts[best+1].y)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = pts[best].x/2 + pts[best+1].x/2
	}
	verb := "exceeds"
	if x < it.base {
		verb = "falls below"
	}
	where := "inside the tested range"
	if x < lo || x > hi {
		where = fmt.Sprintf("outside the tested range %s to %s", num(lo), num(hi))
	}
	v := x
	return &Breakpoint{Assumption: name, Value: &v,
		Threshold: fmt.Sprintf("If %s %s %s, %s crosses the decision threshold %s and the conclusion reverses (%s)",
			name, verb, num(x), w.outcome, num(threshold), where)}
}

// solve finds x in [a, c] with outcome(x) = threshold by the Illinois variant of false
// position (superlinear on smooth outcomes, never leaves the bracket). ya, yc bracket it.
func (w *world) solve(t target, threshold, a, ya, c, yc float64) float64 {
	fa, fc := ya-threshold, yc-threshold
	if fa == 0 {
		return a
	}
	if fc == 0 {
		return c
	}
	side := 0
	for iter := 0; iter < 40; iter++ {
		x := (a*fc - c*fa) / (fc - fa)
		if !(x > math.Min(a, c) && x < math.Max(a, c)) {
			x = (a + c) / 2
		}
		y, err := w.at(t, x)
		if err != nil {
			return (a + c) / 2
		}
		fx := y - threshold
		if fx == 0 || math.Abs(c-a) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(c))) {
			return x
		}
		if fx*fc > 0 {
			c, fc = x, fx
			if side == -1 {
				fa /= 2
			}
			side = -1
		} else {
			a, fa = x, fx
			if side == 1 {
				fc /= 2
			}
			side = 1
		}
		if math.Abs(c-a) <= 1e-10*math.Max(1, math.Max(math.Abs(a), math.Abs(c))) {
			break
		}
	}
	return (a*fc - c*fa) / (fc - fa)
}

// jointWorst sets every tied assumption to its tested value that moved the outcome furthest
// towards (or across) the threshold and runs the model once with all of them.
func (w *world) jointWorst(tied []*item, y0, threshold float64) *JointWorstCase {
	down := y0 >= threshold // the adverse direction is down when the outcome sits above it
	var settings []setting
	jc := &JointWorstCase{Settings: jsonv.Map[float64]{}}
	for _, it := range tied {
		k := 0
		for i, y := range it.ys {
			if (down && y < it.ys[k]) || (!down && y > it.ys[k]) {
				k = i
			}
		}
		settings = append(settings, setting{it.t, it.xs[k]})
		jc.Settings.Set(it.a.Name, it.xs[k])
	}
	m, interv, err := w.apply(settings...)
	y := math.NaN()
	if err == nil {
		y, err = w.mean(m, interv, w.outcome)
	}
	if err != nil {
		// Cannot happen for values that evaluated one at a time unless they interact badly
		// (e.g. a joint domain error); report the baseline rather than a non-finite number.
		y = y0
	}
	jc.Outcome, jc.Change = y, finite(y-y0)
	jc.Reverses = y0 != threshold && (y-threshold)*(y0-threshold) < 0
	return jc
}
