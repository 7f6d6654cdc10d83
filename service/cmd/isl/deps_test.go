package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The service binary must never link Pulumi (or anything of the deployment modules): it is what runs
// in production, and the deployment's dependency tree is large and irrelevant there.
func TestBinaryDoesNotLinkDeployment(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/pulumi/", "github.com/olumi/isl/infra", "github.com/olumi/isl/stacks", "github.com/olumi/isl/monitoring"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("isl links %s", dep)
			}
		}
	}
	if !strings.Contains(string(out), "github.com/olumi/isl/engine/scm") {
		t.Fatal("dependency listing looks wrong: engine/scm missing")
	}
}
