package deploy

import (
	"fmt"
	"strconv"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeNginx is the component type token of the public entry.
const TypeNginx = "isl:deploy:Nginx"

// NginxArgs configures the public entry.
type NginxArgs struct {
	Config  stacks.Config
	Bundle  stacks.Bundle
	Network pulumi.StringInput
	TLSCert pulumi.StringInput // PEM content
	TLSKey  pulumi.StringInput // PEM content, secret
	// PrometheusPassword guards /prometheus/ (basic auth); used only when the bundle routes it.
	PrometheusPassword pulumi.StringOutput // secret
	Replicas           []pulumi.Resource   // nginx starts after them, so that its healthcheck (through a replica) can pass
}

// Nginx is the only container with published host ports (outside dev).
type Nginx struct {
	pulumi.ResourceState
	Container *docker.Container
}

// NewNginx declares nginx. It owns fixed host ports, so it is replaced delete-first; its config
// names replica slots, not containers, and re-resolves them, so image updates never touch it.
func NewNginx(ctx *pulumi.Context, name string, args NginxArgs, opts ...pulumi.ResourceOption) (*Nginx, error) {
	comp := &Nginx{}
	if err := ctx.RegisterComponentResource(TypeNginx, name, comp, opts...); err != nil {
		return nil, err
	}
	cfg := args.Config
	conf, err := stacks.RenderNginx(args.Bundle.Nginx)
	if err != nil {
		return nil, err
	}
	img, err := remoteImage(ctx, name+"-image", cfg.Nginx.Image, comp)
	if err != nil {
		return nil, err
	}
	uploads := docker.ContainerUploadArray{
		upload(stacks.NginxConfPath, pulumi.String(string(conf)), false),
	}
	if args.Bundle.Nginx.PrometheusAuthFile != "" {
		htpasswd := args.PrometheusPassword.ApplyT(func(pw string) (string, error) {
			b, err := stacks.RenderHtpasswd(stacks.PrometheusAdminUser, pw)
			return string(b), err
		}).(pulumi.StringOutput)
		uploads = append(uploads, upload(args.Bundle.Nginx.PrometheusAuthFile, pulumi.ToSecret(htpasswd).(pulumi.StringOutput), false))
	}
	ports := hostPort(80, cfg.Nginx.HTTPPort)
	if cfg.Nginx.TLS {
		uploads = append(uploads, upload(stacks.NginxCertPath, args.TLSCert, false), upload(stacks.NginxKeyPath, args.TLSKey, false))
		ports = append(ports, hostPort(443, cfg.Nginx.HTTPSPort)...)
	}
	c, err := docker.NewContainer(ctx, name, managed(&docker.ContainerArgs{
		Name:    pulumi.String(fmt.Sprintf("isl-%s-nginx", cfg.Stack)),
		Image:   img.ImageId,
		Uploads: uploads,
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name: args.Network, Aliases: pulumi.StringArray{pulumi.String("nginx")}}},
		Ports: ports,
		Healthcheck: &docker.ContainerHealthcheckArgs{
			// Through nginx to a replica: healthy means the whole entry path works.
			Tests: pulumi.StringArray{pulumi.String("CMD-SHELL"),
				pulumi.String("wget -q -O /dev/null http://127.0.0.1:" + strconv.Itoa(stacks.NginxStatusPort) + "/health || exit 1")},
			Interval: pulumi.String("10s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(3), StartPeriod: pulumi.String("5s"),
		},
		// SIGQUIT is nginx's graceful shutdown: finish in-flight requests, then exit.
	}, cfg, lifecycle{Role: "nginx", MemoryMB: cfg.Nginx.MemoryMB, StopSignal: "SIGQUIT", StopSeconds: 30}),
		pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true), pulumi.DependsOn(args.Replicas))
	if err != nil {
		return nil, err
	}
	comp.Container = c
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name})
}
