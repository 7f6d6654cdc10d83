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
		c, err := runProgram(t, "staging", config, secretKeys, stacks.Deploy)
		if err != nil {
			t.Fatal(err)
		}
		img, ok := c.get(tImage, "isl-image")
		if !ok {
			t.Fatal("no image build")
		}
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
