package scm

import "math"

// value is a scalar (v == nil) or a vector of n samples. owned vectors are temporaries of the
// evaluator that may be overwritten in place; others (variable bindings) are read-only.
type value struct {
	s     float64
	v     []float64
	owned bool
}

func scalar(x float64) value { return value{s: x} }

func (x value) isScalar() bool { return x.v == nil }

// at returns sample i (scalars broadcast).
func (x value) at(i int) float64 {
	if x.v == nil {
		return x.s
	}
	return x.v[i]
}

// vector returns the samples as a fresh or shared slice of length n (never to be mutated).
func (x value) vector(n int) []float64 {
	if x.v != nil {
		return x.v
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = x.s
	}
	return out
}

// evaluator runs compiled equations element-wise over n samples. Intermediate vectors come from a
// free list so an equation allocates at most one result vector.
type evaluator struct {
	n    int
	free [][]float64
	// pool, if set, supplies and takes back buffers across evaluations (re-runs): touching fresh
	// memory for every 80 KB vector costs more than the arithmetic.
	pool *bufPool
	// fresh collects the result vectors handed out by run, for a caller that recycles them.
	fresh [][]float64
}

// bufPool recycles vectors of capacity size (used with any length ≤ size).
type bufPool struct {
	size int
	bufs [][]float64
}

func (p *bufPool) get(n int) []float64 {
	if k := len(p.bufs); k > 0 {
		b := p.bufs[k-1]
		p.bufs = p.bufs[:k-1]
		return b[:n]
	}
	return make([]float64, n, max(n, p.size))
}

func (p *bufPool) put(b []float64) {
	if cap(b) >= p.size {
		p.bufs = append(p.bufs, b[:p.size])
	}
}

// recycle returns the evaluator's temporaries and the results it handed out to the pool. Only
// for re-runs whose results are no longer referenced.
func (e *evaluator) recycle() {
	if e.pool == nil {
		return
	}
	for _, b := range e.free {
		e.pool.put(b)
	}
	for _, b := range e.fresh {
		e.pool.put(b)
	}
	e.free, e.fresh = nil, nil
}

func (e *evaluator) buf() []float64 {
	if k := len(e.free); k > 0 {
		b := e.free[k-1]
		e.free = e.free[:k-1]
		return b
	}
	if e.pool != nil {
		return e.pool.get(e.n)
	}
	return make([]float64, e.n)
}

func (e *evaluator) release(x value) {
	if x.owned {
		e.free = append(e.free, x.v)
	}
}

// run evaluates eq with the given literal values and identifier bindings (indexed like
// eq.idents). The result is scalar when the equation depends on no vector.
func (e *evaluator) run(eq *Equation, lits []float64, vars []value) value {
	r := e.eval(eq.root, lits, vars)
	if r.owned {
		// The caller keeps the result; it is no temporary any more.
		r.owned = false
		if e.pool != nil {
			e.fresh = append(e.fresh, r.v)
		}
	}
	return r
}

func (e *evaluator) eval(nd *node, lits []float64, vars []value) value {
	switch nd.op {
	case opLit:
		return scalar(lits[nd.idx])
	case opVar:
		v := vars[nd.idx]
		v.owned = false
		return v
	case opNeg, opSqrt, opExp, opLog, opAbs:
		a := e.eval(nd.a, lits, vars)
		f := unaryFunc(nd.op)
		if a.isScalar() {
			return scalar(f(a.s))
		}
		out := e.dst1(a)
		switch nd.op {
		case opNeg:
			for i, x := range a.v {
				out[i] = -x
			}
		case opAbs:
			for i, x := range a.v {
				out[i] = math.Abs(x)
			}
		default:
			for i, x := range a.v {
				out[i] = f(x)
			}
		}
		return value{v: out, owned: true}
	}
	a := e.eval(nd.a, lits, vars)
	b := e.eval(nd.b, lits, vars)
	if a.isScalar() && b.isScalar() {
		return scalar(binaryFunc(nd.op)(a.s, b.s))
	}
	out := e.dst2(a, b)
	switch {
	case !a.isScalar() && !b.isScalar():
		av, bv := a.v, b.v[:len(a.v)]
		out = out[:len(av)]
		switch nd.op {
		case opAdd:
			for i := range av {
				out[i] = av[i] + bv[i]
			}
		case opSub:
			for i := range av {
				out[i] = av[i] - bv[i]
			}
		case opMul:
			for i := range av {
				out[i] = av[i] * bv[i]
			}
		case opDiv:
			for i := range av {
				out[i] = av[i] / bv[i]
			}
		default:
			f := binaryFunc(nd.op)
			for i := range av {
				out[i] = f(av[i], bv[i])
			}
		}
	case a.isScalar():
		s, bv := a.s, b.v
		switch nd.op {
		case opAdd:
			for i, x := range bv {
				out[i] = s + x
			}
		case opSub:
			for i, x := range bv {
				out[i] = s - x
			}
		case opMul:
			for i, x := range bv {
				out[i] = s * x
			}
		case opDiv:
			for i, x := range bv {
				out[i] = s / x
			}
		default:
			f := binaryFunc(nd.op)
			for i, x := range bv {
				out[i] = f(s, x)
			}
		}
	default:
		av, s := a.v, b.s
		switch nd.op {
		case opAdd:
			for i, x := range av {
				out[i] = x + s
			}
		case opSub:
			for i, x := range av {
				out[i] = x - s
			}
		case opMul:
			for i, x := range av {
				out[i] = x * s
			}
		case opDiv:
			for i, x := range av {
				out[i] = x / s
			}
		default:
			f := binaryFunc(nd.op)
			for i, x := range av {
				out[i] = f(x, s)
			}
		}
	}
	return value{v: out, owned: true}
}

// dst1 picks the output buffer for a unary op on vector a: a itself if it is a temporary.
func (e *evaluator) dst1(a value) []float64 {
	if a.owned {
		return a.v
	}
	return e.buf()
}

// dst2 picks the output buffer for a binary op (at least one operand is a vector) and returns
// the other temporary, if any, to the free list. Writing out[i] after reading a[i], b[i] makes
// in-place reuse safe.
func (e *evaluator) dst2(a, b value) []float64 {
	switch {
	case a.owned:
		e.release(b)
		return a.v
	case b.owned:
		return b.v
	}
	return e.buf()
}

func unaryFunc(op opcode) func(float64) float64 {
	switch op {
	case opNeg:
		return func(x float64) float64 { return -x }
	case opSqrt:
		return math.Sqrt
	case opExp:
		return math.Exp
	case opLog:
		return math.Log
	case opAbs:
		return math.Abs
	}
	panic("scm: not a unary opcode")
}

func binaryFunc(op opcode) func(float64, float64) float64 {
	switch op {
	case opAdd:
		return func(x, y float64) float64 { return x + y }
	case opSub:
		return func(x, y float64) float64 { return x - y }
	case opMul:
		return func(x, y float64) float64 { return x * y }
	case opDiv:
		return func(x, y float64) float64 { return x / y }
	case opPow:
		return math.Pow
	case opMax:
		return npMax
	case opMin:
		return npMin
	}
	panic("scm: not a binary opcode")
}

// npMax and npMin follow numpy.maximum/minimum: NaN if either argument is NaN.
func npMax(x, y float64) float64 {
	if x != x || y != y {
		return math.NaN()
	}
	if x >= y {
		return x
	}
	return y
}

func npMin(x, y float64) float64 {
	if x != x || y != y {
		return math.NaN()
	}
	if x <= y {
		return x
	}
	return y
}
