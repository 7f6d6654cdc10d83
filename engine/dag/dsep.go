package dag

// d-separation, two independent implementations:
//   - dsepBall: the Bayes-ball / "reachable" algorithm (Koller & Friedman, Alg. 3.1) — used by the
//     engine;
//   - dsepMoral: separation in the moralised ancestral graph (Lauritzen et al. 1990) — used by the
//     tests as an oracle and by the separator enumeration (same theorem).
// Both work on a "view" of the graph in which the out-edges of the nodes marked in cut are removed
// (cut == nil: the graph itself). That is how the back-door graph G_T̲ is represented without copying.

// DSeparated reports whether every node of x is d-separated from every node of y given z.
// Nodes in z that are also in x or y are ignored; overlapping x and y are never separated.
func (g *Graph) DSeparated(x, y, z []string) (bool, error) {
	return g.DSeparatedCut(x, y, z, nil)
}

// DSeparatedCut is DSeparated in the graph with the out-edges of the nodes in cutOut removed
// (cutOut = [T] gives the back-door graph G_T̲).
func (g *Graph) DSeparatedCut(x, y, z, cutOut []string) (bool, error) {
	xi, err := g.indices(x, "X")
	if err != nil {
		return false, err
	}
	yi, err := g.indices(y, "Y")
	if err != nil {
		return false, err
	}
	zi, err := g.indices(z, "Conditioning")
	if err != nil {
		return false, err
	}
	ci, err := g.indices(cutOut, "Cut")
	if err != nil {
		return false, err
	}
	return g.dsepBall(g.mark(ci), xi, yi, zi), nil
}

// RemoveOutEdges returns a copy of g without the out-edges of the given nodes.
func (g *Graph) RemoveOutEdges(nodes ...string) (*Graph, error) {
	ci, err := g.indices(nodes, "Cut")
	if err != nil {
		return nil, err
	}
	cut := g.mark(ci)
	var nodesOut []string
	nodesOut = append(nodesOut, g.names...)
	var edges [][2]string
	for _, e := range g.edges {
		if !cut[e[0]] {
			edges = append(edges, [2]string{g.names[e[0]], g.names[e[1]]})
		}
	}
	return Parse(nodesOut, edges)
}

func (g *Graph) mark(set []int) []bool {
	m := make([]bool, len(g.names))
	for _, v := range set {
		m[v] = true
	}
	return m
}

// ancestorsView marks all ancestors (inclusive) of the seeds in the view with cut out-edges.
func (g *Graph) ancestorsView(cut []bool, seeds []int) []bool {
	an := make([]bool, len(g.names))
	stack := make([]int, 0, len(seeds))
	for _, s := range seeds {
		if !an[s] {
			an[s] = true
			stack = append(stack, s)
		}
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range g.parents[v] {
			if (cut == nil || !cut[p]) && !an[p] {
				an[p] = true
				stack = append(stack, p)
			}
		}
	}
	return an
}

func (g *Graph) dsepBall(cut []bool, x, y, z []int) bool {
	n := len(g.names)
	isX, isY := g.mark(x), g.mark(y)
	for _, v := range x {
		if isY[v] {
			return false
		}
	}
	inZ := make([]bool, n)
	var zs []int
	for _, v := range z {
		if !isX[v] && !isY[v] && !inZ[v] {
			inZ[v] = true
			zs = append(zs, v)
		}
	}
	anZ := g.ancestorsView(cut, zs)
	return g.ball(cut, x, inZ, anZ, isY, nil)
}

// ball runs Bayes-ball from x in the view with cut out-edges, given the observed nodes inZ
// (anZ: their ancestors in the view). It marks in reach (when not nil) every unobserved node the
// ball reaches, and returns false as soon as it reaches an unobserved node of stop (when not nil).
// (Plain slices, not a visit callback: this loop is the hot path of identification and testing.)
func (g *Graph) ball(cut []bool, x []int, inZ, anZ, stop, reach []bool) bool {
	n := len(g.names)
	const up, down = 0, 1 // up: entered from a child; down: entered from a parent
	visited := make([][2]bool, n)
	type st struct{ v, dir int }
	stack := make([]st, 0, 2*n)
	push := func(v, dir int) {
		if !visited[v][dir] {
			visited[v][dir] = true
			stack = append(stack, st{v, dir})
		}
	}
	for _, v := range x {
		push(v, up)
	}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v := s.v
		if !inZ[v] {
			if stop != nil && stop[v] {
				return false
			}
			if reach != nil {
				reach[v] = true
			}
		}
		cutV := cut != nil && cut[v]
		if s.dir == up {
			if inZ[v] {
				continue
			}
			for _, p := range g.parents[v] {
				if cut == nil || !cut[p] {
					push(p, up)
				}
			}
			if !cutV {
				for _, c := range g.children[v] {
					push(c, down)
				}
			}
			continue
		}
		if !inZ[v] && !cutV {
			for _, c := range g.children[v] {
				push(c, down)
			}
		}
		if anZ[v] { // collider (or its descendant) observed: the path opens upwards
			for _, p := range g.parents[v] {
				if cut == nil || !cut[p] {
					push(p, up)
				}
			}
		}
	}
	return true
}

// moralWS is a reusable workspace holding the undirected moral graph of a view restricted to an
// ancestral set. Reuse matters: Implications builds one per node pair.
type moralWS struct {
	adj   [][]int
	in    []bool
	list  []int // nodes of the ancestral set
	stamp []int
	gen   int
	ps    []int
}

func newMoralWS(n int) *moralWS {
	// list holds each node at most once and ps the parents of one node: with capacity n neither
	// grows, and both share one array with stamp.
	ints := make([]int, 3*n)
	return &moralWS{adj: make([][]int, n), in: make([]bool, n), stamp: ints[:n], list: ints[n : n : 2*n], ps: ints[2*n : 2*n : 3*n]}
}

// build makes w the moral graph of the view (cut out-edges removed) restricted to An(seeds).
// Nodes outside the ancestral set have no adjacency and in[v] == false.
func (w *moralWS) build(g *Graph, cut []bool, seeds []int) {
	for _, v := range w.list {
		w.in[v] = false
		w.adj[v] = w.adj[v][:0]
	}
	w.list = w.list[:0]
	for _, s := range seeds {
		if !w.in[s] {
			w.in[s] = true
			w.list = append(w.list, s)
		}
	}
	for i := 0; i < len(w.list); i++ {
		for _, p := range g.parents[w.list[i]] {
			if (cut == nil || !cut[p]) && !w.in[p] {
				w.in[p] = true
				w.list = append(w.list, p)
			}
		}
	}
	for _, v := range w.list {
		w.ps = w.ps[:0]
		for _, p := range g.parents[v] {
			if cut == nil || !cut[p] {
				w.ps = append(w.ps, p) // an ancestor of v, hence in the set
			}
		}
		for i, p := range w.ps {
			w.adj[p] = append(w.adj[p], v)
			w.adj[v] = append(w.adj[v], p)
			for _, q := range w.ps[i+1:] {
				w.adj[p] = append(w.adj[p], q)
				w.adj[q] = append(w.adj[q], p)
			}
		}
	}
	for _, v := range w.list {
		w.gen++
		out := w.adj[v][:0]
		for _, u := range w.adj[v] {
			if w.stamp[u] != w.gen {
				w.stamp[u] = w.gen
				out = append(out, u)
			}
		}
		w.adj[v] = out
	}
}

// moralAncestral builds a fresh moral ancestral graph (see moralWS.build).
func (g *Graph) moralAncestral(cut []bool, seeds []int) (adj [][]int, in []bool) {
	w := newMoralWS(len(g.names))
	w.build(g, cut, seeds)
	return w.adj, w.in
}

func (g *Graph) dsepMoral(cut []bool, x, y, z []int) bool {
	isX, isY := g.mark(x), g.mark(y)
	for _, v := range x {
		if isY[v] {
			return false
		}
	}
	var zs []int
	for _, v := range z {
		if !isX[v] && !isY[v] {
			zs = append(zs, v)
		}
	}
	seeds := append(append(append([]int(nil), x...), y...), zs...)
	adj, _ := g.moralAncestral(cut, seeds)
	blocked := g.mark(zs)
	seen := make([]bool, len(g.names))
	stack := append([]int(nil), x...)
	for _, v := range x {
		seen[v] = true
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if isY[v] {
			return false
		}
		for _, w := range adj[v] {
			if !seen[w] && !blocked[w] {
				seen[w] = true
				stack = append(stack, w)
			}
		}
	}
	return true
}

// reachableBall marks the nodes d-connected to some node of x given z in the view with cut
// out-edges (Bayes-ball; nodes of z are never marked).
func (g *Graph) reachableBall(cut []bool, x, z []int) []bool {
	inZ := g.mark(z)
	out := make([]bool, len(g.names))
	g.ball(cut, x, inZ, g.ancestorsView(cut, z), nil, out)
	for _, v := range x {
		out[v] = false
	}
	return out
}
