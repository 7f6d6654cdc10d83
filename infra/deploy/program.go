// Package deploy is the ISL Pulumi program: one ComponentResource per concern (network, Redis or the
// replicated Redis with Sentinels, the service image and replicas, the backup runner, nginx and its
// exporter, Prometheus, Alertmanager, Grafana), all configured from the typed stack config in
// github.com/olumi/isl/stacks, whose renderers also produce every file uploaded into the containers.
package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Options tune the program for its caller.
type Options struct {
	// Strictness: stacks.Deploy for a real `pulumi up` (secrets and TLS files required);
	// stacks.Structural for the promotion diff, where missing secrets are masked placeholders.
	Strictness stacks.Strictness
	// Root is the repository root (build context). Empty: the nearest parent with Pulumi.yaml.
	Root string
	// ImageTag overrides the content tag of the build inputs (tests, diff).
	ImageTag string
	// Build overrides the identity linked into a built image (tests, diff); nil: from git.
	Build *BuildInfo
	// FileStack names the Pulumi.<stack>.yaml whose keys are checked; empty: the running stack's.
	// The real-engine tests run a tier's committed file under a unique stack name.
	FileStack string
}

// BuildInfo is what a built image reports as its version (`isl version`, /health, isl_build_info)
// and carries as OCI labels: the Dockerfile's VERSION, COMMIT and BUILD_DATE arguments.
type BuildInfo struct{ Version, Commit, Date string }

// GitBuildInfo reads the build identity of the checkout at root: the release (`git describe` of the
// vX.Y.Z tags, without the v) and the commit with its commit time — not the wall clock, so that
// `pulumi up` of an unchanged commit passes the same arguments and stays a no-op. Without git, or
// outside a checkout, the image says 0.0.0-dev.
func GitBuildInfo(root string) BuildInfo {
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	b := BuildInfo{Version: strings.TrimPrefix(git("describe", "--tags", "--match", "v[0-9]*", "--dirty"), "v"),
		Commit: git("rev-parse", "HEAD"), Date: git("log", "-1", "--format=%cI")}
	if b.Version == "" {
		b.Version = "0.0.0-dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

// placeholder stands in for a secret that is not set, where that is allowed (dev, or the diff).
const placeholder = "unset-secret-placeholder"

// Program returns the Pulumi program.
func Program(opts Options) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		root := opts.Root
		if root == "" {
			var err error
			if root, err = stacks.FindRoot("."); err != nil {
				return fmt.Errorf("find the repo root (Pulumi.yaml): %w", err)
			}
		}
		// The stack file lists the keys that are set (the SDK cannot enumerate them), so a
		// misspelt isl:* key is caught. A file that does not parse is an error, never skipped.
		fileStack := opts.FileStack
		if fileStack == "" {
			fileStack = ctx.Stack()
		}
		f, err := stacks.ReadStackFile(root, fileStack)
		if err != nil {
			return fmt.Errorf("stack %s config: %w", ctx.Stack(), err)
		}
		src := pulumiSource{ctx: ctx, fileKeys: f.Keys()}
		cfg, err := stacks.Load(ctx.Stack(), src)
		if err != nil {
			return fmt.Errorf("stack %s config:\n%w", ctx.Stack(), err)
		}
		// `pulumi up` runs the program in infra/ (Pulumi.yaml's main), but users set paths from the
		// project root, where the stack files live: resolve relative TLS paths against the root.
		for _, p := range []*string{&cfg.Nginx.TLSCertFile, &cfg.Nginx.TLSKeyFile} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(root, *p)
			}
		}
		if err := cfg.Validate(opts.Strictness); err != nil {
			return fmt.Errorf("stack %s config is invalid:\n%w", ctx.Stack(), err)
		}
		bundle, err := stacks.Build(cfg, stacks.Placement{})
		if err != nil {
			return err
		}
		secret := func(key string) pulumi.StringOutput {
			if cfg.Secrets[key] {
				return config.GetSecret(ctx, key)
			}
			// Only reachable where validation allowed the secret to be missing: dev (where the
			// service runs with ENV=development) or the diff.
			v := ""
			if key == stacks.SecretRedisPassword || key == stacks.SecretGrafanaPassword {
				v = placeholder
			}
			return pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput)
		}
		secrets := ServiceSecrets{
			RedisPassword: secret(stacks.SecretRedisPassword), SecretKey: secret(stacks.SecretSecretKey),
			APIKeys: secret(stacks.SecretAPIKeys), RegistryPassword: secret(stacks.SecretRegistryPassword),
		}

		network, err := NewNetwork(ctx, "isl-net", NetworkArgs{Config: cfg})
		if err != nil {
			return err
		}
		// Redis: one node, or primary + replica + Sentinels (isl:redisHA).
		var redis pulumi.Resource
		dataVolumes := map[string]pulumi.StringOutput{}
		if bundle.RedisHA != nil {
			ha, err := NewRedisHA(ctx, "redis-ha", RedisHAArgs{Config: cfg, Bundle: bundle, Network: network.Name, Password: secrets.RedisPassword})
			if err != nil {
				return err
			}
			redis, dataVolumes = ha, ha.Volumes
		} else {
			single, err := NewRedis(ctx, "redis", RedisArgs{Config: cfg, Bundle: bundle, Network: network.Name, Password: secrets.RedisPassword})
			if err != nil {
				return err
			}
			redis, dataVolumes[stacks.RedisAlias] = single, single.Volume
		}

		tag := opts.ImageTag
		if tag == "" && cfg.Service.Image == "" {
			if tag, err = ContentTag(root, cfg.Service.Dockerfile); err != nil {
				return err
			}
		}
		cwd, _ := os.Getwd()
		buildCtx, err := filepath.Rel(cwd, root)
		if err != nil {
			buildCtx = root
		}
		build := opts.Build
		if build == nil && cfg.Service.Image == "" {
			b := GitBuildInfo(root)
			build = &b
		}
		var buildArgs pulumi.StringMap
		if build != nil {
			buildArgs = pulumi.StringMap{"VERSION": pulumi.String(build.Version), "COMMIT": pulumi.String(build.Commit),
				"BUILD_DATE": pulumi.String(build.Date)}
		}
		svc, err := NewService(ctx, "isl", ServiceArgs{Config: cfg, Root: root, Context: buildCtx, Network: network.Name,
			Secrets: secrets, ImageTag: tag, BuildArgs: buildArgs, RedisEnv: bundle.ServiceRedisEnv(), Sentinel: bundle.RedisHA != nil},
			pulumi.DependsOn([]pulumi.Resource{redis}))
		if err != nil {
			return err
		}
		if bundle.Backup != nil {
			backupTag := tag
			if backupTag == "" { // a prebuilt service image: the backup runner is still built from source
				if backupTag, err = ContentTag(root, cfg.Service.Dockerfile); err != nil {
					return err
				}
			}
			if _, err := NewBackup(ctx, "backup", BackupArgs{Config: cfg, Bundle: bundle, Network: network.Name, Context: buildCtx,
				Tag: backupTag, BuildArgs: buildArgs, RedisEnv: bundle.ServiceRedisEnv(), Password: secrets.RedisPassword, DataVolumes: dataVolumes,
				DependsOn: []pulumi.Resource{redis}}); err != nil {
				return err
			}
		}

		cert, key, err := tlsMaterial(cfg, opts.Strictness)
		if err != nil {
			return err
		}
		var replicas []pulumi.Resource
		for _, r := range svc.Replicas {
			replicas = append(replicas, r)
		}
		alertmanager, err := NewAlertmanager(ctx, "alertmanager", AlertmanagerArgs{Config: cfg, Bundle: bundle, Network: network.Name,
			Secrets: AlertSecrets{WebhookURL: secret(stacks.SecretAlertWebhookURL), SlackWebhookURL: secret(stacks.SecretAlertSlackWebhookURL),
				SMTPPassword: secret(stacks.SecretAlertSMTPPassword), PagerDutyKey: secret(stacks.SecretAlertPagerDutyKey)}})
		if err != nil {
			return err
		}
		prom, err := NewPrometheus(ctx, "prometheus", PrometheusArgs{Config: cfg, Bundle: bundle, Network: network.Name},
			pulumi.DependsOn([]pulumi.Resource{alertmanager}))
		if err != nil {
			return err
		}
		endpoint := cfg.EndpointURL()
		backends := append(replicas, prom)
		if cfg.Grafana.Image != "" { // no image (e.g. no registry and no Debian package): no Grafana
			grafana, err := NewGrafana(ctx, "grafana", GrafanaArgs{Config: cfg, Bundle: bundle, Network: network.Name,
				AdminPassword: secret(stacks.SecretGrafanaPassword), RootURL: endpoint + "/grafana/"}, pulumi.DependsOn([]pulumi.Resource{prom}))
			if err != nil {
				return err
			}
			backends = append(backends, grafana)
			ctx.Export("grafanaUrl", pulumi.String(endpoint+"/grafana/"))
		}
		nginx, err := NewNginx(ctx, "nginx", NginxArgs{Config: cfg, Bundle: bundle, Network: network.Name, TLSCert: cert, TLSKey: key,
			PrometheusPassword: secret(stacks.SecretPrometheusPassword), Replicas: backends})
		if err != nil {
			return err
		}
		if _, err := NewNginxExporter(ctx, "nginx-exporter", NginxExporterArgs{Config: cfg, Network: network.Name, Nginx: nginx}); err != nil {
			return err
		}

		ctx.Export("endpointUrl", pulumi.String(endpoint))
		promURL := endpoint + stacks.PrometheusPrefix + "/"
		if cfg.Prometheus.HostPort != 0 {
			promURL = fmt.Sprintf("http://localhost:%d%s/", cfg.Prometheus.HostPort, stacks.PrometheusPrefix)
		}
		ctx.Export("prometheusUrl", pulumi.String(promURL))
		ctx.Export("replicaNames", svc.ReplicaNames)
		ctx.Export("replicaSlots", pulumi.ToStringArray(cfg.ReplicaSlots()))
		ctx.Export("imageName", svc.ImageName)
		ctx.Export("imageDigest", svc.ImageDigest)
		return nil
	}
}

// tlsMaterial reads the certificate and key to upload into nginx (the key as a secret).
func tlsMaterial(cfg stacks.Config, mode stacks.Strictness) (pulumi.StringInput, pulumi.StringInput, error) {
	if !cfg.Nginx.TLS {
		return pulumi.String(""), pulumi.String(""), nil
	}
	cert, err := os.ReadFile(cfg.Nginx.TLSCertFile)
	if err != nil && mode == stacks.Deploy {
		return nil, nil, fmt.Errorf("isl:tlsCertFile: %w", err)
	}
	key, err := os.ReadFile(cfg.Nginx.TLSKeyFile)
	if err != nil && mode == stacks.Deploy {
		return nil, nil, fmt.Errorf("isl:tlsKeyFile: %w", err)
	}
	return pulumi.String(string(cert)), pulumi.ToSecret(pulumi.String(string(key))).(pulumi.StringOutput), nil
}

func joinRel(base, p string) string { return filepath.Join(base, p) }
