package integration

import "testing"

// TestDeployedISL runs the contract suite against ISL_HOST (with ISL_API_KEY; ISL_INSECURE=true for
// self-signed TLS). `make integration HOST=…` sets them; the e2e tests run the same suite through
// the local pilot stack.
func TestDeployedISL(t *testing.T) {
	c, ok := FromEnv()
	if !ok {
		t.Skip("ISL_HOST is unset: set ISL_HOST (and ISL_API_KEY) to run the integration suite against a deployment")
	}
	Run(t, c)
}
