package dag

import (
	"fmt"
	"strings"

	"github.com/olumi/isl/engine/report"
)

// Status values (§2 causal status).
const (
	StatusIdentifiable   = "identifiable"
	StatusUncertain      = "uncertain"
	StatusCannotIdentify = "cannot_identify"
)

// Issue types used here.
const (
	IssueMissingConnection = "missing_connection"
	IssueConfounding       = "confounding"
)

// Options tunes Identify. Zero values take the defaults.
type Options struct {
	MaxSets      int // adjustment sets returned (default 100)
	MaxEnumerate int // minimal sets enumerated before sorting (default max(10·MaxSets, 1000))
	MaxWork      int // separator closure steps spent enumerating (default 1500: ≤ ~15 ms on sparse 200-node DAGs, ~150 ms on dense ones)
	// MaxSize drops sets larger than MaxSize from AdjustmentSets (0: no limit), unless no set is
	// that small, in which case the smallest sets are kept (identifiability never depends on it).
	MaxSize      int
	MaxPaths     int // back-door paths printed (default 20)
	MaxPathSteps int // DFS steps spent listing back-door paths (default 100000)
	MaxFrontDoor int // candidate front-door sets tested (default 5000)
}

func (o Options) withDefaults() Options {
	if o.MaxSets <= 0 {
		o.MaxSets = 100
	}
	if o.MaxEnumerate <= 0 {
		o.MaxEnumerate = max(10*o.MaxSets, 1000)
	}
	if o.MaxEnumerate < o.MaxSets {
		o.MaxEnumerate = o.MaxSets
	}
	if o.MaxWork <= 0 {
		o.MaxWork = 1500
	}
	if o.MaxPaths <= 0 {
		o.MaxPaths = 20
	}
	if o.MaxPathSteps <= 0 {
		o.MaxPathSteps = 100000
	}
	if o.MaxFrontDoor <= 0 {
		o.MaxFrontDoor = 5000
	}
	return o
}

// Issue is a §3 issue.
type Issue struct {
	Type            string   `json:"type"`
	Description     string   `json:"description"`
	AffectedNodes   []string `json:"affected_nodes"`
	SuggestedAction string   `json:"suggested_action"`
}

// Explanation is the contract's explanation object.
type Explanation = report.Explanation

// Result is the identification result, shaped like the §3 response (json tags = contract names)
// plus engine-only fields the service may render or drop.
//
// Status semantics:
//   - identifiable: a back-door adjustment set exists among the observed nodes (confidence high),
//     or, failing that, a front-door set M among the observed nodes (confidence medium,
//     FrontDoorSet = M, AdjustmentSets/MinimalSet null, one confounding issue explaining it);
//   - cannot_identify: no directed path T→Y (missing_connection, high), or neither criterion
//     applies and the graph provably has no identification formula (a latent confounder of T and
//     one of T's children on the way to Y — a "bow"/hedge, Shpitser & Pearl 2006) (confounding,
//     medium);
//   - uncertain: neither criterion applies with the observed nodes, but non-identifiability is not
//     proven (the effect may still be identifiable by other do-calculus derivations, or by
//     measuring some of the unobserved nodes) (confounding, low). Only possible when `observed`
//     leaves some nodes unobserved: in a fully observed DAG Pa(T) is always a back-door set.
type Result struct {
	Status         string      `json:"status"`
	AdjustmentSets [][]string  `json:"adjustment_sets"`
	MinimalSet     []string    `json:"minimal_set"`
	BackdoorPaths  []string    `json:"backdoor_paths"`
	Issues         []Issue     `json:"issues"`
	Confidence     string      `json:"confidence"`
	Explanation    Explanation `json:"explanation"`

	FrontDoorSet   []string `json:"-"` // set when identified by the front-door criterion
	Unobserved     []string `json:"-"` // nodes outside `observed` (node order)
	SetsTruncated  bool     `json:"-"` // more minimal sets exist than listed
	PathsTruncated bool     `json:"-"` // more back-door paths exist than listed
}

// Validate runs the full §3 pipeline: parse the DAG (400 checks in contract order), check the
// treatment and outcome exist (then that they differ), check observed names, then Identify.
func Validate(nodes []string, edges [][2]string, treatment, outcome string, observed []string, opts Options) (*Result, error) {
	g, err := Parse(nodes, edges)
	if err != nil {
		return nil, err
	}
	return g.Identify(treatment, outcome, observed, opts)
}

// Identify computes the §3 result for the effect of treatment on outcome. observed == nil means
// every node is observed; otherwise only the listed nodes (plus treatment and outcome, which are
// always taken as observed) can be adjusted for. Unknown names are InputErrors.
func (g *Graph) Identify(treatment, outcome string, observed []string, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	t, ok := g.index[treatment]
	if !ok {
		return nil, inputErr("Treatment node '%s' not found in graph. Available nodes: %s", treatment, strings.Join(g.names, ", "))
	}
	y, ok := g.index[outcome]
	if !ok {
		return nil, inputErr("Outcome node '%s' not found in graph. Available nodes: %s", outcome, strings.Join(g.names, ", "))
	}
	if t == y {
		return nil, &InputError{Msg: MsgSameTreatment}
	}
	obs := make([]bool, len(g.names))
	if observed == nil {
		for i := range obs {
			obs[i] = true
		}
	} else {
		for _, name := range observed {
			i, ok := g.index[name]
			if !ok {
				return nil, inputErr("Observed node '%s' not found in graph. Available nodes: %s", name, strings.Join(g.names, ", "))
			}
			obs[i] = true
		}
	}
	obs[t], obs[y] = true, true
	res := &Result{}
	for v, o := range obs {
		if !o {
			res.Unobserved = append(res.Unobserved, g.names[v])
		}
	}

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
			fmt.Sprintf("There is no directed path from %s to %s in the graph, so intervening on %s cannot change %s under this model.", treatment, outcome, treatment, outcome))
		return res, nil
	}
	res.BackdoorPaths, res.PathsTruncated = g.backdoorPaths(t, y, opts.MaxPaths, opts.MaxPathSteps)

	sets, truncated := g.adjustmentSets(t, y, obs, deT, opts.MaxEnumerate, opts.MaxWork)
	if len(sets) > 0 {
		res.Status, res.Confidence = StatusIdentifiable, "high"
		sets = capSize(sets, opts.MaxSize)
		if len(sets) > opts.MaxSets {
			sets, truncated = sets[:opts.MaxSets], true
		}
		res.SetsTruncated = truncated
		res.AdjustmentSets = make([][]string, len(sets))
		for i, s := range sets {
			res.AdjustmentSets[i] = g.namesOf(s)
		}
		res.MinimalSet = res.AdjustmentSets[0]
		res.Explanation = backdoorExplanation(treatment, outcome, res.MinimalSet, len(res.BackdoorPaths) > 0)
		return res, nil
	}

	if m, ok := g.frontDoor(t, y, obs, opts.MaxFrontDoor); ok {
		res.Status, res.Confidence = StatusIdentifiable, "medium"
		res.FrontDoorSet = g.namesOf(m)
		set := strings.Join(res.FrontDoorSet, ", ")
		res.Issues = []Issue{{
			Type:            IssueConfounding,
			Description:     fmt.Sprintf("Backdoor paths cannot be blocked with observed variables; effect identified via the front-door criterion through %s", set),
			AffectedNodes:   []string{treatment, outcome},
			SuggestedAction: fmt.Sprintf("Estimate the effect with the front-door formula through %s", set),
		}}
		res.Explanation = Explanation{
			Summary: fmt.Sprintf("Effect is identifiable via the front-door criterion through %s", set),
			Reasoning: fmt.Sprintf("No set of observed variables blocks every back-door path from %s to %s, but %s intercepts every directed path from %s to %s, has no unblocked back-door path from %s, and its back-door paths to %s are blocked by %s.",
				treatment, outcome, set, treatment, outcome, treatment, outcome, treatment),
			TechnicalBasis: fmt.Sprintf("Front-door criterion satisfied with mediator set {%s}", set),
			Assumptions: []string{
				"The DAG correctly represents the causal structure",
				fmt.Sprintf("The front-door variables %s are measured without error", set),
				"Positivity: all treatment and mediator levels occur with non-zero probability",
			},
		}
		return res, nil
	}

	res.Issues = []Issue{{
		Type:            IssueConfounding,
		Description:     "Backdoor paths exist but no valid adjustment set found",
		AffectedNodes:   []string{treatment, outcome},
		SuggestedAction: "Review graph structure for unmeasured confounders",
	}}
	if c, ok := g.bow(t, y, obs, deT); ok {
		res.Status, res.Confidence = StatusCannotIdentify, "medium"
		res.Explanation = notIdentifiedExplanation(fmt.Sprintf(
			"Unobserved variables confound %s and %s, which %s affects directly on the way to %s; no adjustment or front-door strategy can separate the causal effect from this confounding.",
			treatment, g.names[c], treatment, outcome))
		return res, nil
	}
	res.Status, res.Confidence = StatusUncertain, "low"
	res.Explanation = Explanation{
		Summary: "Causal effect could not be identified with the back-door or front-door criterion",
		Reasoning: fmt.Sprintf("Every set of observed variables leaves a back-door path from %s to %s open, and no observed front-door set exists. Measuring some of the unobserved variables (%s) would allow adjustment; other do-calculus derivations might still identify the effect.",
			treatment, outcome, strings.Join(res.Unobserved, ", ")),
		TechnicalBasis: "Neither the back-door nor the front-door criterion is satisfied by observed variables",
		Assumptions: []string{
			"The DAG correctly represents the causal structure",
			"Nodes not listed as observed cannot be measured or adjusted for",
		},
	}
	return res, nil
}

func notIdentifiedExplanation(reasoning string) Explanation {
	return Explanation{
		Summary:        "Causal effect cannot be identified from this structure",
		Reasoning:      reasoning,
		TechnicalBasis: "No back-door or front-door identification is possible in this graph",
		Assumptions: []string{
			"The DAG correctly represents the causal structure",
			"Nodes not listed as observed cannot be measured or adjusted for",
		},
	}
}

func backdoorExplanation(t, y string, set []string, hasPaths bool) Explanation {
	joined := strings.Join(set, ", ")
	e := Explanation{
		TechnicalBasis: fmt.Sprintf("Backdoor criterion satisfied with adjustment set {%s}", joined),
		Assumptions: []string{
			"The DAG correctly represents the causal structure",
			"No unmeasured confounding beyond the variables in the graph",
			"Positivity: every treatment level occurs within each stratum of the adjustment set",
		},
	}
	if len(set) == 0 {
		e.Summary = "Effect is identifiable (no controls needed)"
		if hasPaths {
			e.Reasoning = fmt.Sprintf("Every back-door path from %s to %s is already blocked by a collider, so the association between them is causal without adjustment.", t, y)
		} else {
			e.Reasoning = fmt.Sprintf("There are no back-door paths from %s to %s, so the association between them is causal without adjustment.", t, y)
		}
		return e
	}
	e.Summary = "Effect is identifiable by controlling for " + joined
	e.Reasoning = fmt.Sprintf("Controlling for %s blocks every back-door path from %s to %s (d-separation in the graph without %s's outgoing edges) and includes no descendant of %s.", joined, t, y, t, t)
	return e
}

// adjustmentSets lists the minimal back-door sets: Z ⊆ observed ∖ ({t,y} ∪ De(t)) d-separating t
// and y in G_t̲, sorted by size then node order.
func (g *Graph) adjustmentSets(t, y int, obs, deT []bool, limit, maxWork int) ([][]int, bool) {
	cut := make([]bool, len(g.names))
	cut[t] = true
	allowed := make([]bool, len(g.names))
	for v := range allowed {
		allowed[v] = obs[v] && !deT[v] && v != y
	}
	return g.minimalSeparators(cut, t, y, allowed, limit, maxWork)
}

// capSize keeps the sets of size ≤ maxSize (sets are sorted by size), or the sets of the smallest
// size if none is that small.
func capSize(sets [][]int, maxSize int) [][]int {
	if maxSize <= 0 || len(sets) == 0 {
		return sets
	}
	limit := max(maxSize, len(sets[0]))
	for i, s := range sets {
		if len(s) > limit {
			return sets[:i]
		}
	}
	return sets
}

// AdjustmentSets lists all minimal back-door adjustment sets for (treatment, outcome) among the
// observed nodes (nil: all), sorted by size then node order, at most limit (≤0: all, with no work
// bound — exponential in the worst case). truncated reports that more exist.
func (g *Graph) AdjustmentSets(treatment, outcome string, observed []string, limit int) (sets [][]string, truncated bool, err error) {
	t, ok := g.index[treatment]
	if !ok {
		return nil, false, inputErr("Treatment node '%s' not found in graph", treatment)
	}
	y, ok := g.index[outcome]
	if !ok {
		return nil, false, inputErr("Outcome node '%s' not found in graph", outcome)
	}
	if t == y {
		return nil, false, &InputError{Msg: MsgSameTreatment}
	}
	obs := make([]bool, len(g.names))
	if observed == nil {
		for i := range obs {
			obs[i] = true
		}
	} else {
		idx, err := g.indices(observed, "Observed")
		if err != nil {
			return nil, false, err
		}
		for _, i := range idx {
			obs[i] = true
		}
	}
	s, tr := g.adjustmentSets(t, y, obs, g.descendants(t, nil), limit, 0)
	for _, z := range s {
		sets = append(sets, g.namesOf(z))
	}
	return sets, tr, nil
}
