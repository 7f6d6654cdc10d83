package dag

import (
	"context"
	"strings"
)

// Arrows used when printing paths (U+2192, U+2190).
const (
	arrowRight = " → "
	arrowLeft  = " ← "
)

// BackdoorPaths lists the back-door paths from t to y: simple paths in the skeleton whose first
// edge points into t, printed with the real direction of every edge ("X ← Z → Y"), in the
// canonical order of Identify (depth-first, neighbours by name). At most maxPaths (≤0: 20) are
// returned; truncated reports that more exist.
func (g *Graph) BackdoorPaths(t, y string, maxPaths int) (paths []string, truncated bool, err error) {
	c := g.canonical()
	ti, ok := c.index[t]
	if !ok {
		return nil, false, inputErr("Treatment node '%s' not found in graph", t)
	}
	yi, ok := c.index[y]
	if !ok {
		return nil, false, inputErr("Outcome node '%s' not found in graph", y)
	}
	return c.backdoorPaths(context.Background(), ti, yi, maxPaths)
}

// backdoorPaths enumerates simple t–y paths starting with an edge into t, depth first with
// neighbours in edge order. Before extending the path it recomputes which vertices can still
// reach y without touching the path (one BFS per path vertex): only those are followed, so every
// extension ends in at least one path — the search never wanders into dead ends such as a clique
// hanging off a single vertex, and the cost per listed path is polynomial (Read & Tarjan style).
// Whether any back-door path exists is decided by the same reachability before listing.
func (g *Graph) backdoorPaths(ctx context.Context, t, y, maxPaths int) (paths []string, truncated bool, err error) {
	if maxPaths <= 0 {
		maxPaths = 20
	}
	if t == y {
		return nil, false, nil
	}
	n := len(g.names)
	// inc[v]: v's neighbours in edge order, each list a window of one array (deduplicated edges:
	// v has exactly len(children)+len(parents) of them).
	inc := make([][]int, n)
	buf := make([]int, 2*len(g.edges))
	off := 0
	for v := range n {
		d := len(g.children[v]) + len(g.parents[v])
		inc[v] = buf[off:off:(off + d)]
		off += d
	}
	for _, e := range g.edges {
		inc[e[0]] = append(inc[e[0]], e[1])
		inc[e[1]] = append(inc[e[1]], e[0])
	}
	onPath := make([]bool, n)
	onPath[t] = true
	// live marks the vertices that reach y in the skeleton avoiding the current path
	live := func() []bool {
		ok := make([]bool, n)
		ok[y] = true
		stack := []int{y}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, w := range inc[v] {
				if !onPath[w] && !ok[w] {
					ok[w] = true
					stack = append(stack, w)
				}
			}
		}
		return ok
	}
	path := []int{t}
	steps := 0
	var dfs func(v int) (bool, error) // false: stop
	dfs = func(v int) (bool, error) {
		if steps++; steps&255 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		if v == y {
			paths = append(paths, g.renderPath(path))
			return len(paths) <= maxPaths, nil // one extra tells whether more exist
		}
		ok := live()
		for _, w := range inc[v] {
			if onPath[w] || !ok[w] {
				continue
			}
			onPath[w] = true
			path = append(path, w)
			cont, err := dfs(w)
			path = path[:len(path)-1]
			onPath[w] = false
			if !cont || err != nil {
				return false, err
			}
		}
		return true, nil
	}
	ok := live()
	for _, p := range g.parents[t] {
		if !ok[p] {
			continue
		}
		onPath[p] = true
		path = append(path, p)
		cont, err := dfs(p)
		path = path[:1]
		onPath[p] = false
		if err != nil {
			return nil, false, err
		}
		if !cont {
			break
		}
	}
	if len(paths) > maxPaths {
		paths, truncated = paths[:maxPaths], true
	}
	return paths, truncated, nil
}
func (g *Graph) renderPath(path []int) string {
	var b strings.Builder
	size := (len(path) - 1) * len(arrowRight)
	for _, v := range path {
		size += len(g.names[v])
	}
	b.Grow(size) // one allocation, not one per doubling
	b.WriteString(g.names[path[0]])
	for i := 1; i < len(path); i++ {
		if g.hasEdge(path[i-1], path[i]) {
			b.WriteString(arrowRight)
		} else {
			b.WriteString(arrowLeft)
		}
		b.WriteString(g.names[path[i]])
	}
	return b.String()
}

func (g *Graph) hasEdge(a, b int) bool {
	for _, c := range g.children[a] {
		if c == b {
			return true
		}
	}
	return false
}
