package http

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/dag"
)

// appendJSONString writes json.Marshal's bytes for every kind of character: the short escapes,
// other control characters, HTML-sensitive ones, multi-byte runes, U+2028/9 and invalid UTF-8.
func TestAppendJSONStringMatchesMarshal(t *testing.T) {
	cases := []string{"", "plain", `q"uote\back`, "\b\f\n\r\t\x00\x01\x1f\x7f", "<a href='x'>&amp;</a>",
		"Σ_{Z} P(Y|X,Z) P(Z)", "T → M ← U", "line\u2028para\u2029end", "bad\xffutf8\xc3", "\xe2\x82", "😀 ok",
		strings.Repeat("long text, ", 50)}
	for c := range 256 {
		cases = append(cases, string([]byte{'a', byte(c), 'b'}))
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}

// causalResponse's own encoding is json.Marshal's, for every kind of answer the engine gives
// (back-door, front-door, ID formula, hedge, no path, capped lists) and for nil versus empty lists.
func TestCausalResponseAppendJSONMatchesMarshal(t *testing.T) {
	type graph struct {
		nodes          []string
		edges          [][2]string
		t, y           string
		observed       []string
		maxSets, paths int
	}
	graphs := map[string]graph{
		"backdoor":    {nodes: []string{"X", "Y", "Z"}, edges: [][2]string{{"Z", "X"}, {"X", "Y"}, {"Z", "Y"}}, t: "X", y: "Y"},
		"no controls": {nodes: []string{"X", "Y"}, edges: [][2]string{{"X", "Y"}}, t: "X", y: "Y"},
		"no path":     {nodes: []string{"X", "Y"}, edges: [][2]string{{"Y", "X"}}, t: "X", y: "Y"},
		"frontdoor": {nodes: []string{"T", "M", "Y", "U"}, edges: [][2]string{{"T", "M"}, {"M", "Y"}, {"U", "T"}, {"U", "Y"}},
			t: "T", y: "Y", observed: []string{"T", "M", "Y"}},
		"hedge": {nodes: []string{"T", "Y", "U"}, edges: [][2]string{{"U", "T"}, {"U", "Y"}, {"T", "Y"}}, t: "T", y: "Y", observed: []string{"T", "Y"}},
		"id formula": {nodes: []string{"W", "T", "Z", "Y", "U1", "U2"}, // the napkin graph
			edges: [][2]string{{"W", "Z"}, {"Z", "T"}, {"T", "Y"}, {"U1", "W"}, {"U1", "T"}, {"U2", "W"}, {"U2", "Y"}},
			t:     "T", y: "Y", observed: []string{"W", "Z", "T", "Y"}},
		"capped <&>": {nodes: []string{"X<", "Y&", "A", "B", "C"}, // two minimal sets, two paths: one of each listed
			edges: [][2]string{{"A", "X<"}, {"B", "A"}, {"B", "Y&"}, {"C", "X<"}, {"C", "Y&"}, {"X<", "Y&"}},
			t:     "X<", y: "Y&", maxSets: 1, paths: 1},
	}
	for name, g := range graphs {
		t.Run(name, func(t *testing.T) {
			res, err := dag.Validate(context.Background(), g.nodes, g.edges, g.t, g.y, g.observed, dag.Options{MaxSize: causalMaxSetSize, MaxSets: g.maxSets, MaxPaths: g.paths})
			if err != nil {
				t.Fatal(err)
			}
			if name == "capped <&>" && !(res.SetsTruncated && res.PathsTruncated) {
				t.Fatal("the capped case lists everything")
			}
			checkAppendJSON(t, causalResponse{
				Status: res.Status, AdjustmentSets: res.AdjustmentSets, MinimalSet: res.MinimalSet, BackdoorPaths: res.BackdoorPaths,
				Issues: res.Issues, Confidence: res.Confidence, Explanation: res.Explanation, Method: nullString(res.Method),
				Estimand: nullString(res.Estimand), FrontDoorSet: res.FrontDoorSet, Hedge: res.Hedge,
				AdjustmentSetsTruncated: res.SetsTruncated, BackdoorPathsTruncated: res.PathsTruncated,
			})
		})
	}
	t.Run("empty versus nil", func(t *testing.T) {
		checkAppendJSON(t, causalResponse{})
		checkAppendJSON(t, causalResponse{AdjustmentSets: [][]string{{}, nil}, MinimalSet: []string{}, BackdoorPaths: []string{},
			Issues: []dag.Issue{{}}, Explanation: dag.Explanation{Assumptions: []string{}}, FrontDoorSet: []string{},
			Hedge: &dag.Hedge{F: []string{}}, AdjustmentSetsTruncated: true, BackdoorPathsTruncated: true})
	})
}

func checkAppendJSON(t *testing.T, v jsonAppender) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.appendJSON(nil); string(got) != string(want) {
		t.Fatalf("appendJSON:\n%s\njson.Marshal:\n%s", got, want)
	}
}
