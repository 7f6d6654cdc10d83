package scm

import (
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Limits on equations (docs/api.md#limits). They bound parser recursion and evaluation cost; the byte cap alone
// already bounds the node count, the depth cap rejects pathological nesting such as 300 "(".
const (
	MaxEquationBytes = 1024
	MaxEquations     = 200
	MaxSamples       = 100000
	// MaxDistributions caps the sampled variables: each costs Samples draws and a vector of
	// Samples floats, so an uncapped map (17 900 in 1 MB) made one request allocate 2.8 GB.
	MaxDistributions = 200
	// MaxSampleCells is the per-request memory budget of a simulation: Samples × (distributions +
	// equations) vectors entries, 8 bytes each (4 M cells = 32 MB per copy of the world; the
	// base run plus the re-run pool stay under ~100 MB). The default 10 000 samples admit the
	// full 200 + 200 variables; a larger MAX_MONTE_CARLO_ITERATIONS admits proportionally fewer.
	MaxSampleCells = 4_000_000
	maxNodes       = 1024
	maxDepth       = 256
)

type opcode uint8

const (
	opLit opcode = iota
	opVar
	opNeg
	opAdd
	opSub
	opMul
	opDiv
	opPow
	opSqrt
	opExp
	opLog
	opAbs
	opMax
	opMin
)

// node is one operation of a compiled equation. Literals and variables are referenced by index so
// the same tree can be evaluated with perturbed literals (robustness) or other bindings.
type node struct {
	op   opcode
	idx  int // literal index (opLit) or identifier index (opVar)
	a, b *node
}

// Equation is a parsed and whitelisted structural equation (docs/api.md#equation-grammar). It holds no executable user
// code: the tree only contains the arithmetic operations listed in the grammar.
type Equation struct {
	src    string
	root   *node
	idents []string  // distinct identifiers in order of first occurrence
	lits   []float64 // numeric literals in source order
	size   int       // AST nodes (cost model for re-runs)
}

// Source returns the equation text as given.
func (e *Equation) Source() string { return e.src }

// Identifiers returns the distinct variable names the equation reads, in order of first occurrence.
func (e *Equation) Identifiers() []string { return append([]string(nil), e.idents...) }

// Literals returns the numeric literals in source order (negation is an operator, so `-5` gives 5).
func (e *Equation) Literals() []float64 { return append([]float64(nil), e.lits...) }

var funcs1 = map[string]opcode{
	"sqrt": opSqrt, "exp": opExp, "log": opLog, "abs": opAbs,
	"np.sqrt": opSqrt, "np.exp": opExp, "np.log": opLog, "np.abs": opAbs,
}

var funcs2 = map[string]opcode{"max": opMax, "min": opMin, "np.maximum": opMax, "np.minimum": opMin}

// ParseEquation validates src against the docs/api.md#equation-grammar grammar and compiles it. Any failure is an
// *InputError with message `Invalid equation: {src}`.
//
// Two layers: a hand-written scanner admits only the grammar's tokens (so expr-specific syntax
// such as strings, brackets, `?`, `|`, `^`, `%`, `==`, `;`, hex or `1_000` literals never reaches
// expr) and replaces each number by `0` after parsing it with strconv (Python float semantics:
// `1e400` is +Inf); expr's parser then builds the AST, which is walked with a strict whitelist.
func ParseEquation(src string) (*Equation, error) {
	bad := &InputError{Msg: "Invalid equation: " + src}
	if len(src) > MaxEquationBytes {
		return nil, bad
	}
	masked, lits, ok := scan(src)
	if !ok {
		return nil, bad
	}
	tree, err := parser.Parse(masked)
	if err != nil || tree == nil || tree.Node == nil {
		return nil, bad
	}
	c := compiler{lits: lits, identIdx: map[string]int{}}
	root, ok := c.walk(tree.Node, 0)
	if !ok || c.nextLit != len(lits) {
		return nil, bad
	}
	return &Equation{src: src, root: root, idents: c.idents, lits: lits, size: c.nodes}, nil
}

// scan checks the token alphabet of the grammar and masks number literals.
func scan(s string) (string, []float64, bool) {
	var b strings.Builder
	var lits []float64
	i := 0
	depth := 0
	prevNP := false // the previous token is the identifier np, directly before this byte
	for i < len(s) {
		c := s[i]
		wasNP := prevNP
		prevNP = false
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			b.WriteByte(c)
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			b.WriteString(s[i:j])
			prevNP = s[i:j] == "np"
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if j < len(s) && s[j] == '.' {
				j++
				for j < len(s) && isDigit(s[j]) {
					j++
				}
			}
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k >= len(s) || !isDigit(s[k]) {
					return "", nil, false
				}
				for k < len(s) && isDigit(s[k]) {
					k++
				}
				j = k
			}
			// A number glued to a letter, digit group separator or another dot is not in the
			// grammar (`1e3x`, `1_000`, `1..3`, `0x10` is caught here via 'x').
			if j < len(s) && (isIdentChar(s[j]) || s[j] == '.') {
				return "", nil, false
			}
			v, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil && !isRangeErr(err) {
				return "", nil, false
			}
			lits = append(lits, v)
			b.WriteByte('0')
			i = j
		case c == '(' || c == ')':
			// Parentheses leave no AST node; their nesting is capped here instead.
			if c == '(' {
				depth++
			} else {
				depth--
			}
			if depth > maxDepth {
				return "", nil, false
			}
			b.WriteByte(c)
			i++
		case c == '+' || c == '-' || c == '/' || c == ',':
			b.WriteByte(c)
			i++
		case c == '*':
			// `*` or `**`; `***` would be rejected by expr anyway.
			b.WriteByte(c)
			i++
		case c == '.':
			// Only the member access of np.<func>: previous token must be the identifier np.
			if !wasNP || i+1 >= len(s) || !isIdentStart(s[i+1]) {
				return "", nil, false
			}
			b.WriteByte(c)
			i++
		default:
			return "", nil, false
		}
	}
	return b.String(), lits, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

type compiler struct {
	lits     []float64
	nextLit  int
	nodes    int
	idents   []string
	identIdx map[string]int
}

// reserved are words expr gives meaning to; they cannot be variable references.
var reserved = map[string]bool{
	"true": true, "false": true, "nil": true, "not": true, "and": true, "or": true, "in": true,
	"matches": true, "contains": true, "startsWith": true, "endsWith": true, "let": true, "if": true,
	"else": true, "np": true, "$env": true,
}

func (c *compiler) walk(n ast.Node, depth int) (*node, bool) {
	c.nodes++
	if depth > maxDepth || c.nodes > maxNodes || n == nil {
		return nil, false
	}
	switch t := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		// Every number was masked to `0` by scan; literals are consumed in source order, which
		// is the order of this left-to-right walk for the whitelisted node shapes.
		if c.nextLit >= len(c.lits) {
			return nil, false
		}
		nd := &node{op: opLit, idx: c.nextLit}
		c.nextLit++
		return nd, true
	case *ast.IdentifierNode:
		if reserved[t.Value] || !validIdent(t.Value) {
			return nil, false
		}
		i, ok := c.identIdx[t.Value]
		if !ok {
			i = len(c.idents)
			c.identIdx[t.Value] = i
			c.idents = append(c.idents, t.Value)
		}
		return &node{op: opVar, idx: i}, true
	case *ast.UnaryNode:
		a, ok := c.walk(t.Node, depth+1)
		if !ok {
			return nil, false
		}
		switch t.Operator {
		case "-":
			return &node{op: opNeg, a: a}, true
		case "+":
			return a, true
		}
		return nil, false
	case *ast.BinaryNode:
		var op opcode
		switch t.Operator {
		case "+":
			op = opAdd
		case "-":
			op = opSub
		case "*":
			op = opMul
		case "/":
			op = opDiv
		case "**":
			op = opPow
		default:
			return nil, false
		}
		a, ok := c.walk(t.Left, depth+1)
		if !ok {
			return nil, false
		}
		b, ok := c.walk(t.Right, depth+1)
		if !ok {
			return nil, false
		}
		return &node{op: op, a: a, b: b}, true
	case *ast.CallNode:
		name, ok := calleeName(t.Callee)
		if !ok {
			return nil, false
		}
		return c.call(name, t.Arguments, depth)
	case *ast.BuiltinNode:
		// expr turns abs/max/min (and len, etc.) into builtins; only the grammar's names pass.
		if t.Map != nil || t.Threshold != nil {
			return nil, false
		}
		return c.call(t.Name, t.Arguments, depth)
	}
	return nil, false
}

// calleeName accepts `f(...)` and `np.f(...)`; expr parses the latter as a method call on the
// identifier np (MemberNode{Node: Identifier np, Property: String f, Method: true}).
func calleeName(callee ast.Node) (string, bool) {
	switch t := callee.(type) {
	case *ast.IdentifierNode:
		return t.Value, true
	case *ast.MemberNode:
		id, ok := t.Node.(*ast.IdentifierNode)
		if !ok || id.Value != "np" || t.Optional {
			return "", false
		}
		p, ok := t.Property.(*ast.StringNode)
		if !ok {
			return "", false
		}
		return "np." + p.Value, true
	}
	return "", false
}

func (c *compiler) call(name string, args []ast.Node, depth int) (*node, bool) {
	if op, ok := funcs1[name]; ok && len(args) == 1 {
		a, ok := c.walk(args[0], depth+1)
		if !ok {
			return nil, false
		}
		return &node{op: op, a: a}, true
	}
	if op, ok := funcs2[name]; ok && len(args) == 2 {
		a, ok := c.walk(args[0], depth+1)
		if !ok {
			return nil, false
		}
		b, ok := c.walk(args[1], depth+1)
		if !ok {
			return nil, false
		}
		return &node{op: op, a: a, b: b}, true
	}
	return nil, false
}

func validIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}
