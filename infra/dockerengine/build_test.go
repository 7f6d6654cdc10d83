package dockerengine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/olumi/isl/infra/dockerengine"
	"github.com/olumi/isl/infra/offlineimages"
)

// The harness builds as the provider does (BuildKit), so it reproduces what broke the real run: a
// `# syntax=` line makes BuildKit fetch a frontend image, which fails with no registry even though
// the base is local. This is the control that makes the service image build in TestStacksOnEngine
// (without the line) meaningful.
func TestBuildKitSyntaxLineNeedsARegistry(t *testing.T) {
	cli := requireEngine(t)
	ctx := context.Background()
	if _, err := cli.ImageInspect(ctx, offlineimages.BaseTag); err != nil {
		t.Skipf("%s not built (make images-offline; TestStacksOnEngine builds it)", offlineimages.BaseTag)
	}
	dir := t.TempDir()
	df := "# syntax=docker/dockerfile:1\nFROM " + offlineimages.BaseTag + "\nRUN true\n"
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644)
	_, err := dockerengine.Build(ctx, cli, dir, build.ImageBuildOptions{Dockerfile: "Dockerfile", Version: build.BuilderBuildKit}, nil)
	if err == nil || !strings.Contains(err.Error(), "frontend") {
		t.Fatalf("build with a syntax line: %v, want the frontend fetch to fail", err)
	}
	// The same without the line builds from the local base.
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df[strings.Index(df, "\n")+1:]), 0o644)
	id, err := dockerengine.Build(ctx, cli, dir, build.ImageBuildOptions{Dockerfile: "Dockerfile", Version: build.BuilderBuildKit}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cli.ImageRemove(ctx, id, image.RemoveOptions{PruneChildren: true})
}

// The service Dockerfile has no parser directive: no `# syntax=` (or any directive) before FROM.
func TestServiceDockerfileHasNoSyntaxLine(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "service", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.ToLower(strings.ReplaceAll(line, " ", ""))
		if strings.HasPrefix(l, "#syntax=") {
			t.Fatalf("service/Dockerfile: %q makes BuildKit pull a frontend image", line)
		}
		if !strings.HasPrefix(l, "#") && l != "" {
			break
		}
	}
}
