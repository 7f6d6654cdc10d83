package dag

// frontDoor searches a set M ⊆ observed satisfying Pearl's front-door criterion (Causality, Def.
// 3.3.3) for (t, y):
//
//	(i)   M intercepts every directed path from t to y;
//	(ii)  there is no unblocked back-door path from t to M: t ⫫ M in G_t̲;
//	(iii) every back-door path from M to y is blocked by t: M ⫫ y | t in G_M̲.
//
// Candidates are the observed nodes other than t and y that individually satisfy (ii) (a set
// satisfies (ii) only if each member does). Nodes off the directed t→y paths can matter: adding m'
// removes its out-edges in G_M̲, which can close a path from another member to y. Subsets are tried
// by size then node order (at most maxTries sets), so the set returned is a smallest one and the
// first in node order among those tried.
func (g *Graph) frontDoor(t, y int, obs []bool, maxTries int) ([]int, bool) {
	cutT := make([]bool, len(g.names))
	cutT[t] = true
	var cand []int
	for v := range g.names {
		if v != t && v != y && obs[v] && g.dsepBall(cutT, []int{t}, []int{v}, nil) {
			cand = append(cand, v)
		}
	}
	if len(cand) == 0 {
		return nil, false
	}
	tries := 0
	check := func(m []int) bool {
		tries++
		return g.isFrontDoor(t, y, m)
	}
	// quick rejection: if even all candidates do not intercept every directed path, nothing will
	if !g.intercepts(t, y, cand) {
		return nil, false
	}
	// subsets by size, lexicographic, until maxTries
	idx := make([]int, 0, len(cand))
	var found []int
	var walk func(start, size int) bool
	walk = func(start, size int) bool {
		if len(idx) == size {
			m := make([]int, size)
			for i, k := range idx {
				m[i] = cand[k]
			}
			if check(m) {
				found = m
				return true
			}
			return false
		}
		for k := start; k < len(cand); k++ {
			if tries >= maxTries {
				return false
			}
			idx = append(idx, k)
			if walk(k+1, size) {
				return true
			}
			idx = idx[:len(idx)-1]
		}
		return false
	}
	for size := 1; size <= len(cand) && tries < maxTries; size++ {
		idx = idx[:0]
		if walk(0, size) {
			return found, true
		}
	}
	return nil, false
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

// bow looks for a proof of non-identifiability: an observed child-side node c (reached from t by a
// directed path whose inner nodes are unobserved, so t→c is an edge of the latent projection) that
// is an ancestor of y and shares an unobserved common cause with t through unobserved nodes only
// (t↔c in the projection). Then F = {t, c} and F' = {c} form a hedge for P(y | do(t)) (Shpitser &
// Pearl 2006), so no identification formula exists.
func (g *Graph) bow(t, y int, obs, deT []bool) (int, bool) {
	n := len(g.names)
	anY := g.ancestorsView(nil, []int{y})
	// latentSrc(v): unobserved nodes with a directed path to v whose nodes other than v are all
	// unobserved.
	latentSrc := func(v int) []bool {
		seen := make([]bool, n)
		stack := []int{v}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, p := range g.parents[u] {
				if !obs[p] && !seen[p] {
					seen[p] = true
					stack = append(stack, p)
				}
			}
		}
		return seen
	}
	srcT := latentSrc(t)
	// projected children of t: observed nodes reached through unobserved inner nodes
	seen := make([]bool, n)
	stack := []int{t}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range g.children[u] {
			if seen[c] {
				continue
			}
			seen[c] = true
			if !obs[c] {
				stack = append(stack, c)
			}
		}
	}
	for c := range n {
		if !seen[c] || !obs[c] || !anY[c] || !deT[c] {
			continue
		}
		src := latentSrc(c)
		for v := range n {
			if src[v] && srcT[v] {
				return c, true
			}
		}
	}
	return -1, false
}
