package http

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/jsonv"
)

const cfPath = "/api/v1/causal/counterfactual"

const w2Body = `{"model":{"variables":["Price","Revenue"],"equations":{"Revenue":"10000 + 500 * Price"},
"distributions":{"Price":{"type":"normal","parameters":{"mean":50,"std":5}}}},"intervention":{"Price":57.5},"outcome":"Revenue"}`

func cfModel(eqs, dists string) string {
	return fmt.Sprintf(`"model":{"variables":[],"equations":{%s},"distributions":{%s}}`, eqs, dists)
}

// num reads the number at a path of object keys.
func (r response) cfNum(t *testing.T, path ...string) float64 {
	t.Helper()
	v := r.Body
	for _, k := range path {
		var ok bool
		if v, ok = v.Get(k); !ok {
			t.Fatalf("missing %v in %s", path, r.Raw)
		}
	}
	if v.Kind != jsonv.Number {
		t.Fatalf("%v is not a number in %s", path, r.Raw)
	}
	return v.Num
}

func cfStats(t *testing.T, r response) []float64 {
	return []float64{
		r.cfNum(t, "prediction", "point_estimate"),
		r.cfNum(t, "prediction", "confidence_interval", "lower"),
		r.cfNum(t, "prediction", "confidence_interval", "upper"),
		r.cfNum(t, "prediction", "sensitivity_range", "optimistic"),
		r.cfNum(t, "prediction", "sensitivity_range", "pessimistic"),
	}
}

// docs/api.md#determinism vector: the docs/api.md#counterfactual-examples seed material hashes to 70778290.
func TestCounterfactualSeedW2(t *testing.T) {
	v, err := jsonv.Parse([]byte(w2Body))
	if err != nil {
		t.Fatal(err)
	}
	d := &Decoder{}
	req := decodeCounterfactual(d.Root(v))
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	c, _ := jsonv.Canonical(req.seedMaterial())
	want := `{"context": null, "intervention": {"Price": 57.5}, "model": {"distributions": {"Price": {"parameters": {"mean": 50.0, "std": 5.0}, "type": "normal"}}, "equations": {"Revenue": "10000 + 500 * Price"}, "variables": ["Price", "Revenue"]}, "outcome": "Revenue", "preferences": null, "user_context": null}`
	if string(c) != want {
		t.Fatalf("canonical material\n got %s\nwant %s", c, want)
	}
	if seed, err := jsonv.Seed(req.seedMaterial()); err != nil || seed != 70778290 {
		t.Fatalf("seed %d %v", seed, err)
	}
}

func TestCounterfactualGolden(t *testing.T) {
	s := newTestServer(t, nil, nil)
	t.Run("W2", func(t *testing.T) {
		r := s.post(cfPath, w2Body)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		for _, v := range cfStats(t, r) {
			if v != 38750 {
				t.Fatalf("stats %v", cfStats(t, r))
			}
		}
		var keys []string
		for _, e := range r.Body.Obj {
			keys = append(keys, e.Key)
		}
		if strings.Join(keys, ",") != "scenario,prediction,uncertainty,robustness,explanation" {
			t.Fatalf("top-level keys %v", keys)
		}
		if c, _ := r.Body.Get("scenario"); c.Obj[2].Key != "context" || c.Obj[2].Value.Kind != jsonv.Null {
			t.Fatalf("scenario %s", r.Raw)
		}
		if r.str("explanation", "summary") != "Revenue likely increases to 38750 (range: 38750 to 38750)" ||
			!strings.HasPrefix(r.str("explanation", "reasoning"), "Under the intervention Price=57.5, Revenue is predicted to be 38750.") ||
			r.str("uncertainty", "overall") != "low" || r.str("robustness", "score") != "moderate" {
			t.Fatalf("texts %s", r.Raw)
		}
		src, _ := r.Body.Get("uncertainty")
		src, _ = src.Get("sources")
		if len(src.Arr) != 1 {
			t.Fatalf("sources %s", r.Raw)
		}
		if f, _ := src.Arr[0].Get("factor"); f.Str != "Price" {
			t.Fatalf("sources %s", r.Raw)
		}
		if c, _ := src.Arr[0].Get("confidence"); c.Str != "medium" { // cv exactly 0.1
			t.Fatalf("sources %s", r.Raw)
		}
	})
	t.Run("W3 dependency order", func(t *testing.T) {
		r := s.post(cfPath, `{`+cfModel(`"Y":"10 + 2*X + 3*Z","Z":"5 + 0.5*X"`, `"X":{"type":"normal","parameters":{"mean":0,"std":1}}`)+
			`,"intervention":{"X":5},"outcome":"Y"}`)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		for _, v := range cfStats(t, r) {
			if v != 42.5 {
				t.Fatalf("stats %v", cfStats(t, r))
			}
		}
		if r.str("explanation", "summary") != "Y likely increases to 42 (range: 42 to 42)" {
			t.Fatalf("summary %s", r.Raw)
		}
	})
	w4 := `{` + cfModel(`"Brand":"baseline_brand + 0.3 * Price","Revenue":"10000 + 500 * Price - 200 * Brand"`,
		`"baseline_brand":{"type":"normal","parameters":{"mean":50,"std":5}}`) + `,"intervention":{"Price":15},"outcome":"Revenue"`
	t.Run("W4 context", func(t *testing.T) {
		r := s.post(cfPath, w4+`,"context":{"baseline_brand":52}}`)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		for _, v := range cfStats(t, r) {
			if v != 6200 {
				t.Fatalf("stats %v", cfStats(t, r))
			}
		}
		if ctx, _ := r.Body.Get("scenario"); ctx.Obj[2].Value.Kind != jsonv.Object {
			t.Fatalf("context echo %s", r.Raw)
		}
	})
	t.Run("W4 no context", func(t *testing.T) {
		r := s.post(cfPath, w4+`}`)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		st := cfStats(t, r)
		for i, want := range []float64{6600, 4640, 8560, 7882, 5318} {
			if math.Abs(st[i]-want) > 100 {
				t.Fatalf("stats %v", st)
			}
		}
		if r.str("uncertainty", "overall") != "medium" {
			t.Fatalf("overall %s", r.Raw)
		}
	})
	t.Run("abduction", func(t *testing.T) {
		// Y = 2X + U: observed X=1, Y=3 ⇒ U=1; do(X=2) ⇒ Y=5 (override semantics would say 3).
		r := s.post(cfPath, `{`+cfModel(`"Y":"2*X + U"`, `"X":{"type":"normal","parameters":{"mean":0,"std":1}},"U":{"type":"normal","parameters":{"mean":0,"std":1}}`)+
			`,"intervention":{"X":2},"outcome":"Y","context":{"X":1,"Y":3}}`)
		if r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		for _, v := range cfStats(t, r) {
			if math.Abs(v-5) > 1e-9 {
				t.Fatalf("stats %v", cfStats(t, r))
			}
		}
		if !strings.Contains(r.str("explanation", "technical_basis"), "abducting exogenous 'U'") {
			t.Fatalf("technical_basis %s", r.Raw)
		}
	})
}

func TestCounterfactualDeterminism(t *testing.T) {
	s := newTestServer(t, nil, nil)
	body := `{` + cfModel(`"Y":"2*X + U*exp(V/10)"`, `"X":{"type":"uniform","parameters":{"min":0,"max":2}},
		"U":{"type":"beta","parameters":{"alpha":2,"beta":3}},"V":{"type":"exponential","parameters":{"scale":3}}`) +
		`,"intervention":{},"outcome":"Y","preferences":{"a":[1,2]},"user_context":null}`
	a, b := s.post(cfPath, body), s.post(cfPath, body)
	if a.Status != 200 || string(a.Raw) != string(b.Raw) {
		t.Fatalf("not deterministic:\n%s\n%s", a.Raw, b.Raw)
	}
	// preferences is seed material: changing it changes the draws.
	c := s.post(cfPath, strings.Replace(body, `[1,2]`, `[1,3]`, 1))
	if c.Status != 200 || string(c.Raw) == string(a.Raw) {
		t.Fatalf("preferences not part of the seed")
	}
}

func TestCounterfactualSchemaErrors(t *testing.T) {
	s := newTestServer(t, nil, nil)
	r := s.post(cfPath, `{"model":{"equations":{"Y":1},"distributions":{"X":{"type":"normal","parameters":{"mean":"a"}}}},
		"intervention":{"X":"a"},"context":5}`)
	r.envelope(t, 422, "validation_error")
	var env struct {
		Details struct {
			Errors []FieldError `json:"errors"`
		} `json:"details"`
	}
	if err := json.Unmarshal(r.Raw, &env); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range env.Details.Errors {
		b, _ := json.Marshal(e.Loc)
		got = append(got, e.Type+string(b))
	}
	want := []string{
		`missing["body","model","variables"]`,
		`string_type["body","model","equations","Y"]`,
		`float_type["body","model","distributions","X","parameters","mean"]`,
		`float_type["body","intervention","X"]`,
		`missing["body","outcome"]`,
		`dict_type["body","context"]`,
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("errors\n got %v\nwant %v", got, want)
	}
	t.Run("caps", func(t *testing.T) {
		var eqs []string
		for i := 0; i <= 200; i++ {
			eqs = append(eqs, fmt.Sprintf(`"V%d":"1"`, i))
		}
		r := s.post(cfPath, `{`+cfModel(strings.Join(eqs, ","), ``)+`,"intervention":{},"outcome":"V0"}`)
		r.envelope(t, 422, "validation_error")
		if !strings.Contains(string(r.Raw), `"too_long"`) {
			t.Fatalf("%s", r.Raw)
		}
		r = s.post(cfPath, `{`+cfModel(`"Y":"`+strings.Repeat("1+", 600)+`1"`, ``)+`,"intervention":{},"outcome":"Y"}`)
		r.envelope(t, 422, "validation_error")
		if !strings.Contains(string(r.Raw), `"string_too_long"`) {
			t.Fatalf("%s", r.Raw)
		}
	})
	t.Run("explicit null intervention", func(t *testing.T) {
		r := s.post(cfPath, `{`+cfModel(`"Y":"1"`, ``)+`,"intervention":null,"outcome":"Y"}`)
		r.envelope(t, 422, "validation_error")
	})
}

func TestCounterfactualInputErrors(t *testing.T) {
	s := newTestServer(t, nil, nil)
	normal := `{"type":"normal","parameters":{"mean":0,"std":1}}`
	for _, c := range []struct{ body, code, msg string }{
		{`{` + cfModel(`"Y":"__import__('os').system('id')"`, ``) + `,"intervention":{},"outcome":"Y"}`,
			"validation_error", "Invalid equation: __import__('os').system('id')"},
		{`{` + cfModel(`"Y":"X + W"`, `"X":`+normal) + `,"intervention":{},"outcome":"Y"}`,
			"validation_error", "Unknown variable 'W' in equation for 'Y'"},
		{`{` + cfModel(`"A":"B","B":"A"`, ``) + `,"intervention":{},"outcome":"A"}`,
			"validation_error", "Circular dependencies detected in structural equations"},
		{`{` + cfModel(`"Y":"X"`, `"X":`+normal) + `,"intervention":{},"outcome":"Z"}`,
			"validation_error", "Outcome 'Z' is not defined by the model"},
		{`{` + cfModel(`"Y":"X"`, `"X":{"type":"beta","parameters":{"alpha":1}}`) + `,"intervention":{},"outcome":"Y"}`,
			"validation_error", "Distribution for 'X' requires parameter 'beta'"},
		{`{` + cfModel(`"Y":"X"`, `"X":{"type":"normal","parameters":{"mean":1,"std":-2}}`) + `,"intervention":{},"outcome":"Y"}`,
			"validation_error", "Invalid parameters for distribution 'X'"},
		{`{` + cfModel(`"Y":"X"`, `"X":{"type":"cauchy","parameters":{}}`) + `,"intervention":{},"outcome":"Y"}`,
			"validation_error", "Unsupported distribution type 'cauchy' for 'X'"},
		{`{` + cfModel(`"Y":"log(X)"`, `"X":`+normal) + `,"intervention":{},"outcome":"Y"}`,
			"computation_error", "Model produced non-finite values for 'Y'"},
		{`{` + cfModel(`"Y":"X / 0"`, ``) + `,"intervention":{"X":1},"outcome":"Y"}`,
			"computation_error", "Model produced non-finite values for 'Y'"},
	} {
		t.Run(c.msg, func(t *testing.T) {
			r := s.post(cfPath, c.body)
			r.envelope(t, 400, c.code)
			if r.str("message") != c.msg || r.str("suggested_action") != "fix_input" {
				t.Fatalf("%s", r.Raw)
			}
			if v, _ := r.Body.Get("retryable"); v.Bool {
				t.Fatalf("retryable: %s", r.Raw)
			}
		})
	}
}

// Hostile equations and odd inputs never produce a 5xx.
func TestCounterfactualHostile(t *testing.T) {
	s := newTestServer(t, nil, nil)
	for _, eq := range []string{`\"a\"+\"b\"`, "x[0]", "len(x)", "x ? 1 : 2", "x == 1", "1..3", "np.sum(x)", "foo(x)",
		"x.y", "sqrt(1,2)", "max(1)", "$env", "{}", "1e999999", "-1e308*10", "exp(1000)", "0/0",
		strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300), strings.Repeat("-", 500) + "1", "x ** 1e308"} {
		t.Run(eq, func(t *testing.T) {
			r := s.post(cfPath, `{`+cfModel(`"Y":"`+eq+`"`, `"x":{"type":"normal","parameters":{"mean":1,"std":1}}`)+
				`,"intervention":{},"outcome":"Y"}`)
			if r.Status >= 500 || (r.Status != 200 && r.Status != 400) {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	}
	for _, body := range []string{`[]`, `null`, `{"model":[]}`, `{"model":{"variables":[],"equations":{},"distributions":{}},"intervention":{},"outcome":""}`,
		`{` + cfModel(``, `"x":{"type":"normal","parameters":{"mean":1e308,"std":1e308}}`) + `,"intervention":{},"outcome":"x"}`,
		`{` + cfModel(`"Y":"x*x"`, `"x":{"type":"exponential","parameters":{"scale":1e200}}`) + `,"intervention":{},"outcome":"Y"}`,
		`{` + cfModel(`"Y":"x"`, `"x":{"type":"uniform","parameters":{"min":5,"max":1}}`) + `,"intervention":{},"outcome":"Y","context":{}}`,
	} {
		r := s.post(cfPath, body)
		if r.Status >= 500 {
			t.Fatalf("%s → %d %s", body, r.Status, r.Raw)
		}
	}
}
