// Package dag parses and validates causal DAGs and answers identification questions on them:
// d-separation, the back-door criterion (all minimal adjustment sets), the front-door criterion,
// complete identification (latent projection and the ID algorithm), back-door path listing and the
// testable implications (conditional independencies) of a DAG.
//
// Nodes are addressed by their index in the input `nodes` list. Identify works on the canonical
// copy of the graph (nodes sorted by name, edges by endpoint names), so its answer does not depend
// on the order in which nodes and edges are given.
package dag

import (
	"fmt"
	"slices"
	"strings"
)

// Limits (docs/api.md#limits). Parse rejects larger inputs with an InputError.
const (
	MaxNodes = 200
	MaxEdges = 5000
)

// Contract texts (docs/api.md#causal-validate) that callers may want to compare against.
const (
	MsgNoNodes        = "DAG must contain at least one node"
	MsgDuplicateNodes = "DAG contains duplicate nodes"
	MsgCycle          = "Graph contains cycles (not a valid DAG)"
	MsgBlankNode      = "DAG node names must be non-empty"
	MsgSameTreatment  = "Treatment and outcome must be different nodes"
)

// InputError is a semantic input error; the service maps it to a 400 validation_error whose
// message is exactly Msg. Cycle is set (node names, first node repeated at the end) for the
// cycle error so the service can append ": A -> B -> A" to the details.
type InputError struct {
	Msg   string
	Cycle []string
}

func (e *InputError) Error() string      { return e.Msg }
func (e *InputError) InputError() string { return e.Msg }

// CycleText renders Cycle as "A -> B -> A" (empty when there is no cycle).
func (e *InputError) CycleText() string { return strings.Join(e.Cycle, " -> ") }

func inputErr(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }

// Graph is an immutable validated DAG. Parents and children of a node are kept in edge order
// (duplicate edges collapse onto their first occurrence).
type Graph struct {
	names    []string
	index    map[string]int
	parents  [][]int
	children [][]int
	edges    [][2]int // deduplicated, input order
	topo     []int    // a topological order
	given    []string // the names in input order (messages list them so): names unless canon
	canon    bool     // built in canonical order (canonical returns the graph itself)
}

// Parse validates nodes and edges with the docs/api.md#causal-validate checks in contract order: empty node list, blank
// names, duplicate nodes, node/edge caps, per edge unknown endpoints (from, then to) and self-loops,
// then cycles.
func Parse(nodes []string, edges [][2]string) (*Graph, error) {
	return parse(nodes, edges, MaxNodes, MaxEdges)
}

// parse is Parse with explicit caps (≤ 0: none; benchmarks use larger graphs than requests may).
func parse(nodes []string, edges [][2]string, maxNodes, maxEdges int) (*Graph, error) {
	index, pairs, err := check(nodes, edges, maxNodes, maxEdges)
	if err != nil {
		return nil, err
	}
	g := newGraph(append([]string(nil), nodes...), index, pairs)
	if cyc := g.findCycle(); cyc != nil {
		names := make([]string, len(cyc))
		for i, v := range cyc {
			names[i] = g.names[v]
		}
		return nil, &InputError{Msg: MsgCycle, Cycle: names}
	}
	g.topo = g.topoOrder()
	return g, nil
}

// parseCanonical is parse building the canonical graph (see canonical) directly, for callers that
// only identify on it (Validate): one graph is built instead of the input-order one and then its
// canonical copy. The checks are parse's, in the same order; a cycle is reported as parse
// reports it (found in input order), so errors do not change either.
func parseCanonical(nodes []string, edges [][2]string, maxNodes, maxEdges int) (*Graph, error) {
	index, pairs, err := check(nodes, edges, maxNodes, maxEdges)
	if err != nil {
		return nil, err
	}
	order, pos := nameOrder(nodes)
	names := make([]string, len(nodes))
	for k, v := range order {
		names[k] = nodes[v]
		index[nodes[v]] = k // the keys stay: only positions change
	}
	for i, e := range pairs {
		pairs[i] = [2]int{pos[e[0]], pos[e[1]]}
	}
	slices.SortFunc(pairs, comparePairs)
	g := newGraph(names, index, pairs)
	if g.findCycle() != nil {
		return parse(nodes, edges, maxNodes, maxEdges) // the error, with the input-order cycle
	}
	g.topo = g.topoOrder()
	g.given, g.canon = nodes, true // nodes is read, never kept past the caller's use of g
	return g, nil
}

// check runs parse's checks in contract order and returns the name index and the edges as node
// pairs (duplicates kept).
func check(nodes []string, edges [][2]string, maxNodes, maxEdges int) (map[string]int, [][2]int, error) {
	if len(nodes) == 0 {
		return nil, nil, &InputError{Msg: MsgNoNodes}
	}
	for _, n := range nodes {
		if strings.TrimSpace(n) == "" {
			return nil, nil, &InputError{Msg: MsgBlankNode}
		}
	}
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if _, dup := index[n]; dup {
			return nil, nil, &InputError{Msg: MsgDuplicateNodes}
		}
		index[n] = i
	}
	if maxNodes > 0 && len(nodes) > maxNodes {
		return nil, nil, inputErr("DAG has %d nodes; at most %d are allowed", len(nodes), maxNodes)
	}
	if maxEdges > 0 && len(edges) > maxEdges {
		return nil, nil, inputErr("DAG has %d edges; at most %d are allowed", len(edges), maxEdges)
	}
	pairs := make([][2]int, len(edges))
	for i, e := range edges {
		a, ok := index[e[0]]
		if !ok {
			return nil, nil, inputErr("Edge references non-existent node: %s", e[0])
		}
		b, ok := index[e[1]]
		if !ok {
			return nil, nil, inputErr("Edge references non-existent node: %s", e[1])
		}
		if a == b {
			return nil, nil, inputErr("Self-loop detected: %s -> %s", e[0], e[1])
		}
		pairs[i] = [2]int{a, b}
	}
	return index, pairs, nil
}

// nameOrder returns the nodes in name order (order[k] is the node whose name is k-th) and its
// inverse (pos[v] is node v's rank), on one array.
func nameOrder(names []string) (order, pos []int) {
	n := len(names)
	order = make([]int, 2*n)
	order, pos = order[:n], order[n:]
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	for k, v := range order {
		pos[v] = k
	}
	return order, pos
}

// comparePairs orders edges by (from, to).
func comparePairs(a, b [2]int) int {
	if a[0] != b[0] {
		return a[0] - b[0]
	}
	return a[1] - b[1]
}

// newGraph links the graph of names (index: name → position) and edges (valid node pairs, input
// order; duplicates collapse onto their first occurrence). Every parent and child list is a
// window of one array each, sized by the degrees counted first, instead of a slice per node grown
// by appends (most of a small graph's allocations); duplicates are found by scanning the source's
// children, so no set is allocated either. The graph keeps names, index and edges' array (the
// deduplicated edges are compacted in place). topo is left to the caller.
func newGraph(names []string, index map[string]int, edges [][2]int) *Graph {
	n := len(names)
	rel := make([][]int, 2*n) // children lists, then parent lists
	g := &Graph{names: names, given: names, index: index, children: rel[:n:n], parents: rel[n:], edges: edges[:0]}
	// One array: the lists' windows, then the degrees that size them (out-degrees, then
	// in-degrees; duplicates included, an upper bound).
	ints := make([]int, 2*len(edges)+2*n)
	buf, deg := ints[:2*len(edges)], ints[2*len(edges):]
	for _, e := range edges {
		deg[e[0]]++
		deg[n+e[1]]++
	}
	off := 0
	for v := range n {
		g.children[v] = buf[off:off:(off + deg[v])]
		off += deg[v]
		g.parents[v] = buf[off:off:(off + deg[n+v])]
		off += deg[n+v]
	}
	for _, e := range edges {
		a, b := e[0], e[1]
		if slices.Contains(g.children[a], b) {
			continue
		}
		g.edges = append(g.edges, e)
		g.children[a] = append(g.children[a], b)
		g.parents[b] = append(g.parents[b], a)
	}
	return g
}

// findCycle returns a directed cycle as node indices with the first node repeated at the end, or
// nil. Iterative DFS (no recursion depth issues), nodes and children visited in order so the
// reported cycle is deterministic.
func (g *Graph) findCycle() []int {
	n := len(g.names)
	state := make([]uint8, n) // 0 new, 1 on stack, 2 done
	type frame struct{ v, next int }
	var stack []frame
	for root := 0; root < n; root++ {
		if state[root] != 0 {
			continue
		}
		stack = append(stack[:0], frame{root, 0})
		state[root] = 1
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(g.children[top.v]) {
				state[top.v] = 2
				stack = stack[:len(stack)-1]
				continue
			}
			c := g.children[top.v][top.next]
			top.next++
			switch state[c] {
			case 0:
				state[c] = 1
				stack = append(stack, frame{c, 0})
			case 1:
				var cyc []int
				for i := range stack {
					if stack[i].v == c {
						for _, f := range stack[i:] {
							cyc = append(cyc, f.v)
						}
						break
					}
				}
				return append(cyc, c)
			}
		}
	}
	return nil
}

func (g *Graph) topoOrder() []int {
	n := len(g.names)
	// One array for the order, the queue and the in-degrees: order and queue each hold every node
	// once, so neither grows into the next window.
	ints := make([]int, 3*n)
	order, queue, indeg := ints[0:0:n], ints[n:n:2*n], ints[2*n:]
	for v := range n {
		indeg[v] = len(g.parents[v])
	}
	for v := range n {
		if indeg[v] == 0 {
			queue = append(queue, v)
		}
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		order = append(order, v)
		for _, c := range g.children[v] {
			indeg[c]--
			if indeg[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	return order
}

// canonical returns g with its nodes sorted by name and its edges sorted by (from, to) name: every
// tie-break of the algorithms (index order) then becomes name order, which makes answers
// independent of the input order. g itself when already canonical.
func (g *Graph) canonical() *Graph {
	if g.canon {
		return g
	}
	n := len(g.names)
	// The copy is built from g directly (it is the same valid graph renumbered, so nothing needs
	// re-checking).
	order, pos := nameOrder(g.names)
	edges := make([][2]int, len(g.edges))
	for i, e := range g.edges {
		edges[i] = [2]int{pos[e[0]], pos[e[1]]}
	}
	slices.SortFunc(edges, comparePairs)
	same := true
	for k, v := range order {
		if k != v {
			same = false
			break
		}
	}
	if same && slices.Equal(edges, g.edges) {
		return g
	}
	names, index := g.names, g.index // already in name order: only the edges were not
	if !same {
		names, index = make([]string, n), make(map[string]int, n)
		for k, v := range order {
			names[k] = g.names[v]
			index[names[k]] = k
		}
	}
	c := newGraph(names, index, edges)
	c.topo = c.topoOrder()
	c.given, c.canon = g.given, true
	return c
}

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.names) }

// Names returns the node names in input order.
func (g *Graph) Names() []string { return append([]string(nil), g.given...) }

// Name returns the name of node i.
func (g *Graph) Name(i int) string { return g.names[i] }

// Index returns the index of a node name.
func (g *Graph) Index(name string) (int, bool) {
	i, ok := g.index[name]
	return i, ok
}

// Edges returns the deduplicated edges in input order as name pairs.
func (g *Graph) Edges() [][2]string {
	out := make([][2]string, len(g.edges))
	for i, e := range g.edges {
		out[i] = [2]string{g.names[e[0]], g.names[e[1]]}
	}
	return out
}

// Parents and Children return node names in edge order.
func (g *Graph) Parents(name string) []string  { return g.namesOfRel(name, g.parents) }
func (g *Graph) Children(name string) []string { return g.namesOfRel(name, g.children) }

func (g *Graph) namesOfRel(name string, rel [][]int) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	out := make([]string, len(rel[i]))
	for k, v := range rel[i] {
		out[k] = g.names[v]
	}
	return out
}

// Adjacent reports whether a→b or b→a is an edge.
func (g *Graph) Adjacent(a, b string) bool {
	i, ok1 := g.index[a]
	j, ok2 := g.index[b]
	if !ok1 || !ok2 {
		return false
	}
	return g.adjacent(i, j)
}

func (g *Graph) adjacent(i, j int) bool {
	for _, c := range g.children[i] {
		if c == j {
			return true
		}
	}
	for _, c := range g.children[j] {
		if c == i {
			return true
		}
	}
	return false
}

// HasDirectedPath reports whether from reaches to along directed edges (a node reaches itself).
func (g *Graph) HasDirectedPath(from, to string) bool {
	i, ok1 := g.index[from]
	j, ok2 := g.index[to]
	if !ok1 || !ok2 {
		return false
	}
	return g.descendants(i, nil)[j]
}

// descendants returns the set of nodes reachable from v (including v) along directed edges,
// skipping nodes marked in blocked (except v itself).
func (g *Graph) descendants(v int, blocked []bool) []bool {
	seen := make([]bool, len(g.names))
	seen[v] = true
	stack := []int{v}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range g.children[u] {
			if !seen[c] && (blocked == nil || !blocked[c]) {
				seen[c] = true
				stack = append(stack, c)
			}
		}
	}
	return seen
}

// indices maps names to indices; unknown names are an InputError.
func (g *Graph) indices(names []string, what string) ([]int, error) {
	out := make([]int, 0, len(names))
	for _, n := range names {
		i, ok := g.index[n]
		if !ok {
			return nil, inputErr("%s node '%s' not found in graph", what, n)
		}
		out = append(out, i)
	}
	return out, nil
}

func (g *Graph) namesOf(set []int) []string {
	out := make([]string, len(set))
	for i, v := range set {
		out[i] = g.names[v]
	}
	return out
}
