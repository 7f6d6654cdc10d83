package dag

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/olumi/isl/engine/internal/benchcpu"
)

func loop(b *testing.B, f func()) {
	start := benchcpu.Now()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	benchcpu.Report(b, start, n)
}

// benchPair picks a treatment/outcome pair with many back-door paths: the outcome is the last node
// in topological order with the most ancestors, the treatment one of its ancestors in the middle of
// the topological order (so it has ancestors of its own to confound through).
func benchPair(g *Graph) (t, y int) {
	y = g.topo[len(g.topo)-1]
	an := g.ancestorsView(nil, []int{y})
	pos := make([]int, g.Len())
	for i, v := range g.topo {
		pos[v] = i
	}
	best := -1
	for v := range g.Len() {
		if an[v] && v != y && (best < 0 || abs(pos[v]-len(g.topo)/2) < abs(pos[best]-len(g.topo)/2)) {
			best = v
		}
	}
	return best, y
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// BenchmarkAdjustmentSets: minimal back-door sets with the default caps (100 returned, work cap)
// on seeded sparse random DAGs (about 2 parents per node).
func BenchmarkAdjustmentSets(b *testing.B) {
	for _, n := range []int{20, 50, 200, 1000} {
		r := rand.New(rand.NewPCG(uint64(n), 99))
		g := randomSparseDAG(r, n, 2)
		t, y := benchPair(g)
		obs := make([]bool, n)
		for i := range obs {
			obs[i] = true
		}
		deT := g.descendants(t, nil)
		ctx := context.Background()
		sets, tr, err := g.backdoorSets(ctx, t, y, obs, deT, 3, 100)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("n=%d/edges=%d/sets_found=%d/truncated=%v", n, len(g.edges), len(sets), tr), func(b *testing.B) {
			loop(b, func() {
				deT := g.descendants(t, nil)
				if _, _, err := g.backdoorSets(ctx, t, y, obs, deT, 3, 100); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkIdentify: the whole docs/api.md#causal-validate computation (sets, back-door paths, explanation) with defaults.
func BenchmarkIdentify(b *testing.B) {
	for _, n := range []int{20, 50, 200, 1000} {
		r := rand.New(rand.NewPCG(uint64(n), 99))
		g := randomSparseDAG(r, n, 2)
		t, y := benchPair(g)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			loop(b, func() {
				if _, err := g.Identify(context.Background(), g.names[t], g.names[y], nil, Options{}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// identifyCase is one seeded request of the identification benchmarks.
type identifyCase struct {
	g    *Graph
	t, y int
	obs  []bool
}

// identifyCases builds count seeded random DAGs of n nodes with about parents parents per node
// (average degree 2·parents), the benchPair treatment/outcome, and each other node latent with
// probability latent.
func identifyCases(seed uint64, count, n int, parents, latent float64) []identifyCase {
	r := rand.New(rand.NewPCG(seed, uint64(parents*10)+uint64(latent*100)))
	var out []identifyCase
	for len(out) < count {
		g := randomSparseDAG(r, n, parents).canonical()
		t, y := benchPair(g)
		if t < 0 {
			continue
		}
		obs := randomObs(r, n, 1-latent, t, y)
		out = append(out, identifyCase{g, t, y, obs})
	}
	return out
}

// benchCases runs f over the cases round-robin and reports, besides the mean CPU time per op,
// the p50/p99/max CPU time of single requests across the case set (ms).
func benchCases(b *testing.B, cases []identifyCase, f func(c identifyCase)) {
	var per []time.Duration
	start := benchcpu.Now()
	i := 0
	for b.Loop() {
		c := cases[i%len(cases)]
		t0 := benchcpu.Now()
		f(c)
		per = append(per, benchcpu.Now()-t0)
		i++
	}
	benchcpu.Report(b, start, i)
	slices.Sort(per)
	q := func(p float64) float64 {
		return float64(per[min(len(per)-1, int(p*float64(len(per))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-cpu-ms")
	b.ReportMetric(q(0.99), "p99-cpu-ms")
	b.ReportMetric(float64(per[len(per)-1].Microseconds())/1000, "max-cpu-ms")
}

// BenchmarkIdentify200: the whole answer (back-door sets up to size 3 or the minimum ones, paths,
// front-door, ID, estimand, explanation) on 100 seeded random 200-node DAGs per configuration:
// average degree 3, 8 and 16, all observed or 30% latent. Run with -benchtime=Nx, N a multiple of
// 100, so each case counts equally in the percentiles.
func BenchmarkIdentify200(b *testing.B) {
	for _, parents := range []float64{1.5, 4, 8} {
		for _, latent := range []float64{0, 0.3} {
			cases := identifyCases(7, 100, 200, parents, latent)
			methods := map[string]int{}
			for _, c := range cases {
				res, err := c.g.identify(context.Background(), c.t, c.y, c.obs, Options{})
				if err != nil {
					b.Fatal(err)
				}
				methods[res.Status+"/"+res.Method]++
			}
			b.Run(fmt.Sprintf("deg=%g/latent=%g", 2*parents, latent), func(b *testing.B) {
				b.Logf("answers: %v", methods)
				benchCases(b, cases, func(c identifyCase) {
					if _, err := c.g.identify(context.Background(), c.t, c.y, c.obs, Options{}); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkID200: the ID algorithm alone (latent projection + ID + rendering the formula or the
// hedge), forced on every case whatever the back-door criterion says, 30% latent nodes.
func BenchmarkID200(b *testing.B) {
	for _, parents := range []float64{1.5, 4} {
		cases := identifyCases(11, 100, 200, parents, 0.3)
		hedges := 0
		for _, c := range cases {
			a := c.g.project(context.Background(), c.obs)
			if _, h, _ := a.id(a.set(c.y), a.set(c.t), dist{obs: true}, nset(c.obs)); h != nil {
				hedges++
			}
		}
		b.Run(fmt.Sprintf("deg=%g/hedges=%d%%", 2*parents, hedges), func(b *testing.B) {
			benchCases(b, cases, func(c identifyCase) {
				a := c.g.project(context.Background(), c.obs)
				e, _, err := a.id(a.set(c.y), a.set(c.t), dist{obs: true}, nset(c.obs))
				if err != nil {
					b.Fatal(err)
				}
				if e != nil {
					_ = c.g.render(e)
				}
			})
		})
	}
}

// BenchmarkIdentifyWorstCase: inputs built to be expensive within the API limits. dense: 200
// nodes and 5000 random forward edges (huge separators: the minimum ones are listed). chains:
// three disjoint back-door chains of 64 nodes each, which have 64³ = 262,144 minimal sets of size
// 3, of which the first 100 found are listed and the list flagged truncated.
func BenchmarkIdentifyWorstCase(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	var names []string
	for i := range 200 {
		names = append(names, fmt.Sprintf("n%03d", i))
	}
	var dense [][2]string
	for len(dense) < 5000 {
		a, c := r.IntN(200), r.IntN(200)
		if a < c {
			dense = append(dense, [2]string{names[a], names[c]})
		}
	}
	chainNodes := []string{"T", "Y"}
	chainEdges := [][2]string{{"T", "Y"}}
	for c := range 3 {
		prev := "T"
		for k := range 64 {
			v := fmt.Sprintf("C%d_%02d", c, k)
			chainNodes = append(chainNodes, v)
			chainEdges = append(chainEdges, [2]string{v, prev}) // T ← C0 ← C1 ← … ← C63 → Y
			prev = v
		}
		chainEdges = append(chainEdges, [2]string{prev, "Y"})
	}
	// bottleneck: T ← B ← a ladder of 48 layers of 4 nodes (each node a parent of the whole
	// previous layer) → Y. {B} is the only small set, but every size-2 and size-3 candidate along
	// the 49-vertex shortest paths is visited: the search tree's worst case.
	ladderNodes := []string{"T", "Y", "B"}
	ladderEdges := [][2]string{{"T", "Y"}, {"B", "T"}}
	prev := []string{"B"}
	for l := range 48 {
		var layer []string
		for w := range 4 {
			v := fmt.Sprintf("L%02d_%d", l, w)
			layer = append(layer, v)
			ladderNodes = append(ladderNodes, v)
			for _, p := range prev {
				ladderEdges = append(ladderEdges, [2]string{v, p})
			}
		}
		prev = layer
	}
	for _, p := range prev {
		ladderEdges = append(ladderEdges, [2]string{p, "Y"})
	}
	for _, tc := range []struct {
		name         string
		nodes        []string
		edges        [][2]string
		treat, outcm string
	}{
		{"dense", names, dense, names[50], names[199]},
		{"chains", chainNodes, chainEdges, "T", "Y"},
		{"bottleneck", ladderNodes, ladderEdges, "T", "Y"},
	} {
		res, err := Validate(context.Background(), tc.nodes, tc.edges, tc.treat, tc.outcm, nil, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/sets=%d/size=%d/truncated=%v", tc.name, len(res.AdjustmentSets), len(res.MinimalSet), res.SetsTruncated), func(b *testing.B) {
			loop(b, func() {
				if _, err := Validate(context.Background(), tc.nodes, tc.edges, tc.treat, tc.outcm, nil, Options{}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkImplications: one minimal separator per non-adjacent pair.
func BenchmarkImplications(b *testing.B) {
	for _, n := range []int{20, 50, 200} {
		r := rand.New(rand.NewPCG(uint64(n), 99))
		g := randomSparseDAG(r, n, 2)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			loop(b, func() { _ = g.Implications(0) })
		})
	}
}

// BenchmarkValidateExample: the whole /causal/validate computation (parse, identify, render) of
// the documented 3-node example, the request the service's CPU-per-request figures measure.
func BenchmarkValidateExample(b *testing.B) {
	nodes := []string{"X", "Y", "Z"}
	edges := [][2]string{{"Z", "X"}, {"X", "Y"}, {"Z", "Y"}}
	loop(b, func() {
		if _, err := Validate(context.Background(), nodes, edges, "X", "Y", nil, Options{}); err != nil {
			b.Fatal(err)
		}
	})
}
