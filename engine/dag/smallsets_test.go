package dag

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
)

// The bitmask brute force answers exactly as the separator enumeration wherever it answers: on
// seeded random DAGs of 3–24 nodes, dense and sparse, with latent nodes or not, for every size
// cap 0–4 and set caps from 1 to 100. It must answer most small cases (the point of it) and give
// way when there are more sets than the cap (the general path truncates them).
func TestSmallBackdoorSetsMatchSeparators(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 19))
	ctx := context.Background()
	var answered, declined, capped int
	for iter := range 6000 {
		n := 3 + r.IntN(22)
		g := randomDAG(r, n, 0.1+0.5*r.Float64()).canonical()
		tr, y := r.IntN(n), r.IntN(n)
		if tr == y {
			continue
		}
		obs := randomObs(r, n, 0.5+0.5*r.Float64(), tr, y)
		deT := g.descendants(tr, nil)
		maxSize := r.IntN(5)
		maxSets := []int{1, 2, 3, 5, 100}[r.IntN(5)]
		got, ok := g.smallBackdoorSets(tr, y, obs, deT, maxSize, maxSets)
		want, truncated, err := g.separatorBackdoorSets(ctx, tr, y, obs, deT, maxSize, maxSets)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			declined++
			if truncated {
				capped++
			}
			continue
		}
		answered++
		if truncated || !reflect.DeepEqual(got, want) {
			t.Fatalf("iter %d: n=%d t=%d y=%d obs=%v maxSize=%d maxSets=%d edges=%v:\nsmall      %v\nseparators %v (truncated %v)",
				iter, n, tr, y, obs, maxSize, maxSets, g.edges, got, want, truncated)
		}
	}
	if answered < 3000 || declined < 100 || capped < 20 {
		t.Fatalf("coverage: %d answered, %d declined (%d of them truncated by the general path)", answered, declined, capped)
	}
	t.Logf("%d answered, %d declined (%d truncated by the general path)", answered, declined, capped)
}
