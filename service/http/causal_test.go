package http

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/olumi/isl/engine/jsonv"
)

const causalPath = "/api/v1/causal/validate"

func causalBody(nodes []string, edges [][2]string, t, y string, extra ...any) map[string]any {
	if edges == nil {
		edges = [][2]string{}
	}
	m := map[string]any{"dag": map[string]any{"nodes": nodes, "edges": edges}, "treatment": t, "outcome": y}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func keysOf(v jsonv.Value) []string {
	var ks []string
	for _, e := range v.Obj {
		ks = append(ks, e.Key)
	}
	return ks
}

// plain turns a jsonv.Value into plain values for DeepEqual against expectations.
func plain(t *testing.T, v jsonv.Value) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func field(r response, path ...string) jsonv.Value {
	v := r.Body
	for _, k := range path {
		v, _ = v.Get(k)
	}
	return v
}

// TestCausalValidateW1 is docs/api.md#causal-validate-examples  with docs/api.md#causal-validate arrows, checked field by field and in contract order.
func TestCausalValidateW1(t *testing.T) {
	s := newTestServer(t, nil, nil)
	d := loadDoc(t)
	r := s.post(causalPath, `{"dag":{"nodes":["X","Y","Z"],"edges":[["Z","X"],["X","Y"],["Z","Y"]]},"treatment":"X","outcome":"Y"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	d.validate(t, http.MethodPost, causalPath, r)
	wantKeys := []string{"status", "adjustment_sets", "minimal_set", "backdoor_paths", "issues", "confidence", "explanation",
		"method", "estimand", "front_door_set", "hedge", "adjustment_sets_truncated", "backdoor_paths_truncated"}
	if got := keysOf(r.Body); !reflect.DeepEqual(got, wantKeys) {
		t.Fatalf("keys %v, want %v", got, wantKeys)
	}
	if got := keysOf(field(r, "explanation")); !reflect.DeepEqual(got, []string{"summary", "reasoning", "technical_basis", "assumptions"}) {
		t.Fatalf("explanation keys %v", got)
	}
	checks := map[string]string{
		"status":          `"identifiable"`,
		"adjustment_sets": `[["Z"]]`,
		"minimal_set":     `["Z"]`,
		"backdoor_paths":  `["X ← Z → Y"]`,
		"issues":          `null`,
		"confidence":      `"high"`,
		// documented extensions after the contract fields
		"method":                    `"backdoor"`,
		"estimand":                  `"Σ_{Z} P(Y|X,Z) P(Z)"`,
		"front_door_set":            `null`,
		"hedge":                     `null`,
		"adjustment_sets_truncated": `false`,
		"backdoor_paths_truncated":  `false`,
	}
	for k, want := range checks {
		var w any
		_ = json.Unmarshal([]byte(want), &w)
		if got := plain(t, field(r, k)); !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %v, want %s", k, got, want)
		}
	}
	if got := r.str("explanation", "summary"); got != "Effect is identifiable by controlling for Z" {
		t.Errorf("summary %q", got)
	}
	if got := r.str("explanation", "technical_basis"); got != "Backdoor criterion satisfied with adjustment set {Z}" {
		t.Errorf("technical_basis %q", got)
	}
	if n := len(field(r, "explanation", "assumptions").Arr); n != 3 {
		t.Errorf("%d assumptions, want 3", n)
	}
}

// causalGolden mirrors engine/dag/testdata/identify_*.json (hand-derived vectors incl. docs/api.md#causal-validate-examples
// and the docs/api.md#causal-validate textbook graphs); here they run through HTTP.
type causalGolden struct {
	Name      string          `json:"name"`
	Nodes     []string        `json:"nodes"`
	Edges     [][2]string     `json:"edges"`
	Treatment string          `json:"treatment"`
	Outcome   string          `json:"outcome"`
	Observed  []string        `json:"observed"`
	Expect    json.RawMessage `json:"expect"`
	ExpectErr string          `json:"expect_error"`
}

func TestCausalValidateGolden(t *testing.T) {
	files, _ := filepath.Glob("../../engine/dag/testdata/identify_*.json")
	if len(files) < 20 {
		t.Fatalf("golden vectors not found (%d files)", len(files))
	}
	s := newTestServer(t, nil, nil)
	d := loadDoc(t)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c causalGolden
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		t.Run(c.Name, func(t *testing.T) {
			body := causalBody(c.Nodes, c.Edges, c.Treatment, c.Outcome)
			if c.Observed != nil {
				body["observed"] = c.Observed
			}
			r := s.post(causalPath, body)
			d.validate(t, http.MethodPost, causalPath, r)
			if c.ExpectErr != "" {
				r.envelope(t, http.StatusBadRequest, "validation_error")
				if got := r.str("message"); got != c.ExpectErr {
					t.Fatalf("message %q, want %q", got, c.ExpectErr)
				}
				return
			}
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Raw)
			}
			var exp map[string]any
			_ = json.Unmarshal(c.Expect, &exp)
			for _, k := range []string{"status", "confidence", "adjustment_sets", "minimal_set", "backdoor_paths"} {
				if got := plain(t, field(r, k)); !reflect.DeepEqual(got, exp[k]) {
					t.Errorf("%s = %v, want %v", k, got, exp[k])
				}
			}
			// extensions: null when the vector leaves them out
			for _, k := range []string{"method", "estimand", "front_door_set", "hedge"} {
				if got := plain(t, field(r, k)); !reflect.DeepEqual(got, exp[k]) {
					t.Errorf("%s = %v, want %v", k, got, exp[k])
				}
			}
			if r.str("status") == "uncertain" {
				t.Errorf("uncertain is never produced")
			}
			if sum, ok := exp["summary"].(string); ok && r.str("explanation", "summary") != sum {
				t.Errorf("summary %q, want %q", r.str("explanation", "summary"), sum)
			}
			if types, ok := exp["issue_types"].([]any); ok {
				issues := field(r, "issues").Arr
				if len(issues) != len(types) {
					t.Fatalf("issues %s, want types %v", r.Raw, types)
				}
				for i, is := range issues {
					if ty, _ := is.Get("type"); ty.Str != types[i] {
						t.Errorf("issue %d type %q, want %v", i, ty.Str, types[i])
					}
				}
			}

		})
	}
}

func TestCausalValidate400(t *testing.T) {
	s := newTestServer(t, nil, nil)
	nodes := []string{"A", "B"}
	tests := []struct {
		name    string
		body    any
		message string
		details string
	}{
		{"empty nodes (F1)", causalBody([]string{}, nil, "A", "B"), "DAG must contain at least one node", ""},
		{"duplicate nodes", causalBody([]string{"A", "A"}, nil, "A", "B"), "DAG contains duplicate nodes", ""},
		{"blank node", causalBody([]string{"A", " "}, nil, "A", "B"), "DAG node names must be non-empty", ""},
		{"unknown from", causalBody(nodes, [][2]string{{"Q", "R"}}, "A", "B"), "Edge references non-existent node: Q", ""},
		{"unknown to", causalBody(nodes, [][2]string{{"A", "R"}}, "A", "B"), "Edge references non-existent node: R", ""},
		{"self loop before cycle", causalBody(nodes, [][2]string{{"A", "B"}, {"B", "A"}, {"B", "B"}}, "A", "B"), "Self-loop detected: B -> B", ""},
		{"cycle (W1 A⇄B)", causalBody(nodes, [][2]string{{"A", "B"}, {"B", "A"}}, "A", "B"), "Graph contains cycles (not a valid DAG)", `{"cycle":"A -> B -> A"}`},
		{"cycle before treatment", causalBody(nodes, [][2]string{{"A", "B"}, {"B", "A"}}, "NotExist", "B"), "Graph contains cycles (not a valid DAG)", `{"cycle":"A -> B -> A"}`},
		{"treatment (W1)", causalBody(nodes, [][2]string{{"A", "B"}}, "NotExist", "B"), "Treatment node 'NotExist' not found in graph. Available nodes: A, B", ""},
		{"outcome", causalBody(nodes, [][2]string{{"A", "B"}}, "A", "Nope"), "Outcome node 'Nope' not found in graph. Available nodes: A, B", ""},
		{"same node (R12)", causalBody(nodes, [][2]string{{"A", "B"}}, "A", "A"), "Treatment and outcome must be different nodes", ""},
		{"unknown observed (R12)", causalBody(nodes, [][2]string{{"A", "B"}}, "A", "B", "observed", []string{"C"}), "Observed node 'C' not found in graph. Available nodes: A, B", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.post(causalPath, tc.body)
			r.envelope(t, http.StatusBadRequest, "validation_error")
			if got := r.str("message"); got != tc.message {
				t.Fatalf("message %q, want %q", got, tc.message)
			}
			if got := field(r, "suggested_action").Str; got != "fix_input" {
				t.Fatalf("suggested_action %q", got)
			}
			want := tc.details
			if want == "" {
				want = "null"
			}
			var w any
			_ = json.Unmarshal([]byte(want), &w)
			if got := plain(t, field(r, "details")); !reflect.DeepEqual(got, w) {
				t.Fatalf("details %v, want %s", got, want)
			}
		})
	}
}

func TestCausalValidate422(t *testing.T) {
	s := newTestServer(t, nil, nil)
	big := make([]string, 201)
	for i := range big {
		big[i] = fmt.Sprint("N", i)
	}
	type fe struct {
		typ string
		loc string
	}
	tests := []struct {
		name string
		body string
		want []fe
	}{
		{"empty object", `{}`, []fe{{"missing", `["body","dag"]`}, {"missing", `["body","treatment"]`}, {"missing", `["body","outcome"]`}}},
		{"dag not object", `{"dag":[],"treatment":"A","outcome":"B"}`, []fe{{"model_attributes_type", `["body","dag"]`}}},
		{"dag members", `{"dag":{"nodes":"A"},"treatment":1,"outcome":null}`, []fe{{"list_type", `["body","dag","nodes"]`}, {"missing", `["body","dag","edges"]`}, {"string_type", `["body","treatment"]`}, {"string_type", `["body","outcome"]`}}},
		{"node types", `{"dag":{"nodes":["A",2],"edges":[]},"treatment":"A","outcome":"B"}`, []fe{{"string_type", `["body","dag","nodes",1]`}}},
		{"edge shapes", `{"dag":{"nodes":["A","B"],"edges":["AB",["A"],["A","B","C"],[1,"B"],["A",null]]},"treatment":"A","outcome":"B"}`,
			[]fe{{"tuple_type", `["body","dag","edges",0]`}, {"missing", `["body","dag","edges",1,1]`}, {"too_long", `["body","dag","edges",2]`}, {"string_type", `["body","dag","edges",3,0]`}, {"string_type", `["body","dag","edges",4,1]`}}},
		{"observed type", `{"dag":{"nodes":["A","B"],"edges":[]},"treatment":"A","outcome":"B","observed":"A"}`, []fe{{"list_type", `["body","observed"]`}}},
		{"node cap (R15)", fmt.Sprintf(`{"dag":{"nodes":%s,"edges":[]},"treatment":"N0","outcome":"N1"}`, mustJSON(big)), []fe{{"too_long", `["body","dag","nodes"]`}}},
		{"edge cap", fmt.Sprintf(`{"dag":{"nodes":["A","B"],"edges":%s},"treatment":"A","outcome":"B"}`, mustJSON(repeatEdge(5001))), []fe{{"too_long", `["body","dag","edges"]`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.post(causalPath, tc.body)
			r.envelope(t, http.StatusUnprocessableEntity, "validation_error")
			if r.str("message") != "Request validation failed" {
				t.Fatalf("message %q", r.str("message"))
			}
			errs := field(r, "details", "errors").Arr
			var got []fe
			for _, e := range errs {
				ty, _ := e.Get("type")
				loc, _ := e.Get("loc")
				lb, _ := json.Marshal(loc)
				got = append(got, fe{ty.Str, string(lb)})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("errors %v, want %v", got, tc.want)
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func repeatEdge(n int) [][2]string {
	out := make([][2]string, n)
	for i := range out {
		out[i] = [2]string{"A", "B"}
	}
	return out
}

// TestCausalValidateObserved: docs/api.md#elicit-model — `observed` restricts adjustment; front-door fallback; the ID
// algorithm (napkin); a hedge (bow arc).
func TestCausalValidateObserved(t *testing.T) {
	s := newTestServer(t, nil, nil)
	nodes := []string{"T", "M", "Y", "U"}
	edges := [][2]string{{"U", "T"}, {"U", "Y"}, {"T", "M"}, {"M", "Y"}}
	all := s.post(causalPath, causalBody(nodes, edges, "T", "Y"))
	if got := plain(t, field(all, "adjustment_sets")); !reflect.DeepEqual(got, []any{[]any{"U"}}) {
		t.Fatalf("all observed: %s", all.Raw)
	}
	fd := s.post(causalPath, causalBody(nodes, edges, "T", "Y", "observed", []string{"T", "M", "Y"}))
	if fd.str("status") != "identifiable" || fd.str("confidence") != "medium" || field(fd, "adjustment_sets").Kind != jsonv.Null {
		t.Fatalf("front-door: %s", fd.Raw)
	}
	if !strings.Contains(fd.str("explanation", "technical_basis"), "Front-door criterion satisfied with mediator set {M}") {
		t.Fatalf("front-door explanation: %s", fd.Raw)
	}
	if fd.str("method") != "frontdoor" || fd.str("estimand") != "Σ_{M} P(M|T) [Σ_{T'} P(Y|T',M) P(T')]" ||
		!reflect.DeepEqual(plain(t, field(fd, "front_door_set")), []any{"M"}) {
		t.Fatalf("front-door extensions: %s", fd.Raw)
	}
	bow := s.post(causalPath, causalBody([]string{"T", "Y", "U"}, [][2]string{{"U", "T"}, {"U", "Y"}, {"T", "Y"}}, "T", "Y", "observed", []string{}))
	if bow.str("status") != "cannot_identify" || bow.str("confidence") != "medium" || field(bow, "method").Kind != jsonv.Null ||
		!reflect.DeepEqual(plain(t, field(bow, "hedge")), map[string]any{"f": []any{"T", "Y"}, "f_prime": []any{"Y"}}) {
		t.Fatalf("bow: %s", bow.Raw)
	}
	napkin := s.post(causalPath, causalBody([]string{"T", "Y", "W", "Z", "U1", "U2"},
		[][2]string{{"W", "Z"}, {"Z", "T"}, {"T", "Y"}, {"U1", "W"}, {"U1", "T"}, {"U2", "W"}, {"U2", "Y"}}, "T", "Y", "observed", []string{"T", "Y", "W", "Z"}))
	if napkin.str("status") != "identifiable" || napkin.str("method") != "id" ||
		napkin.str("estimand") != "[Σ_{W} P(W) P(T|W,Z) P(Y|T,W,Z)] / [Σ_{W} P(W) P(T|W,Z)]" {
		t.Fatalf("napkin: %s", napkin.Raw)
	}
	d := loadDoc(t)
	for _, r := range []response{all, fd, bow, napkin} {
		d.validate(t, http.MethodPost, causalPath, r)
	}
}

// TestCausalValidateTruncation: capped lists say so, and the explanation says so too.
func TestCausalValidateTruncation(t *testing.T) {
	s := newTestServer(t, nil, nil)
	// 25 disjoint confounding paths T ← Ai → Y: one set of 25 nodes (> 3, so the smallest is
	// listed, complete) and 25 back-door paths (> 20 printed)
	nodes := []string{"T", "Y"}
	edges := [][2]string{{"T", "Y"}}
	for i := range 25 {
		a := fmt.Sprintf("A%02d", i)
		nodes = append(nodes, a)
		edges = append(edges, [2]string{a, "T"}, [2]string{a, "Y"})
	}
	r := s.post(causalPath, causalBody(nodes, edges, "T", "Y"))
	loadDoc(t).validate(t, http.MethodPost, causalPath, r)
	if n := len(field(r, "backdoor_paths").Arr); n != 20 || !field(r, "backdoor_paths_truncated").Bool {
		t.Fatalf("paths: %d truncated=%v", n, field(r, "backdoor_paths_truncated").Bool)
	}
	if sets := field(r, "adjustment_sets").Arr; len(sets) != 1 || len(sets[0].Arr) != 25 || field(r, "adjustment_sets_truncated").Bool {
		t.Fatalf("sets: %s", r.Raw)
	}
	if !strings.Contains(r.str("explanation", "reasoning"), "No adjustment set of at most 3 variables exists; the sets listed are the smallest (25 variables).") {
		t.Fatalf("reasoning %q", r.str("explanation", "reasoning"))
	}
	// T ← Ai ← Bi → Y for i < 8: 2^8 = 256 minimal sets of 8 nodes, 100 listed and flagged
	nodes = []string{"T", "Y"}
	edges = [][2]string{{"T", "Y"}}
	for i := range 8 {
		a, b := fmt.Sprint("A", i), fmt.Sprint("B", i)
		nodes = append(nodes, a, b)
		edges = append(edges, [2]string{a, "T"}, [2]string{b, a}, [2]string{b, "Y"})
	}
	r = s.post(causalPath, causalBody(nodes, edges, "T", "Y"))
	if n := len(field(r, "adjustment_sets").Arr); n != 100 || !field(r, "adjustment_sets_truncated").Bool ||
		!strings.Contains(r.str("explanation", "reasoning"), "More minimal adjustment sets exist than the 100 listed.") {
		t.Fatalf("capped sets: %d %s", n, r.Raw)
	}
}

// TestCausalValidateHostile: big, dense and odd inputs never produce a 5xx, and answer fast enough
// to be within the request deadline.
func TestCausalValidateHostile(t *testing.T) {
	s := newTestServer(t, nil, nil)
	d := loadDoc(t)
	// 200 nodes, 5000 forward edges (dense)
	var nodes []string
	for i := range 200 {
		nodes = append(nodes, fmt.Sprintf("n%03d ← → \"'", i))
	}
	r := rand.New(rand.NewPCG(1, 1))
	var edges [][2]string
	for len(edges) < 5000 {
		a, b := r.IntN(200), r.IntN(200)
		if a < b {
			edges = append(edges, [2]string{nodes[a], nodes[b]})
		}
	}
	resp := s.post(causalPath, causalBody(nodes, edges, nodes[50], nodes[199]))
	if resp.Status != http.StatusOK {
		t.Fatalf("dense: %d %s", resp.Status, resp.Raw)
	}
	d.validate(t, http.MethodPost, causalPath, resp)
	// random small requests with junk: only 200/400/422
	names := []string{"A", "B", "C", "", "é", "A"}
	for i := range 300 {
		n := r.IntN(5)
		var ns []string
		for range n {
			ns = append(ns, names[r.IntN(len(names))])
		}
		var es []any
		for range r.IntN(6) {
			switch r.IntN(4) {
			case 0:
				es = append(es, []any{names[r.IntN(len(names))]})
			default:
				es = append(es, []any{names[r.IntN(len(names))], names[r.IntN(len(names))]})
			}
		}
		body := map[string]any{"dag": map[string]any{"nodes": ns, "edges": es}, "treatment": names[r.IntN(len(names))], "outcome": names[r.IntN(len(names))]}
		if r.IntN(3) == 0 {
			body["observed"] = ns
		}
		resp := s.post(causalPath, body)
		switch resp.Status {
		case 200, 400, 422:
		default:
			t.Fatalf("request %d %v: %d %s", i, body, resp.Status, resp.Raw)
		}
		d.validate(t, http.MethodPost, causalPath, resp)
	}
}

func TestCausalValidateDeterministic(t *testing.T) {
	cfg := defaultTestConfig()
	cfg.EnableCache = false // both requests must compute
	s := newTestServer(t, &cfg, nil)
	body := causalBody([]string{"T", "Y", "M", "A", "B"},
		[][2]string{{"A", "T"}, {"A", "M"}, {"B", "M"}, {"B", "Y"}, {"M", "T"}, {"M", "Y"}, {"T", "Y"}}, "T", "Y")
	a := s.post(causalPath, body)
	b := s.post(causalPath, body)
	if a.Status != 200 || string(a.Raw) != string(b.Raw) {
		t.Fatalf("not deterministic:\n%s\n%s", a.Raw, b.Raw)
	}
	m := s.do(http.MethodGet, "/metrics", nil)
	if !strings.Contains(string(m.Raw), `isl_causal_validations_total{status="identifiable"} 2`) {
		t.Fatalf("metric not fed")
	}
}

// TestCausalOpenAPIExtensions: the response schema documents every extension field as such, keeps
// `uncertain` in the status enum, and rejects malformed extension values.
func TestCausalOpenAPIExtensions(t *testing.T) {
	d := loadDoc(t)
	const ptr = "/components/schemas/CausalValidationResponse"
	props, _ := d.lookup(ptr + "/properties")
	for _, k := range []string{"method", "estimand", "front_door_set", "hedge", "adjustment_sets_truncated", "backdoor_paths_truncated"} {
		p, _ := props.(map[string]any)[k].(map[string]any)
		if desc, _ := p["description"].(string); !strings.HasPrefix(desc, "Extension: ") {
			t.Errorf("%s: description %q does not mark it an extension", k, desc)
		}
	}
	enum, _ := d.lookup(ptr + "/properties/status/enum")
	if !reflect.DeepEqual(enum, []any{"identifiable", "uncertain", "cannot_identify"}) {
		t.Errorf("status enum %v", enum)
	}
	base := `"status":"identifiable","adjustment_sets":null,"minimal_set":null,"backdoor_paths":null,"issues":null,"confidence":"high","explanation":{"summary":"s","reasoning":"r","technical_basis":"t","assumptions":[]}`
	for body, valid := range map[string]bool{
		`{` + base + `,"method":"id","estimand":"P(Y|X)","front_door_set":null,"hedge":null,"adjustment_sets_truncated":false,"backdoor_paths_truncated":false}`: true,
		`{` + base + `,"method":null,"hedge":{"f":["X","Y"],"f_prime":["Y"]}}`:                                                                                   true,
		`{` + base + `,"method":"uncertain"}`:             false,
		`{` + base + `,"hedge":{"f":["X"]}}`:              false,
		`{` + base + `,"adjustment_sets_truncated":"no"}`: false,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.schema(t, ptr).Validate(inst); (err == nil) != valid {
			t.Errorf("valid=%v for %s: %v", valid, body, err)
		}
	}
}

// TestCausalValidateDeadline: a computation past the request deadline answers 503 retryable (the
// engine polls the deadline and stops, so the slot is freed too).
func TestCausalValidateDeadline(t *testing.T) {
	cfg := defaultTestConfig()
	cfg.RequestTimeout = time.Millisecond
	s := newTestServer(t, &cfg, nil)
	var nodes []string
	for i := range 200 {
		nodes = append(nodes, fmt.Sprintf("n%03d", i))
	}
	r := rand.New(rand.NewPCG(1, 1))
	var edges [][2]string
	for len(edges) < 5000 {
		if a, b := r.IntN(200), r.IntN(200); a < b {
			edges = append(edges, [2]string{nodes[a], nodes[b]})
		}
	}
	resp := s.post(causalPath, causalBody(nodes, edges, nodes[50], nodes[199]))
	if resp.Status != http.StatusServiceUnavailable || !field(resp, "retryable").Bool {
		t.Fatalf("%d %s", resp.Status, resp.Raw)
	}
}
