package dag

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseLimitsAndDedup(t *testing.T) {
	nodes := make([]string, MaxNodes+1)
	for i := range nodes {
		nodes[i] = fmt.Sprint("N", i)
	}
	_, err := Parse(nodes, nil)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(ie.Msg, "at most 200") {
		t.Fatalf("node cap: %v", err)
	}
	edges := make([][2]string, MaxEdges+1)
	for i := range edges {
		edges[i] = [2]string{"A", "B"}
	}
	if _, err := Parse([]string{"A", "B"}, edges); !errors.As(err, &ie) || !strings.Contains(ie.Msg, "edges") {
		t.Fatalf("edge cap: %v", err)
	}
	if _, err := Parse([]string{"A", ""}, nil); !errors.As(err, &ie) || ie.Msg != MsgBlankNode {
		t.Fatalf("blank: %v", err)
	}
	g, err := Parse([]string{"A", "B", "C"}, [][2]string{{"A", "B"}, {"A", "B"}, {"C", "B"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Edges(); !reflect.DeepEqual(got, [][2]string{{"A", "B"}, {"C", "B"}}) {
		t.Fatalf("dedup: %v", got)
	}
	if !reflect.DeepEqual(g.Parents("B"), []string{"A", "C"}) || !g.Adjacent("B", "A") || g.Adjacent("A", "C") {
		t.Fatal("adjacency")
	}
	if !g.HasDirectedPath("A", "B") || g.HasDirectedPath("B", "A") || !g.HasDirectedPath("A", "A") {
		t.Fatal("directed paths")
	}
	_, err = Parse([]string{"A", "B", "C", "D"}, [][2]string{{"D", "A"}, {"A", "B"}, {"B", "C"}, {"C", "A"}})
	if !errors.As(err, &ie) || ie.Msg != MsgCycle || ie.CycleText() != "A -> B -> C -> A" {
		t.Fatalf("cycle: %v %v", err, ie)
	}
}

// TestCapsAndSizes: k = 4 disjoint back-door paths T ← Ai ← Bi → Y, each blocked by Ai or Bi,
// give 2^k = 16 minimal sets of size k and k back-door paths.
func TestCapsAndSizes(t *testing.T) {
	nodes := []string{"T", "Y"}
	edges := [][2]string{{"T", "Y"}}
	for i := range 4 {
		a, b := fmt.Sprint("A", i), fmt.Sprint("B", i)
		nodes = append(nodes, a, b)
		edges = append(edges, [2]string{a, "T"}, [2]string{b, a}, [2]string{b, "Y"})
	}
	g, err := Parse(nodes, edges)
	if err != nil {
		t.Fatal(err)
	}
	all, tr, err := g.AdjustmentSets("T", "Y", nil, 0)
	if err != nil || tr || len(all) != 16 {
		t.Fatalf("want 16 sets: %d %v %v", len(all), tr, err)
	}
	if !reflect.DeepEqual(all[0], []string{"A0", "A1", "A2", "A3"}) {
		t.Fatalf("first set %v", all[0])
	}
	res, err := g.Identify(context.Background(), "T", "Y", nil, Options{MaxSets: 5, MaxPaths: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.AdjustmentSets) != 5 || !res.SetsTruncated || len(res.BackdoorPaths) != 3 || !res.PathsTruncated {
		t.Fatalf("caps: %d sets (%v), %d paths (%v)", len(res.AdjustmentSets), res.SetsTruncated, len(res.BackdoorPaths), res.PathsTruncated)
	}
	// no set of size ≤ 3 exists: the sets listed are minimum ones (size 4), each one of the 16
	inAll := map[string]bool{}
	for _, s := range all {
		inAll[strings.Join(s, ",")] = true
	}
	for _, s := range res.AdjustmentSets {
		if len(s) != 4 || !inAll[strings.Join(s, ",")] {
			t.Fatalf("listed set %v is not a minimum adjustment set", s)
		}
	}
	if !strings.Contains(res.Explanation.Reasoning, "More minimal adjustment sets exist than the 5 listed") ||
		!strings.Contains(res.Explanation.Reasoning, "the sets listed are the smallest (4 variables)") {
		t.Fatalf("explanation does not say the list is capped: %q", res.Explanation.Reasoning)
	}
	res, _ = g.Identify(context.Background(), "T", "Y", nil, Options{})
	if res.SetsTruncated || res.PathsTruncated || len(res.BackdoorPaths) != 4 || len(res.AdjustmentSets) != 16 {
		t.Fatalf("no truncation expected: %+v", res)
	}
	if res.BackdoorPaths[0] != "T ← A0 ← B0 → Y" {
		t.Fatalf("path %q", res.BackdoorPaths[0])
	}
}

func TestIdentifyInputErrors(t *testing.T) {
	g, _ := Parse([]string{"A", "B"}, [][2]string{{"A", "B"}})
	_, err := g.Identify(context.Background(), "A", "B", []string{"A", "Zed"}, Options{})
	var ie *InputError
	if !errors.As(err, &ie) || ie.Msg != "Observed node 'Zed' not found in graph. Available nodes: A, B" {
		t.Fatalf("observed: %v", err)
	}
	// treatment and outcome are observed even when not listed
	res, err := g.Identify(context.Background(), "A", "B", []string{}, Options{})
	if err != nil || res.Status != StatusIdentifiable {
		t.Fatalf("%v %+v", err, res)
	}
}

// TestAllSizesListing: the all-sizes listing of the sizes_up_to_three golden graph has the four
// minimal sets of sizes 3, 4, 4 and 5 derived there (Identify lists only the first).
func TestAllSizesListing(t *testing.T) {
	g, err := Parse([]string{"Y", "E2", "T", "D2", "A", "C2", "E1", "C1", "D1"}, [][2]string{
		{"T", "Y"}, {"A", "T"}, {"A", "Y"}, {"C1", "T"}, {"D1", "C1"}, {"E1", "C1"}, {"D1", "Y"}, {"E1", "Y"},
		{"C2", "T"}, {"D2", "C2"}, {"E2", "C2"}, {"D2", "Y"}, {"E2", "Y"}})
	if err != nil {
		t.Fatal(err)
	}
	all, tr, err := g.AdjustmentSets("T", "Y", nil, 0)
	want := [][]string{{"A", "C1", "C2"}, {"A", "C1", "D2", "E2"}, {"A", "C2", "D1", "E1"}, {"A", "D1", "D2", "E1", "E2"}}
	if err != nil || tr || !reflect.DeepEqual(all, want) {
		t.Fatalf("got %v (%v, %v), want %v", all, tr, err, want)
	}
}
