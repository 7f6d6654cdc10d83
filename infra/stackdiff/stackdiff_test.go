package stackdiff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

// compareEdited compares the committed staging stack with a copy that has the given settings.
func compareEdited(t *testing.T, kv ...string) Report {
	t.Helper()
	root, err := stacks.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	before, err := stacks.ReadStackFile(root, "staging")
	if err != nil {
		t.Fatal(err)
	}
	after, _ := stacks.ReadStackFile(root, "staging")
	for i := 0; i+1 < len(kv); i += 2 {
		if err := after.Set(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Compare(Side{Name: "before", Stack: "staging", File: before}, Side{Name: "after", Stack: "staging", File: after}, Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func actions(r Report) map[string]ResourceChange {
	m := map[string]ResourceChange{}
	for _, c := range r.Resources {
		m[c.Resource] = c
	}
	return m
}

// The provider changes a container's memory limit in place (docker update); anything in the
// container's definition replaces it.
func TestInPlaceUpdateVersusReplace(t *testing.T) {
	r := compareEdited(t, "isl:redisMemory", "1Gi")
	a := actions(r)
	if c := a["Container redis"]; c.Action != "update" || len(c.Reasons) != 1 || c.Reasons[0] != "memory: 512 → 1024" {
		t.Errorf("redis: %+v", c)
	}
	if len(r.Resources) != 1 || len(r.Files) != 0 || r.ExitCode() != 1 {
		t.Errorf("report %+v", r)
	}

	r = compareEdited(t, "isl:proxyReadTimeout", "90s")
	a = actions(r)
	if c := a["Container nginx"]; c.Action != "replace" || !strings.HasPrefix(c.Order, "delete first") || !strings.Contains(strings.Join(c.Reasons, ";"), "file /etc/nginx/nginx.conf (diff above)") {
		t.Errorf("nginx: %+v", c)
	}
	if len(r.Files) != 1 || r.Files[0].Name != "nginx.conf" || !strings.Contains(r.Files[0].Diff, "+    proxy_read_timeout 90s;") {
		t.Errorf("files: %+v", r.Files)
	}
}

// Turning protection on is an option change of the data volumes, nothing is replaced; with
// protection on, a replacement or deletion is called out.
func TestProtectChange(t *testing.T) {
	r := compareEdited(t, "isl:protectData", "true")
	a := actions(r)
	vols := []string{"Volume redis-data", "Volume prometheus-data", "Volume grafana-data", "Volume alertmanager-data", "Volume backup-data"}
	for _, v := range vols {
		if c := a[v]; c.Action != "options" || len(c.Reasons) != 1 || c.Reasons[0] != "option protect: (unset) → true" {
			t.Errorf("%s: %+v", v, c)
		}
	}
	if len(r.Resources) != len(vols) {
		t.Errorf("%d changes, want the %d volumes: %+v", len(r.Resources), len(vols), r.Resources)
	}
}

func TestSameIsExitZero(t *testing.T) {
	r := compareEdited(t)
	if r.Differs() || r.ExitCode() != 0 || r.Identical == 0 {
		t.Errorf("report %+v", r)
	}
}

// A relative TLS path is read from the root, wherever the command runs.
func TestRelativeTLSPathFromRoot(t *testing.T) {
	real, err := stacks.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "tls"), 0o755)
	os.WriteFile(filepath.Join(root, "tls", "c.pem"), []byte("cert"), 0o644)
	os.WriteFile(filepath.Join(root, "tls", "k.pem"), []byte("key"), 0o600)
	for _, f := range []string{"Pulumi.yaml", "Pulumi.pilot.yaml"} {
		b, _ := os.ReadFile(filepath.Join(real, f))
		b = []byte(strings.NewReplacer("/etc/isl/tls/fullchain.pem", "tls/c.pem", "/etc/isl/tls/privkey.pem", "tls/k.pem").Replace(string(b)))
		os.WriteFile(filepath.Join(root, f), b, 0o644)
	}
	f, err := stacks.ReadStackFile(root, "pilot")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	r, err := Compare(Side{Name: "a", Stack: "pilot", File: f}, Side{Name: "b", Stack: "pilot", File: f}, Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Notes) != 0 || strings.Contains(strings.Join(r.Warnings, "\n"), "TLS") {
		t.Errorf("relative TLS files not found from the root: notes %v, warnings %v", r.Notes, r.Warnings)
	}
}
