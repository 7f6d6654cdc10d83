package dag

import "context"

// Complete identification: the latent projection of the DAG onto the observed nodes and the ID
// algorithm of Shpitser & Pearl (2006, "Identification of joint interventional distributions in
// recursive semi-Markovian causal models"), which is complete: it either returns a formula for
// P(y | do(x)) in terms of the observed distribution or finds a hedge, a proof that none exists.

// admg is the latent projection (Verma & Pearl 1990): a directed edge a → b between observed nodes
// when the DAG has a directed path a → … → b whose inner nodes are all unobserved, a bidirected
// edge a ↔ b when a and b have a common unobserved ancestor reaching both through unobserved
// nodes only. Node indices are those of the (canonical) graph; unobserved nodes are absent.
type admg struct {
	g    *Graph
	n    int
	obs  []bool
	pa   [][]int
	bi   [][]int
	topo []int // observed nodes in a topological order
	pos  []int // index in topo (-1 for unobserved)
	ctx  context.Context
	tick int
}

func (g *Graph) project(ctx context.Context, obs []bool) *admg {
	n := len(g.names)
	a := &admg{g: g, n: n, obs: obs, pa: make([][]int, n), bi: make([][]int, n), pos: make([]int, n), ctx: ctx}
	words := (n + 63) / 64
	latentAnc := make([][]uint64, n)
	for v := range n {
		if !obs[v] {
			continue
		}
		la := make([]uint64, words)
		seen := make([]bool, n)
		stack := []int{v}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, p := range g.parents[u] {
				if seen[p] {
					continue
				}
				seen[p] = true
				if obs[p] {
					a.pa[v] = append(a.pa[v], p)
				} else {
					la[p/64] |= 1 << (p % 64)
					stack = append(stack, p)
				}
			}
		}
		latentAnc[v] = la
	}
	for v := range n {
		if !obs[v] {
			continue
		}
		for w := v + 1; w < n; w++ {
			if !obs[w] {
				continue
			}
			for k := range words {
				if latentAnc[v][k]&latentAnc[w][k] != 0 {
					a.bi[v] = append(a.bi[v], w)
					a.bi[w] = append(a.bi[w], v)
					break
				}
			}
		}
	}
	for v := range a.pos {
		a.pos[v] = -1
	}
	for _, v := range g.topo {
		if obs[v] {
			a.pos[v] = len(a.topo)
			a.topo = append(a.topo, v)
		}
	}
	return a
}

// nset is a node set as a membership slice over the graph's indices.
type nset []bool

func (a *admg) set(vs ...int) nset {
	s := make(nset, a.n)
	for _, v := range vs {
		s[v] = true
	}
	return s
}

func (s nset) list() []int {
	var out []int
	for v, ok := range s {
		if ok {
			out = append(out, v)
		}
	}
	return out
}

func (s nset) empty() bool {
	for _, ok := range s {
		if ok {
			return false
		}
	}
	return true
}

func (s nset) minus(t nset) nset {
	out := make(nset, len(s))
	for v := range s {
		out[v] = s[v] && !t[v]
	}
	return out
}

func (s nset) and(t nset) nset {
	out := make(nset, len(s))
	for v := range s {
		out[v] = s[v] && t[v]
	}
	return out
}

func (s nset) or(t nset) nset {
	out := make(nset, len(s))
	for v := range s {
		out[v] = s[v] || t[v]
	}
	return out
}

func (s nset) equal(t nset) bool {
	for v := range s {
		if s[v] != t[v] {
			return false
		}
	}
	return true
}

// ancestors of y within G[V]; edges into the nodes of cut are ignored (G_x̄ when cut = x).
func (a *admg) ancestors(y, V, cut nset) nset {
	an := make(nset, a.n)
	var stack []int
	for v, ok := range y {
		if ok && V[v] {
			an[v] = true
			stack = append(stack, v)
		}
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cut != nil && cut[v] {
			continue
		}
		for _, p := range a.pa[v] {
			if V[p] && !an[p] {
				an[p] = true
				stack = append(stack, p)
			}
		}
	}
	return an
}

// districts are the c-components of G[S] (connected through bidirected edges), each in index
// order, ordered by their first node.
func (a *admg) districts(S nset) []nset {
	seen := make([]bool, a.n)
	var out []nset
	for v, ok := range S {
		if !ok || seen[v] {
			continue
		}
		d := make(nset, a.n)
		seen[v], d[v] = true, true
		stack := []int{v}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, w := range a.bi[u] {
				if S[w] && !seen[w] {
					seen[w], d[w] = true, true
					stack = append(stack, w)
				}
			}
		}
		out = append(out, d)
	}
	return out
}

// dist is the distribution the ID algorithm carries: the observational marginal P(V) (obs) or a
// formula e over V (after line 7).
type dist struct {
	obs bool
	e   expr
}

// hedge is the witness of non-identifiability: c-components F' ⊂ F of the current subgraph (F
// meets the treatment, F' does not), as returned by line 5 of ID.
type hedge struct{ f, fp nset }

// id is ID(y, x, P, G[V]) (Shpitser & Pearl 2006, Fig. 3), lines numbered as in the paper.
func (a *admg) id(y, x nset, P dist, V nset) (expr, *hedge, error) {
	if a.tick++; a.tick&63 == 0 && a.ctx != nil {
		if err := a.ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
	// 1: no intervention
	if x.empty() {
		if P.obs {
			return eProb{vars: y.list()}, nil, nil
		}
		return sum(a.n, V.minus(y).list(), P.e), nil, nil
	}
	// 2: drop non-ancestors of y
	if an := a.ancestors(y, V, nil); !an.equal(V) {
		if !P.obs {
			P = dist{e: sum(a.n, V.minus(an).list(), P.e)}
		}
		return a.id(y, x.and(an), P, an)
	}
	// 3: intervene on nodes that do not affect y once x is fixed
	if w := V.minus(x).minus(a.ancestors(y, V, x)); !w.empty() {
		return a.id(y, x.or(w), P, V)
	}
	// 4: several c-components of G[V ∖ x]: factorise
	rest := V.minus(x)
	comps := a.districts(rest)
	if len(comps) > 1 {
		fs := make([]expr, 0, len(comps))
		for _, s := range comps {
			f, h, err := a.id(s, V.minus(s), P, V)
			if h != nil || err != nil {
				return nil, h, err
			}
			fs = append(fs, f)
		}
		return sum(a.n, rest.minus(y).list(), prod(fs...)), nil, nil
	}
	S := comps[0]
	all := a.districts(V)
	// 5: G[V] is a single c-component: hedge
	if len(all) == 1 {
		return nil, &hedge{f: V, fp: S}, nil
	}
	// 6: S is a c-component of G[V]
	for _, c := range all {
		if c.equal(S) {
			var fs []expr
			for _, v := range a.topo {
				if S[v] {
					fs = append(fs, a.conditional(P, v, V))
				}
			}
			return sum(a.n, S.minus(y).list(), prod(fs...)), nil, nil
		}
	}
	// 7: S lies inside a larger c-component S' of G[V]
	for _, c := range all {
		if !S.minus(c).empty() {
			continue
		}
		var fs []expr
		for _, v := range a.topo {
			if c[v] {
				fs = append(fs, a.conditional(P, v, V))
			}
		}
		return a.id(y, x.and(c), dist{e: prod(fs...)}, c)
	}
	panic("dag: ID line 7 without an enclosing c-component") // impossible: districts partition V
}

// conditional is P(v | v's predecessors in V) for the topological order. For the observational
// distribution it is reduced to v's Markov blanket among its predecessors — the district D of v
// in G[pred ∪ {v}] and the parents of D (the ordered local Markov property of ADMGs; V is always
// ancestral here, so P(V) is Markov with respect to G[V]). For a formula it is the ratio of its
// marginals.
func (a *admg) conditional(P dist, v int, V nset) expr {
	pred := make(nset, a.n)
	for _, u := range a.topo[:a.pos[v]] {
		pred[u] = V[u]
	}
	if !P.obs {
		upTo := pred.or(a.set(v))
		num := sum(a.n, V.minus(upTo).list(), P.e)
		den := sum(a.n, V.minus(pred).list(), P.e)
		return eFrac{num: num, den: den}
	}
	upTo := pred.or(a.set(v))
	var d nset
	for _, c := range a.districts(upTo) {
		if c[v] {
			d = c
		}
	}
	mb := make(nset, a.n)
	for u, ok := range d {
		if !ok {
			continue
		}
		mb[u] = true
		for _, p := range a.pa[u] {
			if upTo[p] {
				mb[p] = true
			}
		}
	}
	mb[v] = false
	return eProb{vars: []int{v}, cond: mb.list()}
}
