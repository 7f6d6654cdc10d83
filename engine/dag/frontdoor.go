package dag

// frontDoor finds a set M ⊆ observed satisfying Pearl's front-door criterion (Causality, Def.
// 3.3.3) for (t, y):
//
//	(i)   M intercepts every directed path from t to y;
//	(ii)  there is no unblocked back-door path from t to M: t ⫫ M in G_t̲;
//	(iii) every back-door path from M to y is blocked by t: M ⫫ y | t in G_M̲.
//
// Polynomial finding as in Jeong, Tian & Bareinboim (2022, "Finding and listing front-door
// adjustment sets"): (ii) holds for a set iff it holds for each member, so Z_ii = the observed
// nodes satisfying (ii) alone is the largest candidate. (iii) is union-closed (adding members
// removes out-edges, which only blocks paths), so the largest subset of Z_ii satisfying (iii) is
// the fixpoint of dropping members with an open back-door path to y given t in G_Z̲. (i) is
// monotone, so a front-door set exists iff that largest set intercepts every directed path. The
// set reported is then shrunk greedily (name order) while it stays a front-door set, so it holds
// no member it does not need: O(n) criterion checks of O(n+m) each.
func (g *Graph) frontDoor(t, y int, obs []bool) ([]int, bool) {
	n := len(g.names)
	cutT := make([]bool, n)
	cutT[t] = true
	// Z_ii: observed nodes not d-connected to t in G_t̲ (one Bayes-ball from t finds all)
	conn := g.reachableBall(cutT, []int{t}, nil)
	z := make([]bool, n)
	for v := range n {
		z[v] = v != t && v != y && obs[v] && !conn[v]
	}
	// fixpoint for (iii)
	for {
		members := members(z)
		if len(members) == 0 {
			return nil, false
		}
		changed := false
		for _, m := range members {
			if !g.dsepBall(z, []int{m}, []int{y}, []int{t}) {
				z[m] = false
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	m := members(z)
	if len(m) == 0 || !g.intercepts(t, y, m) {
		return nil, false
	}
	for i := len(m) - 1; i >= 0; i-- { // drop later names first: the set kept favours early names
		cand := append(append([]int(nil), m[:i]...), m[i+1:]...)
		if len(cand) > 0 && g.isFrontDoor(t, y, cand) {
			m = cand
		}
	}
	return m, true
}

func members(mark []bool) []int {
	var out []int
	for v, ok := range mark {
		if ok {
			out = append(out, v)
		}
	}
	return out
}

func (g *Graph) intercepts(t, y int, m []int) bool {
	return !g.descendants(t, g.mark(m))[y]
}

func (g *Graph) isFrontDoor(t, y int, m []int) bool {
	if !g.intercepts(t, y, m) {
		return false
	}
	cutT := make([]bool, len(g.names))
	cutT[t] = true
	if !g.dsepBall(cutT, []int{t}, m, nil) {
		return false
	}
	return g.dsepBall(g.mark(m), m, []int{y}, []int{t})
}
