package elicit

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/olumi/isl/engine/jsonv"
)

// scoreParticles is the size of the systematic subsample on which mutual information is estimated.
const scoreParticles = 500

// allPairsMax: up to this many variables every pair is a candidate; above it each variable is paired
// with its next bandWidth neighbours (cyclically), which keeps the pool linear in |V|.
const (
	allPairsMax = 12
	bandWidth   = 3
)

// levels are the (p, q) improvements of A's and B's variable: ratios 1/4 … 4 plus two magnitudes at 1.
var levels = [...]struct{ p, q float64 }{
	{0.2, 0.2}, {0.2, 0.1}, {0.1, 0.2}, {0.3, 0.1}, {0.1, 0.3},
	{0.15, 0.1}, {0.1, 0.15}, {0.4, 0.1}, {0.1, 0.4}, {0.1, 0.1},
}

var singleLevels = [...]float64{0.1, 0.2, 0.3}

type candidate struct {
	i, j int // state variable indices; j < 0: A improves i, B is the status quo
	p, q float64
	pair int
}

func pairsOf(idx []int) [][2]int {
	n := len(idx)
	var out [][2]int
	if n <= allPairsMax {
		for a := 0; a < n; a++ {
			for b := a + 1; b < n; b++ {
				out = append(out, [2]int{idx[a], idx[b]})
			}
		}
		return out
	}
	seen := map[[2]int]bool{}
	for off := 1; off <= bandWidth; off++ {
		for a := 0; a < n; a++ {
			b := (a + off) % n
			lo, hi := min(a, b), max(a, b)
			if seen[[2]int{lo, hi}] {
				continue
			}
			seen[[2]int{lo, hi}] = true
			out = append(out, [2]int{idx[lo], idx[hi]})
		}
	}
	return out
}

func (s *State) pool(vars []string) []candidate {
	idx := make([]int, 0, len(vars))
	for _, v := range vars {
		if i := s.index(v); i >= 0 {
			idx = append(idx, i)
		}
	}
	var c []candidate
	if len(idx) == 1 {
		for _, p := range singleLevels {
			c = append(c, candidate{i: idx[0], j: -1, p: p})
		}
		return c
	}
	for pi, pr := range pairsOf(idx) {
		for _, l := range levels {
			c = append(c, candidate{i: pr[0], j: pr[1], p: l.p, q: l.q, pair: pi})
		}
	}
	return c
}

// The answer probabilities and their entropy depend on z = β·|V|·ΔU only; they are tabulated on
// [−zMax, zMax] (beyond it every answer is certain to 1e-17) and interpolated linearly, which is
// accurate to ~1e-6 and an order of magnitude faster than evaluating exp and three logs per particle.
const (
	zMax  = 40.0
	zStep = 0.01
)

var probTable = func() [][4]float64 {
	n := int(2*zMax/zStep) + 2
	t := make([][4]float64, n)
	for i := range t {
		pa, pb, pi := probs(-zMax + float64(i)*zStep)
		t[i] = [4]float64{pa, pb, pi, -(xlogx(pa) + xlogx(pb) + xlogx(pi))}
	}
	return t
}()

func lookup(z float64) (pa, pb, pi, h float64) {
	x := (z + zMax) / zStep
	if x <= 0 {
		x = 0
	} else if x >= 2*zMax/zStep {
		x = 2 * zMax / zStep
	}
	i := int(x)
	f := x - float64(i)
	a, b := probTable[i], probTable[i+1]
	return a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1]), a[2] + f*(b[2]-a[2]), a[3] + f*(b[3]-a[3])
}

// mutualInfo is I(answer; w) = H(E[p(·|w)]) − E[H(p(·|w))] in nats for a candidate on the particle
// subsample sub (equal weights), for an answer given with confidence 1.
func (s *State) mutualInfo(post *Posterior, sub []int, c candidate) float64 {
	n := post.V
	scale := Rationality * float64(n)
	var sa, sb, si, hcond float64
	for _, k := range sub {
		row := post.W[k*n : (k+1)*n]
		du := c.p * row[c.i]
		if c.j >= 0 {
			du -= c.q * row[c.j]
		}
		pa, pb, pi, h := lookup(scale * du)
		sa += pa
		sb += pb
		si += pi
		hcond += h
	}
	m := float64(len(sub))
	sa, sb, si, hcond = sa/m, sb/m, si/m, hcond/m
	mi := -(xlogx(sa) + xlogx(sb) + xlogx(si)) - hcond
	if !(mi > 0) {
		return 0
	}
	return mi
}

func xlogx(p float64) float64 {
	if p <= 0 {
		return 0
	}
	return p * math.Log(p)
}

// selectQueries scores the pool for vars and returns the n best (one per pair first), as issued
// queries with ids query_{k:03d}_{h8} where k is the candidate's pool index.
func (s *State) selectQueries(post *Posterior, vars []string, domain string, n int, h8 string) []IssuedQuery {
	pool := s.pool(vars)
	if len(pool) == 0 || n <= 0 {
		return []IssuedQuery{}
	}
	sub := post.systematic(min(scoreParticles, post.N), 0.5)
	ig := make([]float64, len(pool))
	for k, c := range pool {
		ig[k] = jsonv.Round(s.mutualInfo(post, sub, c), 10)
	}
	order := make([]int, len(pool))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case ig[a] > ig[b]:
			return -1
		case ig[a] < ig[b]:
			return 1
		}
		return 0
	})
	picked := make([]bool, len(pool))
	usedPair := map[int]bool{}
	var chosen []int
	for _, k := range order {
		if len(chosen) == n {
			break
		}
		if pool[k].j >= 0 && usedPair[pool[k].pair] {
			continue
		}
		usedPair[pool[k].pair] = true
		picked[k] = true
		chosen = append(chosen, k)
	}
	for _, k := range order {
		if len(chosen) == n {
			break
		}
		if !picked[k] {
			picked[k] = true
			chosen = append(chosen, k)
		}
	}
	// Present in rank order (stable by pool rank on ties).
	rank := make([]int, len(pool))
	for r, k := range order {
		rank[k] = r
	}
	slices.SortFunc(chosen, func(a, b int) int { return rank[a] - rank[b] })
	out := make([]IssuedQuery, 0, len(chosen))
	for _, k := range chosen {
		q := s.render(pool[k], domain)
		q.ID = fmt.Sprintf("query_%03d_%s", k, h8)
		q.InformationGain = ig[k]
		out = append(out, q)
	}
	return out
}

func (s *State) improved(v int, p float64) (value float64, desc string) {
	b := s.Bases[v]
	scale := math.Abs(b)
	amount := jsonv.F0(p*100) + "%"
	if scale == 0 {
		scale = 1
		amount = jsonv.F2(p)
	}
	verb := "increases"
	if s.Directions[v] == Less {
		verb = "decreases"
	}
	value = jsonv.Round(b+float64(s.Directions[v])*p*scale, 10)
	return value, fmt.Sprintf("%s %s by %s", s.Variables[v], verb, amount)
}

func (s *State) render(c candidate, domain string) IssuedQuery {
	vi := s.Variables[c.i]
	ai, di := s.improved(c.i, c.p)
	var q IssuedQuery
	if c.j < 0 {
		q.ScenarioA = Scenario{Description: di, Outcomes: jsonv.Map[float64]{{Key: vi, Value: ai}},
			TradeOffs: []string{"Better " + vi}}
		q.ScenarioB = Scenario{Description: vi + " stays at its current level",
			Outcomes: jsonv.Map[float64]{{Key: vi, Value: s.Bases[c.i]}}, TradeOffs: []string{"No change"}}
		q.Coef = jsonv.Map[float64]{{Key: vi, Value: c.p}}
	} else {
		vj := s.Variables[c.j]
		aj, dj := s.improved(c.j, c.q)
		q.ScenarioA = Scenario{Description: di + ", " + vj + " unchanged",
			Outcomes:  jsonv.Map[float64]{{Key: vi, Value: ai}, {Key: vj, Value: s.Bases[c.j]}},
			TradeOffs: []string{"Better " + vi, "No improvement in " + vj}}
		q.ScenarioB = Scenario{Description: dj + ", " + vi + " unchanged",
			Outcomes:  jsonv.Map[float64]{{Key: vi, Value: s.Bases[c.i]}, {Key: vj, Value: aj}},
			TradeOffs: []string{"Better " + vj, "No improvement in " + vi}}
		q.Coef = jsonv.Map[float64]{{Key: vi, Value: c.p}, {Key: vj, Value: -c.q}}
	}
	q.Question = Question(q.ScenarioA, q.ScenarioB, domain)
	return q
}

// Question renders the docs/api.md#elicit step 5 template.
func Question(a, b Scenario, domain string) string {
	return "Which outcome would you prefer?\n\n**Option A:** " + a.Description + "\n" + lines(a) + tradeOffs(a) +
		"\n**Option B:** " + b.Description + "\n" + lines(b) + tradeOffs(b) +
		"\nConsider the trade-offs in " + domain + " decisions."
}

func lines(s Scenario) string {
	ls := make([]string, len(s.Outcomes))
	for i, e := range s.Outcomes {
		ls[i] = "  - " + e.Key + ": " + FormatOutcome(e.Value)
	}
	return strings.Join(ls, "\n")
}

func tradeOffs(s Scenario) string {
	if len(s.TradeOffs) == 0 {
		return ""
	}
	return "\nTrade-offs: " + strings.Join(s.TradeOffs, ", ") + "\n"
}

// FormatOutcome is docs/api.md#elicit step 5's number format: pct1 if |x| < 1, f0 if |x| < 1000, else grp0.
func FormatOutcome(x float64) string {
	switch ax := math.Abs(x); {
	case ax < 1:
		return jsonv.Pct1(x)
	case ax < 1000:
		return jsonv.F0(x)
	}
	return jsonv.Grp0(x)
}
