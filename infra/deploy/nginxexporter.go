package deploy

import (
	"fmt"
	"strconv"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeNginxExporter is the component type token of the nginx exporter.
const TypeNginxExporter = "isl:deploy:NginxExporter"

// NginxExporterArgs configures the nginx exporter.
type NginxExporterArgs struct {
	Config  stacks.Config
	Network pulumi.StringInput
	Nginx   *Nginx // the exporter starts after nginx's container: its stub_status must answer
}

// NginxExporter turns nginx's private stub_status counters into Prometheus metrics for the
// `nginx` job and the entry-point alerts. It is reached only by Prometheus on the private network.
type NginxExporter struct {
	pulumi.ResourceState
	Container *docker.Container
}

// NewNginxExporter declares the exporter. Its flags are written with two dashes, which both the
// upstream image (kingpin flags) and Debian's 0.11 package (Go flags, the offline stand-in) accept.
// The healthcheck runs wget inside the container, as Prometheus' and Alertmanager's do. Assumption:
// the image provides wget. The offline stand-in (Debian's exporter plus wget) does and is what the
// real-engine tests run; the upstream image ships only the exporter binary, so with it the check
// never passes and `pulumi up` fails on Wait — run the stand-in, or an image built FROM the
// upstream one with a static wget added, under the pinned tag.
func NewNginxExporter(ctx *pulumi.Context, name string, args NginxExporterArgs, opts ...pulumi.ResourceOption) (*NginxExporter, error) {
	comp := &NginxExporter{}
	if err := ctx.RegisterComponentResource(TypeNginxExporter, name, comp, opts...); err != nil {
		return nil, err
	}
	cfg := args.Config
	img, err := remoteImage(ctx, name+"-image", cfg.NginxExporter.Image, comp)
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(stacks.NginxExporterPort)
	c, err := docker.NewContainer(ctx, name, managed(&docker.ContainerArgs{
		Name:  pulumi.String(fmt.Sprintf("isl-%s-nginx-exporter", cfg.Stack)),
		Image: img.ImageId,
		Command: pulumi.StringArray{
			pulumi.String(fmt.Sprintf("--nginx.scrape-uri=http://nginx:%d/stub_status", stacks.NginxMetricsPort)),
			pulumi.String("--web.listen-address=:" + port),
		},
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name: args.Network, Aliases: pulumi.StringArray{pulumi.String(stacks.NginxExporterAlias)}}},
		Healthcheck: &docker.ContainerHealthcheckArgs{
			// /metrics answers only once the exporter has reached nginx's stub_status at start.
			Tests: pulumi.StringArray{pulumi.String("CMD"), pulumi.String("wget"), pulumi.String("-q"), pulumi.String("-O"), pulumi.String("/dev/null"),
				pulumi.String("http://127.0.0.1:" + port + "/metrics")},
			Interval: pulumi.String("10s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(3), StartPeriod: pulumi.String("5s"),
		},
		// If nginx is down when it starts, the exporter exits; the restart policy retries it.
	}, cfg, lifecycle{Role: "nginx-exporter", MemoryMB: cfg.NginxExporter.MemoryMB, StopSignal: "SIGTERM", StopSeconds: 10}),
		pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true), pulumi.DependsOn([]pulumi.Resource{args.Nginx.Container}))
	if err != nil {
		return nil, err
	}
	comp.Container = c
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name})
}
