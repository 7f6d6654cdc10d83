package validation

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/dag"
)

func decode(t testing.TB, body string) Request {
	t.Helper()
	var r Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("decode request: %v", err)
	}
	return r
}

func asJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustValidate(t testing.TB, body string) *Response {
	t.Helper()
	resp, err := Validate(decode(t, body))
	if err != nil {
		t.Fatalf("Validate(%s): %v", body, err)
	}
	return resp
}

func TestGoldenW8(t *testing.T) {
	raw, err := os.ReadFile("testdata/w8.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name     string          `json:"name"`
		Request  json.RawMessage `json:"request"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			resp := mustValidate(t, string(c.Request))
			var want any
			if err := json.Unmarshal(c.Response, &want); err != nil {
				t.Fatal(err)
			}
			if got := asJSON(t, resp); !reflect.DeepEqual(got, want) {
				b, _ := json.MarshalIndent(got, "", "  ")
				t.Fatalf("mismatch, got:\n%s", b)
			}
		})
	}
}

func names(cs []Check) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name + ":" + c.Status
	}
	return out
}

func TestContractCases(t *testing.T) {
	t.Run("two-cycle standard keeps the contract score", func(t *testing.T) {
		r := mustValidate(t, `{"dag":{"nodes":["A","B"],"edges":[["A","B"],["B","A"]]}}`)
		if r.QualityScore != 400.0/6 || r.OverallQuality != "acceptable" {
			t.Fatalf("score %v %s", r.QualityScore, r.OverallQuality)
		}
		if len(r.Suggestions) != 1 || r.Suggestions[0].Type != "remove_edge" {
			t.Fatalf("suggestions %+v", r.Suggestions)
		}
	})
	t.Run("isolated node (F8: no crash)", func(t *testing.T) {
		r := mustValidate(t, `{"dag":{"nodes":["A","B","C"],"edges":[["A","B"]]}}`)
		iso := r.ValidationResults.Structural.Checks[3]
		if iso.Description != "Found 1 isolated nodes: ['C']" || iso.Status != "warning" {
			t.Fatalf("isolated check %+v", iso)
		}
		if len(r.Suggestions) != 1 || r.Suggestions[0].Type != "remove_node" || r.Suggestions[0].Confidence != 0.8 || r.Suggestions[0].Impact != "medium" {
			t.Fatalf("suggestions %+v", r.Suggestions)
		}
		// acyclic, size pass; connectivity, isolated, model_provided, context_provided warn
		if want := 400.0 / 6; r.QualityScore != want {
			t.Fatalf("score %v, want %v", r.QualityScore, want)
		}
		if got := r.TestableImplications.Implications; len(got) != 2 || got[0].Statement != "A _||_ C" || got[1].Statement != "B _||_ C" {
			t.Fatalf("implications %+v", got)
		}
	})
	t.Run("graph nodes include unseen edge endpoints; bad edge items ignored", func(t *testing.T) {
		r := mustValidate(t, `{"dag":{"nodes":["A"],"edges":[["A","B"],["B"],"x",[1,2],["B","C","D"],null,["C","A"]]}}`)
		if d := r.ValidationResults.Structural.Checks[2].Description; d != "Reasonable model size (3 nodes)" {
			t.Fatalf("size: %s", d)
		}
	})
	t.Run("empty dag object", func(t *testing.T) {
		r := mustValidate(t, `{"dag":{}}`)
		want := []string{"acyclic_check:pass", "size_check:pass", "isolated_nodes_check:pass"}
		if got := names(r.ValidationResults.Structural.Checks); !reflect.DeepEqual(got, want) {
			t.Fatalf("checks %v", got)
		}
		if r.TestableImplications != nil {
			t.Fatalf("implications for an empty graph")
		}
	})
}

func TestShapeErrors(t *testing.T) {
	cases := []struct{ body, msg string }{
		{`{"dag":[]}`, "Invalid dag"},
		{`{"dag":"A->B"}`, "Invalid dag"},
		{`{"dag":null}`, "Invalid dag"},
		{`{"dag":7}`, "Invalid dag"},
		{`{"dag":{"nodes":"A"}}`, "Invalid dag"},
		{`{"dag":{"nodes":null}}`, "Invalid dag"},
		{`{"dag":{"nodes":["A",1]}}`, "Invalid dag"},
		{`{"dag":{"nodes":["A"],"edges":{"A":"B"}}}`, "Invalid dag"},
		{`{"dag":{"nodes":["A"]},"structural_model":[]}`, "Invalid structural_model"},
		{`{"dag":{"nodes":["A"]},"structural_model":"x"}`, "Invalid structural_model"},
		{`{"dag":{"nodes":["A"]},"structural_model":0}`, "Invalid structural_model"},
		{`{"dag":{"nodes":["A"]},"validation_level":"deep"}`, "Invalid validation_level: 'deep'"},
		{`{"dag":{"nodes":["A"]},"context":[1]}`, "Invalid context"},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			_, err := Validate(decode(t, c.body))
			var ie interface{ InputError() string }
			if !errors.As(err, &ie) || err.Error() != c.msg {
				t.Fatalf("err = %v, want %q", err, c.msg)
			}
		})
	}
}

func chainDAG(n int, fanIn bool) string {
	var nodes, edges []string
	for i := 0; i < n; i++ {
		nodes = append(nodes, fmt.Sprintf(`"N%03d"`, i))
		if i > 0 {
			edges = append(edges, fmt.Sprintf(`["N%03d","N%03d"]`, i-1, i))
		}
		if fanIn && i > 1 {
			edges = append(edges, fmt.Sprintf(`["N%03d","N%03d"]`, i-2, i))
		}
	}
	return fmt.Sprintf(`{"nodes":[%s],"edges":[%s]}`, strings.Join(nodes, ","), strings.Join(edges, ","))
}

func TestNodeCap(t *testing.T) {
	if _, err := Validate(decode(t, `{"dag":`+chainDAG(200, false)+`}`)); err != nil {
		t.Fatalf("200 nodes: %v", err)
	}
	_, err := Validate(decode(t, `{"dag":`+chainDAG(201, false)+`}`))
	if err == nil || err.Error() != "DAG has 201 nodes; at most 200 are allowed" {
		t.Fatalf("201 nodes: %v", err)
	}
	// Endpoints count too.
	_, err = Validate(decode(t, `{"dag":{"nodes":[],"edges":[`+strings.TrimSuffix(strings.Repeat(`["a","b"],`, 3), ",")+`,["x","y"]]}}`))
	if err != nil {
		t.Fatal(err)
	}
}

func TestComprehensive(t *testing.T) {
	// 7-node chain with skip edges: 6 edges on the longest path, 5 colliders (N002..N006).
	r := mustValidate(t, `{"dag":`+chainDAG(7, true)+`,"validation_level":"comprehensive"}`)
	checks := r.ValidationResults.Structural.Checks
	want := []string{"acyclic_check:pass", "connectivity_check:pass", "size_check:pass", "isolated_nodes_check:pass",
		"colliders_present:pass", "chain_length:warning"}
	if got := names(checks); !reflect.DeepEqual(got, want) {
		t.Fatalf("checks %v", got)
	}
	if checks[4].Description != "Found 5 collider structures" {
		t.Errorf("colliders: %s", checks[4].Description)
	}
	if checks[5].Description != "Longest causal chain has 7 nodes (6 edges)" {
		t.Errorf("chain: %s", checks[5].Description)
	}
	// 6 nodes = 5 edges: no chain warning; standard never runs the comprehensive checks.
	r = mustValidate(t, `{"dag":`+chainDAG(6, false)+`,"validation_level":"comprehensive"}`)
	if n := len(r.ValidationResults.Structural.Checks); n != 4 {
		t.Fatalf("%d structural checks", n)
	}
	r = mustValidate(t, `{"dag":`+chainDAG(7, true)+`}`)
	if n := len(r.ValidationResults.Structural.Checks); n != 4 {
		t.Fatalf("standard ran %d structural checks", n)
	}
	// Cyclic graphs get no chain_length (longest path undefined).
	r = mustValidate(t, `{"dag":{"nodes":["A","B","C"],"edges":[["A","B"],["B","C"],["C","A"],["A","C"]]},"validation_level":"comprehensive"}`)
	if got := names(r.ValidationResults.Structural.Checks); !reflect.DeepEqual(got, []string{"acyclic_check:fail", "connectivity_check:pass", "size_check:pass", "isolated_nodes_check:pass", "colliders_present:pass"}) {
		t.Fatalf("checks %v", got)
	}
}

func TestDomainAndBestPractices(t *testing.T) {
	r := mustValidate(t, `{"dag":{"nodes":["Price","Revenue"],"edges":[["Price","Revenue"]]},
		"structural_model":{"variables":["Price"],"equations":{},"distributions":{}},
		"context":{"domain":"pricing","variable_descriptions":{"Price":"list price"}}}`)
	if got := names(r.ValidationResults.Domain.Checks); !reflect.DeepEqual(got, []string{"domain_specified:pass", "descriptive_names:pass"}) {
		t.Fatalf("domain %v", got)
	}
	if d := r.ValidationResults.Domain.Checks[0].Description; d != "Domain specified: pricing" {
		t.Fatalf("domain text %q", d)
	}
	var st []string
	for _, b := range r.BestPractices {
		st = append(st, b.Status)
	}
	// distributions key present (even empty) → Quantify uncertainty followed.
	if !reflect.DeepEqual(st, []string{"followed", "followed", "followed"}) {
		t.Fatalf("practices %v", st)
	}
	// Empty equations/distributions add no checks.
	if got := names(r.ValidationResults.Statistical.Checks); !reflect.DeepEqual(got, []string{"variables_defined:pass"}) {
		t.Fatalf("statistical %v", got)
	}

	r = mustValidate(t, `{"dag":{"nodes":["X","Revenue"]},"structural_model":{},"context":{"domain":"general"}}`)
	if got := names(r.ValidationResults.Domain.Checks); !reflect.DeepEqual(got, []string{"descriptive_names:warning"}) {
		t.Fatalf("domain %v", got)
	}
	if got := names(r.ValidationResults.Statistical.Checks); !reflect.DeepEqual(got, []string{"variables_defined:fail"}) {
		t.Fatalf("statistical %v", got)
	}
	if r.BestPractices[1].Status != "partial" || r.BestPractices[2].Status != "not_followed" {
		t.Fatalf("practices %+v", r.BestPractices)
	}
	// Context without a domain: no domain_specified check, but "Apply domain knowledge" is followed
	// (absent domain counts as ≠ general); an empty context is falsy.
	r = mustValidate(t, `{"dag":{"nodes":[]},"context":{"owner":"me"}}`)
	if len(r.ValidationResults.Domain.Checks) != 0 || r.BestPractices[1].Status != "followed" {
		t.Fatalf("domain %+v %+v", r.ValidationResults.Domain.Checks, r.BestPractices)
	}
	r = mustValidate(t, `{"dag":{"nodes":[]},"context":{}}`)
	if r.BestPractices[1].Status != "partial" {
		t.Fatalf("empty context: %+v", r.BestPractices)
	}
	r = mustValidate(t, `{"dag":{"nodes":["ab"]},"context":{"domain":null}}`)
	if d := r.ValidationResults.Domain.Checks[0].Description; d != "Domain specified: None" {
		t.Fatalf("null domain: %q", d)
	}
}

func TestDistributionChecks(t *testing.T) {
	r := mustValidate(t, `{"dag":{"nodes":["A","B","C","D"]},"structural_model":{"variables":["A"],
		"distributions":{"A":{"type":"normal","parameters":{"mean":1}},"B":{"type":"gamma","parameters":{}},
		"C":{"parameters":{"mean":1}},"D":{"type":"beta","parameters":{"alpha":0,"beta":1}}}}}`)
	st := r.ValidationResults.Statistical.Checks
	if got := names(st); !reflect.DeepEqual(got, []string{"variables_defined:pass", "distributions_valid:warning", "distribution_parameters:warning"}) {
		t.Fatalf("checks %v", got)
	}
	if st[1].Description != "Only 3/4 distributions fully specified" {
		t.Errorf("%s", st[1].Description)
	}
	want := "3 distribution(s) cannot be sampled: 'A': normal requires parameter 'std'; 'B': unknown distribution type 'gamma' (use normal, uniform, beta or exponential); 'D': alpha and beta must be positive"
	if st[2].Description != want {
		t.Errorf("got  %s\nwant %s", st[2].Description, want)
	}
}

type sugg struct{ typ, desc string }

func suggestions(r *Response) []sugg {
	var out []sugg
	for _, s := range r.Suggestions {
		out = append(out, sugg{s.Type, s.Description})
	}
	return out
}

// Hand-derived equation/DAG cross-checks (issue 4).
func TestEquationDAGConsistency(t *testing.T) {
	body := `{"dag":{"nodes":["Price","Demand","Revenue","Season"],
		"edges":[["Price","Demand"],["Season","Demand"],["Demand","Revenue"]]},
		"structural_model":{"variables":["Price","Demand","Revenue"],
		"equations":{"Demand":"1000 - 20 * Price","Revenue":"Price * Demand + Cost","Profit":"Revenue - Cost"},
		"distributions":{"Price":{"type":"normal","parameters":{"mean":50,"std":5}}}}}`
	r := mustValidate(t, body)
	want := []sugg{
		// Demand does not read Season although the DAG has Season → Demand.
		{"remove_edge", "Remove edge Season → Demand, or add a term in Season to the equation for 'Demand'"},
		// Revenue reads Price (no edge Price → Revenue) and Cost (not in the DAG).
		{"add_edge", "Add edge Price → Revenue"},
		{"add_node", "Add node 'Cost' to the DAG with edge Cost → Revenue"},
		// Profit has an equation but no node; it reads Cost (missing) and Revenue (present).
		{"add_node", "Add node 'Profit' to the DAG"},
		{"add_node", "Add node 'Cost' to the DAG with edge Cost → Profit"},
	}
	if got := suggestions(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("suggestions:\n%v\nwant:\n%v", got, want)
	}
	st := r.ValidationResults.Statistical.Checks
	last := st[len(st)-1]
	if last.Name != "model_consistency" || last.Status != "warning" ||
		last.Description != "Found 5 inconsistencies between the structural equations, distributions and DAG" {
		t.Fatalf("check %+v", last)
	}
	// basic skips the model entirely.
	r = mustValidate(t, strings.Replace(body, `{"dag"`, `{"validation_level":"basic","dag"`, 1))
	if len(r.Suggestions) != 0 {
		t.Fatalf("basic produced %v", suggestions(r))
	}
}

func TestEquationModelProblems(t *testing.T) {
	r := mustValidate(t, `{"dag":{"nodes":["A","B","C"],"edges":[["A","B"],["B","C"],["C","B"]]},
		"structural_model":{"variables":["A","B","C"],
		"equations":{"B":"C + A","C":"B * 2","A":"__import__('os')","D":"D + 1"},
		"distributions":{"B":{"type":"normal","parameters":{"mean":0,"std":1}}}}}`)
	want := []sugg{
		{"remove_edge", "Remove edges to eliminate cycles, e.g. C → B on the cycle B → C → B"},
		{"restructure", "Remove either the distribution or the equation for 'B'"},
		{"restructure", "Rewrite the equation for 'A' using numbers, variables, + - * / **, parentheses and sqrt/exp/log/abs/max/min"},
		{"add_node", "Add node 'D' to the DAG"},
		{"restructure", "Remove the self-reference from the equation for 'D'"},
		{"restructure", "Break the circular dependency between equations B → C → B"},
	}
	if got := suggestions(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("suggestions:\n%v\nwant:\n%v", got, want)
	}
	got := names(r.ValidationResults.Statistical.Checks)
	if !reflect.DeepEqual(got, []string{"variables_defined:pass", "distributions_valid:pass", "equations_defined:pass", "equations_valid:fail", "model_consistency:warning"}) {
		t.Fatalf("checks %v", got)
	}
	if d := r.ValidationResults.Statistical.Checks[3].Description; d != "1 of 4 equations cannot be parsed: ['A']" {
		t.Fatalf("%s", d)
	}
	// A sampled variable with DAG parents ignores its causes.
	r = mustValidate(t, `{"dag":{"nodes":["A","B"],"edges":[["A","B"]]},
		"structural_model":{"variables":["A","B"],"equations":{},"distributions":{"B":{"type":"normal","parameters":{"mean":0,"std":1}}}}}`)
	if len(r.Suggestions) != 0 { // equations empty → no equation analysis at all
		t.Fatalf("%v", suggestions(r))
	}
	r = mustValidate(t, `{"dag":{"nodes":["A","B","C"],"edges":[["A","B"],["B","C"]]},
		"structural_model":{"variables":["A","B","C"],"equations":{"C":"2*B"},"distributions":{"B":{"type":"normal","parameters":{"mean":0,"std":1}}}}}`)
	if got := suggestions(r); !reflect.DeepEqual(got, []sugg{{"restructure", "Give 'B' a structural equation in terms of A, or remove those edges"}}) {
		t.Fatalf("%v", got)
	}
}

func TestDisconnectedComponentsAddEdge(t *testing.T) {
	r := mustValidate(t, `{"dag":{"nodes":["A","B","C","D","E"],"edges":[["A","B"],["C","D"]]}}`)
	want := []sugg{
		{"add_edge", "Consider adding edges to connect the components {A, B}, {C, D}"},
		{"remove_node", "Remove isolated node(s) E or add edges to connect them"},
	}
	if got := suggestions(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("%v", got)
	}
	if d := r.ValidationResults.Structural.Checks[1].Description; d != "Graph has 3 disconnected components" {
		t.Fatalf("%s", d)
	}
}

// Property: on random DAGs every listed implication is a true d-separation, adjacent pairs are
// never listed, and Count is the number of non-adjacent pairs.
func TestImplicationsAreDSeparations(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := 0; trial < 60; trial++ {
		n := 2 + rng.Intn(9)
		var nodes []string
		for i := 0; i < n; i++ {
			nodes = append(nodes, fmt.Sprintf("V%d", i))
		}
		edges := [][2]string{}
		adj := map[[2]string]bool{}
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if rng.Float64() < 0.3 {
					edges = append(edges, [2]string{nodes[i], nodes[j]})
					adj[[2]string{nodes[i], nodes[j]}] = true
				}
			}
		}
		body, _ := json.Marshal(map[string]any{"dag": map[string]any{"nodes": nodes, "edges": edges}})
		r := mustValidate(t, string(body))
		g, err := dag.Parse(nodes, edges)
		if err != nil {
			t.Fatal(err)
		}
		set := r.TestableImplications
		if set.Count != n*(n-1)/2-len(edges) || len(set.Implications) != set.Count {
			t.Fatalf("count %d listed %d for %d nodes %d edges", set.Count, len(set.Implications), n, len(edges))
		}
		for _, im := range set.Implications {
			if adj[[2]string{im.X, im.Y}] || adj[[2]string{im.Y, im.X}] {
				t.Fatalf("adjacent pair listed: %+v", im)
			}
			ok, err := g.DSeparated([]string{im.X}, []string{im.Y}, im.Given)
			if err != nil || !ok {
				t.Fatalf("%s is not implied by %v", im.Statement, edges)
			}
		}
	}
}

func checkInvariants(t testing.TB, req Request) {
	resp, err := Validate(req)
	if err != nil {
		var ie interface{ InputError() string }
		if !errors.As(err, &ie) {
			t.Fatalf("non-input error %v", err)
		}
		return
	}
	if math.IsNaN(resp.QualityScore) || resp.QualityScore < 0 || resp.QualityScore > 100 {
		t.Fatalf("score %v", resp.QualityScore)
	}
	b1, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	resp2, _ := Validate(req)
	b2, _ := json.Marshal(resp2)
	if string(b1) != string(b2) {
		t.Fatal("non-deterministic")
	}
	for _, s := range resp.Suggestions {
		switch s.Type {
		case "add_edge", "remove_edge", "add_node", "remove_node", "restructure":
		default:
			t.Fatalf("bad suggestion type %q", s.Type)
		}
	}
}

func FuzzValidate(f *testing.F) {
	raw, err := os.ReadFile("testdata/w8.json")
	if err != nil {
		f.Fatalf("seed: %v", err)
	}
	var cases []struct {
		Request json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil || len(cases) == 0 {
		f.Fatalf("seed testdata/w8.json: no cases (%v)", err)
	}
	for _, c := range cases {
		f.Add([]byte(c.Request))
	}
	f.Add([]byte(`{"dag":{"nodes":["A","A",""],"edges":[["A","A"],["","B"]]},"structural_model":{"variables":5,"equations":["x"],"distributions":"y"},"context":{"domain":1}}`))
	f.Add([]byte(`{"dag":{"nodes":["X","Y"],"edges":[["X","Y"]]},"structural_model":{"equations":{"Y":"np.maximum(X, Z) ** -1","X":"Y"}},"validation_level":"comprehensive"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req Request
		if json.Unmarshal(body, &req) != nil {
			return
		}
		checkInvariants(t, req)
	})
}
