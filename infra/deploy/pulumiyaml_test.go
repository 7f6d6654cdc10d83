package deploy

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// Pulumi's own loaders are the oracle: they accept Pulumi.yaml (its schema and project-config
// rules) and every committed stack file, each stack states every key the project declares without
// a default (Pulumi refuses the stack otherwise), and the values Pulumi decodes — what the program
// receives — are exactly what stacks.ParseStackFile reads.
func TestPulumiLoadersAgree(t *testing.T) {
	root := testRoot(t)
	proj, err := workspace.LoadProject(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		t.Fatalf("Pulumi rejects Pulumi.yaml: %v", err)
	}
	sink := diag.DefaultSink(io.Discard, io.Discard, diag.FormatOptions{Color: colors.Never})
	for _, stack := range []string{"dev", "staging", "pilot"} {
		t.Run(stack, func(t *testing.T) {
			ps, err := workspace.LoadProjectStack(sink, proj, stacks.StackFilePath(root, stack))
			if err != nil {
				t.Fatalf("Pulumi rejects the stack file: %v", err)
			}
			ours, err := stacks.ReadStackFile(root, stack)
			if err != nil {
				t.Fatal(err)
			}
			agree(t, ps.Config, ours)
			for key, decl := range proj.Config {
				if decl.Default != nil || decl.Value != nil {
					continue
				}
				if _, ok := ours.Values[key]; !ok {
					t.Errorf("%s: declared in Pulumi.yaml without a default but not set: Pulumi would refuse the stack", key)
				}
			}
		})
	}
	// Every form `pulumi config set` writes, through both readers.
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(root, "stacks", "testdata", "pulumi-forms.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "Pulumi.forms.yaml")
	os.WriteFile(p, b, 0o644)
	ps, err := workspace.LoadProjectStack(sink, proj, p)
	if err != nil {
		t.Fatalf("Pulumi rejects the forms fixture: %v", err)
	}
	ours, err := stacks.ParseStackFile(b)
	if err != nil {
		t.Fatal(err)
	}
	agree(t, ps.Config, ours)
}

func agree(t *testing.T, theirs config.Map, ours stacks.StackFile) {
	t.Helper()
	if len(theirs) != len(ours.Values) {
		t.Errorf("Pulumi reads %d keys, stacks %d", len(theirs), len(ours.Values))
	}
	for k, v := range theirs {
		key := k.String()
		got, ok := ours.Values[key]
		if !ok {
			t.Errorf("%s: Pulumi reads it, stacks does not", key)
			continue
		}
		secret := v.Secure()
		if secret != ours.Secrets[key] {
			t.Errorf("%s: secret %v, stacks says %v", key, secret, ours.Secrets[key])
		}
		if v.Object() != ours.Objects[key] && !(secret && !v.Object()) {
			t.Errorf("%s: object %v, stacks says %v", key, v.Object(), ours.Objects[key])
		}
		if secret {
			continue // stacks masks it; its ciphertext is not the program's value anyway
		}
		want, err := v.Value(config.NopDecrypter)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: Pulumi hands the program %q, stacks reads %q", key, want, got)
		}
	}
}
