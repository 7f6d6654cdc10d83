package deploy

import (
	"strconv"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeService is the component type token of the ISL image and its replicas.
const TypeService = "isl:deploy:Service"

// ServiceSecrets are the secret values the replicas receive as environment variables.
type ServiceSecrets struct {
	RedisPassword    pulumi.StringOutput
	SecretKey        pulumi.StringOutput
	APIKeys          pulumi.StringOutput
	RegistryPassword pulumi.StringOutput
}

// ServiceArgs configures the image and the replicas.
type ServiceArgs struct {
	Config   stacks.Config
	Root     string // repo root (build context)
	Context  string // build context path as given to the provider (relative to the program's cwd)
	Network  pulumi.StringInput
	Secrets  ServiceSecrets
	ImageTag string // content tag of the build inputs
	// BuildArgs are the Dockerfile's build identity arguments (VERSION, COMMIT, BUILD_DATE).
	BuildArgs pulumi.StringMap
	// RedisEnv is the Redis part of the environment (stacks.Bundle.ServiceRedisEnv: the Redis host,
	// or the Sentinels); with Sentinel, REDIS_SENTINEL_PASSWORD (the service user's password) is
	// added as a secret.
	RedisEnv []string
	Sentinel bool
}

// Service is the ISL image and its N replicas.
type Service struct {
	pulumi.ResourceState
	ImageName    pulumi.StringOutput
	ImageDigest  pulumi.StringOutput
	Replicas     []*docker.Container
	ReplicaNames pulumi.StringArrayOutput
}

// NewService declares the image and the replicas.
//
// Zero-downtime updates: a replica has no fixed container name and (without host ports) an explicit
// DeleteBeforeReplace(false), so when its image digest changes the new container is created first
// (auto-named <slot>-<hex>), its healthcheck must pass, and only then is the old one deleted, which
// drains for StopTimeout seconds after SIGTERM.
// Both carry the slot's network alias (isl-N) meanwhile; nginx re-resolves the alias every second
// (`server isl-N:8000 resolve`), so it sends to both, then only to the new one, without a reload.
func NewService(ctx *pulumi.Context, name string, args ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	comp := &Service{}
	if err := ctx.RegisterComponentResource(TypeService, name, comp, opts...); err != nil {
		return nil, err
	}
	digest, imageName, err := serviceImage(ctx, name+"-image", args, comp)
	if err != nil {
		return nil, err
	}
	comp.ImageDigest, comp.ImageName = digest, imageName
	env := replicaEnv(args.Config.Service, args.Secrets, args.RedisEnv, args.Sentinel)
	var names pulumi.StringArray
	for i, slot := range args.Config.ReplicaSlots() {
		ca := replicaArgs(args.Config, slot, i, digest, env, args.Network)
		c, err := docker.NewContainer(ctx, slot, ca, replicaOptions(args.Config.Service.HostPortBase != 0, comp)...)
		if err != nil {
			return nil, err
		}
		comp.Replicas = append(comp.Replicas, c)
		names = append(names, c.Name)
	}
	comp.ReplicaNames = names.ToStringArrayOutput()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"imageName": imageName, "imageDigest": digest, "replicaNames": comp.ReplicaNames,
	})
}

// serviceImage declares the image the replicas run: a prebuilt one (isl:serviceImage) or a build of
// service/Dockerfile tagged with the content tag of its inputs. It returns what the containers get as
// their image and the image's name.
func serviceImage(ctx *pulumi.Context, name string, args ServiceArgs, parent pulumi.Resource) (digest, imageName pulumi.StringOutput, err error) {
	s := args.Config.Service
	if s.Image != "" {
		// A prebuilt image (rollback to a previous tag, or a CI-built image): pull it. Containers get
		// its ImageId, not its RepoDigest: the provider fills RepoDigest only for an image that was
		// pulled from or pushed to a registry, so for a local-only tag (isl:c-…, the README's
		// rollback without a registry) it is empty and the replicas would get no image at all.
		img, err := remoteImage(ctx, name, s.Image, parent)
		if err != nil {
			return digest, imageName, err
		}
		return img.ImageId, pulumi.String(s.Image).ToStringOutput(), nil
	}
	repo := s.Repository
	if s.Registry != "" {
		repo = s.Registry + "/" + s.Repository
	}
	buildArgs := pulumi.StringMap{
		"BUILD_IMAGE":   pulumi.String(s.BuildImage),
		"RUNTIME_IMAGE": pulumi.String(s.RuntimeImage),
	}
	for k, v := range args.BuildArgs {
		buildArgs[k] = v
	}
	ia := &docker.ImageArgs{
		ImageName: pulumi.String(repo + ":" + args.ImageTag),
		Build: &docker.DockerBuildArgs{
			Context:        pulumi.String(args.Context),
			Dockerfile:     pulumi.String(joinRel(args.Context, s.Dockerfile)),
			Platform:       pulumi.String(s.Platform),
			BuilderVersion: docker.BuilderVersionBuilderBuildKit,
			Args:           buildArgs,
		},
		SkipPush: pulumi.Bool(s.Registry == ""),
	}
	if s.Registry != "" {
		ia.Registry = &docker.RegistryArgs{Server: pulumi.String(s.Registry), Username: pulumi.String(s.RegistryUsername),
			Password: args.Secrets.RegistryPassword}
	}
	img, err := docker.NewImage(ctx, name, ia, pulumi.Parent(parent))
	if err != nil {
		return digest, imageName, err
	}
	return img.RepoDigest, img.ImageName, nil
}

// replicaEnv is the environment every replica gets (the service reads its whole config from it).
func replicaEnv(s stacks.ServiceConfig, secrets ServiceSecrets, redisEnv []string, sentinel bool) pulumi.StringArray {
	svcPassword := secrets.RedisPassword.ApplyT(func(p string) string { return stacks.RedisServicePassword(p) }).(pulumi.StringOutput)
	env := pulumi.StringArray{
		pulumi.String("ENV=" + s.Env),
		pulumi.String("LOG_LEVEL=" + s.LogLevel),
		pulumi.String("API_V1_PREFIX=" + s.APIPrefix),
		pulumi.String("HOST=0.0.0.0"),
		pulumi.String("PORT=" + strconv.Itoa(s.Port)),
		pulumi.String("RATE_LIMIT_PER_MINUTE=" + strconv.Itoa(s.RateLimitPerMinute)),
		pulumi.String("MAX_MONTE_CARLO_ITERATIONS=" + strconv.Itoa(s.MaxMonteCarlo)),
		pulumi.String("ENABLE_MONITORING=" + strconv.FormatBool(s.EnableMonitoring)),
		// The client IP is nginx's X-Real-IP, and only nginx's (any other peer's header is ignored).
		pulumi.String("TRUSTED_PROXIES=nginx"),
		// Drain within the container's stop timeout, before Docker's SIGKILL.
		pulumi.String("SHUTDOWN_TIMEOUT_SECONDS=" + strconv.Itoa(stacks.ShutdownTimeout(s.StopTimeoutSeconds))),
		// Let the Go GC work to 90 % of the container limit instead of being OOM-killed.
		pulumi.String("GOMEMLIMIT=" + strconv.Itoa(s.MemoryMB*9/10) + "MiB"),
		// The restricted ACL user (redis.conf), whose password derives from the stack's Redis password.
		pulumi.String("REDIS_USERNAME=" + stacks.RedisServiceUser),
		pulumi.Sprintf("REDIS_PASSWORD=%s", svcPassword),
		pulumi.Sprintf("SECRET_KEY=%s", secrets.SecretKey),
		pulumi.Sprintf("API_KEYS=%s", secrets.APIKeys),
	}
	for _, kv := range redisEnv {
		env = append(env, pulumi.String(kv))
	}
	if sentinel { // the same ACL user on the Sentinels (sentinel.conf), with the same password
		env = append(env, pulumi.Sprintf("REDIS_SENTINEL_PASSWORD=%s", svcPassword))
	}
	return env
}

// replicaArgs declares replica number i (slot isl-<i+1>).
func replicaArgs(cfg stacks.Config, slot string, i int, image pulumi.StringInput, env pulumi.StringArray, network pulumi.StringInput) *docker.ContainerArgs {
	s := cfg.Service
	ports := docker.ContainerPortArray(nil)
	if s.HostPortBase != 0 {
		ports = debugPort(s.Port, s.HostPortBase+i)
	}
	ca := managed(&docker.ContainerArgs{
		// No Name: auto-named <slot>-<hex>, so the successor can exist next to its predecessor.
		Image: image,
		Envs:  env,
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name:    network,
			Aliases: pulumi.StringArray{pulumi.String(slot), pulumi.String("isl")},
		}},
		Ports: ports,
		Healthcheck: &docker.ContainerHealthcheckArgs{
			Tests:    pulumi.StringArray{pulumi.String("CMD"), pulumi.String(s.BinaryPath), pulumi.String("healthcheck")},
			Interval: pulumi.String("10s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(3), StartPeriod: pulumi.String("15s"),
		},
	}, cfg, lifecycle{Role: "replica", MemoryMB: s.MemoryMB, StopSignal: "SIGTERM", StopSeconds: s.StopTimeoutSeconds, Labels: []string{"isl.slot", slot}})
	if s.CPUs != "" {
		ca.Cpus = pulumi.String(s.CPUs)
	}
	return ca
}

// replicaOptions are a replica's resource options, which decide its replacement order.
//
// The pulumi-docker provider marks docker_container delete-before-replace in its own schema, so
// leaving the option unset does NOT give Pulumi's create-first default: both old replicas would be
// killed before their successors exist. Only an explicit DeleteBeforeReplace(false) makes the
// engine create the successor first, wait for its healthcheck (Wait), then delete the old one.
func replicaOptions(hostPorts bool, parent pulumi.Resource) []pulumi.ResourceOption {
	if hostPorts {
		// A published host port (dev only) is held by the old container until it is deleted, so a
		// create-first replacement fails with "port is already allocated": replace delete-first
		// (dev accepts the short gap; staging and pilot publish no replica ports).
		return []pulumi.ResourceOption{pulumi.Parent(parent), pulumi.DeleteBeforeReplace(true)}
	}
	return []pulumi.ResourceOption{pulumi.Parent(parent), pulumi.DeleteBeforeReplace(false)}
}
