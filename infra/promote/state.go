package promote

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// PulumiCLI reads a stack's state with the Pulumi CLI, from the project root.
type PulumiCLI struct{ Root string }

// Outputs implements State.
func (p PulumiCLI) Outputs(stack string) (map[string]any, error) {
	var out map[string]any
	return out, p.run(&out, "stack", "output", "--json", "--stack", stack)
}

// History implements State.
func (p PulumiCLI) History(stack string) ([]Update, error) {
	var h []Update
	return h, p.run(&h, "stack", "history", "--json", "--stack", stack, "--page-size", "100") // newest first; refreshes in between are skipped
}

func (p PulumiCLI) run(dst any, args ...string) error {
	if _, err := exec.LookPath("pulumi"); err != nil {
		return errors.New("the Pulumi CLI is not installed here: pass --state DIR holding <stack>.outputs.json " +
			"(pulumi stack output --json) and <stack>.history.json (pulumi stack history --json) saved where it is")
	}
	cmd := exec.Command("pulumi", args...)
	cmd.Dir = p.Root
	var stderr []byte
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	if err != nil {
		return fmt.Errorf("pulumi %v: %w: %s", args, err, stderr)
	}
	if err := json.Unmarshal(out, dst); err != nil {
		return fmt.Errorf("pulumi %v: unexpected output: %w", args, err)
	}
	return nil
}

// Files reads saved state: <Dir>/<stack>.outputs.json and <Dir>/<stack>.history.json, the JSON the
// two CLI commands print (for a machine without the CLI, and for tests).
type Files struct{ Dir string }

// Outputs implements State.
func (f Files) Outputs(stack string) (map[string]any, error) {
	var out map[string]any
	return out, f.read(stack+".outputs.json", &out)
}

// History implements State.
func (f Files) History(stack string) ([]Update, error) {
	var h []Update
	return h, f.read(stack+".history.json", &h)
}

func (f Files) read(name string, dst any) error {
	b, err := os.ReadFile(filepath.Join(f.Dir, name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
