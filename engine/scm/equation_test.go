package scm

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// evalScalar evaluates src with scalar bindings (identifier → value).
func evalScalar(t testing.TB, src string, env map[string]float64) float64 {
	t.Helper()
	eq, err := ParseEquation(src)
	if err != nil {
		t.Fatalf("ParseEquation(%q): %v", src, err)
	}
	vars := make([]value, len(eq.idents))
	for i, id := range eq.idents {
		v, ok := env[id]
		if !ok {
			t.Fatalf("%q: unbound %s", src, id)
		}
		vars[i] = scalar(v)
	}
	ev := &evaluator{n: 1}
	return ev.run(eq, eq.lits, vars).at(0)
}

func TestEquationAccepted(t *testing.T) {
	env := map[string]float64{"x": 3, "y": -2, "Price": 50, "_a1": 0.25}
	nan := math.NaN()
	for _, c := range []struct {
		src  string
		want float64
	}{
		{"10000 + 500 * Price", 35000},
		{"-x**2", -9}, // grammar: -x**2 = -(x**2)
		{"(-x)**2", 9},
		{"2**3**2", 512}, // right-associative
		{"2*-x**2", -18},
		{"x**-1", 1.0 / 3},
		{"-x*2", -6},
		{"+x", 3},
		{"- -x", 3},
		{"10 - 4 - 3", 3}, // left-associative
		{"12 / 3 / 2", 2},
		{"1 + 2 * 3 - 4 / 5", 1 + 6 - 0.8},
		{".5 * x", 1.5},
		{"1e3 + 1E-3", 1000.001},
		{"1. + x", 4},
		{"sqrt(16) + exp(0) + log(1) + abs(y)", 7},
		{"np.sqrt(16) + np.exp(0) + np.log(1) + np.abs(y)", 7},
		{"max(x, y) + min(x, y)", 1},
		{"np.maximum(x, y) * np.minimum(x, y)", -6},
		{"max(1, 2**3)", 8},
		{"_a1 * 4", 1},
		{"x / 0", math.Inf(1)},
		{"-x / 0", math.Inf(-1)},
		{"log(0)", math.Inf(-1)},
		{"sqrt(y)", nan},
		{"max(sqrt(y), 1)", nan}, // numpy.maximum propagates NaN
		{"min(1, sqrt(y))", nan},
		{"1e400", math.Inf(1)}, // Python float('1e400')
		{"(-8) ** (1/3)", nan},
		{"  x\t+\n1 ", 4},
	} {
		t.Run(c.src, func(t *testing.T) {
			got := evalScalar(t, c.src, env)
			if !(got == c.want || (math.IsNaN(got) && math.IsNaN(c.want)) || math.Abs(got-c.want) <= 1e-12*math.Abs(c.want)) {
				t.Fatalf("%s = %v, want %v", c.src, got, c.want)
			}
		})
	}
}

func TestEquationIdentsAndLiterals(t *testing.T) {
	eq, err := ParseEquation("10 + 2*X + 3*Z - X/4 + np.maximum(Z, 0.5)")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(eq.Identifiers(), ","); got != "X,Z" {
		t.Errorf("idents %s", got)
	}
	want := []float64{10, 2, 3, 4, 0.5}
	got := eq.Literals()
	if len(got) != len(want) {
		t.Fatalf("literals %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("literals %v, want %v", got, want)
		}
	}
}

func hostileEquations() []string {
	return []string{
		"", " ", "__import__('os')", `__import__("os").system("id")`, `"a"+"b"`, "'a'", "x[0]", "x[1:2]", "len(x)",
		"x ? 1 : 2", "x == 1", "x != 1", "x < 1", "x >= 1", "1..3", "np.sum(x)", "foo(x)", "x.y", "x.y.z",
		"sqrt(1,2)", "max(1)", "max(1,2,3)", "min()", "abs(1,2)", "sqrt()", "np.sqrt", "np.sqrt(1,2)",
		"np.maximum(1)", "np?.sqrt(x)", "np.np.sqrt(x)", "x ^ 2", "x % 2", "x // 2", "x *** 2", "x ** ", "(x",
		"x)", "x,y", "x; y", "let a = 1; a", "x | upper()", "true", "false", "nil", "not x", "x and y", "x or y",
		"x in y", "x ?? 1", "$env", "$env.x", "{a: 1}", "[1, 2]", "#", ".x", "x.", "0x10", "1_000", "0b101",
		"1e3x", "1e", "1e+", "3x", "x\\y", "map(x, # + 1)", "filter(x, true)", "if x { 1 } else { 2 }",
		"lambda: 1", "x if y else z", "ε + 1", "x·y", "max(x, y)(1)", "(sqrt)(1)(2)", "abs(x)[0]",
		"x @ y", "x & y", "~x", "!x", "x = 1", "np.e", "np.pi", "exp(x).real", "sqrt(x)?.y",
		strings.Repeat("(", 300) + "x" + strings.Repeat(")", 300),
		strings.Repeat("-", 300) + "x",
		strings.Repeat("x+", 600) + "x", // > 1 KiB
	}
}

func TestEquationHostile(t *testing.T) {
	for _, src := range hostileEquations() {
		t.Run(src, func(t *testing.T) {
			eq, err := ParseEquation(src)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseEquation(%q) = %v, %v; want InputError", src, eq, err)
			}
			if ie.Error() != "Invalid equation: "+src || ie.InputError() != ie.Error() {
				t.Fatalf("message %q", ie.Error())
			}
		})
	}
}

func TestEquationDepthLimit(t *testing.T) {
	ok := strings.Repeat("(", 100) + "x" + strings.Repeat(")", 100)
	if _, err := ParseEquation(ok); err != nil {
		t.Fatalf("depth 100 rejected: %v", err)
	}
	// A function name is a valid IDENT when not called (it is then an ordinary variable).
	if eq, err := ParseEquation("sqrt + 1"); err != nil || eq.Identifiers()[0] != "sqrt" {
		t.Fatalf("sqrt as identifier: %v", err)
	}
	long := strings.Repeat("x+", 500) + "x" // 1001 bytes: within 1 KiB, 501 terms
	if len(long) > MaxEquationBytes {
		t.Fatal("test input too long")
	}
	if _, err := ParseEquation(long); err == nil {
		t.Fatal("500-term left-deep sum accepted despite the depth cap")
	}
	sum := strings.Repeat("x+", 200) + "x"
	if _, err := ParseEquation(sum); err != nil {
		t.Fatalf("200-term sum rejected: %v", err)
	}
}

// FuzzParseEquation: never panics; accepted equations evaluate without panic to IEEE values, and
// vector evaluation agrees with scalar evaluation sample by sample.
func FuzzParseEquation(f *testing.F) {
	for _, s := range hostileEquations() {
		f.Add(s)
	}
	for _, s := range []string{"10000 + 500 * Price", "-x**2", "np.maximum(x, y) / (y - 1)", "log(abs(x)) ** 0.5",
		"max(min(x, 1), -1e308 * 10)", "x / (y - y)", "exp(exp(exp(x)))", "1e400 - 1e400"} {
		f.Add(s)
	}
	xs := []float64{0, -1, 2.5, math.Inf(1), math.NaN(), 1e308, math.Copysign(0, -1)} // -0.0 would be +0 in Go
	f.Fuzz(func(t *testing.T, src string) {
		eq, err := ParseEquation(src)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Msg != "Invalid equation: "+src {
				t.Fatalf("non-input error %v", err)
			}
			return
		}
		ev := &evaluator{n: len(xs)}
		vars := make([]value, len(eq.idents))
		for i := range vars {
			v := make([]float64, len(xs))
			for k := range v {
				v[k] = xs[(k+i)%len(xs)]
			}
			vars[i] = value{v: v}
		}
		vec := ev.run(eq, eq.lits, vars)
		for k := range xs {
			sv := make([]value, len(vars))
			for i := range vars {
				sv[i] = scalar(vars[i].v[k])
			}
			s := (&evaluator{n: 1}).run(eq, eq.lits, sv).at(0)
			g := vec.at(k)
			if !(g == s || (math.IsNaN(g) && math.IsNaN(s))) {
				t.Fatalf("%q sample %d: vector %v, scalar %v", src, k, g, s)
			}
		}
	})
}
