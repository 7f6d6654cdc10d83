package payloads

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBodiesAreJSONObjects(t *testing.T) {
	for _, e := range All() {
		t.Run(e.Name, func(t *testing.T) {
			b := e.Body()
			if e.File == "" {
				if b != nil {
					t.Fatalf("bodiless endpoint has a body")
				}
				return
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", e.File, err)
			}
			if !strings.HasPrefix(e.Path, "/api/v1/") {
				t.Fatalf("path %s", e.Path)
			}
		})
	}
}

func TestElicitAndUpdateBodies(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(ElicitBody(`vu"7`), &m); err != nil || m["user_id"] != `vu"7` || m["num_queries"] != 5.0 {
		t.Fatalf("elicit body %v %v", m, err)
	}
	if err := json.Unmarshal(UpdateBody("u", "query_001_abc", "B"), &m); err != nil || m["query_id"] != "query_001_abc" || m["response"] != "B" {
		t.Fatalf("update body %v %v", m, err)
	}
}

func TestFirstQueryID(t *testing.T) {
	for in, want := range map[string]string{
		`{"queries":[{"id":"query_006_5fbb49d3"},{"id":"x"}]}`: "query_006_5fbb49d3",
		`{"next_queries":[{"id":"query_001_aa"}]}`:             "query_001_aa",
	} {
		if got, err := FirstQueryID([]byte(in)); err != nil || got != want {
			t.Errorf("%s: %q %v", in, got, err)
		}
	}
	for _, in := range []string{`{}`, `{"queries":[]}`, `not json`, `{"queries":[{"id":""}]}`} {
		if _, err := FirstQueryID([]byte(in)); err == nil {
			t.Errorf("%s: want error", in)
		}
	}
}

// Varied bodies are JSON objects, reproducible for the same index and different across indexes.
// (That the service accepts them is checked by the integration suite against a live ISL.)
func TestVariedBodies(t *testing.T) {
	for _, e := range Stateless() {
		t.Run(e.Name, func(t *testing.T) {
			seen := map[string]bool{}
			for i := 0; i < 50; i++ {
				b := Varied(e, i)
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatalf("%d: %v", i, err)
				}
				if string(Varied(e, i)) != string(b) {
					t.Fatalf("%d: not reproducible", i)
				}
				seen[string(b)] = true
			}
			if len(seen) < 40 {
				t.Fatalf("only %d distinct bodies in 50", len(seen))
			}
		})
	}
	if string(VariedElicitBody("u", 1)) == string(VariedElicitBody("u", 2)) {
		t.Fatal("elicit bodies do not vary")
	}
}
