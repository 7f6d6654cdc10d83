package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

// Rollback to a local-only image tag (README "Rollback", without a registry): the
// provider reports no repoDigest for such an image, so the replicas must run its imageId.
func TestRollbackToLocalImageTag(t *testing.T) {
	const tag = "isl:c-1a2b3c4d5e6f"
	for _, stack := range []string{"staging", "pilot"} {
		t.Run(stack, func(t *testing.T) {
			config, secretKeys := stackConfig(t, stack, true)
			config["isl:image"] = tag
			c, err := runProgramWith(t, stack, config, secretKeys,
				Options{Strictness: stacks.Deploy, Root: testRoot(t), ImageTag: "c-test"}, map[string]bool{tag: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, built := c.get(tImage, "isl-image"); built {
				t.Error("the service image is built despite isl:image")
			}
			pulled, ok := c.get(tRemoteImage, "isl-image")
			if !ok || str(pulled.Inputs, "name") != tag {
				t.Fatalf("no RemoteImage for %s", tag)
			}
			replicas := 0
			for _, r := range c.byType(tContainer) {
				if !strings.HasPrefix(r.Name, "isl-") {
					continue
				}
				replicas++
				if img := str(r.Inputs, "image"); !strings.HasPrefix(img, "sha256:") {
					t.Errorf("%s runs image %q, want the pulled image's id", r.Name, img)
				}
			}
			if replicas == 0 {
				t.Fatal("no replicas")
			}
		})
	}
}

// Every container runs a concrete image id, even when a third-party image is only local.
func TestThirdPartyImagesByID(t *testing.T) {
	config, secretKeys := stackConfig(t, "pilot", true)
	local := map[string]bool{config["isl:redisImage"]: true, config["isl:nginxImage"]: true,
		config["isl:prometheusImage"]: true, config["isl:grafanaImage"]: true, config["isl:alertmanagerImage"]: true,
		config["isl:nginxExporterImage"]: true}
	c, err := runProgramWith(t, "pilot", config, secretKeys,
		Options{Strictness: stacks.Deploy, Root: testRoot(t), ImageTag: "c-test"}, local)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.byType(tContainer) {
		if img := str(r.Inputs, "image"); !strings.HasPrefix(img, "sha256:") {
			t.Errorf("%s runs image %q", r.Name, img)
		}
	}
}

// Create-before-delete is what keeps the endpoint up on staging/pilot; but a replica that publishes
// a host port (dev) cannot be created while its predecessor holds the port, so it must be replaced
// delete-first. Stateful singletons and nginx are delete-first everywhere; data volumes are
// protected exactly when isl:protectData says so.
func TestReplacementStrategyAndProtection(t *testing.T) {
	for _, tier := range stacks.Tiers {
		stack := string(tier)
		t.Run(stack, func(t *testing.T) {
			config, secretKeys := stackConfig(t, stack, true)
			c, err := runProgram(t, stack, config, secretKeys, stacks.Deploy)
			if err != nil {
				t.Fatal(err)
			}
			sf, _ := stacks.ReadStackFile(testRoot(t), stack)
			cfg, err := stacks.Load(stack, sf)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range c.byType(tContainer) {
				published := len(arr(r.Inputs, "ports")) > 0
				var want bool
				switch {
				case strings.HasPrefix(r.Name, "isl-"):
					want = published
					if tier != stacks.Dev && r.DeleteBeforeReplace {
						t.Errorf("%s on %s is replaced delete-first: the update would take it down", r.Name, tier)
					}
					// Unset is not create-first: the provider's schema makes containers delete-first.
					if !published && !r.DeleteBeforeReplaceDefined {
						t.Errorf("%s: DeleteBeforeReplace(false) not set explicitly: the provider's delete-first default applies", r.Name)
					}
				default: // redis, nginx, prometheus, alertmanager, grafana: fixed names and volumes/host ports
					want = true
				}
				if r.DeleteBeforeReplace != want {
					t.Errorf("%s (host ports %v): deleteBeforeReplace=%v, want %v", r.Name, published, r.DeleteBeforeReplace, want)
				}
			}
			vols := c.byType(tVolume)
			if want := 4 + b2i(cfg.RedisHA.Enabled) + b2i(cfg.Backup.Every() > 0); len(vols) != want {
				t.Fatalf("%d volumes, want %d", len(vols), want)
			}
			for _, v := range vols {
				if v.Protect != cfg.ProtectData {
					t.Errorf("volume %s protect=%v, want %v", v.Name, v.Protect, cfg.ProtectData)
				}
			}
		})
	}
}

// Relative TLS paths in the stack config are relative to the project root (where Pulumi.yaml and
// the stack files are), not to infra/, the directory `pulumi up` runs the program in.
func TestRelativeTLSPathsFromProjectRoot(t *testing.T) {
	config, secretKeys := stackConfig(t, "pilot", true)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tls"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The program reads the stack file (typo check), so the root needs one.
	sf, err := os.ReadFile(stacks.StackFilePath(testRoot(t), "pilot"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(stacks.StackFilePath(root, "pilot"), sf, 0o644)
	for key, name := range map[string]string{"isl:tlsCertFile": "tls/fullchain.pem", "isl:tlsKeyFile": "tls/privkey.pem"} {
		b, err := os.ReadFile(config[key])
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, name), b, 0o600)
		config[key] = name
	}
	t.Chdir(filepath.Join(testRoot(t), "infra")) // where the Pulumi CLI runs the program
	c, err := runProgramWith(t, "pilot", config, secretKeys, Options{Strictness: stacks.Deploy, Root: root, ImageTag: "c-test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nginx, _ := c.get(tContainer, "nginx")
	if !strings.Contains(uploads(nginx)[stacks.NginxCertPath].Content, "CERTIFICATE") {
		t.Error("certificate not uploaded")
	}
}

// What `pulumi up` runs: Pulumi.yaml's `main: infra/` makes the CLI run the program (and the Docker
// provider) in infra/, with no options but the strictness (infra/main.go). The build context and
// the Dockerfile, which the provider resolves against that directory, must land on the repo root
// and service/Dockerfile, and the image is tagged by content.
func TestAsRunByPulumiUp(t *testing.T) {
	root := testRoot(t)
	proj, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"name: isl", "runtime: go", "main: infra/"} {
		if !strings.Contains(string(proj), "\n"+l+"\n") && !strings.HasPrefix(string(proj), l+"\n") {
			t.Errorf("Pulumi.yaml lacks %q", l)
		}
	}
	for _, f := range []string{"infra/go.mod", "infra/main.go"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("Pulumi's main directory: %v", err)
		}
	}
	infra := filepath.Join(root, "infra")
	t.Chdir(infra)
	config, secretKeys := stackConfig(t, "staging", true)
	c, err := runProgramWith(t, "staging", config, secretKeys, Options{Strictness: stacks.Deploy}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var imgs []Res
	for _, im := range c.byType(tImage) {
		if im.Name == "isl-image" { // the service image (the backup runner's is checked elsewhere)
			imgs = append(imgs, im)
		}
	}
	if len(imgs) != 1 {
		t.Fatalf("%d service images", len(imgs))
	}
	build := obj(imgs[0].Inputs["build"])
	if got := filepath.Join(infra, str(build, "context")); got != root {
		t.Errorf("build context %q resolves to %s, want the repo root %s", str(build, "context"), got, root)
	}
	df := filepath.Join(infra, str(build, "dockerfile"))
	if df != filepath.Join(root, "service", "Dockerfile") {
		t.Errorf("dockerfile %q resolves to %s", str(build, "dockerfile"), df)
	}
	tag, err := ContentTag(root, "service/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if got := str(imgs[0].Inputs, "imageName"); got != "isl:"+tag {
		t.Errorf("imageName %q, want isl:%s", got, tag)
	}
}

// Dev publishes debugging ports (replicas, Redis, Prometheus, Grafana) on loopback only; nginx, the
// public entry, on all interfaces.
func TestDevDebugPortsOnLoopback(t *testing.T) {
	config, secretKeys := stackConfig(t, "dev", false)
	c, err := runProgram(t, "dev", config, secretKeys, stacks.Deploy)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, r := range c.byType(tContainer) {
		for _, p := range arr(r.Inputs, "ports") {
			ip := str(obj(p), "ip")
			if r.Name == "nginx" {
				if ip != "" && ip != "0.0.0.0" {
					t.Errorf("nginx published on %q", ip)
				}
				continue
			}
			seen++
			if ip != "127.0.0.1" {
				t.Errorf("%s: debug port %s published on %q, want 127.0.0.1", r.Name, str(obj(p), "external"), ip)
			}
		}
	}
	if seen < 4 {
		t.Errorf("only %d debug ports on dev: the committed dev stack publishes replica, Redis, Prometheus and Grafana ports", seen)
	}
}
