// The ISL Pulumi program (Pulumi.yaml: `main: infra/`). See package deploy and the README, "Deploying".
package main

import (
	"github.com/olumi/isl/infra/deploy"
	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(deploy.Program(deploy.Options{Strictness: stacks.Deploy}))
}
