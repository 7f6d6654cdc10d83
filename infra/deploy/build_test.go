package deploy

import (
	"os/exec"
	"regexp"
	"testing"

	"github.com/olumi/isl/stacks"
)

// An image built by the program carries the checkout's identity as the Dockerfile's build
// arguments, and the same commit gives the same arguments (an unchanged `pulumi up` stays a no-op).
func TestBuiltImageCarriesVersion(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	config, secretKeys := stackConfig(t, "staging", true)
	args := func() map[string]string {
		img := builtImage(t, config, secretKeys)
		out := map[string]string{}
		for k, v := range img.Inputs["build"].ObjectValue()["args"].ObjectValue() {
			out[string(k)] = v.StringValue()
		}
		return out
	}
	a, b := args(), args()
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`).MatchString(a["VERSION"]) || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(a["COMMIT"]) ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT`).MatchString(a["BUILD_DATE"]) {
		t.Errorf("build args %v", a)
	}
	if a["COMMIT"] != GitBuildInfo(testRoot(t)).Commit {
		t.Errorf("COMMIT %s is not the checkout's", a["COMMIT"])
	}
	for k := range a {
		if a[k] != b[k] {
			t.Errorf("%s differs between two runs of the same commit: %q, %q", k, a[k], b[k])
		}
	}
}

// With isl:imageRegistry, staging pushes what it builds (the digest make promote pins): the image
// is named in the registry, not skipped, and the registry password stays a secret.
func TestRegistryPush(t *testing.T) {
	config, secretKeys := stackConfig(t, "staging", true)
	config["isl:imageRegistry"], config["isl:imageRegistryUsername"] = "registry.isl.internal:5000", "isl"
	config[stacks.SecretRegistryPassword] = "registry-Pa55word"
	secretKeys = append(secretKeys, stacks.SecretRegistryPassword)
	img := builtImage(t, config, secretKeys)
	if got := str(img.Inputs, "imageName"); got != "registry.isl.internal:5000/isl:c-test" {
		t.Errorf("imageName %q", got)
	}
	if img.Inputs["skipPush"].BoolValue() {
		t.Error("skipPush with a registry")
	}
	reg := img.Inputs["registry"].ObjectValue()
	if reg["server"].StringValue() != "registry.isl.internal:5000" || reg["username"].StringValue() != "isl" || !reg["password"].IsSecret() {
		t.Errorf("registry %v", reg)
	}
	// Without the password a deploy is refused.
	delete(config, stacks.SecretRegistryPassword)
	if _, err := runProgram(t, "staging", config, secretKeys[:len(secretKeys)-1], stacks.Deploy); err == nil {
		t.Error("registry push without a password accepted")
	}
}

// builtImage runs the program for staging and returns the image it builds.
func builtImage(t *testing.T, config map[string]string, secretKeys []string) Res {
	t.Helper()
	c, err := runProgram(t, "staging", config, secretKeys, stacks.Deploy)
	if err != nil {
		t.Fatal(err)
	}
	img, ok := c.get(tImage, "isl-image")
	if !ok {
		t.Fatal("no image build")
	}
	return img
}
