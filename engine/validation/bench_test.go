package validation

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"testing"

	"github.com/olumi/isl/engine/internal/benchcpu"
)

// bench200 is a 200-node DAG (each node has up to 3 parents among the 10 before it, ~560 edges)
// with a structural model whose equations mostly match the DAG (every 10th misses a parent
// term and every 25th reads a variable the DAG lacks), at the comprehensive level.
func bench200(tb testing.TB) Request {
	rng := rand.New(rand.NewSource(1))
	var nodes []string
	var edges [][2]string
	eqs := map[string]string{}
	var order []string
	dists := map[string]any{}
	for i := 0; i < 200; i++ {
		v := fmt.Sprintf("Var%03d", i)
		nodes = append(nodes, v)
		if i < 5 {
			dists[v] = map[string]any{"type": "normal", "parameters": map[string]float64{"mean": 1, "std": 0.5}}
			continue
		}
		eq := "1.5"
		seen := map[int]bool{}
		for k := 0; k < 3; k++ {
			p := i - 1 - rng.Intn(min(i, 10))
			if seen[p] {
				continue
			}
			seen[p] = true
			edges = append(edges, [2]string{nodes[p], v})
			if i%10 == 0 && k == 0 {
				continue // DAG edge without an equation term
			}
			eq += fmt.Sprintf(" + 0.3 * %s", nodes[p])
		}
		if i%25 == 0 {
			eq += " + Hidden"
		}
		eqs[v] = eq
		order = append(order, v)
	}
	model := map[string]any{"variables": nodes, "distributions": dists}
	// equations in node order (Go maps are unordered; build the JSON by hand)
	eqJSON := "{"
	for i, v := range order {
		if i > 0 {
			eqJSON += ","
		}
		b, _ := json.Marshal(eqs[v])
		eqJSON += fmt.Sprintf("%q:%s", v, b)
	}
	eqJSON += "}"
	mb, _ := json.Marshal(model)
	db, _ := json.Marshal(map[string]any{"nodes": nodes, "edges": edges})
	body := fmt.Sprintf(`{"dag":%s,"structural_model":%s,"context":{"domain":"ops","variable_descriptions":{}},"validation_level":"comprehensive"}`,
		db, string(mb[:len(mb)-1])+`,"equations":`+eqJSON+"}")
	return decode(tb, body)
}

func TestBench200Shape(t *testing.T) {
	r, err := Validate(bench200(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.TestableImplications == nil || r.TestableImplications.Count < 1000 || !r.TestableImplications.Truncated {
		t.Fatalf("implications %+v", r.TestableImplications)
	}
	kinds := map[string]int{}
	for _, s := range r.Suggestions {
		kinds[s.Type]++
	}
	if kinds["remove_edge"] == 0 || kinds["add_node"] == 0 {
		t.Fatalf("suggestions %v", kinds)
	}
}

func BenchmarkValidate200(b *testing.B) {
	req := bench200(b)
	b.ResetTimer()
	c0 := benchcpu.Now()
	for i := 0; i < b.N; i++ {
		if _, err := Validate(req); err != nil {
			b.Fatal(err)
		}
	}
	benchcpu.Report(b, c0, b.N)
}
