package deploy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeBackup is the component token of the scheduled Redis backups.
const TypeBackup = "isl:deploy:Backup"

// BackupArgs configures the backup runner.
type BackupArgs struct {
	Config  stacks.Config
	Bundle  stacks.Bundle // Bundle.Backup must be set
	Network pulumi.StringInput
	Context string // build context (the repo root, relative to the program's cwd)
	Tag     string // content tag of the build inputs
	// BuildArgs are the Dockerfile's build identity arguments (VERSION, COMMIT, BUILD_DATE), as the
	// service image gets them.
	BuildArgs pulumi.StringMap
	// RedisEnv is the Redis part of the runner's environment (the service's: host or Sentinels); the
	// runner connects as the admin ACL user (BGSAVE, INFO persistence), not as the service's.
	RedisEnv []string
	Password pulumi.StringOutput // secret: the stack's Redis (admin) password
	// DataVolumes maps each Redis node's alias to its data volume, mounted read-only under
	// /redis/<alias> so that the runner copies the primary's fresh dump.rdb and AOF files.
	DataVolumes map[string]pulumi.StringOutput
	DependsOn   []pulumi.Resource
}

// Backup is the container that runs `isl backup --every … --keep …`: the isl binary on the Redis
// image (redis-check-rdb, redis-check-aof, redis-server for restores), writing to its own volume,
// serving isl_backup_* on :9121 for Prometheus (job isl-backup).
type Backup struct {
	pulumi.ResourceState
	Container *docker.Container
	Volume    pulumi.StringOutput
}

// NewBackup declares the backup image (the Dockerfile's backup target), volume and container.
func NewBackup(ctx *pulumi.Context, name string, args BackupArgs, opts ...pulumi.ResourceOption) (*Backup, error) {
	comp := &Backup{}
	if err := ctx.RegisterComponentResource(TypeBackup, name, comp, opts...); err != nil {
		return nil, err
	}
	cfg, bp := args.Config, args.Bundle.Backup
	if bp == nil {
		return nil, fmt.Errorf("backup: the bundle schedules no backups (isl:backupInterval is 0)")
	}
	s := cfg.Service
	repo := s.Repository + "-backup"
	if s.Registry != "" {
		repo = s.Registry + "/" + repo
	}
	// The same bases as the service image (BUILD_IMAGE builds the binary), on the stack's Redis image.
	buildArgs := pulumi.StringMap{"BUILD_IMAGE": pulumi.String(s.BuildImage), "RUNTIME_IMAGE": pulumi.String(s.RuntimeImage),
		"REDIS_IMAGE": pulumi.String(cfg.Redis.Image)}
	for k, v := range args.BuildArgs {
		buildArgs[k] = v
	}
	img, err := docker.NewImage(ctx, name+"-image", &docker.ImageArgs{
		ImageName: pulumi.String(repo + ":" + args.Tag),
		Build: &docker.DockerBuildArgs{
			Context:        pulumi.String(args.Context),
			Dockerfile:     pulumi.String(joinRel(args.Context, s.Dockerfile)),
			Platform:       pulumi.String(s.Platform),
			Target:         pulumi.String("backup"),
			Args:           buildArgs,
			BuilderVersion: docker.BuilderVersionBuilderBuildKit,
		},
		SkipPush: pulumi.Bool(true),
	}, pulumi.Parent(comp))
	if err != nil {
		return nil, err
	}
	vol, err := dataVolume(ctx, name+"-data", cfg, comp)
	if err != nil {
		return nil, err
	}
	vols := docker.ContainerVolumeArray{docker.ContainerVolumeArgs{VolumeName: vol.Name, ContainerPath: pulumi.String(bp.Dest)}}
	aliases := make([]string, 0, len(args.DataVolumes))
	for a := range args.DataVolumes {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	for _, a := range aliases {
		vols = append(vols, docker.ContainerVolumeArgs{VolumeName: args.DataVolumes[a],
			ContainerPath: pulumi.String(stacks.BackupDataRoot + "/" + a), ReadOnly: pulumi.Bool(true)})
	}
	var cmd pulumi.StringArray
	for _, a := range bp.Args() {
		cmd = append(cmd, pulumi.String(a))
	}
	// PORT: `isl healthcheck` asks this port's /health (the runner's metrics listener).
	env := pulumi.StringArray{pulumi.String("PORT=" + strconv.Itoa(stacks.BackupMetricsPort))}
	for _, kv := range args.RedisEnv {
		if !strings.HasPrefix(kv, "REDIS_SENTINEL_USERNAME=") {
			env = append(env, pulumi.String(kv))
		}
	}
	env = append(env, pulumi.String("REDIS_USERNAME="+stacks.RedisAdminUser), pulumi.Sprintf("REDIS_PASSWORD=%s", args.Password))
	if args.Bundle.RedisHA != nil {
		env = append(env, pulumi.String("REDIS_SENTINEL_USERNAME="+stacks.RedisAdminUser), pulumi.Sprintf("REDIS_SENTINEL_PASSWORD=%s", args.Password))
	}
	c, err := docker.NewContainer(ctx, name, managed(&docker.ContainerArgs{
		Name:    pulumi.String(fmt.Sprintf("isl-%s-backup", cfg.Stack)),
		Image:   img.RepoDigest,
		Command: cmd,
		Envs:    env,
		Volumes: vols,
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name: args.Network, Aliases: pulumi.StringArray{pulumi.String(stacks.BackupAlias)}}},
		Healthcheck: &docker.ContainerHealthcheckArgs{
			// The binary checks itself: the stand-in Redis images (make images-offline) have no wget.
			Tests:    pulumi.StringArray{pulumi.String("CMD"), pulumi.String("/usr/local/bin/isl"), pulumi.String("healthcheck")},
			Interval: pulumi.String("30s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(3), StartPeriod: pulumi.String("30s"),
		},
	}, cfg, lifecycle{Role: "backup", MemoryMB: stacks.BackupMemoryMB,
		// A backup in progress is abandoned on stop (its temporary files are removed on the next run).
		StopSignal: "SIGTERM", StopSeconds: 30, Labels: []string{"isl.backup.interval", bp.Every, "isl.backup.retention", strconv.Itoa(bp.Keep)}}),
		pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true), pulumi.DependsOn(args.DependsOn))
	if err != nil {
		return nil, err
	}
	comp.Container, comp.Volume = c, vol.Name
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name, "volume": vol.Name, "image": img.ImageName})
}
