package validation

import (
	"sort"

	"github.com/olumi/isl/engine/jsonv"
)

// graph is the request's DAG as given: unlike dag.Graph it may contain cycles and
// self-loops (that is what acyclic_check reports on), so validation keeps its own.
type graph struct {
	names    []string
	index    map[string]int
	listed   []string // the `nodes` member as sent (for descriptive_names)
	edges    [][2]int // deduplicated, input order, self-loops included
	children [][]int
	parents  [][]int
}

// parseGraph applies the docs/api.md#validation-validate shape rules: dag must be an object whose `nodes`
// (if present) is an array of strings and whose `edges` (if present) is an array.
// Edge items that are not 2-string arrays are ignored. Graph nodes are `nodes`, then
// unseen edge endpoints in edge order; duplicates collapse.
func parseGraph(v jsonv.Value) (*graph, error) {
	if v.Kind != jsonv.Object {
		return nil, &InputError{Msg: MsgInvalidDAG}
	}
	g := &graph{index: map[string]int{}, listed: []string{}}
	add := func(n string) int {
		if i, ok := g.index[n]; ok {
			return i
		}
		g.index[n] = len(g.names)
		g.names = append(g.names, n)
		return len(g.names) - 1
	}
	if nodes, ok := v.Get("nodes"); ok {
		if nodes.Kind != jsonv.Array {
			return nil, &InputError{Msg: MsgInvalidDAG}
		}
		for _, n := range nodes.Arr {
			if n.Kind != jsonv.String {
				return nil, &InputError{Msg: MsgInvalidDAG}
			}
			g.listed = append(g.listed, n.Str)
		}
	}
	var rawEdges [][2]string
	if edges, ok := v.Get("edges"); ok {
		if edges.Kind != jsonv.Array {
			return nil, &InputError{Msg: MsgInvalidDAG}
		}
		if len(edges.Arr) > MaxEdges {
			return nil, inputErr("DAG has %d edges; at most %d are allowed", len(edges.Arr), MaxEdges)
		}
		for _, e := range edges.Arr {
			if e.Kind != jsonv.Array || len(e.Arr) != 2 || e.Arr[0].Kind != jsonv.String || e.Arr[1].Kind != jsonv.String {
				continue
			}
			rawEdges = append(rawEdges, [2]string{e.Arr[0].Str, e.Arr[1].Str})
		}
	}
	// Count distinct nodes before building anything large (docs/api.md#limits).
	distinct := map[string]bool{}
	for _, n := range g.listed {
		distinct[n] = true
	}
	for _, e := range rawEdges {
		distinct[e[0]], distinct[e[1]] = true, true
	}
	if len(distinct) > MaxNodes {
		return nil, inputErr("DAG has %d nodes; at most %d are allowed", len(distinct), MaxNodes)
	}
	for _, n := range g.listed {
		add(n)
	}
	seen := map[[2]int]bool{}
	for _, e := range rawEdges {
		a, b := add(e[0]), add(e[1])
		k := [2]int{a, b}
		if !seen[k] {
			seen[k] = true
			g.edges = append(g.edges, k)
		}
	}
	g.children = make([][]int, len(g.names))
	g.parents = make([][]int, len(g.names))
	for _, e := range g.edges {
		g.children[e[0]] = append(g.children[e[0]], e[1])
		g.parents[e[1]] = append(g.parents[e[1]], e[0])
	}
	return g, nil
}

func (g *graph) hasEdge(a, b string) bool {
	i, ok1 := g.index[a]
	j, ok2 := g.index[b]
	if !ok1 || !ok2 {
		return false
	}
	for _, c := range g.children[i] {
		if c == j {
			return true
		}
	}
	return false
}

// findCycle returns one directed cycle (node names, first repeated at the end) or nil.
// Iterative DFS in node and edge order, so the cycle reported is deterministic.
func (g *graph) findCycle() []string {
	n := len(g.names)
	state := make([]uint8, n) // 0 new, 1 on stack, 2 done
	next := make([]int, n)    // next child position to visit
	parent := make([]int, n)
	for s := 0; s < n; s++ {
		if state[s] != 0 {
			continue
		}
		stack := []int{s}
		state[s] = 1
		parent[s] = -1
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			if next[u] < len(g.children[u]) {
				c := g.children[u][next[u]]
				next[u]++
				switch state[c] {
				case 0:
					state[c] = 1
					parent[c] = u
					stack = append(stack, c)
				case 1: // back edge u→c closes a cycle c … u → c
					var cyc []int
					for w := u; w != c; w = parent[w] {
						cyc = append(cyc, w)
					}
					cyc = append(cyc, c)
					out := make([]string, 0, len(cyc)+1)
					for i := len(cyc) - 1; i >= 0; i-- {
						out = append(out, g.names[cyc[i]])
					}
					return append(out, g.names[c])
				}
				continue
			}
			state[u] = 2
			stack = stack[:len(stack)-1]
		}
	}
	return nil
}

// components returns the weakly connected components (node indices, each in node
// order; components ordered by their first node).
func (g *graph) components() [][]int {
	n := len(g.names)
	comp := make([]int, n)
	for i := range comp {
		comp[i] = -1
	}
	var out [][]int
	for s := 0; s < n; s++ {
		if comp[s] >= 0 {
			continue
		}
		id := len(out)
		comp[s] = id
		members := []int{}
		stack := []int{s}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			members = append(members, u)
			for _, nb := range [][]int{g.children[u], g.parents[u]} {
				for _, w := range nb {
					if comp[w] < 0 {
						comp[w] = id
						stack = append(stack, w)
					}
				}
			}
		}
		sort.Ints(members)
		out = append(out, members)
	}
	return out
}

// isolated lists nodes with no edge at all (a self-loop counts as an edge, as in networkx).
func (g *graph) isolated() []string {
	out := []string{}
	for i, n := range g.names {
		if len(g.children[i]) == 0 && len(g.parents[i]) == 0 {
			out = append(out, n)
		}
	}
	return out
}

// colliders counts nodes with at least two distinct parents.
func (g *graph) colliders() int {
	c := 0
	for i := range g.names {
		if len(g.parents[i]) >= 2 {
			c++
		}
	}
	return c
}

// longestPath is the number of edges on the longest directed path; call only when acyclic.
func (g *graph) longestPath() int {
	n := len(g.names)
	indeg := make([]int, n)
	for _, e := range g.edges {
		indeg[e[1]]++
	}
	dist := make([]int, n)
	queue := []int{}
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	best := 0
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, c := range g.children[u] {
			if dist[u]+1 > dist[c] {
				dist[c] = dist[u] + 1
				if dist[c] > best {
					best = dist[c]
				}
			}
			indeg[c]--
			if indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	return best
}
