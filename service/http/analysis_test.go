package http

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

const (
	modelValidatePath = "/api/v1/validation/validate"
	teamAlignPath     = "/api/v1/team/align"
	sensitivityPath   = "/api/v1/analysis/sensitivity"
)

func num(t *testing.T, r response, path ...string) float64 {
	t.Helper()
	v := field(r, path...)
	return v.Num
}

// The sensitivity worked example (docs/api.md#sensitivity) at HTTP level, with the limits of docs/api.md#limits (see engine/sensitivity TestGoldenW10).
func TestSensitivityW10(t *testing.T) {
	s := newTestServer(t, nil, nil)
	d := loadDoc(t)
	body := `{"model":{"type":"pricing"},"baseline_result":51000,"assumptions":[
		{"name":"Customer price sensitivity","current_value":0.5,"type":"parametric","variation_range":{"min":0.3,"max":0.8}},
		{"name":"Market timing","current_value":"90 days","type":"structural","variation_range":null},
		{"name":"Seasonal effects","current_value":{"Q4_multiplier":1.08},"type":"distributional"}]}`
	r := s.post(sensitivityPath, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	d.validate(t, http.MethodPost, sensitivityPath, r)
	if got := keysOf(r.Body); !reflect.DeepEqual(got[:4], []string{"conclusion", "assumptions", "robustness", "explanation"}) {
		t.Fatalf("field order %v", got)
	}
	as := field(r, "assumptions").Arr
	var rows []string
	for _, a := range as {
		m := plain(t, a).(map[string]any)
		imp := m["impact"].(map[string]any)
		rows = append(rows, fmt.Sprintf("%s|%s|%s|%v|%.4f", m["name"], m["importance"], m["confidence"], imp["if_wrong"], imp["percentage"]))
	}
	want := []string{"Customer price sensitivity|critical|medium|51000|83.3333", "Market timing|moderate|low|5100|8.3333", "Seasonal effects|moderate|medium|5100|8.3333"}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v", rows)
	}
	if r.str("robustness", "overall") != "fragile" || r.str("conclusion", "statement") != "Result is 51000" {
		t.Fatalf("%s", r.Raw)
	}
	bp := field(r, "robustness", "breakpoints").Arr
	if len(bp) != 1 || plain(t, bp[0]).(map[string]any)["threshold"] != "If Customer price sensitivity exceeds 0.75, conclusion may reverse" {
		t.Fatalf("breakpoints %s", r.Raw)
	}
	// docs/api.md#limits: an empty list is a 400 (the contract's docs/api.md#sensitivity said robust).
	e := s.post(sensitivityPath, `{"model":{},"baseline_result":1,"assumptions":[]}`)
	e.envelope(t, http.StatusBadRequest, "validation_error")
	if e.str("message") != "At least one assumption is required" {
		t.Fatalf("%s", e.Raw)
	}
}

// A real model at HTTP level: deterministic (seeded from the request) and solved breakpoints.
func TestSensitivityModelRun(t *testing.T) {
	s := newTestServer(t, nil, nil)
	d := loadDoc(t)
	body := `{"model":{"variables":["Price","Revenue"],"equations":{"Revenue":"10000 + 500 * Price - 12000"},
		"distributions":{"Price":{"type":"normal","parameters":{"mean":50,"std":5}}}},"baseline_result":23000,
		"assumptions":[{"name":"Price.mean","current_value":50,"type":"parametric"},
		{"name":"Effect risk ratio","current_value":10.73,"type":"effect_ratio","variation_range":{"min":8.02,"max":14.36}}]}`
	r1 := s.post(sensitivityPath, body)
	r2 := s.post(sensitivityPath, body)
	if r1.Status != http.StatusOK || string(r1.Raw) != string(r2.Raw) {
		t.Fatalf("status %d or non-deterministic:\n%s\n%s", r1.Status, r1.Raw, r2.Raw)
	}
	d.validate(t, http.MethodPost, sensitivityPath, r1)
	m := plainMap(t, r1)
	run := m["model_run"].(map[string]any)
	if run["outcome"] != "Revenue" || run["samples"].(float64) != sensitivityMaxSamples {
		t.Fatalf("model_run %v", run)
	}
	var priceBP, ev map[string]any
	for _, b := range m["robustness"].(map[string]any)["breakpoints"].([]any) {
		if b.(map[string]any)["assumption"] == "Price.mean" {
			priceBP = b.(map[string]any)
		}
	}
	for _, a := range m["assumptions"].([]any) {
		if a.(map[string]any)["name"] == "Effect risk ratio" {
			ev = a.(map[string]any)["e_value"].(map[string]any)
		}
	}
	// Revenue = 500·P − 2000 crosses 0 at mean P ≈ 4 (minus the sample-mean offset): outside the
	// ±30 % range [35, 65] and its widening [5, 95]; Price.mean swing 15000 / 23000 is critical.
	if priceBP == nil || !strings.HasPrefix(priceBP["threshold"].(string), "No reversal found") {
		t.Fatalf("breakpoint %v", priceBP)
	}
	if p := ev["point"].(float64); p < 20.94776 || p > 20.94778 {
		t.Fatalf("E-value %v", ev)
	}
	if c := ev["ci_limit"].(float64); c < 15.52335 || c > 15.52337 {
		t.Fatalf("E-value CI %v", ev)
	}
}

func TestSensitivityErrors(t *testing.T) {
	s := newTestServer(t, nil, nil)
	a := `{"name":"a","current_value":1,"type":"parametric"}`
	for body, msg := range map[string]string{
		`{"model":{},"baseline_result":1,"assumptions":[` + a + `,` + a + `]}`:                      "Duplicate assumption name: 'a'",
		`{"model":{},"baseline_result":1,"assumptions":[{"name":"","current_value":1,"type":"x"}]}`: "Assumption name must not be empty",
	} {
		r := s.post(sensitivityPath, body)
		r.envelope(t, http.StatusBadRequest, "validation_error")
		if r.str("message") != msg {
			t.Errorf("%s: %q", body, r.str("message"))
		}
	}
	check422(t, s, sensitivityPath, `{"baseline_result":"x","assumptions":[{"name":"a","current_value":[1],"type":"t","variation_range":{"min":"a"}},{"current_value":true}],"decision_threshold":"high","outcome":3}`,
		`missing ["body","model"]`, `float_type ["body","baseline_result"]`,
		`union_type ["body","assumptions",0,"current_value"]`, `float_type ["body","assumptions",0,"variation_range","min"]`,
		`missing ["body","assumptions",1,"name"]`, `union_type ["body","assumptions",1,"current_value"]`, `missing ["body","assumptions",1,"type"]`,
		`string_type ["body","outcome"]`, `float_type ["body","decision_threshold"]`)
}

// Hostile input: random mixtures of valid and junk members never produce a 5xx.
func TestAnalysisHostile(t *testing.T) {
	s := newTestServer(t, nil, nil)
	d := loadDoc(t)
	rng := rand.New(rand.NewPCG(4, 2))
	junk := []any{nil, true, 0, -1.5, 1e308, "", "x", "A", []any{}, []any{"A", "B"}, []any{1}, map[string]any{},
		map[string]any{"nodes": []any{"A", "B"}, "edges": []any{[]any{"A", "B"}, []any{"B", "A"}}},
		map[string]any{"equations": map[string]any{"Y": "1/X", "X": "Y"}, "distributions": map[string]any{"X": map[string]any{"type": "beta", "parameters": map[string]any{"alpha": -1}}}},
		map[string]any{"equations": map[string]any{"Y": "log(p) * q ** 400"}, "variables": []any{}, "distributions": map[string]any{}},
	}
	pick := func() any { return junk[rng.IntN(len(junk))] }
	for i := range 150 {
		bodies := map[string]any{
			modelValidatePath: map[string]any{"dag": pick(), "structural_model": pick(), "context": pick(), "validation_level": []any{"basic", "comprehensive", pick()}[rng.IntN(3)]},
			teamAlignPath: map[string]any{
				"perspectives": []any{map[string]any{"role": pick(), "priorities": []any{"cost", pick()}, "constraints": []any{}, "preferred_options": pick()}},
				"options":      []any{map[string]any{"id": "o", "name": "n", "attributes": map[string]any{"costume": pick(), "speed": pick()}}, pick()},
			},
			sensitivityPath: map[string]any{"model": pick(), "baseline_result": []any{0, 1e300, -5, pick()}[rng.IntN(4)],
				"assumptions": []any{
					map[string]any{"name": []any{"p", "q", "Y", "Y[1]", "X.alpha"}[rng.IntN(5)], "current_value": []any{0, 2, 1e300, "s", pick()}[rng.IntN(5)], "type": "effect_ratio", "variation_range": pick()},
					map[string]any{"name": "q", "current_value": -3, "type": "parametric", "variation_range": map[string]any{"min": pick(), "max": 1e308}},
				}},
		}
		for path, body := range bodies {
			r := s.post(path, body)
			if r.Status >= 500 {
				t.Fatalf("request %d %s %s: %d %s", i, path, mustJSON(body), r.Status, r.Raw)
			}
			d.validate(t, http.MethodPost, path, r)
		}
	}
}
