package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerfileBuildStage replays the build stage of service/Dockerfile outside Docker (no engine
// runs on CI): each COPY copies from the repository root into a scratch root, each RUN runs there with
// the stage's ENV. So the image's build can only break in ways that need Docker itself.
func TestDockerfileBuildStage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary from a copy of the sources")
	}
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(repo, "service", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := t.TempDir()
	workdir := root
	env := append(os.Environ(), "GOFLAGS=-buildvcs=false")
	inBuild, ran := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			inBuild = strings.HasSuffix(strings.ToLower(line), " as build")
			continue
		}
		if !inBuild {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "WORKDIR":
			workdir = filepath.Join(root, fields[1])
			if err := os.MkdirAll(workdir, 0o755); err != nil {
				t.Fatal(err)
			}
		case "ENV":
			for _, kv := range fields[1:] {
				env = append(env, kv)
			}
		case "COPY":
			srcs, dst := fields[1:len(fields)-1], fields[len(fields)-1]
			target := filepath.Join(workdir, dst)
			for _, src := range srcs {
				// Docker semantics: a directory's contents go into the target; files into a
				// target ending in "/", else to the target path.
				from := filepath.Join(repo, src)
				st, err := os.Stat(from)
				if err != nil {
					t.Fatalf("COPY %s: %v", src, err)
				}
				var cmd *exec.Cmd
				switch {
				case st.IsDir():
					if err := os.MkdirAll(target, 0o755); err != nil {
						t.Fatal(err)
					}
					cmd = exec.Command("cp", "-r", from+"/.", target)
				case strings.HasSuffix(dst, "/"):
					if err := os.MkdirAll(target, 0o755); err != nil {
						t.Fatal(err)
					}
					cmd = exec.Command("cp", from, target)
				default:
					cmd = exec.Command("cp", from, target)
				}
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("COPY %s %s: %v\n%s", src, dst, err, out)
				}
			}
		case "RUN":
			script := strings.TrimSpace(line[len("RUN"):])
			script = strings.ReplaceAll(script, "/out/", filepath.Join(root, "out")+"/")
			cmd := exec.Command("sh", "-c", script)
			cmd.Dir, cmd.Env = workdir, env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("RUN %s: %v\n%s", script, err, out)
			}
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("no RUN step found in the build stage")
	}
	bin := filepath.Join(root, "out", "isl")
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "version: ") {
		t.Fatalf("built binary: %v %s", err, out)
	}
}
