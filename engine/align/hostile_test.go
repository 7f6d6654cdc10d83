package align

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/jsonv"
)

// naiveMatches is the definition the index must reproduce: the priority's words occur contiguously
// in some attribute name or value text.
func naiveMatches(attrs jsonv.Map[jsonv.Value], priority string) bool {
	for _, e := range attrs {
		if Matches(e.Key, priority) || Matches(valueText(e.Value), priority) {
			return true
		}
	}
	return false
}

// TestIndexMatchesNaive: the occurrence index (rarest word + memo) answers exactly like scanning
// every attribute, on random phrases over a tiny vocabulary (many repeats, near misses).
func TestIndexMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vocab := []string{"a", "b", "cost", "costs", "Speed", "x_y"}
	phrase := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[r.IntN(len(vocab))]
		}
		return strings.Join(ws, []string{" ", "_", "-"}[r.IntN(3)])
	}
	for trial := range 300 {
		var attrs jsonv.Map[jsonv.Value]
		for k := range r.IntN(4) {
			attrs = append(attrs, jsonv.Entry[jsonv.Value]{Key: phrase(1+r.IntN(3)) + fmt.Sprint(k%2),
				Value: jsonv.Value{Kind: jsonv.String, Str: phrase(r.IntN(6))}})
		}
		ix := indexAttributes(attrs)
		for range 20 {
			p := phrase(r.IntN(4))
			for range 2 { // second call hits the memo
				if got, want := ix.matches(newPhrase(p)), naiveMatches(attrs, p); got != want {
					t.Fatalf("trial %d: %q against %v: index %v, naive %v", trial, p, attrs, got, want)
				}
			}
		}
	}
}

// hostileRequest: one role with many distinct two-word priorities whose first word is in every
// attribute name, against many options with many attributes (under the 1 MiB body limit it took the
// original matcher minutes: every priority was re-split and scanned against every attribute).
func hostileRequest(priorities, options, attrs int) Request {
	req := Request{Perspectives: []Perspective{{Role: "r"}}}
	for i := range priorities {
		req.Perspectives[0].Priorities = append(req.Perspectives[0].Priorities, fmt.Sprintf("a b%d", i))
	}
	for o := range options {
		opt := Option{ID: fmt.Sprint("o", o), Name: "n"}
		for k := range attrs {
			opt.Attributes = append(opt.Attributes, jsonv.Entry[jsonv.Value]{Key: fmt.Sprint("a_a_a_a_a_a_a_a_a_a_", k),
				Value: jsonv.Value{Kind: jsonv.Number, Num: 1}})
		}
		req.Options = append(req.Options, opt)
	}
	return req
}

// TestHostileWorkIsNotMultiplicative: work must not grow with priorities × options × attributes.
// Measured by allocations (deterministic, unlike time): doubling the options at a fixed, large
// priority list must add far less than doubling the per-option cost of re-splitting every priority.
func TestHostileWorkIsNotMultiplicative(t *testing.T) {
	allocs := func(options int) float64 {
		req := hostileRequest(2000, options, 20)
		return testing.AllocsPerRun(2, func() {
			if _, err := Align(req); err != nil {
				t.Fatal(err)
			}
		})
	}
	a5, a10 := allocs(5), allocs(10)
	// Re-splitting 2000 priorities per option costs ≥ 2000 allocations per extra option.
	if perOption := (a10 - a5) / 5; perOption >= 2000 {
		t.Errorf("%.0f allocations per extra option (priorities re-split per option)", perOption)
	}
}

func BenchmarkAlignHostile(b *testing.B) {
	req := hostileRequest(40000, 50, 400)
	for b.Loop() {
		if _, err := Align(req); err != nil {
			b.Fatal(err)
		}
	}
}
