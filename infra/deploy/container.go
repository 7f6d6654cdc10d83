package deploy

import (
	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Third-party images (RemoteImage) are fed to containers by ImageId, the local image id the
// provider always reports; RepoDigest is empty for an image that exists only locally.

// Common container settings: every container restarts unless stopped, is health-checked, and
// `pulumi up` waits for it to be healthy. Every container sets MemorySwap equal to Memory (no swap):
// with Memory alone Docker reports swap back as twice the memory, and every refresh shows a
// memorySwap diff.
const (
	restartPolicy = "unless-stopped"
	waitTimeout   = 180
)

// remoteImage declares a third-party image, kept locally on destroy (other stacks on the host may
// run it too).
func remoteImage(ctx *pulumi.Context, name, image string, parent pulumi.Resource) (*docker.RemoteImage, error) {
	return docker.NewRemoteImage(ctx, name, &docker.RemoteImageArgs{
		Name: pulumi.String(image), KeepLocally: pulumi.Bool(true),
	}, pulumi.Parent(parent))
}

// dataVolume declares a named volume labelled with its stack, protected from deletion when the
// stack says so (isl:protectData).
func dataVolume(ctx *pulumi.Context, name string, cfg stacks.Config, parent pulumi.Resource) (*docker.Volume, error) {
	return docker.NewVolume(ctx, name, &docker.VolumeArgs{
		Labels: docker.VolumeLabelArray{docker.VolumeLabelArgs{Label: pulumi.String("isl.stack"), Value: pulumi.String(cfg.Stack)}},
	}, pulumi.Parent(parent), pulumi.Protect(cfg.ProtectData))
}

// lifecycle is what differs between containers in the settings every container shares.
type lifecycle struct {
	Role        string   // isl.role label
	Labels      []string // further label name/value pairs
	MemoryMB    int      // memory limit, and swap equal to it
	StopSignal  string   // the program's graceful stop
	StopSeconds int      // grace before SIGKILL, on stop and on destroy
}

// managed completes a container's arguments with the settings every container shares (see the
// constants above): restart unless stopped, wait until healthy, graceful stop, memory without swap,
// stack labels, bounded json-file logs.
func managed(a *docker.ContainerArgs, cfg stacks.Config, l lifecycle) *docker.ContainerArgs {
	a.Wait, a.WaitTimeout = pulumi.Bool(true), pulumi.Int(waitTimeout)
	a.Restart = pulumi.String(restartPolicy)
	a.StopSignal, a.StopTimeout, a.DestroyGraceSeconds = pulumi.String(l.StopSignal), pulumi.Int(l.StopSeconds), pulumi.Int(l.StopSeconds)
	a.Memory, a.MemorySwap = pulumi.Int(l.MemoryMB), pulumi.Int(l.MemoryMB)
	a.Labels = labels(cfg, l.Role, l.Labels...)
	a.LogDriver, a.LogOpts = pulumi.String("json-file"), logOpts()
	return a
}

func labels(cfg stacks.Config, role string, extra ...string) docker.ContainerLabelArray {
	l := docker.ContainerLabelArray{
		docker.ContainerLabelArgs{Label: pulumi.String("isl.stack"), Value: pulumi.String(cfg.Stack)},
		docker.ContainerLabelArgs{Label: pulumi.String("isl.tier"), Value: pulumi.String(string(cfg.Tier))},
		docker.ContainerLabelArgs{Label: pulumi.String("isl.role"), Value: pulumi.String(role)},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		l = append(l, docker.ContainerLabelArgs{Label: pulumi.String(extra[i]), Value: pulumi.String(extra[i+1])})
	}
	return l
}

func logOpts() pulumi.StringMap {
	return pulumi.StringMap{"max-size": pulumi.String("10m"), "max-file": pulumi.String("3")}
}

// hostPort publishes a port on all the host's interfaces: nginx, the public entry.
func hostPort(internal, external int) docker.ContainerPortArray {
	if external == 0 {
		return nil
	}
	return docker.ContainerPortArray{docker.ContainerPortArgs{Internal: pulumi.Int(internal), External: pulumi.Int(external)}}
}

// debugPort publishes a dev-only debugging port (a replica, Redis, Prometheus, Grafana) on the
// host's loopback only: they bypass nginx, and dev Redis runs with a placeholder password unless
// one is set, so they must not be reachable from the network.
func debugPort(internal, external int) docker.ContainerPortArray {
	if external == 0 {
		return nil
	}
	return docker.ContainerPortArray{docker.ContainerPortArgs{Internal: pulumi.Int(internal), External: pulumi.Int(external),
		Ip: pulumi.String("127.0.0.1")}}
}

func upload(path string, content pulumi.StringInput, executable bool) docker.ContainerUploadArgs {
	return docker.ContainerUploadArgs{File: pulumi.String(path), Content: content, Executable: pulumi.Bool(executable)}
}
