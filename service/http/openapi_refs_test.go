package http

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The published document must stand on its own: a user has no copy of the contract the code was
// written from, so no description may cite its section or rule ids, and every docs/api.md anchor
// it points to must exist in the repository's reference.
func TestOpenAPICitesOnlyTheRepositoryDocs(t *testing.T) {
	d := loadDoc(t)
	contractID := regexp.MustCompile(`§[0-9]|\b[RFW][0-9]+\b`)
	anchor := regexp.MustCompile(`docs/api\.md(#[a-z0-9-]+)?`)
	ref, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatalf("docs/api.md: %v", err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{1,4} .*?\{#([a-z0-9-]+)\}$|<a id="([a-z0-9-]+)"></a>`).FindAllStringSubmatch(string(ref), -1) {
		anchors[m[1]+m[2]] = true
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(e, at+"/"+k)
			}
		case []any:
			for _, e := range x {
				walk(e, at)
			}
		case string:
			if !strings.HasSuffix(at, "/description") && !strings.HasSuffix(at, "/summary") {
				return
			}
			if m := contractID.FindString(x); m != "" {
				t.Errorf("%s cites %q: describe the behaviour or point to docs/api.md", at, m)
			}
			for _, m := range anchor.FindAllStringSubmatch(x, -1) {
				if m[1] != "" && !anchors[m[1][1:]] {
					t.Errorf("%s points to %s, which docs/api.md does not define", at, m[0])
				}
			}
		}
	}
	walk(d.raw, "")
	if ed, _ := d.raw["externalDocs"].(map[string]any); ed["url"] != "docs/api.md" {
		t.Errorf("externalDocs = %v, want a pointer to docs/api.md", d.raw["externalDocs"])
	}
}

// /docs shows the pointer to the reference (checked with the page's own script when Node.js is
// installed, as TestDocsRendererRuns does).
func TestDocsPagePointsToTheReference(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed; the renderer is only checked statically (TestDocsPages)")
	}
	out, err := exec.Command(node, "testdata/docs_smoke.js", "docs.js", "openapi.json", "docs").CombinedOutput()
	if err != nil {
		t.Fatalf("renderer failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "is docs/api.md in the ISL repository") {
		t.Fatalf("/docs does not point to docs/api.md:\n%.400s", out)
	}
}
