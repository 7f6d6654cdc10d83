package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// docs/api.md#causal-validate-examples docs/api.md#validation-validate at HTTP level (engine golden: engine/validation/testdata/w8.json).
func TestModelValidateW8(t *testing.T) {
	s := newTestServer(t, nil, nil)
	d := loadDoc(t)
	r := s.post(modelValidatePath, `{"dag":{"nodes":["Input","Process","Output","Feedback"],
		"edges":[["Input","Process"],["Process","Output"],["Feedback","Process"]]},
		"structural_model":{"variables":["Input","Process","Output"],
		"equations":{"Process":"Input + 0.5 * Feedback","Output":"2 * Process"},
		"distributions":{"Input":{"type":"normal","parameters":{"mean":10,"std":2}}}}}`)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	d.validate(t, http.MethodPost, modelValidatePath, r)
	if got := keysOf(r.Body); !reflect.DeepEqual(got[:6], []string{"overall_quality", "quality_score", "validation_results", "suggestions", "best_practices", "explanation"}) {
		t.Fatalf("field order %v", got)
	}
	if r.str("overall_quality") != "excellent" || num(t, r, "quality_score") != 93.75 ||
		r.str("explanation", "summary") != "Model quality: EXCELLENT (94/100)" || len(field(r, "suggestions").Arr) != 0 {
		t.Fatalf("%s", r.Raw)
	}
	var st []string
	for _, p := range field(r, "best_practices").Arr {
		v, _ := p.Get("status")
		st = append(st, v.Str)
	}
	if !reflect.DeepEqual(st, []string{"not_followed", "partial", "followed"}) {
		t.Fatalf("practices %v", st)
	}
	// A⇄B: standard keeps the contract's 66.67 acceptable, basic (structural only) gives 75 good.
	for level, want := range map[string]string{"standard": "acceptable", "basic": "good"} {
		r := s.post(modelValidatePath, fmt.Sprintf(`{"dag":{"nodes":["A","B"],"edges":[["A","B"],["B","A"]]},"validation_level":%q}`, level))
		sg := field(r, "suggestions").Arr
		typ, _ := sg[0].Get("type")
		if r.str("overall_quality") != want || len(sg) != 1 || typ.Str != "remove_edge" {
			t.Fatalf("%s: %s", level, r.Raw)
		}
		d.validate(t, http.MethodPost, modelValidatePath, r)
	}
	r = s.post(modelValidatePath, `{"dag":{"nodes":["A","B","C"],"edges":[["A","B"]]}}`)
	if !strings.Contains(string(r.Raw), `"Found 1 isolated nodes: ['C']"`) || !strings.Contains(string(r.Raw), `"remove_node"`) {
		t.Fatalf("%s", r.Raw)
	}
}

func TestModelValidateErrors(t *testing.T) {
	s := newTestServer(t, nil, nil)
	for body, msg := range map[string]string{
		`{"dag":[]}`:            "Invalid dag",
		`{"dag":null}`:          "Invalid dag",
		`{"dag":{"nodes":"A"}}`: "Invalid dag",
		`{"dag":{"edges":{}}}`:  "Invalid dag",
		`{"dag":{"nodes":["A"]},"structural_model":[1]}`:     "Invalid structural_model",
		`{"dag":{"nodes":["A"]},"structural_model":"text"}`:  "Invalid structural_model",
		`{"dag":{"nodes":` + mustJSON(nodeNames(201)) + `}}`: "DAG has 201 nodes; at most 200 are allowed",
	} {
		r := s.post(modelValidatePath, body)
		r.envelope(t, http.StatusBadRequest, "validation_error")
		if r.str("message") != msg {
			t.Errorf("%s: message %q, want %q", body, r.str("message"), msg)
		}
	}
	check422(t, s, modelValidatePath, `{"validation_level":"deep","context":[1]}`,
		`missing ["body","dag"]`, `model_attributes_type ["body","context"]`, `enum ["body","validation_level"]`)
}

func nodeNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("N", i)
	}
	return out
}

// check422 asserts a 422 whose errors are exactly want ("type loc").
func check422(t *testing.T, s *testServer, path, body string, want ...string) {
	t.Helper()
	r := s.post(path, body)
	r.envelope(t, http.StatusUnprocessableEntity, "validation_error")
	var got []string
	for _, e := range field(r, "details", "errors").Arr {
		ty, _ := e.Get("type")
		loc, _ := e.Get("loc")
		lb, _ := json.Marshal(loc)
		got = append(got, ty.Str+" "+string(lb))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: errors\n%v\nwant\n%v", body, got, want)
	}
}
