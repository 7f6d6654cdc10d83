package deploy

import (
	"fmt"
	"strconv"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Component type tokens.
const (
	TypeNetwork    = "isl:deploy:Network"
	TypeRedis      = "isl:deploy:Redis"
	TypeService    = "isl:deploy:Service"
	TypeNginx      = "isl:deploy:Nginx"
	TypePrometheus = "isl:deploy:Prometheus"
	TypeGrafana    = "isl:deploy:Grafana"
)

// Third-party images (RemoteImage) are fed to containers by ImageId, the local image id the
// provider always reports; RepoDigest is empty for an image that exists only locally.

// Common container settings: every container restarts unless stopped, is health-checked, and
// `pulumi up` waits for it to be healthy.
const (
	restartPolicy = "unless-stopped"
	waitTimeout   = 180
)

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

// ---------------------------------------------------------------------------------------------
// Network

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

// ---------------------------------------------------------------------------------------------
// Redis

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
	img, err := docker.NewRemoteImage(ctx, name+"-image", &docker.RemoteImageArgs{
		Name: pulumi.String(cfg.Redis.Image), KeepLocally: pulumi.Bool(true),
	}, pulumi.Parent(comp))
	if err != nil {
		return nil, err
	}
	vol, err := docker.NewVolume(ctx, name+"-data", &docker.VolumeArgs{
		Labels: docker.VolumeLabelArray{docker.VolumeLabelArgs{Label: pulumi.String("isl.stack"), Value: pulumi.String(cfg.Stack)}},
	}, pulumi.Parent(comp), pulumi.Protect(cfg.ProtectData))
	if err != nil {
		return nil, err
	}
	// redis.conf carries the password, so it is rendered inside an apply of the secret and stays secret.
	conf := args.Password.ApplyT(func(pw string) (string, error) {
		files, err := renderRedisOnly(args.Bundle, pw)
		return files, err
	}).(pulumi.StringOutput)
	c, err := docker.NewContainer(ctx, name, &docker.ContainerArgs{
		Name:    pulumi.String(fmt.Sprintf("isl-%s-redis", cfg.Stack)),
		Image:   img.ImageId,
		Command: pulumi.StringArray{pulumi.String("redis-server"), pulumi.String(stacks.RedisConfPath)},
		Envs:    pulumi.StringArray{pulumi.Sprintf("REDISCLI_AUTH=%s", args.Password)},
		Uploads: docker.ContainerUploadArray{upload(stacks.RedisConfPath, pulumi.ToSecret(conf).(pulumi.StringOutput), false)},
		Volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{VolumeName: vol.Name, ContainerPath: pulumi.String(stacks.RedisDataPath)}},
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name: args.Network, Aliases: pulumi.StringArray{pulumi.String(stacks.RedisAlias)}}},
		Ports: debugPort(stacks.RedisPort, cfg.Redis.HostPort),
		Healthcheck: &docker.ContainerHealthcheckArgs{
			Tests:    pulumi.StringArray{pulumi.String("CMD-SHELL"), pulumi.String("redis-cli ping | grep -q PONG")},
			Interval: pulumi.String("5s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(5), StartPeriod: pulumi.String("10s"),
		},
		Wait: pulumi.Bool(true), WaitTimeout: pulumi.Int(waitTimeout),
		Restart:    pulumi.String(restartPolicy),
		StopSignal: pulumi.String("SIGTERM"), StopTimeout: pulumi.Int(30), DestroyGraceSeconds: pulumi.Int(30),
		Memory: pulumi.Int(cfg.Redis.MemoryMB),
		// The settings inside the (secret) redis.conf, visible for the promotion diff.
		Labels: labels(cfg, "redis", "isl.redis.maxmemory", stacks.FormatMemory(cfg.Redis.MaxMemoryMB),
			"isl.redis.maxmemory-policy", cfg.Redis.MaxMemoryPolicy, "isl.redis.appendfsync", cfg.Redis.AppendFsync),
		LogDriver: pulumi.String("json-file"), LogOpts: logOpts(),
	}, pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true))
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

// ---------------------------------------------------------------------------------------------
// Service: the ISL image and its replicas

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
	// RedisEnv is the Redis part of the environment (stacks.Bundle.ServiceRedisEnv: the Redis host,
	// or the Sentinels); Sentinel adds REDIS_SENTINEL_PASSWORD (the Redis password) as a secret.
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
// Zero-downtime updates: a replica has no fixed container name, so when its image digest changes the
// provider creates the new container first (auto-named <slot>-<hex>), waits until its healthcheck
// passes, and only then deletes the old one, which drains for StopTimeout seconds after SIGTERM.
// Both carry the slot's network alias (isl-N) meanwhile; nginx follows the alias (nginx-watch.sh).
func NewService(ctx *pulumi.Context, name string, args ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	comp := &Service{}
	if err := ctx.RegisterComponentResource(TypeService, name, comp, opts...); err != nil {
		return nil, err
	}
	cfg := args.Config
	s := cfg.Service
	var digest, imageName pulumi.StringOutput
	if s.Image != "" {
		// A prebuilt image (rollback to a previous tag, or a CI-built image): pull it. Containers get
		// its ImageId, not its RepoDigest: the provider fills RepoDigest only for an image that was
		// pulled from or pushed to a registry, so for a local-only tag (isl:c-…, the README's
		// rollback without a registry) it is empty and the replicas would get no image at all.
		img, err := docker.NewRemoteImage(ctx, name+"-image", &docker.RemoteImageArgs{
			Name: pulumi.String(s.Image), KeepLocally: pulumi.Bool(true),
		}, pulumi.Parent(comp))
		if err != nil {
			return nil, err
		}
		digest, imageName = img.ImageId, pulumi.String(s.Image).ToStringOutput()
	} else {
		repo := s.Repository
		if s.Registry != "" {
			repo = s.Registry + "/" + s.Repository
		}
		ia := &docker.ImageArgs{
			ImageName: pulumi.String(repo + ":" + args.ImageTag),
			Build: &docker.DockerBuildArgs{
				Context:        pulumi.String(args.Context),
				Dockerfile:     pulumi.String(joinRel(args.Context, s.Dockerfile)),
				Platform:       pulumi.String(s.Platform),
				BuilderVersion: docker.BuilderVersionBuilderBuildKit,
			},
			SkipPush: pulumi.Bool(s.Registry == ""),
		}
		if s.Registry != "" {
			ia.Registry = &docker.RegistryArgs{Server: pulumi.String(s.Registry), Username: pulumi.String(s.RegistryUsername),
				Password: args.Secrets.RegistryPassword}
		}
		img, err := docker.NewImage(ctx, name+"-image", ia, pulumi.Parent(comp))
		if err != nil {
			return nil, err
		}
		digest, imageName = img.RepoDigest, img.ImageName
	}
	comp.ImageDigest, comp.ImageName = digest, imageName

	env := []pulumi.StringInput{
		pulumi.String("ENV=" + s.Env),
		pulumi.String("LOG_LEVEL=" + s.LogLevel),
		pulumi.String("API_V1_PREFIX=" + s.APIPrefix),
		pulumi.String("HOST=0.0.0.0"),
		pulumi.String("PORT=" + strconv.Itoa(s.Port)),
		pulumi.String("RATE_LIMIT_PER_MINUTE=" + strconv.Itoa(s.RateLimitPerMinute)),
		pulumi.String("MAX_MONTE_CARLO_ITERATIONS=" + strconv.Itoa(s.MaxMonteCarlo)),
		pulumi.String("ENABLE_MONITORING=" + strconv.FormatBool(s.EnableMonitoring)),
		// Only nginx reaches the replicas (outside dev): take the client IP from its X-Real-IP.
		pulumi.String("TRUST_PROXY=true"),
		// Drain within the container's stop timeout, before Docker's SIGKILL.
		pulumi.String("SHUTDOWN_TIMEOUT_SECONDS=" + strconv.Itoa(stacks.ShutdownTimeout(s.StopTimeoutSeconds))),
		// Let the Go GC work to 90 % of the container limit instead of being OOM-killed.
		pulumi.String("GOMEMLIMIT=" + strconv.Itoa(s.MemoryMB*9/10) + "MiB"),
		pulumi.Sprintf("REDIS_PASSWORD=%s", args.Secrets.RedisPassword),
		pulumi.Sprintf("SECRET_KEY=%s", args.Secrets.SecretKey),
		pulumi.Sprintf("API_KEYS=%s", args.Secrets.APIKeys),
	}
	for _, kv := range args.RedisEnv {
		env = append(env, pulumi.String(kv))
	}
	if args.Sentinel {
		env = append(env, pulumi.Sprintf("REDIS_SENTINEL_PASSWORD=%s", args.Secrets.RedisPassword))
	}
	var names pulumi.StringArray
	for i, slot := range cfg.ReplicaSlots() {
		ports := docker.ContainerPortArray(nil)
		if s.HostPortBase != 0 {
			ports = debugPort(s.Port, s.HostPortBase+i)
		}
		ca := &docker.ContainerArgs{
			// No Name: auto-named <slot>-<hex>, which is what makes replacement create-before-delete.
			Image: digest,
			Envs:  pulumi.StringArray(env),
			NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
				Name:    args.Network,
				Aliases: pulumi.StringArray{pulumi.String(slot), pulumi.String("isl")},
			}},
			Ports: ports,
			Healthcheck: &docker.ContainerHealthcheckArgs{
				Tests:    pulumi.StringArray{pulumi.String("CMD"), pulumi.String(s.BinaryPath), pulumi.String("healthcheck")},
				Interval: pulumi.String("10s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(3), StartPeriod: pulumi.String("15s"),
			},
			Wait: pulumi.Bool(true), WaitTimeout: pulumi.Int(waitTimeout),
			Restart:    pulumi.String(restartPolicy),
			StopSignal: pulumi.String("SIGTERM"), StopTimeout: pulumi.Int(s.StopTimeoutSeconds),
			DestroyGraceSeconds: pulumi.Int(s.StopTimeoutSeconds),
			Memory:              pulumi.Int(s.MemoryMB),
			Labels:              labels(cfg, "replica", "isl.slot", slot),
			LogDriver:           pulumi.String("json-file"), LogOpts: logOpts(),
		}
		if s.CPUs != "" {
			ca.Cpus = pulumi.String(s.CPUs)
		}
		ropts := []pulumi.ResourceOption{pulumi.Parent(comp)}
		if len(ports) > 0 {
			// A published host port (dev only) is held by the old container until it is deleted, so a
			// create-first replacement fails with "port is already allocated": replace delete-first
			// (dev accepts the short gap; staging and pilot publish no replica ports).
			ropts = append(ropts, pulumi.DeleteBeforeReplace(true))
		}
		c, err := docker.NewContainer(ctx, slot, ca, ropts...)
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

// ---------------------------------------------------------------------------------------------
// nginx

// NginxArgs configures the public entry.
type NginxArgs struct {
	Config   stacks.Config
	Bundle   stacks.Bundle
	Network  pulumi.StringInput
	TLSCert  pulumi.StringInput // PEM content
	TLSKey   pulumi.StringInput // PEM content, secret
	Replicas []pulumi.Resource  // nginx starts after them: its upstream names must resolve
}

// Nginx is the only container with published host ports (outside dev).
type Nginx struct {
	pulumi.ResourceState
	Container *docker.Container
}

// NewNginx declares nginx. It owns fixed host ports, so it is replaced delete-first; its config
// names replica slots, not containers, so image updates never touch it.
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
	watch, err := stacks.RenderNginxWatch(args.Bundle.Watch)
	if err != nil {
		return nil, err
	}
	img, err := docker.NewRemoteImage(ctx, name+"-image", &docker.RemoteImageArgs{
		Name: pulumi.String(cfg.Nginx.Image), KeepLocally: pulumi.Bool(true),
	}, pulumi.Parent(comp))
	if err != nil {
		return nil, err
	}
	uploads := docker.ContainerUploadArray{
		upload(stacks.NginxConfPath, pulumi.String(string(conf)), false),
		upload(stacks.NginxWatchPath, pulumi.String(string(watch)), true),
	}
	ports := hostPort(80, cfg.Nginx.HTTPPort)
	if cfg.Nginx.TLS {
		uploads = append(uploads, upload(stacks.NginxCertPath, args.TLSCert, false), upload(stacks.NginxKeyPath, args.TLSKey, false))
		ports = append(ports, hostPort(443, cfg.Nginx.HTTPSPort)...)
	}
	c, err := docker.NewContainer(ctx, name, &docker.ContainerArgs{
		Name:        pulumi.String(fmt.Sprintf("isl-%s-nginx", cfg.Stack)),
		Image:       img.ImageId,
		Entrypoints: pulumi.StringArray{pulumi.String("/bin/sh"), pulumi.String(stacks.NginxWatchPath)},
		Uploads:     uploads,
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name: args.Network, Aliases: pulumi.StringArray{pulumi.String("nginx")}}},
		Ports: ports,
		Healthcheck: &docker.ContainerHealthcheckArgs{
			// Through nginx to a replica: healthy means the whole entry path works.
			Tests: pulumi.StringArray{pulumi.String("CMD-SHELL"),
				pulumi.String("wget -q -O /dev/null http://127.0.0.1:" + strconv.Itoa(stacks.NginxStatusPort) + "/health || exit 1")},
			Interval: pulumi.String("10s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(3), StartPeriod: pulumi.String("5s"),
		},
		Wait: pulumi.Bool(true), WaitTimeout: pulumi.Int(waitTimeout),
		Restart: pulumi.String(restartPolicy),
		// SIGQUIT is nginx's graceful shutdown: finish in-flight requests, then exit.
		StopSignal: pulumi.String("SIGQUIT"), StopTimeout: pulumi.Int(30), DestroyGraceSeconds: pulumi.Int(30),
		Memory:    pulumi.Int(cfg.Nginx.MemoryMB),
		Labels:    labels(cfg, "nginx"),
		LogDriver: pulumi.String("json-file"), LogOpts: logOpts(),
	}, pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true), pulumi.DependsOn(args.Replicas))
	if err != nil {
		return nil, err
	}
	comp.Container = c
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name})
}

// ---------------------------------------------------------------------------------------------
// Prometheus

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
	img, err := docker.NewRemoteImage(ctx, name+"-image", &docker.RemoteImageArgs{
		Name: pulumi.String(cfg.Prometheus.Image), KeepLocally: pulumi.Bool(true),
	}, pulumi.Parent(comp))
	if err != nil {
		return nil, err
	}
	vol, err := docker.NewVolume(ctx, name+"-data", &docker.VolumeArgs{
		Labels: docker.VolumeLabelArray{docker.VolumeLabelArgs{Label: pulumi.String("isl.stack"), Value: pulumi.String(cfg.Stack)}},
	}, pulumi.Parent(comp), pulumi.Protect(cfg.ProtectData))
	if err != nil {
		return nil, err
	}
	var cmd pulumi.StringArray
	for _, a := range args.Bundle.PrometheusArgs {
		cmd = append(cmd, pulumi.String(a))
	}
	c, err := docker.NewContainer(ctx, name, &docker.ContainerArgs{
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
		Wait: pulumi.Bool(true), WaitTimeout: pulumi.Int(waitTimeout),
		Restart:    pulumi.String(restartPolicy),
		StopSignal: pulumi.String("SIGTERM"), StopTimeout: pulumi.Int(60), DestroyGraceSeconds: pulumi.Int(60),
		Memory:    pulumi.Int(cfg.Prometheus.MemoryMB),
		Labels:    labels(cfg, "prometheus"),
		LogDriver: pulumi.String("json-file"), LogOpts: logOpts(),
	}, pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	comp.Container = c
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name, "volume": vol.Name})
}

// ---------------------------------------------------------------------------------------------
// Grafana

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
	img, err := docker.NewRemoteImage(ctx, name+"-image", &docker.RemoteImageArgs{
		Name: pulumi.String(cfg.Grafana.Image), KeepLocally: pulumi.Bool(true),
	}, pulumi.Parent(comp))
	if err != nil {
		return nil, err
	}
	vol, err := docker.NewVolume(ctx, name+"-data", &docker.VolumeArgs{
		Labels: docker.VolumeLabelArray{docker.VolumeLabelArgs{Label: pulumi.String("isl.stack"), Value: pulumi.String(cfg.Stack)}},
	}, pulumi.Parent(comp), pulumi.Protect(cfg.ProtectData))
	if err != nil {
		return nil, err
	}
	var uploads docker.ContainerUploadArray
	for _, f := range files {
		uploads = append(uploads, upload(f.Path, pulumi.String(string(f.Content)), false))
	}
	c, err := docker.NewContainer(ctx, name, &docker.ContainerArgs{
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
		Wait: pulumi.Bool(true), WaitTimeout: pulumi.Int(waitTimeout),
		Restart:    pulumi.String(restartPolicy),
		StopSignal: pulumi.String("SIGTERM"), StopTimeout: pulumi.Int(30), DestroyGraceSeconds: pulumi.Int(30),
		Memory:    pulumi.Int(cfg.Grafana.MemoryMB),
		Labels:    labels(cfg, "grafana"),
		LogDriver: pulumi.String("json-file"), LogOpts: logOpts(),
	}, pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	comp.Container = c
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name, "volume": vol.Name})
}
