package dag

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// goldenCase is one testdata/identify_*.json vector. Expected values are derived by hand; the
// derivation is stored next to them.
type goldenCase struct {
	Name       string      `json:"name"`
	Source     string      `json:"source"`
	Derivation []string    `json:"derivation"`
	Nodes      []string    `json:"nodes"`
	Edges      [][2]string `json:"edges"`
	Treatment  string      `json:"treatment"`
	Outcome    string      `json:"outcome"`
	Observed   []string    `json:"observed"`
	Expect     *struct {
		Status           string          `json:"status"`
		Confidence       string          `json:"confidence"`
		AdjustmentSets   json.RawMessage `json:"adjustment_sets"`
		MinimalSet       json.RawMessage `json:"minimal_set"`
		BackdoorPaths    json.RawMessage `json:"backdoor_paths"`
		FrontDoorSet     []string        `json:"front_door_set"`
		Method           string          `json:"method"`
		Estimand         string          `json:"estimand"`
		Hedge            *Hedge          `json:"hedge"`
		SetsTruncated    bool            `json:"sets_truncated"`
		PathsTruncated   bool            `json:"paths_truncated"`
		IssueTypes       []string        `json:"issue_types"`
		IssueDescription string          `json:"issue_description"`
		Summary          string          `json:"summary"`
		TechnicalBasis   string          `json:"technical_basis"`
	} `json:"expect"`
	ExpectError string   `json:"expect_error"`
	ExpectCycle []string `json:"expect_cycle"`
}

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	files, err := filepath.Glob("testdata/identify_*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	var out []goldenCase
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c goldenCase
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, c)
	}
	return out
}

// jsonEq compares a result field with the expected raw JSON (null vs [] matters).
func jsonEq(t *testing.T, what string, got any, want json.RawMessage) {
	t.Helper()
	gb, _ := json.Marshal(got)
	var g, w any
	_ = json.Unmarshal(gb, &g)
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: bad expectation %s", what, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %s, want %s", what, gb, want)
	}
}

func TestGolden(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			res, err := Validate(context.Background(), c.Nodes, c.Edges, c.Treatment, c.Outcome, c.Observed, Options{})
			if c.ExpectError != "" {
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want InputError %q", err, c.ExpectError)
				}
				if ie.Error() != c.ExpectError || ie.InputError() != c.ExpectError {
					t.Fatalf("err = %q, want %q", ie.Error(), c.ExpectError)
				}
				if c.ExpectCycle != nil && !reflect.DeepEqual(ie.Cycle, c.ExpectCycle) {
					t.Fatalf("cycle = %v, want %v", ie.Cycle, c.ExpectCycle)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e := c.Expect
			if res.Status != e.Status || res.Confidence != e.Confidence {
				t.Errorf("status/confidence = %s/%s, want %s/%s", res.Status, res.Confidence, e.Status, e.Confidence)
			}
			jsonEq(t, "adjustment_sets", res.AdjustmentSets, e.AdjustmentSets)
			jsonEq(t, "minimal_set", res.MinimalSet, e.MinimalSet)
			jsonEq(t, "backdoor_paths", res.BackdoorPaths, e.BackdoorPaths)
			if !reflect.DeepEqual(res.FrontDoorSet, e.FrontDoorSet) {
				t.Errorf("front_door_set = %v, want %v", res.FrontDoorSet, e.FrontDoorSet)
			}
			if res.Method != e.Method || (e.Estimand != "" && res.Estimand != e.Estimand) {
				t.Errorf("method/estimand = %s %q, want %s %q", res.Method, res.Estimand, e.Method, e.Estimand)
			}
			if !reflect.DeepEqual(res.Hedge, e.Hedge) {
				t.Errorf("hedge = %+v, want %+v", res.Hedge, e.Hedge)
			}
			if res.SetsTruncated != e.SetsTruncated || res.PathsTruncated != e.PathsTruncated {
				t.Errorf("truncated = %v/%v, want %v/%v", res.SetsTruncated, res.PathsTruncated, e.SetsTruncated, e.PathsTruncated)
			}
			if res.Status == StatusUncertain {
				t.Errorf("uncertain is never produced")
			}
			var types []string
			for _, is := range res.Issues {
				types = append(types, is.Type)
			}
			if !reflect.DeepEqual(types, e.IssueTypes) {
				t.Errorf("issue types = %v, want %v", types, e.IssueTypes)
			}
			if e.IssueDescription != "" && (len(res.Issues) == 0 || res.Issues[0].Description != e.IssueDescription) {
				t.Errorf("issues = %+v, want description %q", res.Issues, e.IssueDescription)
			}
			if e.Summary != "" && res.Explanation.Summary != e.Summary {
				t.Errorf("summary = %q, want %q", res.Explanation.Summary, e.Summary)
			}
			if e.TechnicalBasis != "" && res.Explanation.TechnicalBasis != e.TechnicalBasis {
				t.Errorf("technical_basis = %q, want %q", res.Explanation.TechnicalBasis, e.TechnicalBasis)
			}
			wantAssumptions := 2
			if res.Status == StatusIdentifiable {
				wantAssumptions = 3
			}
			if len(res.Explanation.Assumptions) != wantAssumptions {
				t.Errorf("assumptions = %d, want %d", len(res.Explanation.Assumptions), wantAssumptions)
			}
			for _, s := range []string{res.Explanation.Summary, res.Explanation.Reasoning, res.Explanation.TechnicalBasis} {
				if strings.TrimSpace(s) == "" {
					t.Errorf("empty explanation field: %+v", res.Explanation)
				}
			}
		})
	}
}
