package deploy

import (
	"fmt"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeGrafana is the component type token of Grafana.
const TypeGrafana = "isl:deploy:Grafana"

// GrafanaArgs configures Grafana.
type GrafanaArgs struct {
	Config        stacks.Config
	Bundle        stacks.Bundle
	Network       pulumi.StringInput
	AdminPassword pulumi.StringOutput // secret
	RootURL       string
}

// Grafana serves the provisioned ISL dashboards under /grafana/ behind nginx.
type Grafana struct {
	pulumi.ResourceState
	Container *docker.Container
}

// NewGrafana declares Grafana (delete-first: its SQLite lives on the volume).
func NewGrafana(ctx *pulumi.Context, name string, args GrafanaArgs, opts ...pulumi.ResourceOption) (*Grafana, error) {
	comp := &Grafana{}
	if err := ctx.RegisterComponentResource(TypeGrafana, name, comp, opts...); err != nil {
		return nil, err
	}
	cfg := args.Config
	files, err := stacks.GrafanaFiles(args.Bundle)
	if err != nil {
		return nil, err
	}
	img, err := remoteImage(ctx, name+"-image", cfg.Grafana.Image, comp)
	if err != nil {
		return nil, err
	}
	vol, err := dataVolume(ctx, name+"-data", cfg, comp)
	if err != nil {
		return nil, err
	}
	var uploads docker.ContainerUploadArray
	for _, f := range files {
		uploads = append(uploads, upload(f.Path, pulumi.String(string(f.Content)), false))
	}
	c, err := docker.NewContainer(ctx, name, managed(&docker.ContainerArgs{
		Name:  pulumi.String(fmt.Sprintf("isl-%s-grafana", cfg.Stack)),
		Image: img.ImageId,
		Envs: pulumi.StringArray{
			pulumi.String("GF_SECURITY_ADMIN_USER=admin"),
			pulumi.Sprintf("GF_SECURITY_ADMIN_PASSWORD=%s", args.AdminPassword),
			pulumi.String("GF_SERVER_ROOT_URL=" + args.RootURL),
			pulumi.String("GF_SERVER_SERVE_FROM_SUB_PATH=true"),
			pulumi.String("GF_USERS_ALLOW_SIGN_UP=false"),
			pulumi.String("GF_AUTH_ANONYMOUS_ENABLED=false"),
			pulumi.String("GF_ANALYTICS_REPORTING_ENABLED=false"),
			pulumi.String("GF_ANALYTICS_CHECK_FOR_UPDATES=false"),
		},
		Uploads: uploads,
		Volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{VolumeName: vol.Name, ContainerPath: pulumi.String(stacks.GrafanaDataPath)}},
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name: args.Network, Aliases: pulumi.StringArray{pulumi.String(stacks.GrafanaAlias)}}},
		Ports: debugPort(stacks.GrafanaPort, cfg.Grafana.HostPort),
		Healthcheck: &docker.ContainerHealthcheckArgs{
			Tests: pulumi.StringArray{pulumi.String("CMD-SHELL"), pulumi.String(fmt.Sprintf(
				"wget -q -O /dev/null http://127.0.0.1:%d/api/health || wget -q -O /dev/null http://127.0.0.1:%d/grafana/api/health", stacks.GrafanaPort, stacks.GrafanaPort))},
			Interval: pulumi.String("10s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(5), StartPeriod: pulumi.String("30s"),
		},
	}, cfg, lifecycle{Role: "grafana", MemoryMB: cfg.Grafana.MemoryMB, StopSignal: "SIGTERM", StopSeconds: 30}),
		pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	comp.Container = c
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name, "volume": vol.Name})
}
