package dag

import "math/bits"

// smallCandidates is the most candidate vertices for which smallBackdoorSets enumerates subsets:
// with the default size cap 3 at most 299 of them, each checked by two bitmask searches —
// microseconds, against the separator machinery's tens of allocations on the graphs most
// requests send.
const smallCandidates = 12

// smallBackdoorSets is backdoorSets for small graphs (at most 64 nodes, at most smallCandidates
// allowed vertices in the separator graph H), by brute force over bitmasks: H is built as
// backdoorSepGraph builds it (the moral graph of G_t̲[An({t,y})], forbidden vertices eliminated),
// then every subset of the candidates of at most maxSize members is tried and kept when it is a
// minimal t–y separator (t and y lie in full components of H − Z: every member of Z touches
// both). The answer is backdoorSets' — all minimal sets of size ≤ maxSize, sorted by size then
// index; nil when no set exists — and ok=false, for the general path, when the graph is too
// large, when there are more than maxSets sets (it truncates them) and when every set is larger
// than maxSize (it lists the smallest).
func (g *Graph) smallBackdoorSets(t, y int, obs, deT []bool, maxSize, maxSets int) (sets [][]int, ok bool) {
	n := len(g.names)
	if n > 64 {
		return nil, false
	}
	bit := func(v int) uint64 { return 1 << uint(v) }
	// An({t, y}) in G_t̲ (G without t's outgoing edges) — t being a seed, the same set as in G —
	// and its moral graph, where t's out-edges are left out.
	an := bit(t) | bit(y)
	for todo := an; todo != 0; {
		v := bits.TrailingZeros64(todo)
		todo &^= bit(v)
		for _, p := range g.parents[v] {
			if an&bit(p) == 0 { // t is in from the start: its out-edges are cut below
				an |= bit(p)
				todo |= bit(p)
			}
		}
	}
	var adj [64]uint64
	for m := an; m != 0; m &= m - 1 {
		v := bits.TrailingZeros64(m)
		var ps uint64
		for _, p := range g.parents[v] {
			if p != t {
				ps |= bit(p)
			}
		}
		adj[v] |= ps
		for q := ps; q != 0; q &= q - 1 {
			p := bits.TrailingZeros64(q)
			adj[p] |= bit(v) | ps&^bit(p) // p's child v and its co-parents
		}
	}
	// Eliminate the forbidden vertices (latent, descendants of t): their neighbours become
	// adjacent, so separations by allowed sets are those of the moral graph.
	var allowed uint64
	for m := an &^ (bit(t) | bit(y)); m != 0; m &= m - 1 {
		if v := bits.TrailingZeros64(m); obs[v] && !deT[v] {
			allowed |= bit(v)
		}
	}
	for m := an &^ allowed &^ (bit(t) | bit(y)); m != 0; m &= m - 1 {
		f := bits.TrailingZeros64(m)
		nb := adj[f]
		for q := nb; q != 0; q &= q - 1 {
			u := bits.TrailingZeros64(q)
			adj[u] = (adj[u] | nb) &^ (bit(u) | bit(f))
		}
		adj[f] = 0
	}
	var cand [smallCandidates]int
	c := 0
	for m := allowed; m != 0; m &= m - 1 {
		v := bits.TrailingZeros64(m)
		if adj[v] == 0 {
			continue // isolated in H: in no minimal separator
		}
		if c == smallCandidates {
			return nil, false
		}
		cand[c] = v
		c++
	}
	reach := func(from int, avoid uint64) uint64 {
		seen := bit(from)
		for front := seen; front != 0; {
			var next uint64
			for q := front; q != 0; q &= q - 1 {
				next |= adj[bits.TrailingZeros64(q)]
			}
			front = next &^ seen &^ avoid
			seen |= front
		}
		return seen
	}
	minimal := func(z uint64) bool {
		ct := reach(t, z)
		if ct&bit(y) != 0 {
			return false
		}
		cy := reach(y, z)
		for q := z; q != 0; q &= q - 1 {
			if a := adj[bits.TrailingZeros64(q)]; a&ct == 0 || a&cy == 0 {
				return false
			}
		}
		return true
	}
	if adj[t]&bit(y) != 0 {
		return nil, true // no set separates adjacent terminals: no back-door set exists
	}
	var found []uint32 // subsets of cand, as masks over its positions
	for size := 0; size <= min(c, maxSize); size++ {
		// Every size-element subset of the c candidates (Gosper's hack).
		for x := uint32(1)<<size - 1; x < 1<<c; {
			var z uint64
			for q := x; q != 0; q &= q - 1 {
				z |= bit(cand[bits.TrailingZeros32(q)])
			}
			if minimal(z) {
				if len(found) == maxSets {
					return nil, false
				}
				found = append(found, x)
			}
			if x == 0 {
				break
			}
			low := x & -x
			r := x + low
			x = (x^r)>>(2+bits.TrailingZeros32(low)) | r
		}
	}
	if len(found) == 0 {
		// Every set is larger than maxSize (t and y are not adjacent, so the candidates
		// separate them): the general path finds the smallest by max-flow instead of trying
		// the 2^c subsets.
		return nil, false
	}
	total := 0
	for _, x := range found {
		total += bits.OnesCount32(x)
	}
	flat := make([]int, 0, total)
	sets = make([][]int, len(found))
	for i, x := range found {
		k := len(flat)
		for q := x; q != 0; q &= q - 1 {
			flat = append(flat, cand[bits.TrailingZeros32(q)])
		}
		sets[i] = flat[k:len(flat):len(flat)]
	}
	sortSets(sets)
	return sets, true
}
