package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/olumi/isl/benchmarks/payloads"
)

// Run checks every endpoint's contract answer (the worked examples (docs/api.md) as the service implements the documented behaviour),
// the error envelopes, determinism and the preference flow against c. Each group is a subtest.
func Run(t *testing.T, c *Client) {
	t.Helper()
	s := &suite{c: c, run: fmt.Sprintf("it-%d", time.Now().UnixNano())}
	t.Run("health", s.health)
	t.Run("W1 causal validate", s.causalValidate)
	t.Run("W2 counterfactual", s.counterfactual)
	t.Run("W5 elicit", s.elicit)
	t.Run("W6 update errors", s.updateErrors)
	t.Run("W7 teach", s.teach)
	t.Run("W8 model validation", s.modelValidate)
	t.Run("W9 team alignment", s.teamAlign)
	t.Run("W10 sensitivity", s.sensitivity)
	t.Run("error envelopes", s.errors)
	t.Run("determinism", s.determinism)
	t.Run("preference flow", s.preferenceFlow)
	t.Run("varied load payloads", s.variedPayloads)
}

type suite struct {
	c   *Client
	run string // makes user ids unique per run
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// post sends body and requires status want; it returns the decoded body.
func (s *suite) post(t *testing.T, path, body string, want int) (map[string]any, Response) {
	t.Helper()
	r, err := s.c.Post(ctx(t), path, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("POST %s: status %d, want %d: %.500s", path, r.Status, want, r.Raw)
	}
	m, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return m, r
}

// get walks a decoded JSON value by object keys and array indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// expect compares get(v, path...) with want given as JSON text (numbers compare by value).
func expect(t *testing.T, v any, want string, path ...any) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if got := get(v, path...); !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%v = %s, want %s", path, g, want)
	}
}

// topKeys lists a JSON object's member names in wire order (docs/api.md#responses: documented order).
func topKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %.200s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func expectKeysPrefix(t *testing.T, raw []byte, want ...string) {
	t.Helper()
	got := topKeys(t, raw)
	if len(got) < len(want) || !reflect.DeepEqual(got[:len(want)], want) {
		t.Errorf("fields %v, want them to start with %v", got, want)
	}
}

func (s *suite) health(t *testing.T) {
	r, err := s.c.Do(ctx(t), http.MethodGet, "/health", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 {
		t.Fatalf("health %d %s", r.Status, r.Raw)
	}
	m, _ := r.JSON()
	expect(t, m, `"healthy"`, "status")
	if v, _ := m["version"].(string); !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`).MatchString(v) {
		t.Errorf("version %q is not a semantic version", v)
	}
	if ts, _ := m["timestamp"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`).MatchString(ts) {
		t.Errorf("timestamp %q", ts)
	}
	// A deployment with Redis reports it; `make run` (the embedded store) reports backend memory.
	if deps, _ := m["dependencies"].(map[string]any); deps["redis"] != nil {
		expect(t, m, `"connected"`, "dependencies", "redis", "status")
	} else {
		expect(t, m, `"connected"`, "dependencies", "store", "status")
		expect(t, m, `"memory"`, "dependencies", "store", "backend")
	}
}

const validatePath = "/api/v1/causal/validate"

func (s *suite) causalValidate(t *testing.T) {
	m, r := s.post(t, validatePath, string(payloads.CausalValidate.Body()), 200)
	expectKeysPrefix(t, r.Raw, "status", "adjustment_sets", "minimal_set", "backdoor_paths", "issues", "confidence", "explanation")
	expect(t, m, `"identifiable"`, "status")
	expect(t, m, `[["Z"]]`, "adjustment_sets")
	expect(t, m, `["Z"]`, "minimal_set")
	expect(t, m, `["X ← Z → Y"]`, "backdoor_paths") // docs/api.md#causal-validate: per-edge arrows
	expect(t, m, `null`, "issues")
	expect(t, m, `"high"`, "confidence")
	expect(t, m, `"Effect is identifiable by controlling for Z"`, "explanation", "summary")

	m, _ = s.post(t, validatePath, `{"dag":{"nodes":["Price","Revenue","Brand","CustomerAcquisition"],"edges":[["Price","Revenue"],["Brand","Price"],["Brand","Revenue"],["CustomerAcquisition","Revenue"]]},"treatment":"Price","outcome":"Revenue"}`, 200)
	expect(t, m, `[["Brand"]]`, "adjustment_sets")
	m, _ = s.post(t, validatePath, `{"dag":{"nodes":["A","B","C"],"edges":[["A","B"],["C","B"]]},"treatment":"A","outcome":"B"}`, 200)
	expect(t, m, `[[]]`, "adjustment_sets")
	expect(t, m, `null`, "backdoor_paths")
	m, _ = s.post(t, validatePath, `{"dag":{"nodes":["A","B","C"],"edges":[["B","A"],["C","B"]]},"treatment":"A","outcome":"B"}`, 200)
	expect(t, m, `"cannot_identify"`, "status")
	expect(t, m, `"missing_connection"`, "issues", 0, "type")
	expect(t, m, `"high"`, "confidence")
	for body, msg := range map[string]string{
		`{"dag":{"nodes":[],"edges":[]},"treatment":"X","outcome":"Y"}`:                           "DAG must contain at least one node",
		`{"dag":{"nodes":["A","B"],"edges":[["A","B"],["B","A"]]},"treatment":"A","outcome":"B"}`: "Graph contains cycles (not a valid DAG)",
	} {
		m, _ := s.post(t, validatePath, body, 400)
		expect(t, m, `"validation_error"`, "error_code")
		expect(t, m, fmt.Sprintf("%q", msg), "message")
	}
	m, _ = s.post(t, validatePath, `{"dag":{"nodes":["X","Y"],"edges":[["X","Y"]]},"treatment":"NotExist","outcome":"Y"}`, 400)
	if msg, _ := m["message"].(string); !strings.HasPrefix(msg, "Treatment node 'NotExist' not found in graph") {
		t.Errorf("message %q", msg)
	}
}

const cfPath = "/api/v1/causal/counterfactual"

func (s *suite) counterfactual(t *testing.T) {
	m, r := s.post(t, cfPath, string(payloads.Counterfactual.Body()), 200)
	expectKeysPrefix(t, r.Raw, "scenario", "prediction", "uncertainty", "robustness", "explanation")
	for _, p := range [][]any{{"point_estimate"}, {"confidence_interval", "lower"}, {"confidence_interval", "upper"},
		{"sensitivity_range", "optimistic"}, {"sensitivity_range", "pessimistic"}} {
		expect(t, get(m, "prediction"), `38750`, p...)
	}
	expect(t, m, `0.95`, "prediction", "confidence_interval", "confidence_level")
	expect(t, m, `{"Price":57.5}`, "scenario", "intervention")
	expect(t, m, `"low"`, "uncertainty", "overall")
	expect(t, m, `"Price"`, "uncertainty", "sources", 0, "factor")
	expect(t, m, `"medium"`, "uncertainty", "sources", 0, "confidence") // cv exactly 0.1
	expect(t, m, `"moderate"`, "robustness", "score")
	expect(t, m, `"Revenue likely increases to 38750 (range: 38750 to 38750)"`, "explanation", "summary")
	if rs, _ := get(m, "explanation", "reasoning").(string); !strings.HasPrefix(rs, "Under the intervention Price=57.5, Revenue is predicted to be 38750.") {
		t.Errorf("reasoning %q", rs)
	}
	// docs/api.md#counterfactual-examples (docs/api.md#counterfactual-algorithm): equations in dependency order.
	m, _ = s.post(t, cfPath, `{"model":{"variables":["X","Y","Z"],"equations":{"Y":"10 + 2*X + 3*Z","Z":"5 + 0.5*X"},"distributions":{"X":{"type":"normal","parameters":{"mean":0,"std":1}}}},"intervention":{"X":5},"outcome":"Y"}`, 200)
	expect(t, m, `42.5`, "prediction", "point_estimate")
	expect(t, m, `"Y likely increases to 42 (range: 42 to 42)"`, "explanation", "summary")
	// docs/api.md#limits: no eval; unknown functions are a 400, never a 500.
	m, _ = s.post(t, cfPath, `{"model":{"variables":["X","Y"],"equations":{"Y":"__import__('os')"},"distributions":{"X":{"type":"normal","parameters":{"mean":0,"std":1}}}},"intervention":{},"outcome":"Y"}`, 400)
	expect(t, m, `"validation_error"`, "error_code")
}

const elicitPath = "/api/v1/preferences/elicit"

var queryID = regexp.MustCompile(`^query_\d{3}_5fbb49d3$`)

func (s *suite) elicit(t *testing.T) {
	// docs/api.md#query-ids: ids hash the context and the user id, so docs/api.md#elicit's h8 needs 's user; erase what an earlier run
	// stored for that user (docs/api.md#update stores beliefs on /elicit) so that it is fresh again.
	if d, err := s.c.DeleteUser(ctx(t), payloads.DefaultUser); err != nil || d.Status != 204 {
		t.Fatalf("delete W5 user: %v %d", err, d.Status)
	}
	m, r := s.post(t, elicitPath, string(payloads.Elicit.Body()), 200)
	expectKeysPrefix(t, r.Raw, "queries", "strategy", "expected_information_gain", "estimated_queries_remaining", "explanation")
	qs, _ := m["queries"].([]any)
	if len(qs) != 5 {
		t.Fatalf("%d queries, want 5 (F5)", len(qs))
	}
	total := 0.0
	for i := range qs {
		id, _ := get(qs, i, "id").(string)
		if !queryID.MatchString(id) { // docs/api.md#query-ids: h8 of the docs/api.md#elicit context
			t.Errorf("query id %q", id)
		}
		for _, k := range []string{"question", "scenario_a", "scenario_b", "information_gain"} {
			if get(qs, i, k) == nil {
				t.Errorf("query %d lacks %s", i, k)
			}
		}
		ig, _ := get(qs, i, "information_gain").(float64)
		total += ig
		if q, _ := get(qs, i, "question").(string); !strings.HasPrefix(q, "Which outcome would you prefer?\n\n**Option A:** ") || !strings.HasSuffix(q, "Consider the trade-offs in pricing decisions.") {
			t.Errorf("question %q", q)
		}
		if reflect.DeepEqual(get(qs, i, "scenario_a", "outcomes"), get(qs, i, "scenario_b", "outcomes")) {
			t.Errorf("query %d has identical scenarios (R6)", i)
		}
	}
	if eig, _ := m["expected_information_gain"].(float64); eig <= 0 || eig-total > 1e-6 || total-eig > 1e-6 {
		t.Errorf("expected_information_gain %v, queries sum %v", eig, total)
	}
	expect(t, m, `"uncertainty_sampling"`, "strategy", "type")
	expect(t, m, `5`, "estimated_queries_remaining")
	expect(t, m, `"Generated 5 queries using uncertainty_sampling strategy"`, "explanation", "summary")

	m, _ = s.post(t, elicitPath, `{"user_id":"u","context":{"domain":"pricing","variables":[]},"num_queries":5}`, 400)
	expect(t, m, `"context.variables must contain at least one variable"`, "message")
	m, _ = s.post(t, elicitPath, `{"user_id":"u","context":{"domain":"pricing","variables":["a"]},"num_queries":0}`, 422)
	expect(t, m, `"greater_than_equal"`, "details", "errors", 0, "type")
	expect(t, m, `["body","num_queries"]`, "details", "errors", 0, "loc")
}

const updatePath = "/api/v1/preferences/update"

func (s *suite) updateErrors(t *testing.T) {
	m, _ := s.post(t, updatePath, string(payloads.UpdateBody(s.run+"-fresh", "query_000_5fbb49d3", "A")), 400)
	expect(t, m, `"No beliefs found for user. Please start with /elicit endpoint."`, "message")
	m, _ = s.post(t, updatePath, string(payloads.UpdateBody(s.run+"-fresh", "query_000_5fbb49d3", "C")), 422)
	expect(t, m, `"enum"`, "details", "errors", 0, "type")
	expect(t, m, `["body","response"]`, "details", "errors", 0, "loc")
}

func (s *suite) teach(t *testing.T) {
	m, r := s.post(t, "/api/v1/teaching/teach", string(payloads.Teach.Body()), 200)
	expectKeysPrefix(t, r.Raw, "examples", "explanation", "learning_objectives", "expected_learning_time")
	ex, _ := m["examples"].([]any)
	if len(ex) == 0 || len(ex) > 3 {
		t.Fatalf("%d examples, want 1..3", len(ex))
	}
	prev := 2.0
	for i := range ex {
		v, ok := get(ex, i, "information_value").(float64)
		if !ok || v > prev {
			t.Errorf("information_value %v not sorted descending", get(ex, i, "information_value"))
		}
		prev = v
		if get(ex, i, "scenario", "outcomes") == nil || get(ex, i, "key_insight") == nil || get(ex, i, "why_this_example") == nil {
			t.Errorf("example %d incomplete", i)
		}
	}
	objs, _ := m["learning_objectives"].([]any)
	if len(objs) != 2+len(ex) || objs[0] != "Understand core principles of trade_offs" || objs[1] != "Recognize trade_offs in real decision scenarios" {
		t.Errorf("objectives %v", objs)
	}
	expect(t, m, `"10-20 minutes"`, "expected_learning_time")
	if e, _ := m["explanation"].(string); !strings.HasPrefix(e, fmt.Sprintf("Selected %d examples to help you understand Understanding trade-offs between competing objectives. ", len(ex))) {
		t.Errorf("explanation %q", e)
	}
	body := strings.Replace(string(payloads.Teach.Body()), `"max_examples":3`, `"max_examples":6`, 1)
	m, _ = s.post(t, "/api/v1/teaching/teach", body, 422)
	expect(t, m, `["body","max_examples"]`, "details", "errors", 0, "loc")
}

const modelValidatePath = "/api/v1/validation/validate"

func (s *suite) modelValidate(t *testing.T) {
	m, r := s.post(t, modelValidatePath, string(payloads.ModelValidate.Body()), 200)
	expectKeysPrefix(t, r.Raw, "overall_quality", "quality_score", "validation_results", "suggestions", "best_practices", "explanation")
	expect(t, m, `"excellent"`, "overall_quality")
	expect(t, m, `93.75`, "quality_score")
	expect(t, m, `"Model quality: EXCELLENT (94/100)"`, "explanation", "summary")
	expect(t, m, `[]`, "suggestions")
	expect(t, m, `"context_provided"`, "validation_results", "domain", "checks", 0, "name")
	expect(t, m, `"warning"`, "validation_results", "domain", "checks", 0, "status")
	var st []any
	for i := 0; i < 3; i++ {
		st = append(st, get(m, "best_practices", i, "status"))
	}
	if !reflect.DeepEqual(st, []any{"not_followed", "partial", "followed"}) {
		t.Errorf("best practices %v", st)
	}
	m, _ = s.post(t, modelValidatePath, `{"dag":{"nodes":["A","B"],"edges":[["A","B"],["B","A"]]}}`, 200)
	expect(t, m, `"acceptable"`, "overall_quality")
	expect(t, m, `"remove_edge"`, "suggestions", 0, "type")
	m, _ = s.post(t, modelValidatePath, `{"dag":{"nodes":["A","B","C"],"edges":[["A","B"]]}}`, 200)
	expect(t, m, `"Found 1 isolated nodes: ['C']"`, "validation_results", "structural", "checks", 3, "description")
	expect(t, m, `"remove_node"`, "suggestions", 0, "type") // docs/api.md#validation-validate
	m, _ = s.post(t, modelValidatePath, `{"dag":[1,2]}`, 400)
	expect(t, m, `"Invalid dag"`, "message")
}

func (s *suite) teamAlign(t *testing.T) {
	m, r := s.post(t, "/api/v1/team/align", string(payloads.TeamAlign.Body()), 200)
	expectKeysPrefix(t, r.Raw, "common_ground", "aligned_options", "conflicts", "recommendation", "explanation")
	expect(t, m, `{"shared_goals":["speed"],"shared_constraints":["budget"],"agreement_level":40}`, "common_ground")
	for i, id := range []string{"a", "b"} {
		expect(t, m, fmt.Sprintf("%q", id), "aligned_options", i, "option")
		expect(t, m, `75`, "aligned_options", i, "satisfaction_score")
		expect(t, m, `["Eng"]`, "aligned_options", i, "satisfies_roles")
	}
	expect(t, m, `{"role":"PM","gives":"Maximum quality","gets":"Faster time-to-market"}`, "aligned_options", 0, "tradeoffs", 0)
	expect(t, m, `{"role":"PM","gives":"Speed","gets":"Higher quality"}`, "aligned_options", 1, "tradeoffs", 0)
	expect(t, m, `[{"between":["PM","Eng"],"about":"Speed vs Quality tradeoff","severity":"minor","suggestion":"Negotiate acceptable balance between speed and quality"}]`, "conflicts")
	expect(t, m, `"a"`, "recommendation", "top_option")
	expect(t, m, `"medium"`, "recommendation", "confidence")
	expect(t, m, `"This option achieves 75% overall satisfaction, satisfying 1 of the team roles. However, 1 conflict(s) should be addressed."`, "recommendation", "rationale")
	expect(t, m, `"Align implementation with shared goals: speed"`, "recommendation", "next_steps", 3)
	m, _ = s.post(t, "/api/v1/team/align", `{"perspectives":[],"options":[{"id":"x","name":"X","attributes":{}}]}`, 400) // docs/api.md#limits
	expect(t, m, `"validation_error"`, "error_code")
}

func (s *suite) sensitivity(t *testing.T) {
	m, r := s.post(t, "/api/v1/analysis/sensitivity", string(payloads.Sensitivity.Body()), 200)
	expectKeysPrefix(t, r.Raw, "conclusion", "assumptions", "robustness", "explanation")
	expect(t, m, `{"statement":"Result is 51000","base_case":51000}`, "conclusion")
	var rows []string
	for i := 0; i < 3; i++ {
		rows = append(rows, fmt.Sprintf("%v|%v|%v|%v", get(m, "assumptions", i, "name"), get(m, "assumptions", i, "importance"),
			get(m, "assumptions", i, "confidence"), get(m, "assumptions", i, "impact", "if_wrong")))
	}
	want := []string{"Customer price sensitivity|critical|medium|51000", "Market timing|moderate|low|5100", "Seasonal effects|moderate|medium|5100"}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("assumptions %v, want %v", rows, want)
	}
	if p, _ := get(m, "assumptions", 0, "impact", "percentage").(float64); p < 83.33 || p > 83.34 { // docs/api.md#sensitivity
		t.Errorf("percentage %v", p)
	}
	expect(t, m, `"fragile"`, "robustness", "overall")
	expect(t, m, `"If Customer price sensitivity exceeds 0.75, conclusion may reverse"`, "robustness", "breakpoints", 0, "threshold")
	expect(t, m, `"Conclusion is fragile with 1 critical assumption(s)"`, "explanation", "summary")
	m, _ = s.post(t, "/api/v1/analysis/sensitivity", `{"model":{},"baseline_result":1,"assumptions":[]}`, 400)
	expect(t, m, `"At least one assumption is required"`, "message")
}

func envelope(t *testing.T, m map[string]any, code, action string, retryable bool) {
	t.Helper()
	expect(t, m, fmt.Sprintf("%q", code), "error_code")
	expect(t, m, fmt.Sprintf("%q", action), "suggested_action")
	expect(t, m, fmt.Sprint(retryable), "retryable")
	if id, _ := m["trace_id"].(string); !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("trace_id %q is not a UUIDv4", id)
	}
	if _, ok := m["message"].(string); !ok {
		t.Errorf("message missing")
	}
	if _, ok := m["details"]; !ok {
		t.Errorf("details missing")
	}
}

func (s *suite) errors(t *testing.T) {
	t.Run("422 list", func(t *testing.T) {
		m, _ := s.post(t, validatePath, `{"dag":{"nodes":"X"},"treatment":1}`, 422)
		envelope(t, m, "validation_error", "fix_input", false)
		expect(t, m, `"Request validation failed"`, "message")
		errs, _ := get(m, "details", "errors").([]any)
		if len(errs) < 3 {
			t.Fatalf("want every violation listed, got %v", errs)
		}
		seen := map[string]bool{}
		for i := range errs {
			loc, _ := json.Marshal(get(errs, i, "loc"))
			seen[fmt.Sprintf("%v %s", get(errs, i, "type"), loc)] = true
		}
		for _, w := range []string{`list_type ["body","dag","nodes"]`, `missing ["body","dag","edges"]`, `string_type ["body","treatment"]`, `missing ["body","outcome"]`} {
			if !seen[w] {
				t.Errorf("violation %s not listed in %v", w, seen)
			}
		}
		m, _ = s.post(t, validatePath, `{"dag":`, 422)
		expect(t, m, `"json_invalid"`, "details", "errors", 0, "type")
		expect(t, m, `"body"`, "details", "errors", 0, "loc", 0)
	})
	t.Run("400", func(t *testing.T) {
		m, _ := s.post(t, elicitPath, `{"user_id":"u","context":{"domain":"d","variables":[]}}`, 400)
		envelope(t, m, "validation_error", "fix_input", false)
		expect(t, m, `null`, "details")
	})
	t.Run("401 without key", func(t *testing.T) {
		if s.c.APIKey == "" {
			t.Skip("no API key configured for this target (ISL_API_KEY unset)")
		}
		r, err := s.c.Do(ctx(t), http.MethodPost, validatePath, payloads.CausalValidate.Body(), false)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != 401 {
			t.Fatalf("status %d without key: %s", r.Status, r.Raw)
		}
		m, _ := r.JSON()
		envelope(t, m, "unauthorized", "check_credentials", false)
		bad := *s.c
		bad.APIKey = "not-" + s.c.APIKey
		if r, err = bad.Post(ctx(t), validatePath, payloads.CausalValidate.Body()); err != nil || r.Status != 401 {
			t.Fatalf("wrong key: %d %v", r.Status, err)
		}
	})
	t.Run("404 and 405", func(t *testing.T) {
		r, err := s.c.Do(ctx(t), http.MethodGet, "/api/v1/nope", nil, true)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := r.JSON()
		if r.Status != 404 || m["detail"] != "Not Found" {
			t.Errorf("404: %d %s", r.Status, r.Raw)
		}
		r, err = s.c.Do(ctx(t), http.MethodGet, validatePath, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		m, _ = r.JSON()
		if r.Status != 405 || m["detail"] != "Method Not Allowed" || !strings.Contains(r.Header.Get("Allow"), "POST") {
			t.Errorf("405: %d %v %s", r.Status, r.Header.Get("Allow"), r.Raw)
		}
	})
}

func (s *suite) determinism(t *testing.T) {
	// docs/api.md#counterfactual-context without context draws random numbers: same request ⇒ same bytes (docs/api.md#determinism), whichever replica answers.
	w4 := `{"model":{"variables":["Price","Brand","Revenue","baseline_brand"],"equations":{"Brand":"baseline_brand + 0.3 * Price","Revenue":"10000 + 500 * Price - 200 * Brand"},"distributions":{"baseline_brand":{"type":"normal","parameters":{"mean":50,"std":5}}}},"intervention":{"Price":15},"outcome":"Revenue"}`
	for _, c := range []struct{ path, body string }{
		{cfPath, w4},
		{elicitPath, string(payloads.ElicitBody(s.run + "-det"))},
		{"/api/v1/teaching/teach", string(payloads.Teach.Body())},
	} {
		// The first elicit stores the user's beliefs (docs/api.md#update), which the next answers then reflect; from
		// the second call on the state is fixed and every answer must be byte-identical.
		s.post(t, c.path, c.body, 200)
		var first []byte
		for i := 0; i < 4; i++ {
			_, r := s.post(t, c.path, c.body, 200)
			if first == nil {
				first = r.Raw
			} else if !bytes.Equal(first, r.Raw) {
				t.Errorf("%s: answer %d differs from the first (%d vs %d bytes): %s", c.path, i, len(r.Raw), len(first), firstDiff(first, r.Raw))
			}
		}
	}
	m, _ := s.post(t, cfPath, w4, 200)
	if pe, _ := get(m, "prediction", "point_estimate").(float64); pe < 6500 || pe > 6700 {
		t.Errorf("W4 point estimate %v, want ≈6600", pe)
	}
	expect(t, m, `"medium"`, "uncertainty", "overall")
}

func (s *suite) preferenceFlow(t *testing.T) {
	c := ctx(t)
	user := s.run + "-flow"
	q0, err := s.c.Elicit(c, user)
	if err != nil {
		t.Fatal(err)
	}
	u1, err := s.c.Update(c, user, q0)
	if err != nil {
		t.Fatal(err)
	}
	if u1.QueriesCompleted != 1 {
		t.Errorf("queries_completed %d after one answer", u1.QueriesCompleted)
	}
	var first map[string]any
	_ = json.Unmarshal(u1.Raw, &first)
	if n := len(get(first, "next_queries").([]any)); n != 3 {
		t.Errorf("%d next queries, want 3", n)
	}
	expectKeysPrefix(t, u1.Raw, "updated_beliefs", "queries_completed", "estimated_queries_remaining", "next_queries", "learning_summary")
	if v := get(first, "updated_beliefs", "uncertainty_estimates", "revenue_weight"); v == nil {
		t.Errorf("updated beliefs lack revenue_weight: %s", u1.Raw)
	}
	// Re-answering the same query is idempotent for the count (ZCARD).
	again, err := s.c.Update(c, user, q0)
	if err != nil || again.QueriesCompleted != 1 {
		t.Errorf("re-answer: %+v %v", again.QueriesCompleted, err)
	}
	u2, err := s.c.Update(c, user, u1.NextQueryID)
	if err != nil || u2.QueriesCompleted != 2 {
		t.Fatalf("second answer: %d %v", u2.QueriesCompleted, err)
	}
	m, _ := s.post(t, updatePath, string(payloads.UpdateBody(user, "query_999_deadbeef", "A")), 400)
	expect(t, m, `"Unknown query_id"`, "message")
	d, err := s.c.DeleteUser(c, user)
	if err != nil || d.Status != 204 {
		t.Fatalf("delete: %d %v", d.Status, err)
	}
	m, _ = s.post(t, updatePath, string(payloads.UpdateBody(user, u2.NextQueryID, "A")), 400)
	expect(t, m, `"No beliefs found for user. Please start with /elicit endpoint."`, "message")
}

// firstDiff shows where two answers part, briefly.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-40)
	return fmt.Sprintf("at byte %d: %q vs %q", i, a[lo:min(len(a), i+40)], b[lo:min(len(b), i+40)])
}

// variedPayloads: every body the load tool's --payloads varied sends is a valid request (so a
// varied run measures the service, not 4xx answers). Elicit users are deleted afterwards.
func (s *suite) variedPayloads(t *testing.T) {
	for _, e := range payloads.Stateless() {
		for i := 0; i < 12; i++ {
			s.post(t, e.Path, string(payloads.Varied(e, i)), 200)
		}
	}
	for i := 0; i < 6; i++ {
		user := fmt.Sprintf("%s-varied-%d", s.run, i)
		s.post(t, payloads.Elicit.Path, string(payloads.VariedElicitBody(user, i)), 200)
		if r, err := s.c.DeleteUser(ctx(t), user); err != nil || r.Status != 204 {
			t.Fatalf("delete %s: %v %+v", user, err, r)
		}
	}
}
