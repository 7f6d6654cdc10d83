package dag

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type fuzzInput struct {
	Nodes     []string    `json:"nodes"`
	Edges     [][2]string `json:"edges"`
	Treatment string      `json:"treatment"`
	Outcome   string      `json:"outcome"`
	Observed  []string    `json:"observed"`
}

// FuzzParse feeds arbitrary JSON DAG requests through Parse and Identify: no panics, every error is
// an InputError, accepted graphs are acyclic with valid edges, and results are self-consistent.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/identify_*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("seed corpus testdata/identify_*.json: %d files, %v", len(files), err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatalf("seed %s: %v", file, err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"nodes":["A","B","C"],"edges":[["A","B"],["B","C"],["C","A"]],"treatment":"A","outcome":"C"}`))
	f.Add([]byte(`{"nodes":[" ","B"],"edges":[],"treatment":"B","outcome":" "}`))
	f.Add([]byte(`{"nodes":["A","B"],"edges":[["A","B"],["A","B"]],"treatment":"A","outcome":"B","observed":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var in fuzzInput
		if json.Unmarshal(data, &in) != nil {
			return
		}
		g, err := Parse(in.Nodes, in.Edges)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Msg == "" {
				t.Fatalf("non-input error %v", err)
			}
			if ie.Msg == MsgCycle && (len(ie.Cycle) < 3 || ie.Cycle[0] != ie.Cycle[len(ie.Cycle)-1]) {
				t.Fatalf("bad cycle %v", ie.Cycle)
			}
			return
		}
		if len(g.topo) != g.Len() {
			t.Fatalf("accepted a cyclic graph")
		}
		pos := make([]int, g.Len())
		for i, v := range g.topo {
			pos[v] = i
		}
		for _, e := range g.edges {
			if pos[e[0]] >= pos[e[1]] {
				t.Fatalf("edge %v violates topological order", e)
			}
		}
		res, err := g.Identify(context.Background(), in.Treatment, in.Outcome, in.Observed, Options{MaxSets: 10})
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("non-input error %v", err)
			}
			return
		}
		if len(res.AdjustmentSets) > 10 {
			t.Fatalf("cap ignored")
		}
		tr, _ := g.Index(in.Treatment)
		y, _ := g.Index(in.Outcome)
		cut := g.mark([]int{tr})
		for _, s := range res.AdjustmentSets {
			z, err := g.indices(s, "Z")
			if err != nil || !g.dsepBall(cut, []int{tr}, []int{y}, z) {
				t.Fatalf("invalid set %v", s)
			}
		}
		_ = g.Implications(50)
	})
}
