package deploy

import (
	"fmt"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeRedis is the component type token of Redis.
const TypeRedis = "isl:deploy:Redis"

// RedisArgs configures Redis.
type RedisArgs struct {
	Config   stacks.Config
	Bundle   stacks.Bundle
	Network  pulumi.StringInput
	Password pulumi.StringOutput // secret
}

// Redis is the single Redis 7.2 with AOF + RDB on a named volume.
type Redis struct {
	pulumi.ResourceState
	Container *docker.Container
	Host      pulumi.StringOutput
	Volume    pulumi.StringOutput // the data volume (the backup runner mounts it read-only)
}

// NewRedis declares Redis. It is replaced delete-first (one writer per AOF), so the service sees a
// short outage on a Redis change and answers 503 retryable while reconnecting.
func NewRedis(ctx *pulumi.Context, name string, args RedisArgs, opts ...pulumi.ResourceOption) (*Redis, error) {
	comp := &Redis{}
	if err := ctx.RegisterComponentResource(TypeRedis, name, comp, opts...); err != nil {
		return nil, err
	}
	cfg := args.Config
	img, err := remoteImage(ctx, name+"-image", cfg.Redis.Image, comp)
	if err != nil {
		return nil, err
	}
	vol, err := dataVolume(ctx, name+"-data", cfg, comp)
	if err != nil {
		return nil, err
	}
	// redis.conf carries the password, so it is rendered inside an apply of the secret and stays secret.
	conf := args.Password.ApplyT(func(pw string) (string, error) {
		files, err := renderRedisOnly(args.Bundle, pw)
		return files, err
	}).(pulumi.StringOutput)
	c, err := docker.NewContainer(ctx, name, managed(&docker.ContainerArgs{
		Name:    pulumi.String(fmt.Sprintf("isl-%s-redis", cfg.Stack)),
		Image:   img.ImageId,
		Command: pulumi.StringArray{pulumi.String("redis-server"), pulumi.String(stacks.RedisConfPath)},
		Envs:    pulumi.StringArray{pulumi.Sprintf("REDISCLI_AUTH=%s", args.Password)}, // the admin user's, for the healthcheck
		Uploads: docker.ContainerUploadArray{upload(stacks.RedisConfPath, pulumi.ToSecret(conf).(pulumi.StringOutput), false)},
		Volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{VolumeName: vol.Name, ContainerPath: pulumi.String(stacks.RedisDataPath)}},
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name: args.Network, Aliases: pulumi.StringArray{pulumi.String(stacks.RedisAlias)}}},
		Ports: debugPort(stacks.RedisPort, cfg.Redis.HostPort),
		Healthcheck: &docker.ContainerHealthcheckArgs{
			Tests:    pulumi.StringArray{pulumi.String("CMD-SHELL"), pulumi.String("redis-cli --no-auth-warning --user " + stacks.RedisAdminUser + " ping | grep -q PONG")},
			Interval: pulumi.String("5s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(5), StartPeriod: pulumi.String("10s"),
		},
	}, cfg, lifecycle{Role: "redis", MemoryMB: cfg.Redis.MemoryMB, StopSignal: "SIGTERM", StopSeconds: 30,
		// The settings inside the (secret) redis.conf, visible for the promotion diff.
		Labels: []string{"isl.redis.maxmemory", stacks.FormatMemory(cfg.Redis.MaxMemoryMB), "isl.redis.maxmemory-policy", cfg.Redis.MaxMemoryPolicy, "isl.redis.appendfsync", cfg.Redis.AppendFsync}}),
		pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	comp.Container = c
	comp.Host = pulumi.String(stacks.RedisAlias).ToStringOutput()
	comp.Volume = vol.Name
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name, "host": comp.Host, "volume": vol.Name})
}

func renderRedisOnly(b stacks.Bundle, pw string) (string, error) {
	p := b.Redis
	p.Password = pw
	out, err := stacks.RenderRedis(p)
	return string(out), err
}
