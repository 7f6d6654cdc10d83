package dag

import "strings"

// Arrows used when printing paths (U+2192, U+2190).
const (
	arrowRight = " → "
	arrowLeft  = " ← "
)

// BackdoorPaths lists the back-door paths from t to y: simple paths in the skeleton whose first
// edge points into t, printed with the real direction of every edge ("X ← Z → Y"). The depth-first
// search follows each node's incident edges in input edge order, so the output is deterministic.
// At most maxPaths paths are returned and at most maxSteps search steps are spent (≤0: defaults
// 20 and 100000); truncated reports that either cap was hit.
func (g *Graph) BackdoorPaths(t, y string, maxPaths, maxSteps int) (paths []string, truncated bool, err error) {
	ti, ok := g.index[t]
	if !ok {
		return nil, false, inputErr("Treatment node '%s' not found in graph", t)
	}
	yi, ok := g.index[y]
	if !ok {
		return nil, false, inputErr("Outcome node '%s' not found in graph", y)
	}
	p, tr := g.backdoorPaths(ti, yi, maxPaths, maxSteps)
	return p, tr, nil
}

func (g *Graph) backdoorPaths(t, y, maxPaths, maxSteps int) (paths []string, truncated bool) {
	if maxPaths <= 0 {
		maxPaths = 20
	}
	if maxSteps <= 0 {
		maxSteps = 100000
	}
	if t == y {
		return nil, false
	}
	n := len(g.names)
	// incident neighbours in edge order
	inc := make([][]int, n)
	for _, e := range g.edges {
		inc[e[0]] = append(inc[e[0]], e[1])
		inc[e[1]] = append(inc[e[1]], e[0])
	}
	// prune: only nodes connected to y in the skeleton without passing through t can lie on a path
	useful := make([]bool, n)
	useful[y] = true
	stack := []int{y}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, w := range inc[v] {
			if w != t && !useful[w] {
				useful[w] = true
				stack = append(stack, w)
			}
		}
	}
	onPath := make([]bool, n)
	onPath[t] = true
	path := []int{t}
	steps := 0
	var dfs func(v int) bool // returns false to stop
	dfs = func(v int) bool {
		if v == y {
			paths = append(paths, g.renderPath(path))
			return len(paths) <= maxPaths // collect one extra to know whether we truncate
		}
		for _, w := range inc[v] {
			if onPath[w] || !useful[w] {
				continue
			}
			steps++
			if steps > maxSteps {
				truncated = true
				return false
			}
			onPath[w] = true
			path = append(path, w)
			cont := dfs(w)
			path = path[:len(path)-1]
			onPath[w] = false
			if !cont {
				return false
			}
		}
		return true
	}
	for _, p := range g.parents[t] {
		if !useful[p] {
			continue
		}
		onPath[p] = true
		path = append(path, p)
		cont := dfs(p)
		path = path[:1]
		onPath[p] = false
		if !cont {
			break
		}
	}
	if len(paths) > maxPaths {
		paths, truncated = paths[:maxPaths], true
	}
	return paths, truncated
}

func (g *Graph) renderPath(path []int) string {
	var b strings.Builder
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
