package deploy

import (
	"fmt"
	"strconv"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeRedisHA is the component token of the replicated Redis.
const TypeRedisHA = "isl:deploy:RedisHA"

// RedisHAArgs configures the replicated Redis.
type RedisHAArgs struct {
	Config   stacks.Config
	Bundle   stacks.Bundle // Bundle.RedisHA must be set
	Network  pulumi.StringInput
	Password pulumi.StringOutput // secret: the admin ACL user's (masterauth of both nodes, the Sentinels' auth-pass)
}

// RedisHA is a Redis primary and replica (each with AOF on its own volume) and three Sentinels
// (quorum 2) that promote the replica when the primary is gone; the service finds the primary
// through the Sentinels.
type RedisHA struct {
	pulumi.ResourceState
	Nodes     []*docker.Container
	Sentinels []*docker.Container
	// Volumes maps each node's alias to its data volume (the backup runner mounts them read-only).
	Volumes map[string]pulumi.StringOutput
}

// NewRedisHA declares the nodes and the Sentinels.
//
// Each node runs redis-server on its own file in its volume (RedisNodeConfPath: redis.conf's
// settings and the node's replication), so that the replicaof line Sentinel rewrites on a failover survives a
// container restart. A replaced container gets the declared file again: a node that was promoted
// comes back as declared and Sentinel corrects the roles within seconds. Nodes and Sentinels are
// replaced delete-first (one writer per AOF; fixed names).
func NewRedisHA(ctx *pulumi.Context, name string, args RedisHAArgs, opts ...pulumi.ResourceOption) (*RedisHA, error) {
	comp := &RedisHA{Volumes: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource(TypeRedisHA, name, comp, opts...); err != nil {
		return nil, err
	}
	cfg, ha := args.Config, args.Bundle.RedisHA
	if ha == nil {
		return nil, fmt.Errorf("redis HA: the bundle has no HA topology (isl:redisHA is false)")
	}
	img, err := remoteImage(ctx, name+"-image", cfg.Redis.Image, comp)
	if err != nil {
		return nil, err
	}
	// Every HA file carries the password: render them inside an apply of the secret, keep them secret.
	files := args.Password.ApplyT(func(pw string) (map[string]string, error) {
		out := map[string]string{}
		fs, err := args.Bundle.HAFiles(pw)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out[f.Name] = string(f.Content)
		}
		return out, nil
	}).(pulumi.StringMapOutput)
	file := func(n string) pulumi.StringOutput {
		return pulumi.ToSecret(files.MapIndex(pulumi.String(n))).(pulumi.StringOutput)
	}
	auth := pulumi.Sprintf("REDISCLI_AUTH=%s", args.Password) // with --user admin in the healthchecks
	var nodes []pulumi.Resource
	for _, n := range ha.Nodes {
		vol, err := dataVolume(ctx, n.Name+"-data", cfg, comp)
		if err != nil {
			return nil, err
		}
		role := "redis-primary"
		if n.ReplicaOf != "" {
			role = "redis-replica"
		}
		c, err := docker.NewContainer(ctx, n.Name, managed(&docker.ContainerArgs{
			Name:    pulumi.String(fmt.Sprintf("isl-%s-%s", cfg.Stack, n.Name)),
			Image:   img.ImageId,
			Command: pulumi.StringArray{pulumi.String("redis-server"), pulumi.String(stacks.RedisNodeConfPath)},
			Envs:    pulumi.StringArray{auth},
			Uploads: docker.ContainerUploadArray{upload(stacks.RedisNodeConfPath, file(n.Name+"-node.conf"), false)},
			Volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{VolumeName: vol.Name, ContainerPath: pulumi.String(stacks.RedisDataPath)}},
			NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
				Name: args.Network, Aliases: pulumi.StringArray{pulumi.String(n.Name)}}},
			Healthcheck: &docker.ContainerHealthcheckArgs{
				Tests:    pulumi.StringArray{pulumi.String("CMD-SHELL"), pulumi.String("redis-cli --user " + stacks.RedisAdminUser + " ping | grep -q PONG")},
				Interval: pulumi.String("5s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(5), StartPeriod: pulumi.String("10s"),
			},
		}, cfg, lifecycle{Role: role, MemoryMB: cfg.Redis.MemoryMB, StopSignal: "SIGTERM", StopSeconds: 30, Labels: []string{"isl.redis.maxmemory", stacks.FormatMemory(cfg.Redis.MaxMemoryMB), "isl.redis.maxmemory-policy", cfg.Redis.MaxMemoryPolicy, "isl.redis.appendfsync", cfg.Redis.AppendFsync}}),
			pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true), pulumi.DependsOn(nodes))
		if err != nil {
			return nil, err
		}
		comp.Nodes = append(comp.Nodes, c)
		comp.Volumes[n.Name] = vol.Name
		nodes = append(nodes, c) // the replica starts after the primary
	}
	for _, s := range ha.Sentinels {
		c, err := docker.NewContainer(ctx, s.Name, managed(&docker.ContainerArgs{
			Name:    pulumi.String(fmt.Sprintf("isl-%s-%s", cfg.Stack, s.Name)),
			Image:   img.ImageId,
			Command: pulumi.StringArray{pulumi.String("redis-server"), pulumi.String(stacks.SentinelConfPath), pulumi.String("--sentinel")},
			Envs:    pulumi.StringArray{auth},
			// In the image's /data volume, which its entry point hands to the redis user: Sentinel
			// rewrites its file as it learns the topology.
			Uploads: docker.ContainerUploadArray{upload(stacks.SentinelConfPath, file(s.Name+".conf"), false)},
			NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
				Name: args.Network, Aliases: pulumi.StringArray{pulumi.String(s.Name)}}},
			Healthcheck: &docker.ContainerHealthcheckArgs{
				Tests: pulumi.StringArray{pulumi.String("CMD-SHELL"),
					pulumi.String("redis-cli --user " + stacks.RedisAdminUser + " -p " + strconv.Itoa(stacks.SentinelPort) + " ping | grep -q PONG")},
				Interval: pulumi.String("5s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(5), StartPeriod: pulumi.String("10s"),
			},
		}, cfg, lifecycle{Role: "redis-sentinel", MemoryMB: stacks.SentinelMemoryMB, StopSignal: "SIGTERM", StopSeconds: 10}),
			pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true), pulumi.DependsOn(nodes))
		if err != nil {
			return nil, err
		}
		comp.Sentinels = append(comp.Sentinels, c)
	}
	var nodeNames, sentinelNames pulumi.StringArray
	for _, c := range comp.Nodes {
		nodeNames = append(nodeNames, c.Name)
	}
	for _, c := range comp.Sentinels {
		sentinelNames = append(sentinelNames, c.Name)
	}
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"nodes": nodeNames, "sentinels": sentinelNames, "masterName": pulumi.String(ha.MasterName),
		"sentinelAddrs": pulumi.ToStringArray(ha.SentinelAddrs()),
	})
}
