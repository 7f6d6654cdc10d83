package dag

import (
	"context"
	"fmt"
	"strings"

	"github.com/olumi/isl/engine/report"
)

// Status values (docs/api.md#types causal status).
const (
	StatusIdentifiable   = "identifiable"
	StatusUncertain      = "uncertain" // kept in the enum for compatibility, never returned
	StatusCannotIdentify = "cannot_identify"
)

// Issue types used here.
const (
	IssueMissingConnection = "missing_connection"
	IssueConfounding       = "confounding"
)

// Methods by which an identifiable effect is identified.
const (
	MethodBackdoor  = "backdoor"
	MethodFrontdoor = "frontdoor"
	MethodID        = "id"
)

// Options tunes Identify. Zero values take the defaults. They cap output only: the answer (status,
// method, the smallest set) never depends on them, and a capped list is flagged in Result.
type Options struct {
	MaxSets  int // adjustment sets returned (default 100)
	MaxSize  int // all minimal sets up to this size are listed (default 3); when none is that small, the smallest sets are listed instead
	MaxPaths int // back-door paths printed (default 20)
}

func (o Options) withDefaults() Options {
	if o.MaxSets <= 0 {
		o.MaxSets = 100
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 3
	}
	if o.MaxPaths <= 0 {
		o.MaxPaths = 20
	}
	return o
}

// Issue is a docs/api.md#causal-validate issue.
type Issue struct {
	Type            string   `json:"type"`
	Description     string   `json:"description"`
	AffectedNodes   []string `json:"affected_nodes"`
	SuggestedAction string   `json:"suggested_action"`
}

// Explanation is the contract's explanation object.
type Explanation = report.Explanation

// Hedge is the witness that an effect is not identifiable (Shpitser & Pearl 2006): two
// c-components F' ⊊ F of a subgraph of the latent projection, F containing the treatment and F'
// not, all nodes ancestors of the outcome (ID's failure at line 5). Two models can then agree on
// the observed distribution and differ in the effect.
type Hedge struct {
	F      []string `json:"f"`
	FPrime []string `json:"f_prime"`
}

// Result is the identification result, shaped like the docs/api.md#causal-validate response (json tags = contract names)
// plus engine fields the service renders as documented extensions.
//
// Every completed computation ends in one of:
//   - identifiable, Method backdoor: a back-door adjustment set exists among the observed nodes
//     (confidence high); AdjustmentSets lists all minimal sets up to Options.MaxSize (or, if none
//     is that small, all smallest ones), MinimalSet is a smallest one;
//   - identifiable, Method frontdoor: no back-door set, but an observed front-door set M
//     (FrontDoorSet; confidence medium, AdjustmentSets/MinimalSet null);
//   - identifiable, Method id: neither criterion applies, the ID algorithm on the latent projection
//     derives a formula (confidence medium);
//   - cannot_identify: no directed path T→Y (missing_connection, high), or the ID algorithm found a
//     Hedge, a proof that no formula exists (confounding, medium).
//
// Estimand is the identifying formula for P(outcome | do(treatment)) whenever identifiable.
// uncertain stays in the status enum for compatibility and is never returned.
type Result struct {
	Status         string      `json:"status"`
	AdjustmentSets [][]string  `json:"adjustment_sets"`
	MinimalSet     []string    `json:"minimal_set"`
	BackdoorPaths  []string    `json:"backdoor_paths"`
	Issues         []Issue     `json:"issues"`
	Confidence     string      `json:"confidence"`
	Explanation    Explanation `json:"explanation"`

	Method         string   `json:"method,omitempty"`
	Estimand       string   `json:"estimand,omitempty"`
	FrontDoorSet   []string `json:"front_door_set,omitempty"`
	Hedge          *Hedge   `json:"hedge,omitempty"`
	SetsTruncated  bool     `json:"-"` // more minimal sets exist than listed
	PathsTruncated bool     `json:"-"` // more back-door paths exist than listed

	estimand expr // Estimand before rendering (tests evaluate it)
}

// Validate runs the full docs/api.md#causal-validate pipeline: parse the DAG (400 checks in contract order), check the
// treatment and outcome exist (then that they differ), check observed names, then Identify.
func Validate(ctx context.Context, nodes []string, edges [][2]string, treatment, outcome string, observed []string, opts Options) (*Result, error) {
	g, err := parseCanonical(nodes, edges, MaxNodes, MaxEdges)
	if err != nil {
		return nil, err
	}
	return g.Identify(ctx, treatment, outcome, observed, opts)
}

// Identify computes the docs/api.md#causal-validate result for the effect of treatment on outcome. observed == nil means
// every node is observed; otherwise only the listed nodes (plus treatment and outcome, which are
// always taken as observed) are measured, the others are latent. Unknown names are InputErrors;
// a cancelled ctx returns ctx.Err(). The answer depends on the graph only, not on the order of
// nodes and edges: everything is computed on the canonical copy (see canonical).
func (g *Graph) Identify(ctx context.Context, treatment, outcome string, observed []string, opts Options) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, ok := g.index[treatment]; !ok {
		return nil, inputErr("Treatment node '%s' not found in graph. Available nodes: %s", treatment, strings.Join(g.given, ", "))
	}
	if _, ok := g.index[outcome]; !ok {
		return nil, inputErr("Outcome node '%s' not found in graph. Available nodes: %s", outcome, strings.Join(g.given, ", "))
	}
	if treatment == outcome {
		return nil, &InputError{Msg: MsgSameTreatment}
	}
	for _, name := range observed {
		if _, ok := g.index[name]; !ok {
			return nil, inputErr("Observed node '%s' not found in graph. Available nodes: %s", name, strings.Join(g.given, ", "))
		}
	}
	c := g.canonical()
	t, y := c.index[treatment], c.index[outcome]
	obs := make([]bool, len(c.names))
	for i := range obs {
		obs[i] = observed == nil
	}
	for _, name := range observed {
		obs[c.index[name]] = true
	}
	obs[t], obs[y] = true, true
	return c.identify(ctx, t, y, obs, opts)
}

func (g *Graph) identify(ctx context.Context, t, y int, obs []bool, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	treatment, outcome := g.names[t], g.names[y]
	res := &Result{}
	deT := g.descendants(t, nil)
	if !deT[y] {
		res.Status, res.Confidence = StatusCannotIdentify, "high"
		res.Issues = []Issue{{
			Type:            IssueMissingConnection,
			Description:     fmt.Sprintf("No causal path exists from %s to %s", treatment, outcome),
			AffectedNodes:   []string{treatment, outcome},
			SuggestedAction: fmt.Sprintf("Add causal edges showing how %s affects %s", treatment, outcome),
		}}
		res.Explanation = notIdentifiedExplanation(
			fmt.Sprintf("There is no directed path from %s to %s in the graph, so intervening on %s cannot change %s under this model.", treatment, outcome, treatment, outcome),
			"No directed path from the treatment to the outcome")
		return res, nil
	}
	var err error
	if res.BackdoorPaths, res.PathsTruncated, err = g.backdoorPaths(ctx, t, y, opts.MaxPaths); err != nil {
		return nil, err
	}

	sets, truncated, err := g.backdoorSets(ctx, t, y, obs, deT, opts.MaxSize, opts.MaxSets)
	if err != nil {
		return nil, err
	}
	if len(sets) > 0 {
		res.Status, res.Confidence, res.Method = StatusIdentifiable, "high", MethodBackdoor
		res.SetsTruncated = truncated
		res.AdjustmentSets = make([][]string, len(sets))
		for i, s := range sets {
			res.AdjustmentSets[i] = g.namesOf(s)
		}
		res.MinimalSet = res.AdjustmentSets[0]
		res.estimand = backdoorEstimand(t, y, sets[0])
		res.Estimand = g.render(res.estimand)
		res.Explanation = backdoorExplanation(treatment, outcome, res.MinimalSet, len(res.BackdoorPaths) > 0)
		if len(sets[0]) > opts.MaxSize {
			res.Explanation.Reasoning += fmt.Sprintf(" No adjustment set of at most %d variables exists; the sets listed are the smallest (%d variables).", opts.MaxSize, len(sets[0]))
		}
		if truncated {
			res.Explanation.Reasoning += fmt.Sprintf(" More minimal adjustment sets exist than the %d listed.", len(sets))
		}
		return res, nil
	}

	if m, ok := g.frontDoor(t, y, obs); ok {
		res.Status, res.Confidence, res.Method = StatusIdentifiable, "medium", MethodFrontdoor
		res.FrontDoorSet = g.namesOf(m)
		res.estimand = frontdoorEstimand(len(g.names), t, y, m)
		res.Estimand = g.render(res.estimand)
		set := strings.Join(res.FrontDoorSet, ", ")
		res.Issues = []Issue{{
			Type:            IssueConfounding,
			Description:     fmt.Sprintf("Backdoor paths cannot be blocked with observed variables; effect identified via the front-door criterion through %s", set),
			AffectedNodes:   []string{treatment, outcome},
			SuggestedAction: fmt.Sprintf("Estimate the effect with the front-door formula through %s", set),
		}}
		res.Explanation = Explanation{
			Summary: fmt.Sprintf("Effect is identifiable via the front-door criterion through %s", set),
			Reasoning: fmt.Sprintf("No set of observed variables blocks every back-door path from %s to %s, but %s intercepts every directed path from %s to %s, has no unblocked back-door path from %s, and its back-door paths to %s are blocked by %s: P(%s | do(%s)) = %s.",
				treatment, outcome, set, treatment, outcome, treatment, outcome, treatment, outcome, treatment, res.Estimand),
			TechnicalBasis: fmt.Sprintf("Front-door criterion satisfied with mediator set {%s}", set),
			Assumptions: []string{
				"The DAG correctly represents the causal structure",
				fmt.Sprintf("The front-door variables %s are measured without error", set),
				"Positivity: all treatment and mediator levels occur with non-zero probability",
			},
		}
		return res, nil
	}

	a := g.project(ctx, obs)
	est, h, err := a.id(a.set(y), a.set(t), dist{obs: true}, nset(obs))
	if err != nil {
		return nil, err
	}
	if h == nil {
		res.Status, res.Confidence, res.Method = StatusIdentifiable, "medium", MethodID
		res.estimand = est
		res.Estimand = g.render(est)
		res.Issues = []Issue{{
			Type:            IssueConfounding,
			Description:     "Backdoor paths cannot be blocked with observed variables and no front-door set exists; effect identified by the ID algorithm",
			AffectedNodes:   []string{treatment, outcome},
			SuggestedAction: "Estimate the effect with the identification formula given in the explanation",
		}}
		res.Explanation = Explanation{
			Summary: "Effect is identifiable by the ID algorithm (no back-door or front-door set among the observed variables)",
			Reasoning: fmt.Sprintf("Every set of observed variables leaves a back-door path from %s to %s open and no observed front-door set exists, but the do-calculus still expresses the effect in observed quantities: the ID algorithm on the latent projection onto the observed variables derives P(%s | do(%s)) as the formula in the technical basis (and in estimand).",
				treatment, outcome, outcome, treatment),
			TechnicalBasis: fmt.Sprintf("ID algorithm (Shpitser & Pearl 2006) on the latent projection: P(%s | do(%s)) = %s", outcome, treatment, res.Estimand),
			Assumptions: []string{
				"The DAG correctly represents the causal structure",
				"Nodes not listed as observed cannot be measured or adjusted for",
				"Positivity: every conditioning event in the formula has non-zero probability",
			},
		}
		return res, nil
	}
	res.Hedge = &Hedge{F: g.namesOf(h.f.list()), FPrime: g.namesOf(h.fp.list())}
	res.Status, res.Confidence = StatusCannotIdentify, "medium"
	res.Issues = []Issue{{
		Type:            IssueConfounding,
		Description:     "Backdoor paths exist but no valid adjustment set found",
		AffectedNodes:   []string{treatment, outcome},
		SuggestedAction: "Review graph structure for unmeasured confounders",
	}}
	f, fp := strings.Join(res.Hedge.F, ", "), strings.Join(res.Hedge.FPrime, ", ")
	res.Explanation = notIdentifiedExplanation(fmt.Sprintf(
		"Unobserved confounding forms a hedge for the effect of %s on %s: {%s} and {%s} are confounded components (linked by unobserved common causes) of the observed graph, all of whose nodes affect the outcome, the larger one containing the treatment and the smaller one not. Two causal models can agree on every observed distribution yet differ in P(%s | do(%s)), so no estimator exists without measuring more variables.",
		treatment, outcome, f, fp, outcome, treatment),
		fmt.Sprintf("ID algorithm (Shpitser & Pearl 2006): hedge F = {%s}, F' = {%s}; the effect is not identifiable", f, fp))
	return res, nil
}

// backdoorEstimand is Σ_Z P(y | t, Z) P(Z) (P(y | t) for Z = ∅). It is built as the tree that
// sum(n, Z, prod(P(y|t,Z), P(Z))) returns — every member of Z is in both factors, so none of sum's
// simplifications applies — without sum's general work, and on one array holding y, t and Z:
// most requests are answered by this formula. Nothing mutates an expression's slices.
func backdoorEstimand(t, y int, z []int) expr {
	vs := append(append(make([]int, 0, 2+len(z)), y, t), z...)
	p := eProb{vars: vs[:1:1], cond: vs[1:]}
	if len(z) == 0 {
		return p
	}
	return eSum{over: vs[2:], body: eProd{fs: []expr{p, eProb{vars: vs[2:]}}}}
}

// frontdoorEstimand is Σ_M P(M | t) Σ_t' P(y | t', M) P(t').
func frontdoorEstimand(n, t, y int, m []int) expr {
	inner := sum(n, []int{t}, prod(eProb{vars: []int{y}, cond: append([]int{t}, m...)}, eProb{vars: []int{t}}))
	return sum(n, m, prod(eProb{vars: m, cond: []int{t}}, inner))
}

func notIdentifiedExplanation(reasoning, basis string) Explanation {
	return Explanation{
		Summary:        "Causal effect cannot be identified from this structure",
		Reasoning:      reasoning,
		TechnicalBasis: basis,
		Assumptions: []string{
			"The DAG correctly represents the causal structure",
			"Nodes not listed as observed cannot be measured or adjusted for",
		},
	}
}

func backdoorExplanation(t, y string, set []string, hasPaths bool) Explanation {
	// Concatenation, not fmt.Sprintf: every %s argument was boxed (an allocation each) on every
	// identifiable request.
	joined := strings.Join(set, ", ")
	e := Explanation{
		TechnicalBasis: "Backdoor criterion satisfied with adjustment set {" + joined + "}",
		Assumptions: []string{
			"The DAG correctly represents the causal structure",
			"No unmeasured confounding beyond the variables in the graph",
			"Positivity: every treatment level occurs within each stratum of the adjustment set",
		},
	}
	if len(set) == 0 {
		e.Summary = "Effect is identifiable (no controls needed)"
		if hasPaths {
			e.Reasoning = "Every back-door path from " + t + " to " + y + " is already blocked by a collider, so the association between them is causal without adjustment."
		} else {
			e.Reasoning = "There are no back-door paths from " + t + " to " + y + ", so the association between them is causal without adjustment."
		}
		return e
	}
	e.Summary = "Effect is identifiable by controlling for " + joined
	e.Reasoning = "Controlling for " + joined + " blocks every back-door path from " + t + " to " + y + " (d-separation in the graph without " + t + "'s outgoing edges) and includes no descendant of " + t + "."
	return e
}

// AdjustmentSets lists all minimal back-door adjustment sets of every size for (treatment,
// outcome) among the observed nodes (nil: all), sorted by size then name, at most limit (≤ 0:
// all — there can be exponentially many), by the polynomial-delay separator enumeration;
// truncated reports that more exist.
func (g *Graph) AdjustmentSets(treatment, outcome string, observed []string, limit int) (sets [][]string, truncated bool, err error) {
	c := g.canonical()
	t, ok := c.index[treatment]
	if !ok {
		return nil, false, inputErr("Treatment node '%s' not found in graph", treatment)
	}
	y, ok := c.index[outcome]
	if !ok {
		return nil, false, inputErr("Outcome node '%s' not found in graph", outcome)
	}
	if t == y {
		return nil, false, &InputError{Msg: MsgSameTreatment}
	}
	obs := make([]bool, len(c.names))
	if observed == nil {
		for i := range obs {
			obs[i] = true
		}
	} else {
		idx, err := c.indices(observed, "Observed")
		if err != nil {
			return nil, false, err
		}
		for _, i := range idx {
			obs[i] = true
		}
	}
	s, tr := c.allBackdoorSets(t, y, obs, c.descendants(t, nil), limit)
	for _, z := range s {
		sets = append(sets, c.namesOf(z))
	}
	return sets, tr, nil
}

// allBackdoorSets enumerates the minimal back-door sets of every size (Takata-style listing).
func (g *Graph) allBackdoorSets(t, y int, obs, deT []bool, limit int) ([][]int, bool) {
	cut := make([]bool, len(g.names))
	cut[t] = true
	allowed := make([]bool, len(g.names))
	for v := range allowed {
		allowed[v] = obs[v] && !deT[v] && v != y
	}
	return g.minimalSeparators(cut, t, y, allowed, limit)
}
