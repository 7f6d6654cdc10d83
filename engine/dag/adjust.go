package dag

import (
	"context"
	"fmt"
	"slices"
)

// Minimal back-door adjustment sets, exactly and in polynomial time.
//
// The minimal back-door sets of (t, y) among the allowed nodes R (observed, not descendants of t,
// not t or y) are the minimal d-separators Z ⊆ R of t and y in the back-door graph G_t̲ (Tian, Paz
// & Pearl 1998; van der Zander, Liśkiewicz & Textor 2019). They lie in An({t,y}) and, there, are
// exactly the minimal t–y vertex separators of the moral graph of G_t̲[An({t,y})] contained in R.
// Forbidden vertices are eliminated first (eliminateForbidden), which leaves an undirected graph H
// whose inner vertices are all allowed, so the question becomes: minimal t–y vertex separators of
// H.
//
//   - The separators of size ≤ k (k = 3 for the API) come from the polynomial-delay enumeration
//     tree of all minimal separators (Takata 2010), pruned by a max-flow lower bound on the size
//     of every separator below a node (treeSeparators). The bound is sound but not tight, so if
//     the tree outgrows a linear node budget the bounded search tree for vertex cuts takes over
//     (searchSeparators, O(n^k) nodes: polynomial for fixed k). Both list exactly the same sets.
//   - The smallest size is the t–y vertex connectivity of H, computed by max-flow on the
//     vertex-split network independently of any listing. When it exceeds k, the sets listed are
//     the minimum separators, enumerated with polynomial delay as the closed sets of the residual
//     graph (Picard & Queyranne 1980) restricted to the flow-carrying vertices.

// sepGraph is H: an undirected graph (adjacency lists, vertices outside H have none) with the two
// terminals s and t.
type sepGraph struct {
	adj   [][]int
	s, t  int
	queue []int
	prev  []int
	seen  []int
	stamp int
	tick  int
	ctx   context.Context
}

func newSepGraph(ctx context.Context, adj [][]int, s, t int) *sepGraph {
	n := len(adj)
	if ctx == nil {
		ctx = context.Background()
	}
	return &sepGraph{adj: adj, s: s, t: t, prev: make([]int, n), seen: make([]int, n), ctx: ctx}
}

// check polls the context every 256 calls (cheap enough for inner loops).
func (h *sepGraph) check() error {
	h.tick++
	if h.tick&255 == 0 {
		return h.ctx.Err()
	}
	return nil
}

// shortestPath returns the inner vertices of a shortest s–t path avoiding blocked vertices, in
// path order, or ok=false when blocked separates s and t.
func (h *sepGraph) shortestPath(blocked []bool) (inner []int, ok bool) {
	h.stamp++
	h.seen[h.s] = h.stamp
	h.queue = append(h.queue[:0], h.s)
	for qi := 0; qi < len(h.queue); qi++ {
		v := h.queue[qi]
		for _, w := range h.adj[v] {
			if h.seen[w] == h.stamp || (blocked != nil && blocked[w]) {
				continue
			}
			h.seen[w] = h.stamp
			h.prev[w] = v
			if w == h.t {
				for u := h.prev[w]; u != h.s; u = h.prev[u] {
					inner = append(inner, u)
				}
				for i, j := 0, len(inner)-1; i < j; i, j = i+1, j-1 {
					inner[i], inner[j] = inner[j], inner[i]
				}
				return inner, true
			}
			h.queue = append(h.queue, w)
		}
	}
	return nil, false
}

func (h *sepGraph) adjacentST() bool {
	for _, w := range h.adj[h.s] {
		if w == h.t {
			return true
		}
	}
	return false
}

// smallSeparators lists the minimal s–t separators of size ≤ k (s and t not adjacent), sorted by
// size then index, at most limit of them (truncated: more exist).
//
// It walks the polynomial-delay enumeration tree of all minimal separators (sepEnum: state (C, F),
// C the s side, F the vertices kept off it; each node yields its closest separator) and prunes it
// by size: every separator Z in the subtree of (C, F) contains F (each f ∈ F touches C ⊆ C_s(Z)
// without being in it) and Z ∖ F separates C from t in H − F, so
//
//	|Z| ≥ LB(C, F) = |F| + (C–t vertex connectivity of H − F),
//
// computed by a max-flow capped at k − |F| + 1 augmenting paths. Subtrees with LB > k hold no
// wanted set and are skipped; the rest are explored in increasing LB, and the listing stops once
// more than limit sets are found that no unexplored subtree can undercut, so a cap never hides a
// smaller set behind larger ones (sets of the largest size listed may be a subset, flagged
// truncated). Each explored node yields a distinct minimal separator and costs one closure and
// one capped flow.
func (h *sepGraph) smallSeparators(k, limit int) (sets [][]int, truncated bool, err error) {
	if sets, truncated, ok, err := h.treeSeparators(k, limit, 32*len(h.adj)+1024); ok || err != nil {
		return sets, truncated, err
	}
	return h.searchSeparators(k, limit)
}

// treeSeparators is the pruned enumeration tree; ok=false when it explored more than budget
// nodes without finishing (then the bounded search tree, whose cost is polynomial for fixed k,
// takes over — the answer is the same exact list).
func (h *sepGraph) treeSeparators(k, limit, budget int) (sets [][]int, truncated, ok bool, err error) {
	n := len(h.adj)
	allowed := make([]bool, n)
	for v := range n {
		allowed[v] = len(h.adj[v]) > 0 && v != h.s && v != h.t
	}
	e := newSepEnum(h.adj, h.s, h.t, allowed, 0)
	f := h.network()
	capacity := append([]int32(nil), f.res...)
	var sources []int
	lowerBound := func(C, F []bool, nF int) (int, error) {
		copy(f.res, capacity)
		f.flow = 0
		sources = sources[:0]
		for v := range n {
			if F[v] && f.unit[v] >= 0 {
				f.res[f.unit[v]] = 0
			}
			if C[v] {
				sources = append(sources, 2*v+1)
			}
		}
		if err := f.augmentFrom(h, sources, k-nF+1); err != nil {
			return 0, err
		}
		return nF + f.flow, nil
	}
	type node struct {
		C, F []bool
		Z    []int
		lb   int
		seq  int
	}
	var queue []*node // a binary heap by (lb, seq)
	less := func(a, b *node) bool { return a.lb < b.lb || (a.lb == b.lb && a.seq < b.seq) }
	push := func(x *node) {
		queue = append(queue, x)
		for i := len(queue) - 1; i > 0; {
			p := (i - 1) / 2
			if !less(queue[i], queue[p]) {
				break
			}
			queue[i], queue[p] = queue[p], queue[i]
			i = p
		}
	}
	pop := func() *node {
		top := queue[0]
		last := len(queue) - 1
		queue[0] = queue[last]
		queue = queue[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < last && less(queue[l], queue[m]) {
				m = l
			}
			if r < last && less(queue[r], queue[m]) {
				m = r
			}
			if m == i {
				break
			}
			queue[i], queue[m] = queue[m], queue[i]
			i = m
		}
		return top
	}
	S := make([]bool, n)
	S[h.s] = true
	noF := make([]bool, n)
	C, Z, feasible := e.close(S, noF)
	if !feasible {
		return nil, false, true, nil
	}
	seq := 0
	explored := 0
	push(&node{C: C, F: noF, Z: Z, lb: 0})
	bySize := make([]int, k+1) // sets found per size
	for len(queue) > 0 {
		if err := h.check(); err != nil {
			return nil, false, false, err
		}
		if explored++; explored > budget {
			return nil, false, false, nil
		}
		st := pop()
		found := 0 // sets no larger than anything still unexplored
		for size := 0; size <= min(st.lb, k); size++ {
			found += bySize[size]
		}
		if found > limit {
			truncated = true
			break
		}
		if len(st.Z) <= k {
			sets = append(sets, append([]int{}, st.Z...))
			bySize[len(st.Z)]++
		}
		F := append([]bool(nil), st.F...)
		nF := 0
		for _, f := range F {
			if f {
				nF++
			}
		}
		for _, v := range st.Z {
			if F[v] {
				continue
			}
			if !e.adjT(v) { // a neighbour of t can never join the s side
				C2 := append([]bool(nil), st.C...)
				C2[v] = true
				if cC, cZ, ok := e.close(C2, F); ok {
					lb, err := lowerBound(cC, F, nF)
					if err != nil {
						return nil, false, false, err
					}
					if lb <= k {
						seq++ // the child keeps a snapshot of F: F grows for the next siblings
						push(&node{C: cC, F: append([]bool(nil), F...), Z: cZ, lb: lb, seq: seq})
					}
				}
			}
			F[v] = true
			nF++
			if nF > k {
				break // later siblings force more than k vertices into the separator
			}
		}
	}
	sortSets(sets)
	if len(sets) > limit {
		sets, truncated = sets[:limit], true
	}
	return sets, truncated, true, nil
}

// searchSeparators lists the same sets as treeSeparators with the bounded search tree for vertex
// cuts: every separator contains an inner vertex of every s–t path, in particular of a shortest
// path avoiding the vertices chosen so far; branching on those vertices, depth ≤ size, reaches
// every minimal separator of that size as a leaf (kept when minimal: in H separation is
// monotone, so a set is minimal iff no single vertex can be dropped). Sizes are searched in
// rounds 1…k so a cap never hides a smaller set, a round stops once the cap is exceeded, and a
// node whose remaining connectivity exceeds the remaining budget is pruned by a capped max-flow.
// At most O(n^k) nodes of O(k·m) each: polynomial for the fixed k of the API.
func (h *sepGraph) searchSeparators(k, limit int) (sets [][]int, truncated bool, err error) {
	blocked := make([]bool, len(h.adj))
	seen := map[string]bool{}
	f := h.network()
	capacity := append([]int32(nil), f.res...)
	feasible := func(budget int) (bool, error) {
		copy(f.res, capacity)
		f.flow = 0
		for v, b := range blocked {
			if b {
				f.res[f.unit[v]] = 0
			}
		}
		if err := f.augment(h, budget+1); err != nil {
			return false, err
		}
		return f.flow <= budget, nil
	}
	var z []int
	var rec func(size int) error
	rec = func(size int) error {
		if err := h.check(); err != nil {
			return err
		}
		path, connected := h.shortestPath(blocked)
		if !connected {
			if len(z) == size && h.isMinimal(z, blocked) {
				set := append([]int{}, z...)
				slices.Sort(set)
				if key := fmt.Sprint(set); !seen[key] {
					seen[key] = true
					sets = append(sets, set)
				}
			}
			return nil
		}
		if len(z) == size || len(sets) > limit {
			return nil
		}
		if len(z) > 0 {
			ok, err := feasible(size - len(z))
			if err != nil || !ok {
				return err
			}
		}
		for _, v := range path {
			blocked[v] = true
			z = append(z, v)
			err := rec(size)
			z = z[:len(z)-1]
			blocked[v] = false
			if err != nil || len(sets) > limit {
				return err
			}
		}
		return nil
	}
	for size := 1; size <= k && len(sets) <= limit; size++ {
		if err := rec(size); err != nil {
			return nil, false, err
		}
	}
	sortSets(sets)
	if len(sets) > limit {
		sets, truncated = sets[:limit], true
	}
	return sets, truncated, nil
}

// isMinimal: the separator z (marked in blocked) stops separating when any one vertex is freed.
func (h *sepGraph) isMinimal(z []int, blocked []bool) bool {
	for _, v := range z {
		blocked[v] = false
		_, connected := h.shortestPath(blocked)
		blocked[v] = true
		if !connected {
			return false
		}
	}
	return true
}

// flowNet is the vertex-split network of H: vertex v becomes in(v)=2v → out(v)=2v+1 with capacity
// 1 (s and t: uncapacitated, source out(s), sink in(t)); an edge {u,w} becomes out(u) → in(w) and
// out(w) → in(u) with infinite capacity. A minimum source–sink cut is a minimum vertex separator.
type flowNet struct {
	head, next, to []int32
	unit           []int32 // unit[v]: the arc in(v) → out(v) (-1 for s, t and vertices outside H)
	res            []int32 // residual capacity; arc i^1 is the reverse of arc i
	src, snk       int
	flow           int
}

const infCap = 1 << 30

func (h *sepGraph) network() *flowNet {
	n := len(h.adj)
	// The arrays are windows of one allocation, the arc arrays sized by a bound on the arc count
	// (two arcs per vertex and per adjacency): grown by appends they were most of this package's
	// allocations on a small graph. The windows' capacities are exact, so appends never spill
	// one into the next.
	arcs := 2 * n
	for _, a := range h.adj {
		arcs += 2 * len(a)
	}
	buf := make([]int32, 3*n+3*arcs)
	nodes, arcBuf := buf[:3*n], buf[3*n:]
	for i := range nodes {
		nodes[i] = -1
	}
	f := &flowNet{head: nodes[: 2*n : 2*n], unit: nodes[2*n:], src: 2*h.s + 1, snk: 2 * h.t}
	f.to, f.res, f.next = arcBuf[0:0:arcs], arcBuf[arcs:arcs:2*arcs], arcBuf[2*arcs:2*arcs]
	add := func(a, b int, c int32) {
		f.to = append(f.to, int32(b), int32(a))
		f.res = append(f.res, c, 0)
		f.next = append(f.next, f.head[a], f.head[b])
		f.head[a], f.head[b] = int32(len(f.to)-2), int32(len(f.to)-1)
	}
	for v := range n {
		if len(h.adj[v]) == 0 {
			continue
		}
		if v != h.s && v != h.t {
			f.unit[v] = int32(len(f.to))
			add(2*v, 2*v+1, 1)
		}
		if v == h.t {
			continue // nothing leaves the sink
		}
		for _, w := range h.adj[v] {
			if w != h.s { // nothing enters the source
				add(2*v+1, 2*w, infCap)
			}
		}
	}
	return f
}

// augment pushes flow along shortest augmenting paths until the flow reaches limit (≤ 0: max
// flow). Each path carries one unit (s and t are not adjacent, so every path crosses a unit arc).
func (f *flowNet) augment(h *sepGraph, limit int) error {
	return f.augmentFrom(h, []int{f.src}, limit)
}

// augmentFrom is augment with a set of source nodes (a contracted source side).
func (f *flowNet) augmentFrom(h *sepGraph, sources []int, limit int) error {
	n := len(f.head)
	parent := make([]int32, n)
	queue := make([]int32, 0, n)
	for limit <= 0 || f.flow < limit {
		if err := h.ctx.Err(); err != nil {
			return err
		}
		for i := range parent {
			parent[i] = -1
		}
		queue = queue[:0]
		for _, src := range sources {
			parent[src] = -2
			queue = append(queue, int32(src))
		}
		found := false
		for qi := 0; qi < len(queue) && !found; qi++ {
			v := queue[qi]
			for a := f.head[v]; a >= 0; a = f.next[a] {
				w := f.to[a]
				if f.res[a] > 0 && parent[w] == -1 {
					parent[w] = a
					if int(w) == f.snk {
						found = true
						break
					}
					queue = append(queue, w)
				}
			}
		}
		if !found {
			return nil
		}
		for v := int32(f.snk); parent[v] != -2; {
			a := parent[v]
			f.res[a]--
			f.res[a^1]++
			v = f.to[a^1]
		}
		f.flow++
	}
	return nil
}

// connectivity is the s–t vertex connectivity of H, counted up to limit (≤ 0: exact).
func (h *sepGraph) connectivity(limit int) (int, *flowNet, error) {
	f := h.network()
	err := f.augment(h, limit)
	return f.flow, f, err
}

// minimumSeparators lists the minimum s–t separators of H (f: a maximum flow), at most limit of
// them; truncated reports that more exist. Every minimum separator takes exactly one vertex of
// each flow path, so it is determined by which in/out nodes of the flow-carrying vertices lie on
// the source side, and those node sets are exactly the sets closed under residual reachability
// that contain what the source reaches and avoid what reaches the sink. The closed sets are
// listed by binary branching (include an element with everything it reaches, or exclude it with
// everything reaching it); both branches always lead to an answer, so the delay is polynomial.
func (h *sepGraph) minimumSeparators(f *flowNet, limit int) (sets [][]int, truncated bool, err error) {
	// elements: in/out nodes of saturated vertices, in index order
	var elems []int
	idx := make([]int, len(f.head))
	for i := range idx {
		idx[i] = -1
	}
	for v := range h.adj {
		if v == h.s || v == h.t || len(h.adj[v]) == 0 {
			continue
		}
		if a := f.unit[v]; a >= 0 && f.res[a] == 0 { // saturated
			idx[2*v], idx[2*v+1] = len(elems), len(elems)+1
			elems = append(elems, 2*v, 2*v+1)
		}
	}
	m := len(elems)
	words := (m + 63) / 64
	// residual reachability from every element (and from the source), reverse reachability to the
	// sink
	reach := func(start int, forward bool) []uint64 {
		out := make([]uint64, words)
		seen := make([]bool, len(f.head))
		seen[start] = true
		stack := []int{start}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if e := idx[v]; e >= 0 {
				out[e/64] |= 1 << (e % 64)
			}
			for a := f.head[v]; a >= 0; a = f.next[a] {
				w := int(f.to[a])
				// forward: residual arc v→w; backward: residual arc w→v (the reverse of a)
				ok := f.res[a] > 0
				if !forward {
					ok = f.res[a^1] > 0
				}
				if ok && !seen[w] {
					seen[w] = true
					stack = append(stack, w)
				}
			}
		}
		return out
	}
	succ := make([][]uint64, m)
	pred := make([][]uint64, m)
	for e := range m {
		if err := h.ctx.Err(); err != nil {
			return nil, false, err
		}
		succ[e] = reach(elems[e], true)
		pred[e] = reach(elems[e], false)
	}
	in := reach(f.src, true)
	out := reach(f.snk, false)
	has := func(b []uint64, e int) bool { return b[e/64]&(1<<(e%64)) != 0 }
	var rec func(in, out []uint64, from int) error
	rec = func(in, out []uint64, from int) error {
		if err := h.check(); err != nil {
			return err
		}
		if truncated {
			return nil
		}
		e := from
		for e < m && (has(in, e) || has(out, e)) {
			e++
		}
		if e == m {
			if len(sets) == limit {
				truncated = true
				return nil
			}
			var z []int
			for k := 0; k < m; k += 2 {
				if has(in, k) && !has(in, k+1) {
					z = append(z, elems[k]/2)
				}
			}
			sets = append(sets, z)
			return nil
		}
		in2 := make([]uint64, words)
		disjoint := true
		for w := range words {
			in2[w] = in[w] | succ[e][w]
			if in2[w]&out[w] != 0 {
				disjoint = false
			}
		}
		if disjoint {
			if err := rec(in2, out, e+1); err != nil {
				return err
			}
		}
		out2 := make([]uint64, words)
		for w := range words {
			out2[w] = out[w] | pred[e][w]
		}
		return rec(in, out2, e+1)
	}
	if err := rec(in, out, 0); err != nil {
		return nil, false, err
	}
	sortSets(sets)
	return sets, truncated, nil
}

// backdoorSets returns the minimal back-door sets of (t, y) among obs ∖ De(t) ∖ {y}: all of size
// ≤ maxSize or, when there are none, all of the smallest size; at most maxSets (truncated reports
// that more exist), sorted by size then index. nil means no back-door set exists.
func (g *Graph) backdoorSets(ctx context.Context, t, y int, obs, deT []bool, maxSize, maxSets int) (sets [][]int, truncated bool, err error) {
	if sets, ok := g.smallBackdoorSets(t, y, obs, deT, maxSize, maxSets); ok {
		return sets, false, nil
	}
	return g.separatorBackdoorSets(ctx, t, y, obs, deT, maxSize, maxSets)
}

// separatorBackdoorSets is backdoorSets by the separator enumeration on H, for any graph.
func (g *Graph) separatorBackdoorSets(ctx context.Context, t, y int, obs, deT []bool, maxSize, maxSets int) (sets [][]int, truncated bool, err error) {
	h := g.backdoorSepGraph(ctx, t, y, obs, deT)
	if _, connected := h.shortestPath(nil); !connected {
		return [][]int{{}}, false, nil
	}
	if h.adjacentST() {
		return nil, false, nil
	}
	k, f, err := h.connectivity(maxSize + 1)
	if err != nil {
		return nil, false, err
	}
	if k <= maxSize {
		return h.smallSeparators(maxSize, maxSets)
	}
	if err := f.augment(h, 0); err != nil {
		return nil, false, err
	}
	return h.minimumSeparators(f, maxSets)
}

// backdoorSepGraph builds H for (t, y): the moral graph of G_t̲[An({t,y})] with the forbidden
// vertices (unobserved, descendants of t, y) eliminated.
func (g *Graph) backdoorSepGraph(ctx context.Context, t, y int, obs, deT []bool) *sepGraph {
	cut := make([]bool, len(g.names))
	cut[t] = true
	adj, in := g.moralAncestral(cut, []int{t, y})
	al := make([]bool, len(g.names))
	for v := range al {
		al[v] = in[v] && v != t && v != y && obs[v] && !deT[v]
	}
	adj = eliminateForbidden(adj, in, al, t, y)
	return newSepGraph(ctx, adj, t, y)
}
