package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestPromoteCommand(t *testing.T) {
	real, _ := stacks.FindRoot(".")
	root := t.TempDir()
	for _, f := range []string{"Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.pilot.yaml"} {
		b, _ := os.ReadFile(filepath.Join(real, f))
		os.WriteFile(filepath.Join(root, f), b, 0o644)
	}
	state := filepath.Join(real, "infra", "promote", "testdata", "staging-healthy")
	code, out, errOut := run(t, "--root", root, "--state", state)
	if code != 0 || !strings.Contains(out, "promoted registry.isl.internal:5000/isl@sha256:") || !strings.Contains(out, "pulumi up --stack pilot") ||
		!strings.Contains(out, " ~   isl:image ") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := run(t, "--root", root, "--state", state); code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("again: exit %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "--root", root, "--state", t.TempDir()); code != 2 || !strings.Contains(errOut, "staging.history.json") {
		t.Errorf("missing state: exit %d %q", code, errOut)
	}
	if code, out, _ := run(t, "-h"); code != 0 || !strings.Contains(out, "usage: promote") {
		t.Errorf("-h: exit %d %q", code, out)
	}
	if code, _, _ := run(t, "--nope"); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
	if _, err := exec.LookPath("pulumi"); err != nil {
		if code, _, errOut := run(t, "--root", root); code != 2 || !strings.Contains(errOut, "the Pulumi CLI is not installed here: pass --state DIR") {
			t.Errorf("no CLI: exit %d %q", code, errOut)
		}
	}
}
