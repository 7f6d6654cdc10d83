package dag

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomDAG builds a seeded random DAG: nodes in a random order (so node index ≠ topological
// order), each forward pair (in a hidden topological order) gets an edge with probability p.
func randomDAG(r *rand.Rand, n int, p float64) *Graph {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("V%d", i)
	}
	perm := r.Perm(n) // perm[k] = node at topological position k
	var edges [][2]string
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			if r.Float64() < p {
				edges = append(edges, [2]string{names[perm[a]], names[perm[b]]})
			}
		}
	}
	r.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
	g, err := Parse(names, edges)
	if err != nil {
		panic(err)
	}
	return g
}

// randomSparseDAG has about `deg` parents per node (for large benchmarks).
func randomSparseDAG(r *rand.Rand, n int, deg float64) *Graph {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("V%d", i)
	}
	perm := r.Perm(n)
	var edges [][2]string
	seen := map[[2]int]bool{}
	for b := 1; b < n; b++ {
		k := int(deg)
		if r.Float64() < deg-float64(k) {
			k++
		}
		for range k {
			a := r.IntN(b)
			if !seen[[2]int{a, b}] {
				seen[[2]int{a, b}] = true
				edges = append(edges, [2]string{names[perm[a]], names[perm[b]]})
			}
		}
	}
	g, err := parse(names, edges, 0, 0)
	if err != nil {
		panic(err)
	}
	return g
}

func randSubset(r *rand.Rand, n int, p float64, exclude ...int) []int {
	var out []int
outer:
	for v := range n {
		for _, e := range exclude {
			if v == e {
				continue outer
			}
		}
		if r.Float64() < p {
			out = append(out, v)
		}
	}
	return out
}

// TestDSepImplementationsAgree cross-checks Bayes-ball against the moral ancestral graph, with and
// without cut out-edges, on random DAGs.
func TestDSepImplementationsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sepCount, total := 0, 0
	for iter := 0; iter < 3000; iter++ {
		n := 2 + r.IntN(14)
		g := randomDAG(r, n, 0.1+0.4*r.Float64())
		x := r.IntN(n)
		y := r.IntN(n)
		if x == y {
			continue
		}
		xs := append([]int{x}, randSubset(r, n, 0.1, x, y)...)
		ys := []int{y}
		z := randSubset(r, n, 0.3, xs...)
		var cut []bool
		if r.IntN(2) == 0 {
			cut = g.mark(randSubset(r, n, 0.3))
		}
		a := g.dsepBall(cut, xs, ys, z)
		b := g.dsepMoral(cut, xs, ys, z)
		if a != b {
			t.Fatalf("iter %d: ball=%v moral=%v x=%v y=%v z=%v cut=%v edges=%v", iter, a, b, xs, ys, z, cut, g.Edges())
		}
		total++
		if a {
			sepCount++
		}
	}
	// both outcomes must be exercised or the test proves nothing
	if sepCount < total/10 || sepCount > total*9/10 {
		t.Fatalf("unbalanced sample: %d of %d separated", sepCount, total)
	}
}

func TestDSepTextbook(t *testing.T) {
	g, err := Parse([]string{"A", "B", "C", "D"}, [][2]string{{"A", "C"}, {"B", "C"}, {"C", "D"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		x, y, z []string
		cut     []string
		want    bool
	}{
		{[]string{"A"}, []string{"B"}, nil, nil, true},
		{[]string{"A"}, []string{"B"}, []string{"C"}, nil, false},
		{[]string{"A"}, []string{"B"}, []string{"D"}, nil, false}, // descendant of collider
		{[]string{"A"}, []string{"D"}, nil, nil, false},
		{[]string{"A"}, []string{"D"}, []string{"C"}, nil, true},
		{[]string{"A"}, []string{"D"}, nil, []string{"A"}, true},
		{[]string{"A"}, []string{"A"}, nil, nil, false},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got, err := g.DSeparatedCut(tc.x, tc.y, tc.z, tc.cut)
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if _, err := g.DSeparated([]string{"Q"}, []string{"A"}, nil); err == nil {
		t.Fatal("unknown node accepted")
	}
	bd, err := g.RemoveOutEdges("C")
	if err != nil || len(bd.Edges()) != 2 {
		t.Fatalf("RemoveOutEdges: %v %v", bd, err)
	}
	if ok, _ := bd.DSeparated([]string{"A"}, []string{"D"}, nil); !ok {
		t.Fatal("A and D must be separated once C's out-edges are removed")
	}
}

// bruteMinimalSets enumerates every subset of allowed (≤ 12 elements) and keeps the valid ones
// with no valid proper subset, using Bayes-ball d-separation (independent of the moral-graph
// separator machinery the enumerators use).
func bruteMinimalSets(g *Graph, cut []bool, s, t int, allowed []int) [][]int {
	k := len(allowed)
	valid := make([]bool, 1<<k)
	set := func(mask int) []int {
		var z []int
		for i := range k {
			if mask&(1<<i) != 0 {
				z = append(z, allowed[i])
			}
		}
		return z
	}
	for mask := range 1 << k {
		valid[mask] = g.dsepBall(cut, []int{s}, []int{t}, set(mask))
	}
	// below[mask]: some proper subset of mask is valid (any proper subset lies in mask minus one
	// element, so one pass in increasing mask order suffices)
	below := make([]bool, 1<<k)
	var out [][]int
	for mask := range 1 << k {
		for i := range k {
			if sub := mask &^ (1 << i); sub != mask && (valid[sub] || below[sub]) {
				below[mask] = true
				break
			}
		}
		if valid[mask] && !below[mask] {
			z := set(mask)
			if z == nil {
				z = []int{}
			}
			out = append(out, z)
		}
	}
	sortSets(out)
	return out
}

// TestAdjustmentSetsBruteForce: on random DAGs of ≤ 12 nodes with random observed subsets, the
// enumerated minimal back-door sets equal the brute-force list exactly (nothing missed, nothing
// extra, same order).
func TestAdjustmentSetsBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	nonEmpty, multi, none := 0, 0, 0
	for iter := 0; iter < 4000; iter++ {
		n := 3 + r.IntN(10)
		g := randomDAG(r, n, 0.15+0.45*r.Float64())
		tr, y := r.IntN(n), r.IntN(n)
		if tr == y {
			continue
		}
		obs := make([]bool, n)
		for v := range obs {
			obs[v] = r.Float64() < 0.75
		}
		obs[tr], obs[y] = true, true
		deT := g.descendants(tr, nil)
		var allowed []int
		for v := range n {
			if v != tr && v != y && obs[v] && !deT[v] {
				allowed = append(allowed, v)
			}
		}
		cut := g.mark([]int{tr})
		want := bruteMinimalSets(g, cut, tr, y, allowed)
		got, truncated := g.allBackdoorSets(tr, y, obs, deT, 0)
		if truncated {
			t.Fatal("unexpected truncation")
		}
		if len(want) == 0 && len(got) == 0 {
			none++
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("iter %d: T=%d Y=%d obs=%v edges=%v\n got %v\nwant %v", iter, tr, y, obs, g.edges, got, want)
		}
		if len(want[0]) > 0 {
			nonEmpty++
		}
		if len(want) > 1 {
			multi++
		}
	}
	if nonEmpty < 200 || multi < 80 || none < 100 {
		t.Fatalf("weak sample: nonEmpty=%d multi=%d none=%d", nonEmpty, multi, none)
	}
}

// TestAdjustmentSetsProperties on bigger random DAGs: every returned set is a valid back-door set
// (Bayes-ball in G_T̲), has no descendant of T, only observed nodes, and is minimal.
func TestAdjustmentSetsProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	checked := 0
	for iter := 0; iter < 120; iter++ {
		n := 20 + r.IntN(60)
		g := randomSparseDAG(r, n, 1+2*r.Float64())
		tr, y := r.IntN(n), r.IntN(n)
		if tr == y {
			continue
		}
		obs := make([]bool, n)
		for v := range obs {
			obs[v] = r.Float64() < 0.9
		}
		obs[tr], obs[y] = true, true
		deT := g.descendants(tr, nil)
		cut := g.mark([]int{tr})
		sets, _ := g.allBackdoorSets(tr, y, obs, deT, 200)
		for i, z := range sets {
			if i > 0 && !lessSet(sets[i-1], z) {
				t.Fatalf("order: %v before %v", sets[i-1], z)
			}
			for _, v := range z {
				if deT[v] || !obs[v] || v == y || v == tr {
					t.Fatalf("set %v contains forbidden node %d", z, v)
				}
			}
			if !g.dsepBall(cut, []int{tr}, []int{y}, z) {
				t.Fatalf("set %v does not d-separate", z)
			}
			if len(z) <= 8 {
				for mask := 0; mask < (1<<len(z))-1; mask++ {
					var sub []int
					for k := range z {
						if mask&(1<<k) != 0 {
							sub = append(sub, z[k])
						}
					}
					if g.dsepBall(cut, []int{tr}, []int{y}, sub) {
						t.Fatalf("set %v not minimal: %v works", z, sub)
					}
				}
			}
			checked++
		}
		// fully observed: Pa(T) is always valid, so some set must exist when T ≠ Y and Y ∉ Pa(T)
		if !deT[y] {
			continue
		}
		all, _, _ := g.AdjustmentSets(g.names[tr], g.names[y], nil, 1)
		if len(all) == 0 {
			t.Fatalf("fully observed DAG without adjustment set")
		}
	}
	if checked < 100 {
		t.Fatalf("only %d sets checked", checked)
	}
}

// bruteIsFrontDoor checks Pearl's definition directly: an explicit directed-path search for (i)
// and the moral-graph d-separation for (ii) and (iii).
func bruteIsFrontDoor(g *Graph, t, y int, m []int) bool {
	blocked := g.mark(m)
	reach := false
	seen := make([]bool, len(g.names))
	var dfs func(v int)
	dfs = func(v int) {
		if v == y {
			reach = true
			return
		}
		seen[v] = true
		for _, c := range g.children[v] {
			if !seen[c] && !blocked[c] {
				dfs(c)
			}
		}
	}
	dfs(t)
	if reach {
		return false
	}
	if !g.dsepMoral(g.mark([]int{t}), []int{t}, m, nil) {
		return false
	}
	return g.dsepMoral(g.mark(m), m, []int{y}, []int{t})
}

// bruteFrontDoor checks every subset of observed ∖ {t,y} (small graphs) and returns the first
// front-door set in (size, node) order, nil when there is none.
func bruteFrontDoor(g *Graph, t, y int, obs []bool) []int {
	var cand []int
	for v := range g.names {
		if v != t && v != y && obs[v] {
			cand = append(cand, v)
		}
	}
	var found [][]int
	for mask := 1; mask < 1<<len(cand); mask++ {
		var m []int
		for i := range cand {
			if mask&(1<<i) != 0 {
				m = append(m, cand[i])
			}
		}
		if bruteIsFrontDoor(g, t, y, m) {
			found = append(found, m)
		}
	}
	if len(found) == 0 {
		return nil
	}
	sortSets(found)
	return found[0]
}

func TestFrontDoorBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 17))
	hits := 0
	for iter := 0; iter < 5000; iter++ {
		n := 3 + r.IntN(7)
		g := randomDAG(r, n, 0.2+0.4*r.Float64())
		tr, y := r.IntN(n), r.IntN(n)
		if tr == y || !g.descendants(tr, nil)[y] {
			continue
		}
		obs := make([]bool, n)
		for v := range obs {
			obs[v] = r.Float64() < 0.6
		}
		obs[tr], obs[y] = true, true
		want := bruteFrontDoor(g, tr, y, obs)
		got, ok := g.frontDoor(tr, y, obs)
		if ok != (want != nil) {
			t.Fatalf("iter %d: T=%d Y=%d obs=%v edges=%v got %v (%v) want %v", iter, tr, y, obs, g.edges, got, ok, want)
		}
		if ok && !bruteIsFrontDoor(g, tr, y, got) {
			t.Fatalf("iter %d: %v is not a front-door set: T=%d Y=%d edges=%v", iter, got, tr, y, g.edges)
		}
		if ok {
			for _, v := range got {
				if !obs[v] || v == tr || v == y {
					t.Fatalf("iter %d: front-door set %v uses unobserved/endpoint %d", iter, got, v)
				}
			}
		}
		if want != nil {
			hits++
		}
	}
	if hits < 60 {
		t.Fatalf("only %d front-door hits", hits)
	}
}

// TestIdentifyStatusConsistency: with everything observed the effect is identifiable whenever a
// directed path exists; with latents, uncertain/cannot_identify only when no back-door set exists.
func TestIdentifyStatusConsistency(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	counts := map[string]int{}
	for iter := 0; iter < 800; iter++ {
		n := 3 + r.IntN(12)
		g := randomDAG(r, n, 0.15+0.4*r.Float64())
		tr, y := r.IntN(n), r.IntN(n)
		if tr == y {
			continue
		}
		var observed []string
		if r.IntN(2) == 0 {
			for v := range n {
				if r.Float64() < 0.6 {
					observed = append(observed, g.names[v])
				}
			}
			if observed == nil {
				observed = []string{}
			}
		}
		res, err := g.Identify(context.Background(), g.names[tr], g.names[y], observed, Options{})
		if err != nil {
			t.Fatal(err)
		}
		counts[res.Status]++
		reach := g.descendants(tr, nil)[y]
		switch {
		case !reach:
			if res.Status != StatusCannotIdentify || res.Issues[0].Type != IssueMissingConnection || res.AdjustmentSets != nil {
				t.Fatalf("no path: %+v", res)
			}
		case observed == nil:
			if res.Status != StatusIdentifiable || len(res.AdjustmentSets) == 0 {
				t.Fatalf("fully observed must be identifiable: %+v", res)
			}
		case res.Status == StatusIdentifiable:
			if (res.AdjustmentSets != nil) != (res.Method == MethodBackdoor) || (res.FrontDoorSet != nil) != (res.Method == MethodFrontdoor) || res.Estimand == "" {
				t.Fatalf("method and its fields disagree: %+v", res)
			}
		default:
			if res.Hedge == nil {
				t.Fatalf("cannot_identify without a hedge: %+v", res)
			}
			if res.AdjustmentSets != nil || res.MinimalSet != nil || res.Issues[0].Type != IssueConfounding {
				t.Fatalf("unexpected: %+v", res)
			}
		}
		if res.AdjustmentSets != nil && !reflect.DeepEqual(res.MinimalSet, res.AdjustmentSets[0]) {
			t.Fatalf("minimal_set must be the first set")
		}
	}
	if counts[StatusUncertain] > 0 {
		t.Fatalf("uncertain produced: %v", counts)
	}
	for _, s := range []string{StatusIdentifiable, StatusCannotIdentify} {
		if counts[s] == 0 {
			t.Fatalf("status %s never produced: %v", s, counts)
		}
	}
}

func TestImplications(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 37))
	for iter := 0; iter < 300; iter++ {
		n := 2 + r.IntN(12)
		g := randomDAG(r, n, 0.1+0.5*r.Float64())
		imps := g.Implications(0)
		pairs := 0
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if !g.adjacent(i, j) {
					pairs++
				}
			}
		}
		if len(imps) != pairs {
			t.Fatalf("%d implications for %d non-adjacent pairs", len(imps), pairs)
		}
		for _, im := range imps {
			x, _ := g.Index(im.X)
			y, _ := g.Index(im.Y)
			z, err := g.indices(im.Given, "Given")
			if err != nil || x >= y {
				t.Fatalf("bad implication %v", im)
			}
			if !g.dsepMoral(nil, []int{x}, []int{y}, z) {
				t.Fatalf("%v is not implied", im)
			}
			// minimal: no proper subset separates
			for mask := 0; mask < (1<<len(z))-1; mask++ {
				var sub []int
				for k := range z {
					if mask&(1<<k) != 0 {
						sub = append(sub, z[k])
					}
				}
				if g.dsepMoral(nil, []int{x}, []int{y}, sub) {
					t.Fatalf("%v not minimal (%v suffices)", im, sub)
				}
			}
		}
	}
}

func TestImplicationsTextbook(t *testing.T) {
	// chain A→B→C plus fork B→D: A⫫C|B, A⫫D|B, C⫫D|B
	g, err := Parse([]string{"A", "B", "C", "D"}, [][2]string{{"A", "B"}, {"B", "C"}, {"B", "D"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, im := range g.Implications(0) {
		got = append(got, im.String())
	}
	want := []string{"A _||_ C | B", "A _||_ D | B", "C _||_ D | B"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	// collider: A→C←B gives the marginal independence A⫫B
	g2, _ := Parse([]string{"A", "B", "C"}, [][2]string{{"A", "C"}, {"B", "C"}})
	if s := g2.Implications(0); len(s) != 1 || s[0].String() != "A _||_ B" {
		t.Fatalf("collider: %v", s)
	}
	if s := g.Implications(1); len(s) != 1 {
		t.Fatalf("limit ignored: %v", s)
	}
}

// Validate builds the canonical graph directly (parseCanonical) instead of parsing and then
// copying: on random inputs — valid DAGs, cycles, duplicate edges, unknown and repeated names,
// self-loops, unknown treatment, outcome or observed names — it returns exactly what Parse
// followed by Identify returns, errors included.
func TestValidateIsParseThenIdentify(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	pick := func(names []string) string {
		if r.IntN(20) == 0 {
			return "Unknown"
		}
		return names[r.IntN(len(names))]
	}
	for i := range 3000 {
		n := 1 + r.IntN(8)
		names := make([]string, n)
		for k, v := range r.Perm(n) {
			names[k] = fmt.Sprintf("N%d", v)
		}
		if r.IntN(30) == 0 {
			names[r.IntN(n)] = names[0] // a duplicate node
		}
		var edges [][2]string
		for range r.IntN(3 * n) {
			a, b := r.IntN(n), r.IntN(n)
			if a > b && r.IntN(8) != 0 { // mostly forward in index order; the rest may close cycles
				a, b = b, a
			}
			if a == b && r.IntN(10) != 0 {
				continue
			}
			e := [2]string{names[a], names[b]}
			if r.IntN(40) == 0 {
				e[r.IntN(2)] = "Unknown"
			}
			edges = append(edges, e)
		}
		treatment, outcome := pick(names), pick(names)
		var observed []string
		if r.IntN(2) == 0 {
			observed = []string{}
			for range r.IntN(n + 1) {
				observed = append(observed, pick(names))
			}
		}
		got, gotErr := Validate(context.Background(), names, edges, treatment, outcome, observed, Options{})
		var want *Result
		g, wantErr := Parse(names, edges)
		if wantErr == nil {
			want, wantErr = g.Identify(context.Background(), treatment, outcome, observed, Options{})
		}
		if !reflect.DeepEqual(gotErr, wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: nodes %v edges %v %s→%s observed %v:\nValidate %+v, %v\nParse+Identify %+v, %v",
				i, names, edges, treatment, outcome, observed, got, gotErr, want, wantErr)
		}
	}
}
