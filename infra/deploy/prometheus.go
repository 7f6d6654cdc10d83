package deploy

import (
	"fmt"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypePrometheus is the component type token of Prometheus.
const TypePrometheus = "isl:deploy:Prometheus"

// PrometheusArgs configures Prometheus.
type PrometheusArgs struct {
	Config  stacks.Config
	Bundle  stacks.Bundle
	Network pulumi.StringInput
}

// Prometheus scrapes every replica slot and evaluates the alert rules.
type Prometheus struct {
	pulumi.ResourceState
	Container *docker.Container
}

// NewPrometheus declares Prometheus (delete-first: one TSDB writer per volume).
func NewPrometheus(ctx *pulumi.Context, name string, args PrometheusArgs, opts ...pulumi.ResourceOption) (*Prometheus, error) {
	comp := &Prometheus{}
	if err := ctx.RegisterComponentResource(TypePrometheus, name, comp, opts...); err != nil {
		return nil, err
	}
	cfg := args.Config
	conf, err := stacks.RenderPrometheus(args.Bundle.Prometheus)
	if err != nil {
		return nil, err
	}
	rules, err := stacks.RenderAlertRules(args.Bundle.Alerts)
	if err != nil {
		return nil, err
	}
	img, err := remoteImage(ctx, name+"-image", cfg.Prometheus.Image, comp)
	if err != nil {
		return nil, err
	}
	vol, err := dataVolume(ctx, name+"-data", cfg, comp)
	if err != nil {
		return nil, err
	}
	var cmd pulumi.StringArray
	for _, a := range args.Bundle.PrometheusArgs {
		cmd = append(cmd, pulumi.String(a))
	}
	c, err := docker.NewContainer(ctx, name, managed(&docker.ContainerArgs{
		Name:    pulumi.String(fmt.Sprintf("isl-%s-prometheus", cfg.Stack)),
		Image:   img.ImageId,
		Command: cmd,
		Uploads: docker.ContainerUploadArray{
			upload(stacks.PrometheusConfPath, pulumi.String(string(conf)), false),
			upload(stacks.PrometheusRulesPath, pulumi.String(string(rules)), false),
		},
		Volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{VolumeName: vol.Name, ContainerPath: pulumi.String(stacks.PrometheusDataPath)}},
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name: args.Network, Aliases: pulumi.StringArray{pulumi.String(stacks.PrometheusAlias)}}},
		Ports: debugPort(stacks.PrometheusPort, cfg.Prometheus.HostPort),
		Healthcheck: &docker.ContainerHealthcheckArgs{
			Tests: pulumi.StringArray{pulumi.String("CMD"), pulumi.String("wget"), pulumi.String("-q"), pulumi.String("-O"), pulumi.String("/dev/null"),
				pulumi.String(fmt.Sprintf("http://127.0.0.1:%d%s/-/ready", stacks.PrometheusPort, stacks.PrometheusPrefix))},
			Interval: pulumi.String("10s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(5), StartPeriod: pulumi.String("20s"),
		},
	}, cfg, lifecycle{Role: "prometheus", MemoryMB: cfg.Prometheus.MemoryMB, StopSignal: "SIGTERM", StopSeconds: 60}),
		pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	comp.Container = c
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name, "volume": vol.Name})
}
