package dag

import (
	"slices"
	"strings"
)

// Estimands: symbolic formulas over observed variables, built by the identification methods and
// rendered as strings such as "Σ_{Z} P(Y|X,Z) P(Z)". Variables are node indices of the canonical
// graph; a variable is its own value (X in P(Y|X) is the intervention value, a summed variable
// ranges over its values). A sum that rebinds a variable already in scope (the front-door
// formula's inner Σ over the treatment) prints it primed: X'.
type expr interface{ free(mark []bool) }

// eProb is the observational P(vars | cond).
type eProb struct{ vars, cond []int }

// eSum is Σ_over body.
type eSum struct {
	over []int
	body expr
}

// eProd is a product; the empty product is 1.
type eProd struct{ fs []expr }

// eFrac is num / den.
type eFrac struct{ num, den expr }

func (e eProb) free(m []bool) {
	for _, v := range e.vars {
		m[v] = true
	}
	for _, v := range e.cond {
		m[v] = true
	}
}

func (e eSum) free(m []bool) {
	inner := make([]bool, len(m))
	e.body.free(inner)
	for _, v := range e.over {
		inner[v] = false
	}
	for v, ok := range inner {
		if ok {
			m[v] = true
		}
	}
}

func (e eProd) free(m []bool) {
	for _, f := range e.fs {
		f.free(m)
	}
}

func (e eFrac) free(m []bool) { e.num.free(m); e.den.free(m) }

// sum builds Σ_over body with the simplifications that keep formulas readable: Σ over nothing is
// the body; nested sums over disjoint variables merge; in a product, a summed variable that only
// one factor P(A|C) mentions, inside A, is marginalised there (Σ_a P(a,B|C) = P(B|C)); factors
// not mentioning a summed variable move out of the sum.
func sum(n int, over []int, body expr) expr {
	if len(over) == 0 {
		return body
	}
	if in, ok := body.(eSum); ok && !intersects(over, in.over) {
		return sum(n, append(append([]int(nil), over...), in.over...), in.body)
	}
	fs := []expr{body}
	if p, ok := body.(eProd); ok {
		fs = append([]expr(nil), p.fs...)
	}
	// masks[i] marks the variables factor i mentions: computed once per factor (and again for a
	// factor marginalised below) in one array, not once per factor and summed variable.
	buf := make([]bool, n*len(fs))
	masks := make([][]bool, len(fs))
	mask := func(i int) {
		masks[i] = buf[i*n : (i+1)*n]
		clear(masks[i])
		fs[i].free(masks[i])
	}
	for i := range fs {
		mask(i)
	}
	var left []int
	for _, v := range over {
		only, count := -1, 0
		for i := range fs {
			if masks[i][v] {
				only, count = i, count+1
			}
		}
		if count == 0 {
			left = append(left, v) // Σ_v of a constant: keep it (never built by the algorithms)
			continue
		}
		if p, ok := fs[only].(eProb); ok && count == 1 && contains(p.vars, v) && !contains(p.cond, v) {
			if rest := minus(p.vars, []int{v}); len(rest) > 0 {
				fs[only] = eProb{vars: rest, cond: p.cond}
			} else {
				fs[only] = eProd{}
			}
			mask(only)
			continue
		}
		left = append(left, v)
	}
	if len(left) == 0 {
		return prod(fs...)
	}
	var in, out []expr
	for i, f := range fs {
		m := masks[i]
		hit := false
		for _, v := range left {
			hit = hit || m[v]
		}
		if hit {
			in = append(in, f)
		} else {
			out = append(out, f)
		}
	}
	inner := eSum{over: left, body: prod(in...)}
	if len(out) == 0 {
		return inner
	}
	return prod(append(out, inner)...)
}

// prod flattens nested products and drops factors equal to 1.
func prod(fs ...expr) expr {
	size := 0
	for _, f := range fs {
		if p, ok := f.(eProd); ok {
			size += len(p.fs)
		} else {
			size++
		}
	}
	out := make([]expr, 0, size)
	for _, f := range fs {
		if p, ok := f.(eProd); ok {
			out = append(out, p.fs...)
			continue
		}
		out = append(out, f)
	}
	if len(out) == 1 {
		return out[0]
	}
	return eProd{fs: out}
}

func subset(a, b []int) bool {
	for _, v := range a {
		if !contains(b, v) {
			return false
		}
	}
	return true
}

func intersects(a, b []int) bool {
	for _, v := range a {
		if contains(b, v) {
			return true
		}
	}
	return false
}

func contains(a []int, v int) bool {
	for _, w := range a {
		if w == v {
			return true
		}
	}
	return false
}

func minus(a, b []int) []int {
	var out []int
	for _, v := range a {
		if !contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// render prints e with the graph's names; free variables are in scope from the start. Names are
// written straight into one builder (no string per name, list or factor): the rendering was a
// fifth of a small request's allocations.
func (g *Graph) render(e expr) string {
	free := make([]bool, len(g.names))
	e.free(free)
	primes := make([]int, len(g.names))
	for v, ok := range free {
		if !ok {
			primes[v] = -1
		}
	}
	var b strings.Builder
	b.Grow(64)
	g.renderTo(&b, e, primes, false)
	return b.String()
}

// renderTo writes e; primes[v] is the number of primes v carries in the current scope (-1: not in
// scope). inProd wraps sums and fractions that are factors of a product.
func (g *Graph) renderTo(b *strings.Builder, e expr, primes []int, inProd bool) {
	name := func(v int) {
		b.WriteString(g.names[v])
		for range primes[v] {
			b.WriteByte('\'')
		}
	}
	names := func(vs []int) { // in the given order
		for i, v := range vs {
			if i > 0 {
				b.WriteByte(',')
			}
			name(v)
		}
	}
	sorted := func(vs []int) { // in index (canonical: name) order
		if !slices.IsSorted(vs) {
			vs = slices.Sorted(slices.Values(vs))
		}
		names(vs)
	}
	switch e := e.(type) {
	case eProb:
		b.WriteString("P(")
		sorted(e.vars)
		if len(e.cond) > 0 {
			b.WriteByte('|')
			names(e.cond) // given order: the treatment first in the standard formulas
		}
		b.WriteByte(')')
	case eProd:
		if len(e.fs) == 0 {
			b.WriteString("1")
			return
		}
		for i, f := range e.fs {
			if i > 0 {
				b.WriteString(" ")
			}
			g.renderTo(b, f, primes, true)
		}
	case eSum:
		if inProd {
			b.WriteString("[")
		}
		for _, v := range e.over {
			primes[v]++ // out of scope (-1) → 0 primes; in scope → one more
		}
		b.WriteString("Σ_{")
		sorted(e.over)
		b.WriteString("} ")
		g.renderTo(b, e.body, primes, false)
		for _, v := range e.over {
			primes[v]-- // back to the enclosing scope
		}
		if inProd {
			b.WriteString("]")
		}
	case eFrac:
		if inProd {
			b.WriteString("(")
		}
		g.renderTo(b, e.num, primes, true)
		b.WriteString(" / ")
		g.renderTo(b, e.den, primes, true)
		if inProd {
			b.WriteString(")")
		}
	}
}
