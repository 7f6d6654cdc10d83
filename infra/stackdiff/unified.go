package stackdiff

import (
	"fmt"
	"strings"
)

// Unified returns the unified diff (3 lines of context, like `diff -u`) that turns a into b, or ""
// when they are equal. Lines are compared whole; the edit script is Myers' shortest one.
func Unified(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	la, lb := splitLines(a), splitLines(b)
	ops := myers(la, lb)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	const ctx = 3
	// Group the edit script into hunks: runs of changes with up to 2*ctx equal lines between them.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(0, i-ctx)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				end = j
				continue
			}
			if j-end > 2*ctx {
				break
			}
		}
		stop := min(len(ops), end+ctx+1)
		h := ops[start:stop]
		aStart, bStart := h[0].ai, h[0].bi
		aLen, bLen := 0, 0
		for _, o := range h {
			if o.kind != '+' {
				aLen++
			}
			if o.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, o := range h {
			out.WriteByte(o.kind)
			out.WriteString(o.text)
			out.WriteByte('\n')
		}
		i = stop
	}
	return out.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

type op struct {
	kind   byte // ' ', '-', '+'
	text   string
	ai, bi int // index of the line in a and b where this op applies
}

// maxEdits bounds the search (memory grows with its square); past it the files are shown as
// replaced wholesale.
const maxEdits = 2000

// myers computes a shortest edit script (E. Myers, "An O(ND) difference algorithm", 1986).
func myers(a, b []string) []op {
	n, m := len(a), len(b)
	maxD := n + m
	v := make([]int, 2*maxD+2)
	var trace [][]int // trace[d] holds v[-d..d] as it was before step d
	off := maxD + 1
	for d := 0; d <= min(maxD, maxEdits); d++ {
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(a, b, trace, d)
			}
		}
	}
	var out []op
	for i, l := range a {
		out = append(out, op{'-', l, i, 0})
	}
	for j, l := range b {
		out = append(out, op{'+', l, n, j})
	}
	return out
}

func backtrack(a, b []string, trace [][]int, d int) []op {
	x, y := len(a), len(b)
	var rev []op
	for ; d > 0; d-- {
		v := func(k int) int { return trace[d][k+d] }
		k := x - y
		var pk int
		if k == -d || (k != d && v(k-1) < v(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := v(pk)
		py := px - pk
		for x > px && y > py {
			x--
			y--
			rev = append(rev, op{' ', a[x], x, y})
		}
		if x == px {
			y--
			rev = append(rev, op{'+', b[y], x, y})
		} else {
			x--
			rev = append(rev, op{'-', a[x], x, y})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, op{' ', a[x], x, y})
	}
	out := make([]op, len(rev))
	for i, o := range rev {
		out[len(rev)-1-i] = o
	}
	return out
}
