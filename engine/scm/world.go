package scm

import (
	"fmt"
	"math"
	"strings"
)

// compiled is a validated model plus its draws: everything a (re-)run needs.
type compiled struct {
	n        int
	eqs      []*Equation // request order
	eqVars   []string
	eqIndex  map[string]int
	distVars []string
	distIdx  map[string]int
	dists    []Distribution
	samples  [][]float64 // per distribution, request order
	interv   map[string]float64
	ctxKeys  []string // request order
	ctxVal   map[string]float64
	outcome  string
	// factOrder is a topological order of all equations (the factual world has no intervention);
	// nil when the equations are cyclic, which rules out abduction.
	factOrder []int
	// upstream[j]: every name equation j depends on, directly or through other equations.
	upstream []map[string]bool
	pool     bufPool // vectors recycled between re-runs (one request = one goroutine)
}

// exogenous reports whether name is sampled from a distribution and not defined by an equation.
func (c *compiled) exogenous(name string) bool {
	_, d := c.distIdx[name]
	_, e := c.eqIndex[name]
	return d && !e
}

// compile runs the docs/api.md#counterfactual-algorithm semantic checks in order: caps, equation grammar (request order),
// distribution parameters (request order), unknown identifiers, cycles, outcome. It draws the
// samples with the request RNG.
func compile(req Request, opt Options) (*compiled, error) {
	if opt.Samples < 1 || opt.Samples > MaxSamples {
		return nil, fmt.Errorf("scm: samples %d outside 1..%d", opt.Samples, MaxSamples)
	}
	m := req.Model
	if len(m.Equations) > MaxEquations {
		return nil, &InputError{Msg: fmt.Sprintf("Too many structural equations (%d; at most %d)", len(m.Equations), MaxEquations)}
	}
	if len(m.Distributions) > MaxDistributions {
		return nil, &InputError{Msg: fmt.Sprintf("Too many distributions (%d; at most %d)", len(m.Distributions), MaxDistributions)}
	}
	if vars := len(m.Distributions) + len(m.Equations); opt.Samples*vars > MaxSampleCells {
		return nil, &InputError{Msg: fmt.Sprintf("Model too large for the simulation budget: %d samples × %d variables exceeds %d", opt.Samples, vars, MaxSampleCells)}
	}
	c := &compiled{
		n: opt.Samples, eqIndex: map[string]int{}, distIdx: map[string]int{},
		interv: map[string]float64{}, ctxVal: map[string]float64{}, outcome: req.Outcome,
	}
	for _, e := range m.Equations {
		if len(e.Value) > MaxEquationBytes {
			return nil, &InputError{Msg: fmt.Sprintf("Equation for '%s' is longer than %d bytes", e.Key, MaxEquationBytes)}
		}
		eq, err := ParseEquation(e.Value)
		if err != nil {
			return nil, err
		}
		c.eqIndex[e.Key] = len(c.eqs)
		c.eqs = append(c.eqs, eq)
		c.eqVars = append(c.eqVars, e.Key)
	}
	for _, e := range m.Distributions {
		if err := checkDistribution(e.Key, e.Value); err != nil {
			return nil, err
		}
		c.distIdx[e.Key] = len(c.dists)
		c.distVars = append(c.distVars, e.Key)
		c.dists = append(c.dists, e.Value)
	}
	for _, e := range req.Intervention {
		c.interv[e.Key] = e.Value
	}
	if req.Context != nil {
		for _, e := range *req.Context {
			if _, dup := c.ctxVal[e.Key]; !dup {
				c.ctxKeys = append(c.ctxKeys, e.Key)
			}
			c.ctxVal[e.Key] = e.Value
		}
	}
	known := func(s string) bool {
		_, a := c.eqIndex[s]
		_, b := c.distIdx[s]
		_, i := c.interv[s]
		_, x := c.ctxVal[s]
		return a || b || i || x
	}
	// Unknown identifiers: checked for every equation that the contract's interventional world
	// evaluates (not bound by intervention or context), in request order.
	bound := func(s string) bool {
		_, i := c.interv[s]
		_, x := c.ctxVal[s]
		return i || x
	}
	for j, eq := range c.eqs {
		if bound(c.eqVars[j]) {
			continue
		}
		for _, id := range eq.idents {
			if !known(id) {
				return nil, &InputError{Msg: fmt.Sprintf("Unknown variable '%s' in equation for '%s'", id, c.eqVars[j])}
			}
		}
	}
	if _, ok := c.kahn(func(j int) bool { return !bound(c.eqVars[j]) }); !ok {
		return nil, &InputError{Msg: "Circular dependencies detected in structural equations"}
	}
	if !known(req.Outcome) {
		return nil, &InputError{Msg: fmt.Sprintf("Outcome '%s' is not defined by the model", req.Outcome)}
	}
	if order, ok := c.kahn(func(int) bool { return true }); ok {
		c.factOrder = order
		c.upstream = make([]map[string]bool, len(c.eqs))
		for _, j := range order {
			up := map[string]bool{}
			for _, id := range c.eqs[j].idents {
				up[id] = true
				if p, ok := c.eqIndex[id]; ok {
					for k := range c.upstream[p] {
						up[k] = true
					}
				}
			}
			c.upstream[j] = up
		}
	}
	used := c.drawsUsed()
	if opt.drawAll {
		used = nil
	}
	c.samples = sample(m.Distributions, c.n, opt.Seed, used)
	c.pool.size = c.n
	return c, nil
}

// drawsUsed reports, per distribution, whether any run (base, re-runs, abduction) can read its
// samples: not when no equation and not the outcome names it, not when a context entry fixes it
// (an exogenous context value replaces it in both worlds), and not when the intervention replaces
// it and there is no factual world to evaluate (no context entry is defined by an equation).
// Sampling the unread ones would only cost time: their values never reach the answer.
func (c *compiled) drawsUsed() []bool {
	abduction := false
	for _, k := range c.ctxKeys {
		if _, isEq := c.eqIndex[k]; isEq {
			abduction = true
		}
	}
	referenced := map[string]bool{c.outcome: true}
	for _, eq := range c.eqs {
		for _, id := range eq.idents {
			referenced[id] = true
		}
	}
	used := make([]bool, len(c.distVars))
	for k, name := range c.distVars {
		_, iv := c.interv[name]
		_, cx := c.ctxVal[name]
		_, isEq := c.eqIndex[name]
		switch {
		case !referenced[name]:
		case cx && !isEq:
		case iv && !abduction:
		default:
			used[k] = true
		}
	}
	return used
}

// kahn orders the equations selected by in (docs/api.md#counterfactual-algorithm): Kahn's algorithm, ready ties broken by request
// order. ok is false on a cycle.
func (c *compiled) kahn(in func(j int) bool) ([]int, bool) {
	deg := make([]int, len(c.eqs))
	sel := make([]bool, len(c.eqs))
	total := 0
	for j := range c.eqs {
		sel[j] = in(j)
		if sel[j] {
			total++
		}
	}
	children := make([][]int, len(c.eqs))
	for j, eq := range c.eqs {
		if !sel[j] {
			continue
		}
		for _, id := range eq.idents {
			if p, ok := c.eqIndex[id]; ok && sel[p] {
				deg[j]++
				children[p] = append(children[p], j)
			}
		}
	}
	done := make([]bool, len(c.eqs))
	order := make([]int, 0, total)
	for len(order) < total {
		next := -1
		for j := range c.eqs {
			if sel[j] && !done[j] && deg[j] == 0 {
				next = j
				break
			}
		}
		if next < 0 {
			return nil, false
		}
		done[next] = true
		order = append(order, next)
		for _, ch := range children[next] {
			deg[ch]--
		}
	}
	return order, true
}

// Context handling outcomes (docs/api.md#counterfactual-context).
const (
	ContextFixed      = "fixed"      // exogenous or unmodelled variable: set to the observed value
	ContextAbducted   = "abducted"   // equation inverted for its exogenous noise term
	ContextOverridden = "overridden" // no invertible noise term: held at the value (do-semantics)
)

// ContextNote says how one context entry was used.
type ContextNote struct {
	Variable  string `json:"variable"`
	Treatment string `json:"treatment"`
	Noise     string `json:"noise,omitempty"` // abducted exogenous variable
	Reason    string `json:"reason"`
}

func (n ContextNote) String() string {
	return fmt.Sprintf("%s=%s: %s", n.Variable, n.Treatment, n.Reason)
}

// scenario is one variation of the model for a re-run: perturbed literals (robustness) or one
// input held at its mean (uncertainty attribution).
type scenario struct {
	lits     [][]float64 // per equation; nil = as parsed
	fixed    int         // distribution index held at its mean, -1 none
	fixedVal float64
}

func (c *compiled) base() scenario { return scenario{fixed: -1} }

// rerunCost is the work of re-running scenario changes in node evaluations per sample: the
// equations downstream of the changed equation (or input name) on the base evaluation order, or
// every equation (twice: factual and counterfactual world) when base is not incremental.
func (c *compiled) rerunCost(base run, changed int, input string) int {
	if !base.incremental {
		cost := 0
		for _, eq := range c.eqs {
			cost += 2 * eq.size
		}
		return cost
	}
	dirty := map[string]bool{}
	if input != "" {
		dirty[input] = true
	}
	cost := 0
	for _, j := range base.order {
		redo := j == changed
		for _, id := range c.eqs[j].idents {
			redo = redo || dirty[id]
		}
		if redo {
			dirty[c.eqVars[j]] = true
			cost += c.eqs[j].size
		}
	}
	return cost
}

func (c *compiled) lits(sc scenario, j int) []float64 {
	if sc.lits != nil && sc.lits[j] != nil {
		return sc.lits[j]
	}
	return c.eqs[j].lits
}

// run is the outcome of one simulation.
type run struct {
	y        value
	notes    []ContextNote
	abducted map[string]bool
	// env and order describe the counterfactual world; incremental says a re-run may reuse them
	// (no context entry is defined by an equation, so there is no abduction step to redo).
	env         map[string]value
	order       []int
	incremental bool
}

// simulate performs abduction (factual world, context as observations), action (intervention)
// and prediction (counterfactual world) and returns the outcome samples.
//
// Only the first m draws are used (m = c.n for the reported statistics; re-runs may use fewer).
func (c *compiled) simulate(sc scenario, m int) run {
	ev := &evaluator{n: m}
	exo := make(map[string]value, len(c.distVars)+len(c.ctxKeys))
	for k, name := range c.distVars {
		if k == sc.fixed {
			exo[name] = scalar(sc.fixedVal)
		} else if c.samples[k] == nil {
			// Never read (drawsUsed); NaN rather than a silent 0 if that were ever wrong.
			exo[name] = scalar(math.NaN())
		} else {
			exo[name] = value{v: c.samples[k][:m]}
		}
	}
	notes := make([]ContextNote, 0, len(c.ctxKeys))
	overridden := map[string]string{} // context variable → reason it could not be abducted
	for _, k := range c.ctxKeys {
		if _, isEq := c.eqIndex[k]; !isEq {
			exo[k] = scalar(c.ctxVal[k])
		}
	}
	abducted := c.abduct(ev, sc, exo, overridden)
	for _, k := range c.ctxKeys {
		switch {
		case abducted[k] != "":
			notes = append(notes, ContextNote{k, ContextAbducted, abducted[k],
				fmt.Sprintf("observation explained by abducting exogenous '%s' per sample", abducted[k])})
		case overridden[k] != "":
			notes = append(notes, ContextNote{k, ContextOverridden, "", overridden[k] + "; held at the observed value (do-semantics)"})
		default:
			notes = append(notes, ContextNote{k, ContextFixed, "", "exogenous or unmodelled variable set to the observed value"})
		}
	}
	// Action + prediction.
	env := exo
	for k := range overridden {
		env[k] = scalar(c.ctxVal[k])
	}
	for k, v := range c.interv {
		env[k] = scalar(v)
	}
	boundCF := func(j int) bool {
		v := c.eqVars[j]
		_, i := c.interv[v]
		return i || overridden[v] != ""
	}
	need := c.ancestorsOf(c.outcome, boundCF)
	order, _ := c.kahn(func(j int) bool { return need[j] })
	c.evalInto(ev, sc, env, order)
	y, ok := env[c.outcome]
	if !ok {
		y = scalar(math.NaN())
	}
	ab := map[string]bool{}
	for _, u := range abducted {
		ab[u] = true
	}
	incremental := true
	for _, k := range c.ctxKeys {
		if _, isEq := c.eqIndex[k]; isEq {
			incremental = false
		}
	}
	return run{y: y, notes: notes, abducted: ab, env: env, order: order, incremental: incremental}
}

// rerun evaluates scenario sc, which differs from the base scenario only in the literals of
// equation changed (or -1) and in the input sc.fixed. When base allows it, only the equations
// downstream of the change are recomputed; everything else is shared with base.
//
// use receives the outcome; its vector is recycled afterwards, so use must not retain it.
func (c *compiled) rerun(base run, sc scenario, changed, m int, use func(y value)) {
	if !base.incremental {
		use(c.simulate(sc, m).y)
		return
	}
	env := make(map[string]value, len(base.env))
	for k, v := range base.env {
		if v.v != nil {
			v.v = v.v[:m]
		}
		env[k] = v
	}
	dirty := map[string]bool{}
	if sc.fixed >= 0 {
		name := c.distVars[sc.fixed]
		if _, bound := c.interv[name]; !bound {
			env[name] = scalar(sc.fixedVal)
			dirty[name] = true
		}
	}
	ev := &evaluator{n: m, pool: &c.pool}
	defer ev.recycle()
	for _, j := range base.order {
		redo := j == changed
		for _, id := range c.eqs[j].idents {
			redo = redo || dirty[id]
		}
		if redo {
			c.evalInto(ev, sc, env, []int{j})
			dirty[c.eqVars[j]] = true
		}
	}
	y, ok := env[c.outcome]
	if !ok {
		y = scalar(math.NaN())
	}
	use(y)
}

// ancestorsOf marks the unbound equations the named variable depends on (itself included).
func (c *compiled) ancestorsOf(name string, bound func(j int) bool) []bool {
	need := make([]bool, len(c.eqs))
	stack := []string{name}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		j, ok := c.eqIndex[v]
		if !ok || need[j] || bound(j) {
			continue
		}
		need[j] = true
		stack = append(stack, c.eqs[j].idents...)
	}
	return need
}

func (c *compiled) evalInto(ev *evaluator, sc scenario, env map[string]value, order []int) {
	for _, j := range order {
		eq := c.eqs[j]
		vars := make([]value, len(eq.idents))
		for i, id := range eq.idents {
			v, ok := env[id]
			if !ok {
				v = scalar(math.NaN()) // cannot happen after compile's checks
			}
			vars[i] = v
		}
		env[c.eqVars[j]] = ev.run(eq, c.lits(sc, j), vars)
	}
}

// abduct processes the context entries defined by equations, in factual topological order. For
// each, the factual world is evaluated (no intervention; earlier abductions applied) and, if the
// equation contains exactly one eligible exogenous variable u in which it is affine,
// u := (observed − a)/b per sample. Otherwise the entry is an override. It returns context
// variable → abducted exogenous name and fills overridden; abducted samples are written to exo.
func (c *compiled) abduct(ev *evaluator, sc scenario, exo map[string]value, overridden map[string]string) map[string]string {
	out := map[string]string{}
	var obsEq []int
	for _, k := range c.ctxKeys {
		if j, ok := c.eqIndex[k]; ok {
			obsEq = append(obsEq, j)
		}
	}
	if len(obsEq) == 0 {
		return out
	}
	if c.factOrder == nil {
		for _, j := range obsEq {
			overridden[c.eqVars[j]] = "equations are cyclic without the intervention, so the factual world is undefined"
		}
		return out
	}
	isObs := map[int]bool{}
	for _, j := range obsEq {
		isObs[j] = true
	}
	usedU := map[string]bool{}
	var doneObs []int
	for pos, j := range c.factOrder {
		if !isObs[j] {
			continue
		}
		name := c.eqVars[j]
		u, why := c.abductOne(ev, sc, exo, overridden, j, pos, usedU, doneObs)
		if why == "" {
			out[name] = u
			usedU[u] = true
			doneObs = append(doneObs, j)
		} else {
			overridden[name] = why
		}
	}
	return out
}

// abductOne returns the abducted exogenous variable, or a reason why the observation cannot be
// explained by abduction.
func (c *compiled) abductOne(ev *evaluator, sc scenario, exo map[string]value, overridden map[string]string,
	j, pos int, usedU map[string]bool, doneObs []int) (string, string) {
	eq := c.eqs[j]
	// Candidates: exogenous, neither observed nor intervened nor already abducted, and reaching
	// this equation only directly (not through another parent), and not upstream of an earlier
	// abducted observation (changing it would break that observation).
	var cands []string
	for _, id := range eq.idents {
		if !c.exogenous(id) || usedU[id] {
			continue
		}
		if _, x := c.ctxVal[id]; x {
			continue
		}
		if _, i := c.interv[id]; i {
			continue
		}
		indirect := false
		for _, p := range eq.idents {
			if pj, ok := c.eqIndex[p]; ok && p != id && c.upstream[pj][id] {
				indirect = true
			}
		}
		for _, d := range doneObs {
			if c.upstream[d][id] {
				indirect = true
			}
		}
		if !indirect {
			cands = append(cands, id)
		}
	}
	switch {
	case len(cands) == 0:
		return "", "its equation has no eligible exogenous noise term to abduct"
	case len(cands) > 1:
		return "", fmt.Sprintf("its equation has %d exogenous terms (%s), not identifiable from one observation",
			len(cands), strings.Join(cands, ", "))
	}
	u := cands[0]
	notInvertible := fmt.Sprintf("its equation is not affine and invertible in exogenous '%s' for every sample", u)
	// Factual world up to this equation: every earlier equation whose inputs have factual values.
	env := make(map[string]value, len(exo)+len(c.eqs))
	for k, v := range exo {
		env[k] = v
	}
	for k := range overridden {
		env[k] = scalar(c.ctxVal[k])
	}
	for _, k := range c.factOrder[:pos] {
		if overridden[c.eqVars[k]] != "" {
			continue
		}
		if c.hasInputs(c.eqs[k], env) {
			c.evalInto(ev, sc, env, []int{k})
		}
	}
	if !c.hasInputs(eq, env) {
		return "", "an input has no factual value (e.g. it is set only by the intervention)"
	}
	ui := -1
	vars := make([]value, len(eq.idents))
	for i, id := range eq.idents {
		vars[i] = env[id]
		if id == u {
			ui = i
		}
	}
	lits := c.lits(sc, j)
	f := func(t value) value {
		vars[ui] = t
		return ev.run(eq, lits, vars)
	}
	a := f(scalar(0))
	b1 := f(scalar(1))
	probes := []float64{-3.7, 2.9, 11.3}
	fp := make([]value, len(probes))
	for k, t := range probes {
		fp[k] = f(scalar(t))
	}
	obs := c.ctxVal[c.eqVars[j]]
	vec := !a.isScalar() || !b1.isScalar()
	n := 1
	if vec {
		n = ev.n
	}
	us := make([]float64, n)
	for i := 0; i < n; i++ {
		ai, bi := a.at(i), b1.at(i)-a.at(i)
		if bi == 0 || math.IsNaN(bi) || math.IsInf(bi, 0) || math.IsNaN(ai) || math.IsInf(ai, 0) {
			return "", notInvertible
		}
		for k, t := range probes {
			if !near(fp[k].at(i), ai+bi*t, math.Abs(ai)+math.Abs(bi*t)) {
				return "", notInvertible
			}
		}
		us[i] = (obs - ai) / bi
	}
	var uv value
	if vec {
		uv = value{v: us}
	} else {
		uv = scalar(us[0])
	}
	// Plug the solution back in: guards against piecewise-linear terms (max/min/abs) whose kink
	// lies between the probes and the solution.
	chk := f(uv)
	for i := 0; i < n; i++ {
		if !near(chk.at(i), obs, math.Abs(obs)+math.Abs(a.at(i))+math.Abs(us[i]*(b1.at(i)-a.at(i)))) {
			return "", notInvertible
		}
	}
	exo[u] = uv
	return u, ""
}

// near compares with a tolerance relative to the magnitude of the terms that produced the values.
func near(x, y, scale float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return false
	}
	return math.Abs(x-y) <= 1e-9*scale+1e-300
}

func (c *compiled) hasInputs(eq *Equation, env map[string]value) bool {
	for _, id := range eq.idents {
		if _, ok := env[id]; !ok {
			return false
		}
	}
	return true
}
