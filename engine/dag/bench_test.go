package dag

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

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

// BenchmarkIdentify: the whole §3 computation (sets, back-door paths, explanation) with defaults.
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

// BenchmarkIdentifyDense: 200 nodes with ~8 parents per node — huge separators, the work cap
// (Options.MaxWork) bounds the cost.
func BenchmarkIdentifyDense(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 5))
	g := randomSparseDAG(r, 200, 8)
	t, y := benchPair(g)
	b.Run(fmt.Sprintf("n=200/edges=%d", len(g.edges)), func(b *testing.B) {
		loop(b, func() {
			if _, err := g.Identify(context.Background(), g.names[t], g.names[y], nil, Options{}); err != nil {
				b.Fatal(err)
			}
		})
	})
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
