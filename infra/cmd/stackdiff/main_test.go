package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

func TestDiffCommittedStagingToPilot(t *testing.T) {
	var out bytes.Buffer
	code, err := run([]string{"--from", "staging", "--to", "pilot"}, &out)
	if err != nil || code != 0 {
		t.Fatalf("code %d err %v\n%s", code, err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"+ Container isl-3 (only in pilot)", "memory: 512 → 1024",
		"hostPorts: 80→80 → 80→80,443→443", "label.isl.redis.maxmemory: 256Mi → 1Gi", "structurally valid",
		"isl:redisPassword: secret required on pilot",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Columns are as wide as the longest key.
	if !regexp.MustCompile(`\nisl:replicas +2 +3\b`).MatchString(text) {
		t.Errorf("output lacks the replicas row (2 → 3):\n%s", text)
	}
	var strict bytes.Buffer
	if code, _ := run([]string{"--from", "staging", "--to", "pilot", "--strict"}, &strict); code != 1 {
		t.Errorf("--strict without secrets: exit %d, want 1", code)
	}
}

// An invalid target makes the diff exit non-zero and say why.
func TestDiffInvalidTarget(t *testing.T) {
	realRoot, err := stacks.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, f := range []string{"Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.pilot.yaml"} {
		b, err := os.ReadFile(filepath.Join(realRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "Pulumi.pilot.yaml" {
			b = bytes.Replace(b, []byte("isl:replicas: 3"), []byte("isl:replicas: 0"), 1)
			b = bytes.Replace(b, []byte("isl:redisHostPort: 0"), []byte("isl:redisHostPort: 6379"), 1)
		}
		os.WriteFile(filepath.Join(root, f), b, 0o644)
	}
	var out bytes.Buffer
	code, err := run([]string{"--from", "staging", "--to", "pilot", "--root", root}, &out)
	if err != nil || code != 1 {
		t.Fatalf("code %d err %v, want exit 1\n%s", code, err, out.String())
	}
	for _, want := range []string{"INVALID", "isl:replicas: must be at least 1 (got 0)", "isl:redisHostPort: host ports are allowed on dev only"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
