package stackdiff

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n"
	b := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\n"
	want := `--- x
+++ y
@@ -1,7 +1,7 @@
 a
 b
 c
-d
+D
 e
 f
 g
@@ -9,3 +9,4 @@
 i
 j
 k
+l
`
	if got := Unified("x", "y", a, b); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if Unified("x", "y", a, a) != "" {
		t.Error("equal inputs gave a diff")
	}
	if got := Unified("x", "y", "", "new\n"); got != "--- x\n+++ y\n@@ -0,0 +1 @@\n+new\n" {
		t.Errorf("from empty: %q", got)
	}
}

// Property: applying the diff's '-'/' ' lines gives a and the '+'/' ' lines give b, and the edit
// is no longer than GNU diff's (when diff is installed, it is the oracle for the length).
func TestUnifiedProperty(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	words := []string{"a", "b", "c", "d"}
	gen := func() []string {
		n := r.Intn(30)
		out := make([]string, n)
		for i := range out {
			out[i] = words[r.Intn(len(words))]
		}
		return out
	}
	for i := 0; i < 300; i++ {
		la, lb := gen(), gen()
		ops := myers(la, lb)
		var ra, rb []string
		edits := 0
		for _, o := range ops {
			if o.kind != '+' {
				ra = append(ra, o.text)
			}
			if o.kind != '-' {
				rb = append(rb, o.text)
			}
			if o.kind != ' ' {
				edits++
			}
		}
		if strings.Join(ra, ",") != strings.Join(la, ",") || strings.Join(rb, ",") != strings.Join(lb, ",") {
			t.Fatalf("script does not reproduce inputs: %v %v", la, lb)
		}
		if lcs := lcsLen(la, lb); edits != len(la)+len(lb)-2*lcs {
			t.Fatalf("edit length %d, shortest is %d: %v → %v", edits, len(la)+len(lb)-2*lcs, la, lb)
		}
	}
	if _, err := exec.LookPath("diff"); err == nil {
		dir := t.TempDir()
		a := "x\ny\nz\n1\n2\n3\n4\n5\n6\n7\n8\nq\n"
		b := "x\nY\nz\n1\n2\n3\n4\n5\n6\n7\n8\nq\nr\n"
		os.WriteFile(filepath.Join(dir, "a"), []byte(a), 0o644)
		os.WriteFile(filepath.Join(dir, "b"), []byte(b), 0o644)
		cmd := exec.Command("diff", "-u", "--label", "a", "--label", "b", "a", "b")
		cmd.Dir = dir
		out, _ := cmd.Output()
		if got := Unified("a", "b", a, b); got != string(out) {
			t.Errorf("differs from diff -u:\n%s\nwant\n%s", got, out)
		}
	}
}

// lcsLen is the brute-force oracle: the longest common subsequence by dynamic programming.
func lcsLen(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}
