// Package offlineimages builds, on a Docker engine with no registry, every image the stacks name:
// a Debian rootfs from debootstrap imported with `docker import`, stand-ins for the third-party
// images from Debian's packages, the Go build base and the distroless-like runtime base, and the
// ISL service image from service/Dockerfile on those bases.
//
// Each image is one row of Images. A row is rebuilt only when its key (a hash of its definition,
// its base image's id and any extra inputs) differs from the isl.offline.key label of the image the
// tag points to, so a second run costs a few inspects.
package offlineimages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/olumi/isl/infra/dockerengine"
)

// Tags of the images the stacks do not name: the bases selected by isl:buildImage/isl:runtimeImage.
const (
	BaseTag    = "isl-offline/debian:bookworm"
	BuildTag   = "isl-offline/golang:1.26-bookworm"
	RuntimeTag = "isl-offline/static-debian12:nonroot"
	// ServiceTag is the service image make images-offline builds (the Pulumi program builds its own,
	// content-tagged, from the same Dockerfile and bases).
	ServiceTag = "isl:offline"
	keyLabel   = "isl.offline.key"
	// StandInLabel marks every image built here: none is the upstream image its tag names.
	StandInLabel = "isl.offline.standin"
)

// Image is one row: an image built FROM the Debian base (or another row) with Debian packages.
type Image struct {
	Tag      string   // as the stack files (or the program's defaults) name it
	From     string   // base row's tag; "" = BaseTag
	Packages []string // Debian packages (apt-get install --no-install-recommends)
	// Suite, when set, installs Packages (and what they need) from that Debian suite instead of
	// bookworm: for a program whose bookworm version is too old for the rendered configuration.
	Suite      string
	Run        []string // shell steps after the install
	Env        []string // KEY=VALUE
	User       string
	Workdir    string
	Entrypoint []string
	Cmd        []string
	// Key returns the cache key of the row's inputs outside its definition (root: the repository),
	// and Context puts those inputs into the build context dir; both nil for package-only rows.
	Key     func(root string) (string, error)
	Context func(dir, root string) error
	Copy    []string // "src dst" pairs for COPY, from the Context dir
}

// Images is every stand-in, in build order. The Debian versions differ from the upstream tags
// (bookworm: Redis 7.0, Prometheus 2.42, Alertmanager 0.25, nginx exporter 0.11, Redis
// exporter 1.45); the rendered configuration is checked against these versions by the tests that
// run the host's binaries. There is no Debian package of Grafana, so no Grafana image: stacks
// deployed from these images set isl:grafanaImage to "" and run without Grafana.
var Images = []Image{
	{Tag: BuildTag, Key: goToolchainKey, Context: goToolchain, Copy: []string{"go /usr/local/go", "gomodcache /go/pkg/mod"},
		// GOPROXY=off: no network in the build; the module cache holds every module the service needs.
		Env:     []string{"PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOPATH=/go", "GOPROXY=off", "GOTOOLCHAIN=local"},
		Workdir: "/go"},
	{Tag: RuntimeTag, Run: []string{
		// distroless/static's nonroot user (uid/gid 65532); the Dockerfile runs as nonroot:nonroot.
		"echo 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >> /etc/passwd",
		"echo 'nonroot:x:65532:' >> /etc/group", "mkdir -p /home/nonroot && chown 65532:65532 /home/nonroot"}},
	// As the official image's docker-entrypoint.sh: it starts as root, hands /data (where files
	// are uploaded root-owned, e.g. a Sentinel's config, which Sentinel must rewrite) to redis and
	// drops to redis. Running as redis from the start made every Sentinel exit ("config file is
	// not writable").
	{Tag: "redis:7.2-alpine", Packages: []string{"redis-server", "redis-sentinel", "redis-tools"},
		Run: []string{"mkdir -p /data /usr/local/etc/redis && chown redis:redis /data",
			`printf '%s\n' '#!/bin/sh' 'set -e' 'if [ "$(id -u)" = 0 ]; then' ` +
				`'  find /data \! -user redis -exec chown redis:redis {} +' ` +
				`'  exec setpriv --reuid=redis --regid=redis --init-groups "$@"' 'fi' 'exec "$@"' ` +
				`> /usr/local/bin/docker-entrypoint.sh && chmod 755 /usr/local/bin/docker-entrypoint.sh`},
		Workdir: "/data", Entrypoint: []string{"/usr/local/bin/docker-entrypoint.sh"}, Cmd: []string{"redis-server"}},
	// nginx from forky (1.30): the rendered nginx.conf re-resolves the replica aliases (`server …
	// resolve`, nginx >= 1.27.3), which bookworm's 1.22 cannot parse.
	{Tag: "nginx:1.30-alpine", Suite: "forky", Packages: []string{"nginx", "wget"},
		// The official image's user and cache directory, which the rendered nginx.conf names.
		Run: []string{"useradd --system --no-create-home --shell /usr/sbin/nologin nginx",
			"mkdir -p /var/cache/nginx && rm -f /etc/nginx/sites-enabled/default",
			"ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log"},
		Cmd: []string{"nginx", "-g", "daemon off;"}},
	{Tag: "prom/prometheus:v2.53.2", Packages: []string{"prometheus", "wget"},
		Run:  []string{"mkdir -p /prometheus /etc/prometheus/rules && chown nobody:nogroup /prometheus"},
		User: "nobody", Workdir: "/prometheus", Entrypoint: []string{"/usr/bin/prometheus"},
		Cmd: []string{"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"}},
	{Tag: "prom/alertmanager:v0.27.0", Packages: []string{"prometheus-alertmanager", "wget"},
		Run:  []string{"mkdir -p /alertmanager /etc/alertmanager && chown nobody:nogroup /alertmanager"},
		User: "nobody", Workdir: "/alertmanager", Entrypoint: []string{"/usr/bin/prometheus-alertmanager"},
		Cmd: []string{"--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"}},
	{Tag: "nginx/nginx-prometheus-exporter:1.3.0", Packages: []string{"prometheus-nginx-exporter", "wget"},
		User: "nobody", Entrypoint: []string{"/usr/bin/prometheus-nginx-exporter"}},
	{Tag: "oliver006/redis_exporter:v1.62.0", Packages: []string{"prometheus-redis-exporter", "wget"},
		User: "nobody", Entrypoint: []string{"/usr/bin/prometheus-redis-exporter"}},
}

// Options say where to build.
type Options struct {
	Root      string    // repository root (service image build context)
	CacheDir  string    // debootstrap target and build contexts
	Mirror    string    // Debian mirror for debootstrap; empty = deb.debian.org
	Log       io.Writer // progress
	Only      []string  // tags to build (with what they need); empty = all
	NoService bool      // skip the service image
}

// Ensure builds every row whose image is missing or stale and reports what it did.
func Ensure(ctx context.Context, cli client.APIClient, o Options) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("offline images: cache dir: %w", err)
		}
		o.CacheDir = filepath.Join(d, "isl-offline")
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return fmt.Errorf("offline images: %w", err)
	}
	baseID, err := ensureBase(ctx, cli, o)
	if err != nil {
		return err
	}
	ids := map[string]string{BaseTag: baseID}
	for _, img := range Images {
		if !wanted(o.Only, img.Tag) {
			continue
		}
		id, err := ensureRow(ctx, cli, o, img, ids)
		if err != nil {
			return err
		}
		ids[img.Tag] = id
	}
	if o.NoService || !wanted(o.Only, ServiceTag) {
		return nil
	}
	return ensureService(ctx, cli, o)
}

func wanted(only []string, tag string) bool {
	if len(only) == 0 {
		return true
	}
	for _, t := range only {
		if t == tag {
			return true
		}
	}
	return false
}

func key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// current returns the image id behind tag if its key label equals want.
func current(ctx context.Context, cli client.APIClient, tag, want string) (string, bool, error) {
	ii, err := cli.ImageInspect(ctx, tag)
	if errdefs.IsNotFound(err) {
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("inspect %s: %w", tag, err)
	}
	if ii.Config != nil && ii.Config.Labels[keyLabel] == want {
		return ii.ID, true, nil
	}
	return "", false, nil
}

// ensureBase debootstraps a minimal bookworm and imports it as BaseTag.
func ensureBase(ctx context.Context, cli client.APIClient, o Options) (string, error) {
	mirror := o.Mirror
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	want := key("debootstrap --variant=minbase bookworm", mirror)
	if id, ok, err := current(ctx, cli, BaseTag, want); err != nil || ok {
		fmt.Fprintf(o.Log, "offline images: %s up to date\n", BaseTag)
		return id, err
	}
	start := time.Now()
	dir := filepath.Join(o.CacheDir, "rootfs-bookworm")
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("offline images: %w", err)
	}
	fmt.Fprintf(o.Log, "offline images: debootstrap --variant=minbase bookworm %s\n", dir)
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "bookworm", dir, mirror)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("offline images: debootstrap: %w\n%s", err, tail(out))
	}
	// The image gets no apt lists (saves 20 MB; every row runs apt-get update first).
	os.RemoveAll(filepath.Join(dir, "var/lib/apt/lists"))
	os.MkdirAll(filepath.Join(dir, "var/lib/apt/lists/partial"), 0o755)
	tarCmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-c", ".")
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := tarCmd.Start(); err != nil {
		return "", fmt.Errorf("offline images: tar rootfs: %w", err)
	}
	id, err := dockerengine.Import(ctx, cli, pipe, BaseTag, []string{
		`CMD ["/bin/bash"]`, "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LABEL " + keyLabel + "=" + want, "LABEL " + StandInLabel + "=true"})
	if werr := tarCmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("offline images: tar rootfs: %w", werr)
	}
	if err != nil {
		return "", err
	}
	os.RemoveAll(dir)
	fmt.Fprintf(o.Log, "offline images: %s built in %s\n", BaseTag, time.Since(start).Round(time.Second))
	return id, nil
}

// Dockerfile renders a row.
func (img Image) Dockerfile(from string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\n", from)
	if len(img.Packages) > 0 {
		target := ""
		if img.Suite != "" {
			// The suite from the base's own mirror. check-valid-until=no: mirrors that serve a
			// fixed snapshot (as here) carry testing's Release file past its week of validity.
			fmt.Fprintf(&b, "RUN sed 's/^deb /deb [check-valid-until=no] /; s/ bookworm / %s /' /etc/apt/sources.list > /etc/apt/sources.list.d/%s.list\n", img.Suite, img.Suite)
			target = "-t " + img.Suite + " "
		}
		fmt.Fprintf(&b, "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends %s%s >/dev/null && rm -rf /var/lib/apt/lists/*\n",
			target, strings.Join(img.Packages, " "))
	}
	for _, c := range img.Copy {
		fmt.Fprintf(&b, "COPY %s\n", c)
	}
	for _, r := range img.Run {
		fmt.Fprintf(&b, "RUN %s\n", r)
	}
	for _, e := range img.Env {
		fmt.Fprintf(&b, "ENV %s\n", e)
	}
	if img.Workdir != "" {
		fmt.Fprintf(&b, "WORKDIR %s\n", img.Workdir)
	}
	if img.User != "" {
		fmt.Fprintf(&b, "USER %s\n", img.User)
	}
	if img.Entrypoint != nil {
		fmt.Fprintf(&b, "ENTRYPOINT %s\n", jsonList(img.Entrypoint))
	}
	if img.Cmd != nil {
		fmt.Fprintf(&b, "CMD %s\n", jsonList(img.Cmd))
	}
	return b.String()
}

func jsonList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func ensureRow(ctx context.Context, cli client.APIClient, o Options, img Image, ids map[string]string) (string, error) {
	from := img.From
	if from == "" {
		from = BaseTag
	}
	extra := ""
	if img.Key != nil {
		var err error
		if extra, err = img.Key(o.Root); err != nil {
			return "", fmt.Errorf("offline images: %s: %w", img.Tag, err)
		}
	}
	df := img.Dockerfile(from)
	want := key(df, ids[from], extra)
	if id, ok, err := current(ctx, cli, img.Tag, want); err != nil || ok {
		fmt.Fprintf(o.Log, "offline images: %s up to date\n", img.Tag)
		return id, err
	}
	start := time.Now()
	dir := filepath.Join(o.CacheDir, "ctx-"+strings.NewReplacer("/", "_", ":", "_").Replace(img.Tag))
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if img.Context != nil {
		if err := img.Context(dir, o.Root); err != nil {
			return "", fmt.Errorf("offline images: %s context: %w", img.Tag, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return "", err
	}
	id, err := dockerengine.Build(ctx, cli, dir, build.ImageBuildOptions{
		Tags: []string{img.Tag}, Dockerfile: "Dockerfile", Version: build.BuilderBuildKit,
		Labels: map[string]string{keyLabel: want, StandInLabel: "true"},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("offline images: %w", err)
	}
	fmt.Fprintf(o.Log, "offline images: %s built in %s\n", img.Tag, time.Since(start).Round(time.Second))
	return id, nil
}

// goToolchainKey is the host's Go version and the service's module sums: what goToolchain copies.
func goToolchainKey(root string) (string, error) {
	ver, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	sums := ""
	for _, m := range []string{"engine", "service"} {
		b, err := os.ReadFile(filepath.Join(root, m, "go.sum"))
		if err != nil && !os.IsNotExist(err) {
			return "", err
		}
		sums += string(b)
	}
	return key(strings.TrimSpace(string(ver)), sums), nil
}

// goToolchain puts the host's Go (GOROOT) and a module cache holding exactly what the service
// module needs into the build context: the golang image cannot be pulled, and the build has no
// network, so the toolchain comes from the host and the modules from its module cache.
func goToolchain(dir, root string) error {
	goroot := runtime.GOROOT()
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		goroot = strings.TrimSpace(string(out))
	}
	hostCache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return fmt.Errorf("go env: %w", err)
	}
	if out, err := exec.Command("cp", "-a", goroot, filepath.Join(dir, "go")).CombinedOutput(); err != nil {
		return fmt.Errorf("copy GOROOT: %w: %s", err, out)
	}
	// The host's cache first gets every module the service needs (a fresh machine has only what
	// building this tool needed; a warm one downloads nothing), then a fresh module cache is filled
	// from it, offline: exactly the service's module graph.
	hostDL := exec.Command("go", "mod", "download")
	hostDL.Dir = filepath.Join(root, "service")
	hostDL.Env = append(os.Environ(), "GOWORK=off")
	if out, err := hostDL.CombinedOutput(); err != nil {
		return fmt.Errorf("download the service's modules: %w: %s", err, out)
	}
	cache := filepath.Join(dir, "gomodcache")
	dl := exec.Command("go", "mod", "download")
	dl.Dir = filepath.Join(root, "service")
	dl.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-modcacherw", "GOMODCACHE="+cache,
		"GOPROXY=file://"+filepath.Join(strings.TrimSpace(string(hostCache)), "cache", "download"), "GOSUMDB=off")
	if out, err := dl.CombinedOutput(); err != nil {
		return fmt.Errorf("fill the module cache: %w: %s", err, out)
	}
	return nil
}

// ensureService builds ServiceTag from service/Dockerfile with the local bases.
func ensureService(ctx context.Context, cli client.APIClient, o Options) error {
	start := time.Now()
	_, err := dockerengine.Build(ctx, cli, o.Root, build.ImageBuildOptions{
		Tags: []string{ServiceTag}, Dockerfile: "service/Dockerfile", Version: build.BuilderBuildKit, Platform: "linux/amd64",
		BuildArgs: BuildArgs(),
	}, nil)
	if err != nil {
		return fmt.Errorf("offline images: %w", err)
	}
	fmt.Fprintf(o.Log, "offline images: %s built in %s (layer cache makes an unchanged rebuild a no-op)\n", ServiceTag, time.Since(start).Round(time.Second))
	return nil
}

// BuildArgs are the service Dockerfile's base image arguments pointing at the local bases.
func BuildArgs() map[string]*string {
	b, r := BuildTag, RuntimeTag
	return map[string]*string{"BUILD_IMAGE": &b, "RUNTIME_IMAGE": &r}
}

func tail(b []byte) string {
	s := string(b)
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}
