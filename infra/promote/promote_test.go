package promote

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

const healthyDigest = "registry.isl.internal:5000/isl@sha256:4f6c2b8e0d1a9c3b7e5f2a4d6c8b0e1f3a5c7e9b2d4f6a8c0e2b4d6f8a1c3e5b"

// fixtureRoot is a project root with Pulumi.yaml and the committed staging and pilot stack files.
func fixtureRoot(t *testing.T) string {
	t.Helper()
	real, err := stacks.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, f := range []string{"Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.pilot.yaml"} {
		b, err := os.ReadFile(filepath.Join(real, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// memState is a State in memory, for the refusals.
type memState struct {
	outputs map[string]any
	history []Update
}

func (m memState) Outputs(string) (map[string]any, error) { return m.outputs, nil }
func (m memState) History(string) ([]Update, error)       { return m.history, nil }

func TestPromoteHealthyStaging(t *testing.T) {
	root := fixtureRoot(t)
	pilot := stacks.StackFilePath(root, "pilot")
	before, _ := os.ReadFile(pilot)
	res, err := Run(Request{From: "staging", To: "pilot", Root: root}, Files{Dir: "testdata/staging-healthy"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Written || res.Image != healthyDigest || res.Update.Version != 7 {
		t.Fatalf("result %+v", res)
	}
	after, _ := os.ReadFile(pilot)
	var changed []string
	bl, al := strings.Split(string(before), "\n"), strings.Split(string(after), "\n")
	if len(bl) != len(al) {
		t.Fatalf("line count %d → %d:\n%s", len(bl), len(al), after)
	}
	for i := range bl {
		if bl[i] != al[i] {
			changed = append(changed, al[i])
		}
	}
	if want := "  isl:image: " + healthyDigest + " # promoted from staging (deployment 7)"; len(changed) != 1 || changed[0] != want {
		t.Errorf("changed lines %q, want only %q", changed, want)
	}
	sf, err := stacks.ReadStackFile(root, "pilot")
	if err != nil || sf.Values["isl:image"] != healthyDigest {
		t.Fatalf("re-read: %v %q", err, sf.Values["isl:image"])
	}

	// The diff shows what the promotion does to the pilot: the image is no longer built, it is
	// pulled by digest, and every replica is replaced because its image changes.
	r := res.Report
	if r == nil || len(r.Problems) > 0 {
		t.Fatalf("report %+v", r)
	}
	actions := map[string]string{}
	for _, c := range r.Resources {
		actions[c.Resource] = c.Action + ": " + strings.Join(c.Reasons, "; ")
	}
	for res, want := range map[string]string{"Image isl-image": "delete", "RemoteImage isl-image": "create",
		"Container isl-1": "replace: image: sha256:<built> → sha256:<id of " + healthyDigest + ">", "Container isl-3": "replace"} {
		if !strings.HasPrefix(actions[res], want) {
			t.Errorf("%s: %q, want %q", res, actions[res], want)
		}
	}
	if _, ok := actions["Container nginx"]; ok {
		t.Errorf("nginx changes on an image promotion: %s", actions["Container nginx"])
	}

	// Promoting again is a no-op.
	again, err := Run(Request{From: "staging", To: "pilot", Root: root}, Files{Dir: "testdata/staging-healthy"})
	if err != nil || !again.Same || again.Written {
		t.Errorf("second promotion: %+v %v", again, err)
	}
}

func TestPromoteRefuses(t *testing.T) {
	ok := []Update{{Version: 3, Kind: "update", Result: "succeeded"}}
	pinned := map[string]any{"imageDigest": healthyDigest}
	cases := []struct {
		name  string
		state memState
		want  string
	}{
		{"last update failed", memState{pinned, []Update{{Version: 3, Kind: "update", Result: "succeeded"}, {Version: 4, Kind: "update", Result: "failed"}}},
			`last deployment (4) did not succeed (result "failed")`},
		{"still running", memState{pinned, []Update{{Version: 5, Kind: "update", Result: "in-progress"}}}, `did not succeed (result "in-progress")`},
		{"destroyed", memState{pinned, []Update{{Version: 3, Kind: "update", Result: "succeeded"}, {Version: 4, Kind: "destroy", Result: "succeeded"}}},
			"was a destroy"},
		{"never deployed", memState{pinned, []Update{{Version: 1, Kind: "refresh", Result: "succeeded"}}}, "has never been deployed"},
		{"local image id", memState{map[string]any{"imageDigest": "sha256:" + strings.Repeat("a", 64), "imageName": "isl:c-1a2b3c4d5e6f"}, ok},
			"an image id that exists only on its own Docker host"},
		{"tag only", memState{map[string]any{"imageName": "registry/isl:c-1a2b3c4d5e6f", "imageDigest": "registry/isl:c-1a2b3c4d5e6f"}, ok},
			"not pinned by a registry digest"},
		{"no image", memState{map[string]any{"endpointUrl": "http://x"}, ok}, "name no image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := fixtureRoot(t)
			before, _ := os.ReadFile(stacks.StackFilePath(root, "pilot"))
			_, err := Run(Request{From: "staging", To: "pilot", Root: root}, c.state)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want a refusal containing %q", err, c.want)
			}
			if after, _ := os.ReadFile(stacks.StackFilePath(root, "pilot")); string(after) != string(before) {
				t.Error("a refused promotion changed the stack file")
			}
		})
	}
	t.Run("same stack", func(t *testing.T) {
		if _, err := Run(Request{From: "pilot", To: "pilot", Root: fixtureRoot(t)}, memState{pinned, ok}); !errors.Is(err, ErrRefused) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("dry run writes nothing", func(t *testing.T) {
		root := fixtureRoot(t)
		before, _ := os.ReadFile(stacks.StackFilePath(root, "pilot"))
		res, err := Run(Request{From: "staging", To: "pilot", Root: root, DryRun: true}, memState{pinned, ok})
		after, _ := os.ReadFile(stacks.StackFilePath(root, "pilot"))
		if err != nil || res.Written || res.Report == nil || string(after) != string(before) {
			t.Errorf("dry run: %+v %v", res, err)
		}
	})
}
