package deploy

import (
	"os"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

// withStackFile returns a project root whose Pulumi.pilot.yaml is the committed one with extra
// lines appended to its config block.
func withStackFile(t *testing.T, extra string) string {
	t.Helper()
	b, err := os.ReadFile(stacks.StackFilePath(testRoot(t), "pilot"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.WriteFile(stacks.StackFilePath(root, "pilot"), append(b, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// An ssh:// pilot host needs docker:sshOpts, a list: the program must accept it (it once rejected
// every structured value, and the diff with it).
func TestProgramAcceptsStructuredConfig(t *testing.T) {
	root := withStackFile(t, "  docker:sshOpts:\n    - -i\n    - /home/isl/.ssh/pilot\n  docker:caMaterial:\n    secure: v1:abcd\n")
	config, secretKeys := stackConfig(t, "pilot", true)
	config["docker:sshOpts"] = `["-i","/home/isl/.ssh/pilot"]`
	if _, err := runProgramWith(t, "pilot", config, secretKeys, Options{Strictness: stacks.Deploy, Root: root, ImageTag: "c-test"}, nil); err != nil {
		t.Fatalf("structured docker:sshOpts rejected: %v", err)
	}
}

// A stack file that does not parse stops the program; it used to be skipped silently, and with it
// the check for misspelt keys.
func TestProgramRejectsUnparsableStackFile(t *testing.T) {
	root := withStackFile(t, "  isl:replicas: 4\n") // a duplicate key
	config, secretKeys := stackConfig(t, "pilot", true)
	_, err := runProgramWith(t, "pilot", config, secretKeys, Options{Strictness: stacks.Deploy, Root: root, ImageTag: "c-test"}, nil)
	if err == nil || !strings.Contains(err.Error(), "duplicate key isl:replicas") {
		t.Fatalf("error = %v, want the parse error", err)
	}
	// And a typo in the file is still caught.
	root = withStackFile(t, "  isl:replicaz: 4\n")
	_, err = runProgramWith(t, "pilot", config, secretKeys, Options{Strictness: stacks.Deploy, Root: root, ImageTag: "c-test"}, nil)
	if err == nil || !strings.Contains(err.Error(), "isl:replicaz: unknown setting") {
		t.Fatalf("error = %v, want the typo", err)
	}
}
