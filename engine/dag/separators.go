package dag

import (
	"cmp"
	"container/heap"
	"math/bits"
	"slices"
	"sort"
)

// Minimal d-separators of two nodes s and t, restricted to an allowed set R.
//
// Theory (Tian, Paz & Pearl 1998; van der Zander, Liśkiewicz & Textor 2019, "Separators and
// adjustment sets in causal graphs"): every minimal d-separator of s and t lies in An({s,t}), and
// for Z ⊆ An({s,t}), Z d-separates s and t iff Z separates them in the moral graph M of the
// subgraph induced by An({s,t}). So the minimal d-separators contained in R are exactly the
// minimal s–t vertex separators of M that are contained in R.
//
// Enumeration (Takata 2010 style backtracking, as used by DAGitty's listMinimalSeparators):
// a state is (S, F): S ∋ s is a connected set that must lie in the s-side component C_s(Z), F a set
// that must not. close(S, F) computes the separator Z_S "closest to S": D = component of t in
// M − (S ∪ N(S)), Z_S = N(D). Every minimal separator Z with S ⊆ C_s(Z) has C_t(Z) ⊆ D and hence
// C_s(Z) ⊇ C_s(Z_S) — so if C_s(Z_S) meets F the state is infeasible, and a forbidden vertex
// v ∈ Z_S (v ∉ R) is adjacent to C_s(Z_S) ⊆ C_s(Z), cannot be in Z, so must be in C_s(Z): it is
// moved into S and the closure repeated. If every vertex of Z_S is in F, any valid Z contains Z_S
// (those vertices touch C_s(Z) but may not be in it) and by minimality equals it: output. Otherwise
// branch on a free v ∈ Z_S: v ∈ C_s (S := C_s ∪ {v}) or v ∉ C_s (F := F ∪ {v}). The branches are
// disjoint, so every separator is produced once, and the second branch always leads to an
// output (Z_S itself), which gives polynomial delay. Forbidden vertices are eliminated up front
// (eliminateForbidden), so the absorb step is only a safety net.

type sepEnum struct {
	adj     [][]int
	s, t    int
	allowed []bool
	n       int
	limit   int // stop after this many separators (≤0: no limit)
	out     [][]int
	stopped bool

	// scratch
	mark  []int
	stamp int
	queue []int
}

func newSepEnum(adj [][]int, s, t int, allowed []bool, limit int) *sepEnum {
	n := len(adj)
	return &sepEnum{adj: adj, s: s, t: t, allowed: allowed, n: n, limit: limit,
		mark: make([]int, n), queue: make([]int, 0, n)}
}

func (e *sepEnum) next() int {
	e.stamp++
	return e.stamp
}

// close returns C = C_s(Z) and Z (sorted by index) for the closest separator of state (S, F).
func (e *sepEnum) close(S []bool, F []bool) (C []bool, Z []int, ok bool) {
	cur := append([]bool(nil), S...)
	for {
		// mark S ∪ N(S) as removed
		rm := e.next()
		for v := 0; v < e.n; v++ {
			if cur[v] {
				e.mark[v] = rm
				for _, w := range e.adj[v] {
					e.mark[w] = rm
				}
			}
		}
		if e.mark[e.t] == rm {
			return nil, nil, false // t in S or adjacent to S: cannot be separated
		}
		// D = component of t avoiding removed vertices; Z = removed vertices adjacent to D
		inD := e.next()
		e.queue = append(e.queue[:0], e.t)
		e.mark[e.t] = inD
		zMark := e.next()
		Z = Z[:0]
		for qi := 0; qi < len(e.queue); qi++ {
			v := e.queue[qi]
			for _, w := range e.adj[v] {
				switch e.mark[w] {
				case rm:
					e.mark[w] = zMark
					Z = append(Z, w)
				case inD, zMark:
				default:
					e.mark[w] = inD
					e.queue = append(e.queue, w)
				}
			}
		}
		// C = component of s avoiding Z
		C = make([]bool, e.n)
		C[e.s] = true
		e.queue = append(e.queue[:0], e.s)
		for qi := 0; qi < len(e.queue); qi++ {
			v := e.queue[qi]
			if F[v] {
				return nil, nil, false
			}
			for _, w := range e.adj[v] {
				if !C[w] && e.mark[w] != zMark {
					C[w] = true
					e.queue = append(e.queue, w)
				}
			}
		}
		moved := false
		for _, z := range Z {
			if !e.allowed[z] {
				C[z] = true
				moved = true
			}
		}
		if !moved {
			sort.Ints(Z)
			return C, Z, true
		}
		cur = C
	}
}

// sepState is a node of the enumeration tree: C = C_s(Z) of its closest separator Z, F the
// vertices forced off the s side.
type sepState struct {
	C, F []bool
	Z    []int
	seq  int
}

type sepHeap []*sepState

func (h sepHeap) Len() int { return len(h) }
func (h sepHeap) Less(i, j int) bool {
	if len(h[i].Z) != len(h[j].Z) {
		return len(h[i].Z) < len(h[j].Z)
	}
	return h[i].seq < h[j].seq
}
func (h sepHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *sepHeap) Push(x any)   { *h = append(*h, x.(*sepState)) }
func (h *sepHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// run enumerates the tree best-first by separator size. The binary branching described above is
// unrolled: for the free vertices v1, v2, … of Z (index order) the children are "v1 ∈ C_s",
// "v1 ∉ C_s and v2 ∈ C_s", …, and the last leaf "all ∉ C_s" is Z itself, output when its state is
// popped. Best-first order does not change the set of separators produced (the tree is the same),
// but when the output limit stops the enumeration early the separators found are small ones.
func (e *sepEnum) run(S []bool) {
	n := e.n
	C, Z, ok := e.close(S, make([]bool, n))
	if !ok {
		return
	}
	seq := 0
	h := &sepHeap{{C: C, F: make([]bool, n), Z: Z}}
	for h.Len() > 0 {
		st := heap.Pop(h).(*sepState)
		if e.limit > 0 && len(e.out) >= e.limit {
			e.stopped = true
			return
		}
		if st.Z == nil {
			st.Z = []int{}
		}
		e.out = append(e.out, st.Z)
		F := append([]bool(nil), st.F...)
		for _, v := range st.Z {
			if F[v] {
				continue
			}
			if !e.adjT(v) { // a neighbour of t can never join the s side
				C2 := append([]bool(nil), st.C...)
				C2[v] = true
				if cC, cZ, ok := e.close(C2, F); ok {
					seq++ // the child keeps a snapshot of F: F grows for the next siblings
					heap.Push(h, &sepState{C: cC, F: append([]bool(nil), F...), Z: cZ, seq: seq})
				}
			}
			F[v] = true
		}
	}
}

func (e *sepEnum) adjT(v int) bool {
	for _, w := range e.adj[v] {
		if w == e.t {
			return true
		}
	}
	return false
}

// minimalSeparators lists the minimal d-separators Z ⊆ allowed of s and t in the view of g with
// the out-edges of cut removed, sorted by size then lexicographically by node index. It returns at
// most limit sets (limit ≤ 0: all); truncated reports that more exist.
func (g *Graph) minimalSeparators(cut []bool, s, t int, allowed []bool, limit int) (sets [][]int, truncated bool) {
	adj, in := g.moralAncestral(cut, []int{s, t})
	al := make([]bool, len(g.names))
	for v := range al {
		al[v] = in[v] && v != s && v != t && (allowed == nil || allowed[v])
	}
	adj = eliminateForbidden(adj, in, al, s, t)
	e := newSepEnum(adj, s, t, al, limit)
	S := make([]bool, len(g.names))
	S[s] = true
	e.run(S)
	sortSets(e.out)
	return e.out, e.stopped
}

// eliminateForbidden removes every forbidden vertex (in the graph, not s or t, not allowed) by
// turning the neighbourhood of each connected forbidden component K into a clique. A set Z that
// avoids K separates s and t before iff it does after (a path through K becomes an edge between
// two of its boundary vertices and vice versa), so the minimal separators inside the allowed set
// are unchanged — and close() no longer needs its absorb-and-repeat loop, which dominated the
// cost on graphs with many descendants of the treatment.
func eliminateForbidden(adj [][]int, in, al []bool, s, t int) [][]int {
	n := len(adj)
	forb := func(v int) bool { return in[v] && v != s && v != t && !al[v] }
	any := false
	for v := range n {
		if forb(v) {
			any = true
			break
		}
	}
	if !any {
		return adj
	}
	words := (n + 63) / 64
	mat := make([]uint64, n*words)
	set := func(a, b int) {
		mat[a*words+b/64] |= 1 << (b % 64)
		mat[b*words+a/64] |= 1 << (a % 64)
	}
	for v := range n {
		if !in[v] || forb(v) {
			continue
		}
		for _, w := range adj[v] {
			if !forb(w) {
				set(v, w)
			}
		}
	}
	comp := make([]bool, n)
	onBoundary := make([]bool, n)
	var stack, boundary []int
	for v := range n {
		if !forb(v) || comp[v] {
			continue
		}
		comp[v] = true
		stack = append(stack[:0], v)
		boundary = boundary[:0]
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, w := range adj[u] {
				switch {
				case forb(w):
					if !comp[w] {
						comp[w] = true
						stack = append(stack, w)
					}
				case !onBoundary[w]:
					onBoundary[w] = true
					boundary = append(boundary, w)
				}
			}
		}
		for i, a := range boundary {
			onBoundary[a] = false
			for _, b := range boundary[i+1:] {
				set(a, b)
			}
		}
	}
	out := make([][]int, n)
	for v := range n {
		if !in[v] || forb(v) {
			continue
		}
		row := mat[v*words : (v+1)*words]
		for wi, word := range row {
			for word != 0 {
				b := bits.TrailingZeros64(word)
				out[v] = append(out[v], wi*64+b)
				word &= word - 1
			}
		}
	}
	return out
}

// pairScratch holds reusable buffers for closestSeparator.
type pairScratch struct {
	mw   *moralWS
	e    *sepEnum
	al   []bool
	S, F []bool
}

func (g *Graph) newPairScratch() *pairScratch {
	n := len(g.names)
	mw := newMoralWS(n)
	al := make([]bool, n)
	return &pairScratch{mw: mw, e: newSepEnum(mw.adj, 0, 0, al, 0), al: al,
		S: make([]bool, n), F: make([]bool, n)}
}

// closestSeparators returns the minimal separators of s and t (in g itself, any node allowed)
// closest to s and closest to t (one moral ancestral graph serves both), ok=false when s and t
// are adjacent.
func (g *Graph) closestSeparators(ps *pairScratch, s, t int) (zs, zt []int, ok bool) {
	ps.mw.build(g, nil, []int{s, t})
	for _, v := range ps.mw.list {
		ps.al[v] = v != s && v != t
	}
	side := func(a, b int) ([]int, bool) {
		ps.e.s, ps.e.t = a, b
		ps.S[a] = true
		_, Z, ok := ps.e.close(ps.S, ps.F)
		ps.S[a] = false
		return append([]int{}, Z...), ok
	}
	zs, ok1 := side(s, t)
	zt, ok2 := side(t, s)
	for _, v := range ps.mw.list {
		ps.al[v] = false
	}
	return zs, zt, ok1 && ok2
}

// sortSets orders sets by compareSets (stable).
func sortSets(sets [][]int) {
	// slices, not sort.SliceStable: that one allocated a reflection-based swapper per call.
	slices.SortStableFunc(sets, compareSets)
}

// compareSets orders sorted index sets by size, then lexicographically.
func compareSets(a, b []int) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return slices.Compare(a, b)
}

// lessSet is compareSets as a less function.
func lessSet(a, b []int) bool { return compareSets(a, b) < 0 }
