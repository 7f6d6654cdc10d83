package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// The diffs a release manager reads, against the committed stack files. After a deliberate change
// to a stack file or a renderer: go test ./infra/cmd/stackdiff -update, and review the golden diff.
func TestGolden(t *testing.T) {
	for _, c := range []struct{ from, to string }{{"staging", "pilot"}, {"dev", "staging"}} {
		t.Run(c.from+"-"+c.to, func(t *testing.T) {
			code, out, errOut := run(t, "--from", c.from, "--to", c.to)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (different)\n%s%s", code, out, errOut)
			}
			golden := filepath.Join("testdata", c.from+"-"+c.to+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s (go test -update to accept):\n%s", golden, out)
			}
		})
	}
	// What the staging→pilot golden must show, whatever else changes in it.
	want, _ := os.ReadFile(filepath.Join("testdata", "staging-pilot.golden"))
	for _, s := range []string{
		" ~   isl:replicas ", "+++ pilot/nginx.conf", "+        server isl-3:8000", "-maxmemory 256mb", "+maxmemory 1024mb",
		"option protect: (unset) → true", "Container isl-3", "create", "replace, delete first",
		"isl:tlsCertFile /etc/isl/tls/fullchain.pem cannot be read here (no such file or directory)",
		"before `pulumi up` of pilot you still need",
	} {
		if !strings.Contains(string(want), s) {
			t.Errorf("staging→pilot lacks %q", s)
		}
	}
	if n := strings.Count(string(want), "isl:adminAllowCidrs"); n != 0 {
		t.Errorf("an unchanged key is listed without --all")
	}
}

func TestExitCodesAndUsage(t *testing.T) {
	if code, out, _ := run(t, "--from", "staging", "--to", "staging"); code != 0 || !strings.Contains(out, "0 of ") ||
		!strings.Contains(out, "Rendered files: all the same") {
		t.Errorf("same stack: exit %d\n%s", code, out)
	}
	code, out, _ := run(t, "-h")
	if code != 0 || !strings.Contains(out, "usage: stackdiff") || !strings.Contains(out, "Exit status: 0 same, 1 different, 2 invalid") {
		t.Errorf("-h: exit %d, stdout %q", code, out)
	}
	if code, _, errOut := run(t, "--bogus"); code != 2 || !strings.Contains(errOut, "flag provided but not defined") {
		t.Errorf("bad flag: exit %d %q", code, errOut)
	}
	code, _, errOut := run(t, "--to", "pilto")
	if code != 2 || !strings.Contains(errOut, `no stack "pilto"`) || !strings.Contains(errOut, "known stacks: dev, pilot, staging") {
		t.Errorf("unknown stack: exit %d %q", code, errOut)
	}
	if code, out, _ := run(t, "--from", "staging", "--to", "pilot", "--strict"); code != 2 || !strings.Contains(out, "deploy-time checks of pilot FAIL (--strict)") {
		t.Errorf("--strict without secrets: exit %d, want 2\n%s", code, out)
	}
	code, out, _ = run(t, "--from", "dev", "--to", "staging", "--all")
	if code != 1 || !strings.Contains(out, "isl:adminAllowCidrs") {
		t.Errorf("--all: exit %d\n%s", code, out)
	}
}

func TestJSON(t *testing.T) {
	code, out, _ := run(t, "--from", "staging", "--to", "pilot", "--json")
	var r struct {
		Differs, Invalid bool
		ExitCode         int
		Config           []struct{ Key, From, To string }
		Files            []struct{ Name, Diff string }
		Resources        []struct{ Resource, Action string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if code != 1 || r.ExitCode != 1 || !r.Differs || r.Invalid || len(r.Config) < 50 {
		t.Errorf("exit %d, report %+v", code, r)
	}
	found := false
	for _, f := range r.Files {
		found = found || (f.Name == "nginx.conf" && strings.Contains(f.Diff, "+        server isl-3:8000"))
	}
	if !found {
		t.Error("JSON lacks the nginx.conf diff")
	}
}

// fixtureRoot copies Pulumi.yaml and the committed stack files into a temporary root, applying
// edits (old → new) to the named stack.
func fixtureRoot(t *testing.T, stack string, edits ...string) string {
	t.Helper()
	real, err := stacks.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, f := range []string{"Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.pilot.yaml"} {
		b, err := os.ReadFile(filepath.Join(real, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "Pulumi."+stack+".yaml" {
			for i := 0; i+1 < len(edits); i += 2 {
				if !bytes.Contains(b, []byte(edits[i])) {
					t.Fatalf("%s lacks %q", f, edits[i])
				}
				b = bytes.Replace(b, []byte(edits[i]), []byte(edits[i+1]), 1)
			}
		}
		os.WriteFile(filepath.Join(root, f), b, 0o644)
	}
	return root
}

// An invalid target exits 2 and says why.
func TestInvalidTarget(t *testing.T) {
	root := fixtureRoot(t, "pilot", "isl:replicas: 3", "isl:replicas: 0", "isl:redisHostPort: 0", "isl:redisHostPort: 6379")
	code, out, _ := run(t, "--from", "staging", "--to", "pilot", "--root", root)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, out)
	}
	for _, want := range []string{"INVALID", "pilot: isl:replicas: must be at least 1 (got 0)", "pilot: isl:redisHostPort: host ports are allowed on dev only"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Secrets never appear: not their ciphertext, not the Redis password inside redis.conf; whether
// one is set is shown. Readable TLS files are compared, not reported missing.
func TestSecretsMaskedAndTLSRead(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644)
	os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n"), 0o600)
	root := fixtureRoot(t, "pilot",
		"isl:tlsCertFile: /etc/isl/tls/fullchain.pem", "isl:tlsCertFile: "+cert,
		"isl:tlsKeyFile: /etc/isl/tls/privkey.pem", "isl:tlsKeyFile: "+key,
		"config:\n", "config:\n  isl:redisPassword:\n    secure: v1:CIPHERTEXTREDIS\n  isl:apiKeys: {secure: v1:CIPHERTEXTKEYS}\n  docker:sshOpts:\n    - -i\n    - /home/isl/.ssh/pilot\n")
	code, out, errOut := run(t, "--from", "staging", "--to", "pilot", "--root", root, "--all")
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, leak := range []string{"CIPHERTEXT", "SECRETKEYMATERIAL", "masked-secret-value"} {
		if strings.Contains(out, leak) {
			t.Errorf("output shows %q", leak)
		}
	}
	for _, want := range []string{"isl:redisPassword", "[secret]", "<not set>", `docker:sshOpts`, `["-i","/home/isl/.ssh/pilot"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "cannot be read here") {
		t.Errorf("readable TLS files reported missing:\n%s", out)
	}
}

// `make diff ARGS=…` passes the arguments through.
func TestMakeDiffPassesArgs(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	root, _ := stacks.FindRoot(".")
	out, err := exec.Command("make", "-n", "-C", root, "diff", "FROM=dev", "TO=pilot", "ARGS=--strict --json").Output()
	if err != nil || !strings.Contains(string(out), "stackdiff --from dev --to pilot --strict --json") {
		t.Errorf("make -n diff: %v\n%s", err, out)
	}
	if testing.Short() {
		return
	}
	// make diff succeeds when the stacks differ and fails (status 2) only when one is invalid.
	bin := t.TempDir()
	if out, err := exec.Command("make", "-s", "-C", root, "diff", "BIN="+bin, "FROM=staging", "TO=pilot").CombinedOutput(); err != nil {
		t.Errorf("make diff of two valid stacks failed: %v\n%s", err, out)
	}
	err = exec.Command("make", "-s", "-C", root, "diff", "BIN="+bin, "FROM=staging", "TO=pilto").Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("make diff of an unknown stack: %v, want exit 2", err)
	}
	err = exec.Command(filepath.Join(bin, "stackdiff"), "--from", "staging", "--to", "pilot").Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("bin/stackdiff of two different stacks: %v, want exit 1", err)
	}
}
