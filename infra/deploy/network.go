package deploy

import (
	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeNetwork is the component type token of the private network.
const TypeNetwork = "isl:deploy:Network"

// NetworkArgs configures the private network.
type NetworkArgs struct{ Config stacks.Config }

// Network is the private bridge network every container joins.
type Network struct {
	pulumi.ResourceState
	Name pulumi.StringOutput
}

// NewNetwork declares the private network.
func NewNetwork(ctx *pulumi.Context, name string, args NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	comp := &Network{}
	if err := ctx.RegisterComponentResource(TypeNetwork, name, comp, opts...); err != nil {
		return nil, err
	}
	n, err := docker.NewNetwork(ctx, name, &docker.NetworkArgs{
		Driver: pulumi.String("bridge"),
		Labels: docker.NetworkLabelArray{
			docker.NetworkLabelArgs{Label: pulumi.String("isl.stack"), Value: pulumi.String(args.Config.Stack)},
		},
	}, pulumi.Parent(comp))
	if err != nil {
		return nil, err
	}
	comp.Name = n.Name
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"name": n.Name})
}
