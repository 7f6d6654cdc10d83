package dag

import "strings"

// Implication is a conditional independence X ⫫ Y | Given implied by the DAG.
type Implication struct {
	X     string   `json:"x"`
	Y     string   `json:"y"`
	Given []string `json:"given"`
}

// String renders DAGitty style: "X _||_ Y | A, B" (no "|" part when Given is empty).
func (im Implication) String() string {
	s := im.X + " _||_ " + im.Y
	if len(im.Given) > 0 {
		s += " | " + strings.Join(im.Given, ", ")
	}
	return s
}

// Implications lists one conditional independence per non-adjacent pair of nodes (X before Y in
// node order, pairs in node order), like DAGitty's impliedConditionalIndependencies basis: Given is
// a minimal d-separator of X and Y — the smaller of the separators closest to X and closest to Y
// (ties: the lexicographically first by node index), listed in node order. Every non-adjacent pair
// of a DAG has a separator, so each pair appears. limit ≤ 0 lists all pairs.
func (g *Graph) Implications(limit int) []Implication {
	var out []Implication
	n := len(g.names)
	ps := g.newPairScratch()
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if g.adjacent(i, j) {
				continue
			}
			if limit > 0 && len(out) >= limit {
				return out
			}
			zi, zj, ok := g.closestSeparators(ps, i, j)
			if !ok {
				continue // impossible for non-adjacent nodes of a DAG; kept for safety
			}
			z := zi
			if lessSet(zj, zi) {
				z = zj
			}
			out = append(out, Implication{X: g.names[i], Y: g.names[j], Given: g.namesOf(z)})
		}
	}
	return out
}
