package align

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

func decode(t testing.TB, body string) Request {
	t.Helper()
	var r Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("decode request: %v", err)
	}
	return r
}

// asJSON round-trips v through JSON so numbers compare by value (51000.0 ≡ 51000).
func asJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return out
}

func TestGoldenW9(t *testing.T) {
	raw, err := os.ReadFile("testdata/w9.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Request  json.RawMessage `json:"request"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	resp, err := Align(decode(t, string(g.Request)))
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(g.Response, &want); err != nil {
		t.Fatal(err)
	}
	got := asJSON(t, resp)
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", "  ")
		t.Fatalf("W9 mismatch, got:\n%s", gb)
	}
}

// docs/api.md#team-align second part: preferred lists {a,b}, {b,c}, {c} → moderate conflicts for pairs 1–2 and 1–3 only
// (2 and 3: {c} ⊂ {b,c}, so only one side has an exclusive option).
func TestPreferredOptionConflicts(t *testing.T) {
	r := decode(t, `{"perspectives":[
		{"role":"R1","priorities":[],"constraints":[],"preferred_options":["a","b"]},
		{"role":"R2","priorities":[],"constraints":[],"preferred_options":["b","c"]},
		{"role":"R3","priorities":[],"constraints":[],"preferred_options":["c"]}],
		"options":[{"id":"a","name":"A","attributes":{}},{"id":"b","name":"B","attributes":{}},{"id":"c","name":"C","attributes":{}}]}`)
	resp, err := Align(r)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range resp.Conflicts {
		if c.About != "Preferred options" || c.Severity != "moderate" {
			t.Errorf("unexpected conflict %+v", c)
		}
		got = append(got, strings.Join(c.Between, "-"))
	}
	if want := []string{"R1-R2", "R1-R3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("conflict pairs = %v, want %v", got, want)
	}
	if s := resp.Conflicts[0].Suggestion; s != "Find compromise option or sequence: R1's priority first, then R2's" {
		t.Errorf("suggestion = %q", s)
	}
	// b is preferred by docs/api.md#limits (100 each) and docs/api.md#state scores 50 (no priorities): (200+50)/3 = 83.3.
	if resp.AlignedOptions[0].Option != "b" || resp.AlignedOptions[0].SatisfactionScore != 83.3 {
		t.Errorf("top = %+v", resp.AlignedOptions[0])
	}
}

func TestMatches(t *testing.T) {
	cases := []struct {
		text, phrase string
		want         bool
	}{
		{"costume", "cost", false},
		{"cost", "cost", true},
		{"Low Cost", "cost", true},
		{"costs", "cost", true},          // plural fold
		{"cost", "costs", true},          // both ways
		{"unit_cost", "cost", true},      // underscore separates words
		{"cost-effective", "cost", true}, // hyphen separates words
		{"totalCost", "cost", true},      // camelCase boundary
		{"speedometer", "speed", false},
		{"time_to_market_weeks", "time to market", true},
		{"market time", "time to market", false},
		{"capabilities", "capability", true},
		{"process", "proces", false}, // "ss" words are not folded
		{"status", "statu", false},
		{"QUALITY", "quality", true},
		{"anything", "", false},
		{"anything", "  -- ", false},
		{"", "x", false},
		{"café crème", "CAFÉ", true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s", c.text, c.phrase), func(t *testing.T) {
			if got := Matches(c.text, c.phrase); got != c.want {
				t.Fatalf("Matches(%q, %q) = %v, want %v", c.text, c.phrase, got, c.want)
			}
		})
	}
}

// "cost" must not match an option whose only related attribute is a costume.
func TestSatisfactionWordBoundaries(t *testing.T) {
	r := decode(t, `{"perspectives":[{"role":"Fin","priorities":["cost","speed"],"constraints":[]}],
		"options":[{"id":"x","name":"X","attributes":{"costume":"yes","speedometer":1}},
		           {"id":"y","name":"Y","attributes":{"unit_costs":12.5,"delivery":"high speed"}},
		           {"id":"z","name":"Z","attributes":{"notes":["Cost"]}}]}`)
	resp, err := Align(r)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, o := range resp.AlignedOptions {
		got[o.Option] = o.SatisfactionScore
	}
	want := map[string]float64{"x": 0, "y": 100, "z": 50}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scores = %v, want %v", got, want)
	}
	if ids := []string{resp.AlignedOptions[0].Option, resp.AlignedOptions[1].Option, resp.AlignedOptions[2].Option}; !reflect.DeepEqual(ids, []string{"y", "z", "x"}) {
		t.Fatalf("order = %v", ids)
	}
}

// Priority conflicts are found whichever of the pair holds which theme; `between` names the
// holder of the first theme first.
func TestConflictsBothWays(t *testing.T) {
	r := decode(t, `{"perspectives":[
		{"role":"QA","priorities":["Quality first","stable features"],"constraints":[]},
		{"role":"Sales","priorities":["delivery speed","low costs"],"constraints":[]},
		{"role":"Lab","priorities":["innovation"],"constraints":[]}],
		"options":[{"id":"o","name":"O","attributes":{}}]}`)
	resp, err := Align(r)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range resp.Conflicts {
		got = append(got, fmt.Sprintf("%s|%s|%s", strings.Join(c.Between, ","), c.About, c.Suggestion))
	}
	want := []string{
		"Sales,QA|Speed vs Quality tradeoff|Negotiate acceptable balance between speed and quality",
		"Sales,QA|Cost vs Features tradeoff|Negotiate acceptable balance between cost and features",
		// "stable" is not the word "stability": no Innovation vs Stability conflict with QA.
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("conflicts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(resp.Explanation.Reasoning, "with 2 conflicts to address") {
		t.Errorf("reasoning = %q", resp.Explanation.Reasoning)
	}
}

func TestCommonGroundOrderAndAgreement(t *testing.T) {
	r := decode(t, `{"perspectives":[
		{"role":"A","priorities":["z","y","x","y"],"constraints":["c2","c1"]},
		{"role":"B","priorities":["x","y","z","w"],"constraints":["c1","c2"]}],
		"options":[{"id":"o","name":"O","attributes":{}}]}`)
	for i := 0; i < 5; i++ { // order must not depend on map iteration
		resp, err := Align(r)
		if err != nil {
			t.Fatal(err)
		}
		cg := resp.CommonGround
		if !reflect.DeepEqual(cg.SharedGoals, []string{"z", "y", "x"}) || !reflect.DeepEqual(cg.SharedConstraints, []string{"c2", "c1"}) {
			t.Fatalf("common ground = %+v", cg)
		}
		// (3 + 2) / (4 + 2) = 83.333… → 83.3
		if cg.AgreementLevel != 83.3 {
			t.Fatalf("agreement = %v", cg.AgreementLevel)
		}
		if resp.Recommendation.NextSteps[len(resp.Recommendation.NextSteps)-1] != "Align implementation with shared goals: z, y" {
			t.Fatalf("next steps = %v", resp.Recommendation.NextSteps)
		}
		if !strings.HasPrefix(resp.Explanation.Summary, "Team shows strong alignment") {
			t.Fatalf("summary = %q", resp.Explanation.Summary)
		}
	}
}

func TestNothingSharedNoDenominator(t *testing.T) {
	r := decode(t, `{"perspectives":[{"role":"A","priorities":[],"constraints":[]}],
		"options":[{"id":"o","name":"O","attributes":{"k":null}}]}`)
	resp, err := Align(r)
	if err != nil {
		t.Fatal(err)
	}
	if resp.CommonGround.AgreementLevel != 0 || len(resp.CommonGround.SharedGoals) != 0 {
		t.Fatalf("common ground = %+v", resp.CommonGround)
	}
	// No priorities → 50.0, not satisfied → a generic tradeoff; confidence low.
	o := resp.AlignedOptions[0]
	if o.SatisfactionScore != 50 || len(o.SatisfiesRoles) != 0 || len(o.Tradeoffs) != 1 || o.Tradeoffs[0].Gives != "Some priorities" {
		t.Fatalf("option = %+v", o)
	}
	if resp.Recommendation.Confidence != "low" {
		t.Fatalf("confidence = %s", resp.Recommendation.Confidence)
	}
	b, _ := json.Marshal(resp)
	if strings.Contains(string(b), "null") {
		t.Fatalf("response has null lists: %s", b)
	}
}

func TestHighConfidenceAndStrongAlignment(t *testing.T) {
	r := decode(t, `{"perspectives":[
		{"role":"A","priorities":["growth"],"constraints":["budget"],"preferred_options":["p"]},
		{"role":"B","priorities":["growth"],"constraints":["budget"]}],
		"options":[{"id":"q","name":"Q","attributes":{}},{"id":"p","name":"P","attributes":{"goal":"Growth"}}]}`)
	resp, err := Align(r)
	if err != nil {
		t.Fatal(err)
	}
	rec := resp.Recommendation
	if rec.TopOption != "p" || rec.Confidence != "high" {
		t.Fatalf("recommendation = %+v", rec)
	}
	want := "This option achieves 100% overall satisfaction, satisfying 2 of the team roles. There is strong alignment on shared goals, making implementation smoother."
	if rec.Rationale != want {
		t.Fatalf("rationale = %q", rec.Rationale)
	}
	if !reflect.DeepEqual(rec.NextSteps, []string{"Define implementation plan with clear milestones", "Align implementation with shared goals: growth"}) {
		t.Fatalf("steps = %v", rec.NextSteps)
	}
}

func TestInputErrors(t *testing.T) {
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	persp := `{"role":"A","priorities":[],"constraints":[]}`
	opt := `{"id":"o","name":"O","attributes":{}}`
	cases := []struct{ name, body, msg string }{
		{"no perspectives", `{"perspectives":[],"options":[` + opt + `]}`, "At least one perspective is required"},
		{"no options", `{"perspectives":[` + persp + `],"options":[]}`, "At least one option is required"},
		{"dup role", `{"perspectives":[` + persp + `,` + persp + `],"options":[` + opt + `]}`, "Duplicate perspective role: 'A'"},
		{"empty role", `{"perspectives":[{"role":" ","priorities":[],"constraints":[]}],"options":[` + opt + `]}`, "Perspective role must not be empty"},
		{"dup id", `{"perspectives":[` + persp + `],"options":[` + opt + `,` + opt + `]}`, "Duplicate option id: 'o'"},
		{"empty id", `{"perspectives":[` + persp + `],"options":[{"id":"","name":"O","attributes":{}}]}`, "Option id must not be empty"},
		{"too many perspectives", `{"perspectives":[` + many(51, func(i int) string {
			return fmt.Sprintf(`{"role":"r%d","priorities":[],"constraints":[]}`, i)
		}) + `],"options":[` + opt + `]}`, "Too many perspectives: 51 (maximum 50)"},
		{"too many options", `{"perspectives":[` + persp + `],"options":[` + many(51, func(i int) string {
			return fmt.Sprintf(`{"id":"o%d","name":"O","attributes":{}}`, i)
		}) + `]}`, "Too many options: 51 (maximum 50)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Align(decode(t, c.body))
			var ie interface{ InputError() string }
			if !errors.As(err, &ie) || err.Error() != c.msg {
				t.Fatalf("err = %v, want input error %q", err, c.msg)
			}
		})
	}
	// Exactly at the caps is fine.
	body := `{"perspectives":[` + many(50, func(i int) string {
		return fmt.Sprintf(`{"role":"r%d","priorities":["p%d"],"constraints":[]}`, i, i)
	}) + `],"options":[` + many(50, func(i int) string {
		return fmt.Sprintf(`{"id":"o%d","name":"O","attributes":{"p%d":true}}`, i, i)
	}) + `]}`
	if _, err := Align(decode(t, body)); err != nil {
		t.Fatal(err)
	}
}

// Property: same request, same bytes; scores within [0,100]; no nil lists.
func checkInvariants(t testing.TB, req Request) {
	resp, err := Align(req)
	if err != nil {
		var ie interface{ InputError() string }
		if !errors.As(err, &ie) {
			t.Fatalf("non-input error: %v", err)
		}
		return
	}
	b1, err := json.Marshal(resp)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	resp2, _ := Align(req)
	b2, _ := json.Marshal(resp2)
	if string(b1) != string(b2) {
		t.Fatalf("non-deterministic output")
	}
	if len(resp.AlignedOptions) != len(req.Options) {
		t.Fatalf("%d aligned options for %d options", len(resp.AlignedOptions), len(req.Options))
	}
	for i, o := range resp.AlignedOptions {
		if o.SatisfactionScore < 0 || o.SatisfactionScore > 100 {
			t.Fatalf("score %v out of range", o.SatisfactionScore)
		}
		if i > 0 && o.SatisfactionScore > resp.AlignedOptions[i-1].SatisfactionScore {
			t.Fatalf("options not sorted")
		}
		if len(o.SatisfiesRoles)+len(o.Tradeoffs) != len(req.Perspectives) {
			t.Fatalf("each role must be satisfied or given a tradeoff")
		}
	}
	if a := resp.CommonGround.AgreementLevel; a < 0 || a > 100 {
		t.Fatalf("agreement %v out of range", a)
	}
}

func FuzzAlign(f *testing.F) {
	raw, err := os.ReadFile("testdata/w9.json")
	if err != nil {
		f.Fatalf("seed: %v", err)
	}
	var g struct {
		Request json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal(raw, &g); err != nil || len(g.Request) == 0 {
		f.Fatalf("seed testdata/w9.json: no request (%v)", err)
	}
	f.Add([]byte(g.Request))
	f.Add([]byte(`{"perspectives":[{"role":"a","priorities":["Cost","x_y"],"constraints":["c"],"preferred_options":["o"]}],"options":[{"id":"o","name":"n","attributes":{"costume":[1,{"k":"cost"}],"speed":"fast"}}]}`))
	f.Add([]byte(`{"perspectives":[],"options":[]}`))
	f.Add([]byte(`{"perspectives":[{"role":"","priorities":[""],"constraints":[]}],"options":[{"id":"","name":"","attributes":{"":""}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req Request
		if json.Unmarshal(body, &req) != nil {
			return
		}
		checkInvariants(t, req)
	})
}

func FuzzMatches(f *testing.F) {
	f.Add("unit_costs", "cost")
	f.Add("costume", "cost")
	f.Add("ÀÉÎõü-ß", "ss")
	f.Fuzz(func(t *testing.T, text, phrase string) {
		m := Matches(text, phrase)
		// A phrase always matches itself unless it has no words.
		if len(words(phrase)) > 0 && !Matches(phrase, phrase) {
			t.Fatalf("%q does not match itself", phrase)
		}
		// Matching on words can never find a phrase whose letters are not in the text at all.
		if m && !strings.Contains(strings.ToLower(strings.Join(words(text), " ")), strings.Join(words(phrase), " ")) {
			t.Fatalf("inconsistent match %q in %q", phrase, text)
		}
	})
}
