// Package align finds common ground across team perspectives and ranks decision
// options by how well they satisfy each role (docs/api.md#team-align, with docs/api.md#limits and
// the word-boundary matching asked for in issue 4).
package align

import (
	"fmt"
	"slices"
	"strings"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/report"
)

// Limits (docs/api.md#limits).
const (
	MaxPerspectives = 50
	MaxOptions      = 50
)

// InputError is a semantic input error (→ 400 validation_error with its message).
type InputError = report.InputError

var inputErr = report.Inputf

// Perspective is one stakeholder's view.
type Perspective struct {
	Role        string   `json:"role"`
	Priorities  []string `json:"priorities"`
	Constraints []string `json:"constraints"`
	// PreferredOptions is nil when the request sent null or omitted it.
	PreferredOptions []string `json:"preferred_options"`
}

// Option is one decision option; Attributes keeps the request's key order.
type Option struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	Attributes jsonv.Map[jsonv.Value] `json:"attributes"`
}

// Request is the validated /team/align body.
type Request struct {
	Perspectives []Perspective `json:"perspectives"`
	Options      []Option      `json:"options"`
}

// Response fields are in contract order.
type Response struct {
	CommonGround   CommonGround    `json:"common_ground"`
	AlignedOptions []AlignedOption `json:"aligned_options"`
	Conflicts      []Conflict      `json:"conflicts"`
	Recommendation Recommendation  `json:"recommendation"`
	Explanation    Explanation     `json:"explanation"`
}

type CommonGround struct {
	SharedGoals       []string `json:"shared_goals"`
	SharedConstraints []string `json:"shared_constraints"`
	AgreementLevel    float64  `json:"agreement_level"`
}

type AlignedOption struct {
	Option            string     `json:"option"`
	SatisfiesRoles    []string   `json:"satisfies_roles"`
	SatisfactionScore float64    `json:"satisfaction_score"`
	Tradeoffs         []Tradeoff `json:"tradeoffs"`
}

type Tradeoff struct {
	Role  string `json:"role"`
	Gives string `json:"gives"`
	Gets  string `json:"gets"`
}

type Conflict struct {
	Between    []string `json:"between"`
	About      string   `json:"about"`
	Severity   string   `json:"severity"`
	Suggestion string   `json:"suggestion"`
}

type Recommendation struct {
	TopOption  string   `json:"top_option"`
	Rationale  string   `json:"rationale"`
	Confidence string   `json:"confidence"`
	NextSteps  []string `json:"next_steps"`
}

// Explanation is the contract's explanation object.
type Explanation = report.Explanation

// Check applies the semantic checks (docs/api.md#limits) in a fixed order; the first failure wins.
func Check(req Request) error {
	if len(req.Perspectives) == 0 {
		return inputErr("At least one perspective is required")
	}
	if len(req.Options) == 0 {
		return inputErr("At least one option is required")
	}
	if len(req.Perspectives) > MaxPerspectives {
		return inputErr("Too many perspectives: %d (maximum %d)", len(req.Perspectives), MaxPerspectives)
	}
	if len(req.Options) > MaxOptions {
		return inputErr("Too many options: %d (maximum %d)", len(req.Options), MaxOptions)
	}
	roles := make(map[string]bool, len(req.Perspectives))
	for _, p := range req.Perspectives {
		if strings.TrimSpace(p.Role) == "" {
			return inputErr("Perspective role must not be empty")
		}
		if roles[p.Role] {
			return inputErr("Duplicate perspective role: '%s'", p.Role)
		}
		roles[p.Role] = true
	}
	ids := make(map[string]bool, len(req.Options))
	for _, o := range req.Options {
		if strings.TrimSpace(o.ID) == "" {
			return inputErr("Option id must not be empty")
		}
		if ids[o.ID] {
			return inputErr("Duplicate option id: '%s'", o.ID)
		}
		ids[o.ID] = true
	}
	return nil
}

// Align checks the request and computes the alignment. Deterministic: every output
// list follows request order (stable sorts only).
func Align(req Request) (*Response, error) {
	if err := Check(req); err != nil {
		return nil, err
	}
	cg := commonGround(req.Perspectives)
	opts := analyseOptions(req.Perspectives, req.Options)
	conflicts := findConflicts(req.Perspectives)
	rec := recommend(opts, cg, conflicts)
	top, score := "none", 0.0
	if len(opts) > 0 {
		top, score = rec.TopOption, opts[0].SatisfactionScore
	}
	return &Response{
		CommonGround:   cg,
		AlignedOptions: opts,
		Conflicts:      conflicts,
		Recommendation: rec,
		Explanation:    explain(len(req.Perspectives), cg.AgreementLevel, top, score, conflicts),
	}, nil
}

// uniq returns the distinct items of xs in first-appearance order.
func uniq(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// shared returns the items present in every list, ordered by first appearance in
// lists[0] (docs/api.md#team-align; the original emitted Python set order), and the size of the union.
func shared(lists [][]string) (common []string, union int) {
	all := map[string]bool{}
	for _, l := range lists {
		for _, x := range l {
			all[x] = true
		}
	}
	common = []string{}
	if len(lists) == 0 {
		return common, len(all)
	}
	sets := make([]map[string]bool, len(lists))
	for i, l := range lists {
		sets[i] = make(map[string]bool, len(l))
		for _, x := range l {
			sets[i][x] = true
		}
	}
	for _, x := range uniq(lists[0]) {
		in := true
		for _, s := range sets[1:] {
			if !s[x] {
				in = false
				break
			}
		}
		if in {
			common = append(common, x)
		}
	}
	return common, len(all)
}

func commonGround(ps []Perspective) CommonGround {
	pri := make([][]string, len(ps))
	con := make([][]string, len(ps))
	for i, p := range ps {
		pri[i], con[i] = p.Priorities, p.Constraints
	}
	goals, up := shared(pri)
	cons, uc := shared(con)
	agreement := 0.0
	if up+uc > 0 {
		agreement = jsonv.Round(float64(len(goals)+len(cons))/float64(up+uc)*100, 1)
	}
	return CommonGround{SharedGoals: goals, SharedConstraints: cons, AgreementLevel: agreement}
}

// attrIndex is an option's attributes pre-split into words for matching, with an index from each
// word to where it occurs, so a priority is checked against the occurrences of its rarest word
// instead of by scanning every attribute (hostile requests with thousands of priorities and
// attributes stay fast), and a memo of the phrases already checked.
type attrIndex struct {
	texts [][]string          // attribute names and value texts
	occ   map[string][]wordAt // word -> occurrences
	memo  map[string]bool     // phrase key -> matched
}

type wordAt struct{ text, pos int }

func indexAttributes(attrs jsonv.Map[jsonv.Value]) *attrIndex {
	ix := &attrIndex{occ: map[string][]wordAt{}, memo: map[string]bool{}}
	for _, e := range attrs {
		ix.texts = append(ix.texts, words(e.Key), words(valueText(e.Value)))
	}
	for t, ws := range ix.texts {
		for p, w := range ws {
			ix.occ[w] = append(ix.occ[w], wordAt{t, p})
		}
	}
	return ix
}

// phrase is a priority split into words once per request; key identifies the word sequence.
type phrase struct {
	words []string
	key   string
}

func newPhrase(s string) phrase {
	w := words(s)
	return phrase{words: w, key: strings.Join(w, "\x00")}
}

// matches reports whether the priority's words occur contiguously in one attribute name or value
// (the same answer as containsSeq over every text).
func (ix *attrIndex) matches(ph phrase) bool {
	priority, key := ph.words, ph.key
	if len(priority) == 0 {
		return false
	}
	if m, ok := ix.memo[key]; ok {
		return m
	}
	rare := -1
	for j, w := range priority {
		n := len(ix.occ[w])
		if n == 0 {
			ix.memo[key] = false
			return false
		}
		if rare < 0 || n < len(ix.occ[priority[rare]]) {
			rare = j
		}
	}
	m := false
	for _, at := range ix.occ[priority[rare]] {
		start := at.pos - rare
		text := ix.texts[at.text]
		if start >= 0 && start+len(priority) <= len(text) && slices.Equal(text[start:start+len(priority)], priority) {
			m = true
			break
		}
	}
	ix.memo[key] = m
	return m
}

// satisfaction is 100·matched/len(priorities) (50 when a role states no priorities); pw holds the
// priorities' words.
func satisfaction(pw []phrase, ix *attrIndex) float64 {
	if len(pw) == 0 {
		return 50.0
	}
	m := 0
	for _, w := range pw {
		if ix.matches(w) {
			m++
		}
	}
	return float64(m) / float64(len(pw)) * 100
}

func tradeoffFor(role string, attrs jsonv.Map[jsonv.Value]) Tradeoff {
	t := Tradeoff{Role: role, Gives: "Some priorities", Gets: "Alternative benefits"}
	if v, ok := attrs.Get("speed"); ok {
		if s, isStr := valueString(v); isStr {
			switch s {
			case "fast":
				t.Gives, t.Gets = "Maximum quality", "Faster time-to-market"
			case "slow":
				t.Gives, t.Gets = "Speed", "Higher quality"
			}
		}
	}
	return t
}

func analyseOptions(ps []Perspective, os []Option) []AlignedOption {
	out := make([]AlignedOption, 0, len(os))
	pw := make([][]phrase, len(ps))
	for i, p := range ps {
		pw[i] = make([]phrase, len(p.Priorities))
		for k, pr := range p.Priorities {
			pw[i][k] = newPhrase(pr)
		}
	}
	for _, o := range os {
		ix := indexAttributes(o.Attributes)
		ao := AlignedOption{Option: o.ID, SatisfiesRoles: []string{}, Tradeoffs: []Tradeoff{}}
		total := 0.0
		for i, p := range ps {
			if p.PreferredOptions != nil && slices.Contains(p.PreferredOptions, o.ID) {
				ao.SatisfiesRoles = append(ao.SatisfiesRoles, p.Role)
				total += 100
				continue
			}
			s := satisfaction(pw[i], ix)
			total += s
			if s >= 60 {
				ao.SatisfiesRoles = append(ao.SatisfiesRoles, p.Role)
			} else {
				ao.Tradeoffs = append(ao.Tradeoffs, tradeoffFor(p.Role, o.Attributes))
			}
		}
		if len(ps) > 0 {
			ao.SatisfactionScore = jsonv.Round(total/float64(len(ps)), 1)
		}
		out = append(out, ao)
	}
	// Stable insertion sort by score, descending: ties keep request order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].SatisfactionScore > out[j-1].SatisfactionScore; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// conflictingTerms are the contract's opposed priority themes.
var conflictingTerms = [...][2]string{{"speed", "quality"}, {"cost", "features"}, {"innovation", "stability"}}

// mentions reports whether any priority (as words) contains the term as a word (plural-folded).
func mentions(priorities [][]string, term string) bool {
	t := words(term)
	for _, p := range priorities {
		if containsSeq(p, t) {
			return true
		}
	}
	return false
}

func setMinus(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// findConflicts checks each pair i<j. Priority conflicts are detected both ways round
// (the original only tried "i has a, j has b"); `between` lists the role holding the
// first theme first, so the pair always reads "A-holder vs B-holder".
func findConflicts(ps []Perspective) []Conflict {
	out := []Conflict{}
	// has[i][k][0|1]: perspective i mentions theme k's first|second term (computed once, not per pair).
	has := make([][len(conflictingTerms)][2]bool, len(ps))
	for i, p := range ps {
		pw := make([][]string, len(p.Priorities))
		for k, pr := range p.Priorities {
			pw[k] = words(pr)
		}
		for k, tp := range conflictingTerms {
			has[i][k] = [2]bool{mentions(pw, tp[0]), mentions(pw, tp[1])}
		}
	}
	for i := range ps {
		for j := i + 1; j < len(ps); j++ {
			pi, pj := ps[i], ps[j]
			if len(pi.PreferredOptions) > 0 && len(pj.PreferredOptions) > 0 &&
				setMinus(pi.PreferredOptions, pj.PreferredOptions) && setMinus(pj.PreferredOptions, pi.PreferredOptions) {
				out = append(out, Conflict{
					Between:    []string{pi.Role, pj.Role},
					About:      "Preferred options",
					Severity:   "moderate",
					Suggestion: fmt.Sprintf("Find compromise option or sequence: %s's priority first, then %s's", pi.Role, pj.Role),
				})
			}
			for k, tp := range conflictingTerms {
				a, b := tp[0], tp[1]
				var between []string
				switch {
				case has[i][k][0] && has[j][k][1]:
					between = []string{pi.Role, pj.Role}
				case has[j][k][0] && has[i][k][1]:
					between = []string{pj.Role, pi.Role}
				default:
					continue
				}
				out = append(out, Conflict{
					Between:    between,
					About:      fmt.Sprintf("%s vs %s tradeoff", title(a), title(b)),
					Severity:   "minor",
					Suggestion: fmt.Sprintf("Negotiate acceptable balance between %s and %s", a, b),
				})
			}
		}
	}
	return out
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func recommend(opts []AlignedOption, cg CommonGround, conflicts []Conflict) Recommendation {
	if len(opts) == 0 {
		return Recommendation{TopOption: "none", Rationale: "No options provided", Confidence: "low",
			NextSteps: []string{"Define decision options to evaluate"}}
	}
	top := opts[0]
	conf := "low"
	switch {
	case top.SatisfactionScore >= 80 && len(conflicts) == 0:
		conf = "high"
	case top.SatisfactionScore >= 60:
		conf = "medium"
	}
	rationale := fmt.Sprintf("This option achieves %s%% overall satisfaction, satisfying %d of the team roles. ",
		jsonv.F0(top.SatisfactionScore), len(top.SatisfiesRoles))
	if cg.AgreementLevel >= 70 {
		rationale += "There is strong alignment on shared goals, making implementation smoother."
	} else if len(conflicts) > 0 {
		rationale += fmt.Sprintf("However, %d conflict(s) should be addressed.", len(conflicts))
	}
	steps := []string{}
	if len(conflicts) > 0 {
		steps = append(steps, "Resolve identified conflicts through team discussion")
	}
	if len(top.Tradeoffs) > 0 {
		steps = append(steps, "Review and approve necessary tradeoffs")
	}
	steps = append(steps, "Define implementation plan with clear milestones")
	if len(cg.SharedGoals) > 0 {
		g := cg.SharedGoals
		if len(g) > 2 {
			g = g[:2]
		}
		steps = append(steps, "Align implementation with shared goals: "+strings.Join(g, ", "))
	}
	return Recommendation{TopOption: top.Option, Rationale: rationale, Confidence: conf, NextSteps: steps}
}

func explain(n int, agreement float64, top string, score float64, conflicts []Conflict) Explanation {
	level := "limited"
	switch {
	case agreement >= 80:
		level = "strong"
	case agreement >= 60:
		level = "moderate"
	}
	// The original said "one minor conflict" even when the single conflict was moderate.
	var note string
	switch len(conflicts) {
	case 0:
		note = "with no major conflicts"
	case 1:
		note = fmt.Sprintf("with one %s conflict to resolve", conflicts[0].Severity)
	default:
		note = fmt.Sprintf("with %d conflicts to address", len(conflicts))
	}
	return Explanation{
		Summary: fmt.Sprintf("Team shows %s alignment with %s satisfying %s%% of priorities", level, top, jsonv.F0(score)),
		Reasoning: fmt.Sprintf("Across %d team perspectives, there is %s%% agreement on shared goals and constraints. "+
			"The recommended option '%s' achieves the highest overall satisfaction (%s%%) %s. "+
			"This option balances the priorities of all stakeholders while acknowledging necessary tradeoffs.",
			n, jsonv.F0(agreement), top, jsonv.F0(score), note),
		TechnicalBasis: "Overlap analysis of stated priorities and constraints with whole-word matching of priorities " +
			"against option attributes; conflicts identified from diverging preferred options and opposed priority themes.",
		Assumptions: []string{
			"Stated priorities accurately reflect true values",
			"Options can be objectively evaluated on stated criteria",
			"Team will engage in good-faith negotiation on tradeoffs",
		},
	}
}
