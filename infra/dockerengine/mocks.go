// Package dockerengine runs the ISL Pulumi program's declared resources on a real Docker engine:
// Mocks implements pulumi.MockResourceMonitor, and its NewResource creates each docker_* resource on
// the engine through the Engine API from exactly the inputs the provider would receive, one mapping
// per resource type, written from the provider's documented semantics (see the README, "The declared
// containers on a real engine", for what this does not reproduce). Every object it creates carries
// the label RunLabel=<run id>, so Cleanup removes exactly what one run created.
package dockerengine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RunLabel marks every object one Mocks created (value: the run id).
const RunLabel = "isl.test.run"

// Resource type tokens of the provider (pulumi-docker v4).
const (
	TypeContainer   = "docker:index/container:Container"
	TypeImage       = "docker:index/image:Image"
	TypeRemoteImage = "docker:index/remoteImage:RemoteImage"
	TypeNetwork     = "docker:index/network:Network"
	TypeVolume      = "docker:index/volume:Volume"
)

// Mocks creates the declared resources on the engine.
type Mocks struct {
	Cli client.APIClient
	Run string    // run id, the RunLabel value
	Log io.Writer // build output and progress; nil = discard
	Ctx context.Context

	mu         sync.Mutex
	containers map[string]Declared // by resource name
}

// Declared is a container as created: its resource name, the provider inputs and the engine object.
type Declared struct {
	Resource string
	Inputs   resource.PropertyMap
	ID, Name string
}

// NewMocks returns mocks for one run on cli.
func NewMocks(ctx context.Context, cli client.APIClient, log io.Writer) *Mocks {
	if log == nil {
		log = io.Discard
	}
	return &Mocks{Cli: cli, Run: "r" + randHex(4), Log: log, Ctx: ctx, containers: map[string]Declared{}}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewResource maps one declared resource onto the engine.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	in := args.Inputs
	outs := in.Copy()
	switch args.TypeToken {
	case TypeNetwork:
		id, name, err := m.network(args.Name, in)
		if err != nil {
			return "", nil, err
		}
		outs["name"] = resource.NewStringProperty(name)
		return id, outs, nil
	case TypeVolume:
		name, err := m.volume(args.Name, in)
		if err != nil {
			return "", nil, err
		}
		outs["name"] = resource.NewStringProperty(name)
		return name, outs, nil
	case TypeRemoteImage:
		id, digest, err := m.remoteImage(in)
		if err != nil {
			return "", nil, err
		}
		outs["imageId"], outs["repoDigest"] = resource.NewStringProperty(id), resource.NewStringProperty(digest)
		return id, outs, nil
	case TypeImage:
		id, err := m.image(in)
		if err != nil {
			return "", nil, err
		}
		// Observed with SkipPush: the provider reports the local image id as repoDigest.
		outs["repoDigest"] = resource.NewStringProperty(id)
		return id, outs, nil
	case TypeContainer:
		d, err := m.CreateContainer(args.Name, in)
		if err != nil {
			return "", nil, err
		}
		outs["name"] = resource.NewStringProperty(d.Name)
		return d.ID, outs, nil
	}
	if strings.HasPrefix(args.TypeToken, "docker:") {
		return "", nil, fmt.Errorf("dockerengine: no mapping for %s (%s)", args.TypeToken, args.Name)
	}
	return args.Name + "-id", outs, nil // components
}

// Call answers provider functions; the program calls none.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("dockerengine: unexpected call %s", args.Token)
}

// Container returns the container created for a resource name.
func (m *Mocks) Container(resourceName string) (Declared, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.containers[resourceName]
	return d, ok
}

// Containers lists every container created so far.
func (m *Mocks) Containers() []Declared {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Declared, 0, len(m.containers))
	for _, d := range m.containers {
		out = append(out, d)
	}
	return out
}

func (m *Mocks) labels(in resource.PropertyMap) map[string]string {
	l := map[string]string{RunLabel: m.Run}
	for _, e := range arr(in, "labels") {
		o := obj(e)
		l[str(o, "label")] = str(o, "value")
	}
	return l
}

// network: docker_network {name, driver, labels}; unnamed → <resource name>-<7 hex> like the provider.
func (m *Mocks) network(resName string, in resource.PropertyMap) (string, string, error) {
	name := str(in, "name")
	if name == "" {
		name = resName + "-" + randHex(4)[:7]
	}
	resp, err := m.Cli.NetworkCreate(m.Ctx, name, network.CreateOptions{Driver: str(in, "driver"), Labels: m.labels(in)})
	if err != nil {
		return "", "", fmt.Errorf("dockerengine: network %s: %w", name, err)
	}
	return resp.ID, name, nil
}

// volume: docker_volume {name, driver, labels}.
func (m *Mocks) volume(resName string, in resource.PropertyMap) (string, error) {
	name := str(in, "name")
	if name == "" {
		name = resName + "-" + randHex(4)[:7]
	}
	v, err := m.Cli.VolumeCreate(m.Ctx, volume.CreateOptions{Name: name, Driver: str(in, "driver"), Labels: m.labels(in)})
	if err != nil {
		return "", fmt.Errorf("dockerengine: volume %s: %w", name, err)
	}
	return v.Name, nil
}

// remoteImage: docker_remote_image {name}. An image present locally is used without pulling (as the
// provider does); with no registry, a missing one is an error naming the fix.
func (m *Mocks) remoteImage(in resource.PropertyMap) (string, string, error) {
	name := str(in, "name")
	ii, err := m.Cli.ImageInspect(m.Ctx, name)
	if err != nil {
		return "", "", fmt.Errorf("dockerengine: image %s is not on the engine and no registry is reachable (make images-offline): %w", name, err)
	}
	digest := ""
	if len(ii.RepoDigests) > 0 {
		digest = ii.RepoDigests[0]
	}
	return ii.ID, digest, nil
}

// image: docker_image {imageName, build{context, dockerfile, args, target, platform,
// builderVersion}}. The provider resolves context and dockerfile against its working directory and
// sends the dockerfile path relative to the context.
func (m *Mocks) image(in resource.PropertyMap) (string, error) {
	b := obj(in["build"])
	ctxDir, err := filepath.Abs(str(b, "context"))
	if err != nil {
		return "", err
	}
	df := str(b, "dockerfile")
	if df == "" {
		df = filepath.Join(ctxDir, "Dockerfile")
	}
	if !filepath.IsAbs(df) {
		df, _ = filepath.Abs(df)
	}
	rel, err := filepath.Rel(ctxDir, df)
	if err != nil {
		return "", err
	}
	opts := build.ImageBuildOptions{Tags: []string{str(in, "imageName")}, Dockerfile: filepath.ToSlash(rel),
		Target: str(b, "target"), Platform: str(b, "platform"), BuildArgs: map[string]*string{}, Version: build.BuilderV1}
	if str(b, "builderVersion") == "BuilderBuildKit" {
		opts.Version = build.BuilderBuildKit
	}
	for k, v := range obj(b["args"]) {
		s := plain(v).StringValue()
		opts.BuildArgs[string(k)] = &s
	}
	start := time.Now()
	id, err := Build(m.Ctx, m.Cli, ctxDir, opts, m.Log)
	if err != nil {
		return "", fmt.Errorf("dockerengine: %w", err)
	}
	fmt.Fprintf(m.Log, "dockerengine: built %s (%s) in %s\n", opts.Tags[0], id, time.Since(start).Round(time.Second))
	return id, nil
}

func seconds(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// containerSpec maps docker_container inputs onto the Engine API's create request.
func (m *Mocks) containerSpec(in resource.PropertyMap) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	cfg := &container.Config{Image: str(in, "image"), Env: strs(arr(in, "envs")), Labels: m.labels(in),
		ExposedPorts: nat.PortSet{}, StopSignal: str(in, "stopSignal")}
	if c := strs(arr(in, "command")); len(c) > 0 {
		cfg.Cmd = c
	}
	if e := strs(arr(in, "entrypoints")); len(e) > 0 {
		cfg.Entrypoint = e
	}
	if in.HasValue("stopTimeout") {
		t := num(in, "stopTimeout")
		cfg.StopTimeout = &t
	}
	if hc := obj(in["healthcheck"]); hc != nil {
		h := &container.HealthConfig{Test: strs(arr(hc, "tests")), Retries: num(hc, "retries")}
		var err error
		for _, f := range []struct {
			dst *time.Duration
			key string
		}{{&h.Interval, "interval"}, {&h.Timeout, "timeout"}, {&h.StartPeriod, "startPeriod"}} {
			if *f.dst, err = seconds(str(hc, f.key)); err != nil {
				return nil, nil, nil, fmt.Errorf("healthcheck %s: %w", f.key, err)
			}
		}
		cfg.Healthcheck = h
	}
	host := &container.HostConfig{PortBindings: nat.PortMap{}, RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(str(in, "restart"))}}
	// Memory and memorySwap are in MB in the provider's schema.
	host.Memory = int64(num(in, "memory")) << 20
	if in.HasValue("memorySwap") {
		host.MemorySwap = int64(num(in, "memorySwap")) << 20
	}
	if c := str(in, "cpus"); c != "" {
		f, err := strconv.ParseFloat(c, 64)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("cpus %q: %w", c, err)
		}
		host.NanoCPUs = int64(f * 1e9)
	}
	for _, p := range arr(in, "ports") {
		o := obj(p)
		proto := str(o, "protocol")
		if proto == "" {
			proto = "tcp"
		}
		port := nat.Port(fmt.Sprintf("%d/%s", num(o, "internal"), proto))
		cfg.ExposedPorts[port] = struct{}{}
		ip := str(o, "ip")
		if ip == "" {
			ip = "0.0.0.0" // the provider's default
		}
		ext := ""
		if o.HasValue("external") {
			ext = strconv.Itoa(num(o, "external"))
		}
		host.PortBindings[port] = append(host.PortBindings[port], nat.PortBinding{HostIP: ip, HostPort: ext})
	}
	for _, v := range arr(in, "volumes") {
		o := obj(v)
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeVolume, Source: str(o, "volumeName"), Target: str(o, "containerPath"),
			ReadOnly: str(o, "readOnly") == "true"})
	}
	if d := str(in, "logDriver"); d != "" {
		host.LogConfig = container.LogConfig{Type: d, Config: map[string]string{}}
		for k, v := range obj(in["logOpts"]) {
			host.LogConfig.Config[string(k)] = plain(v).StringValue()
		}
	}
	nets := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}
	for _, n := range arr(in, "networksAdvanced") {
		o := obj(n)
		nets.EndpointsConfig[str(o, "name")] = &network.EndpointSettings{Aliases: strs(arr(o, "aliases"))}
	}
	if len(nets.EndpointsConfig) > 1 {
		return nil, nil, nil, errors.New("more than one network: API 1.41 attaches one at create (not needed by ISL)")
	}
	return cfg, host, nets, nil
}

// CreateContainer creates, uploads into, starts and (with wait) awaits a docker_container: create,
// then every upload copied in before the first start, then start, then poll the healthcheck until
// healthy within waitTimeout seconds (the provider's `wait`), as the provider does. An unnamed
// container gets <resource name>-<7 hex>.
func (m *Mocks) CreateContainer(resName string, in resource.PropertyMap) (Declared, error) {
	cfg, host, nets, err := m.containerSpec(in)
	if err != nil {
		return Declared{}, fmt.Errorf("dockerengine: container %s: %w", resName, err)
	}
	name := str(in, "name")
	if name == "" {
		name = resName + "-" + randHex(4)[:7]
	}
	resp, err := m.Cli.ContainerCreate(m.Ctx, cfg, host, nets, nil, name)
	if err != nil {
		return Declared{}, fmt.Errorf("dockerengine: create container %s: %w", name, err)
	}
	d := Declared{Resource: resName, Inputs: in, ID: resp.ID, Name: name}
	m.mu.Lock()
	m.containers[resName] = d
	m.mu.Unlock()
	if err := m.upload(resp.ID, arr(in, "uploads")); err != nil {
		return d, fmt.Errorf("dockerengine: container %s: %w", name, err)
	}
	if err := m.Cli.ContainerStart(m.Ctx, resp.ID, container.StartOptions{}); err != nil {
		return d, fmt.Errorf("dockerengine: start container %s: %w", name, err)
	}
	if str(in, "wait") == "true" {
		timeout := 60 * time.Second
		if in.HasValue("waitTimeout") {
			timeout = time.Duration(num(in, "waitTimeout")) * time.Second
		}
		start := time.Now()
		if err := WaitHealthy(m.Ctx, m.Cli, resp.ID, timeout); err != nil {
			return d, fmt.Errorf("dockerengine: container %s: %w", name, err)
		}
		fmt.Fprintf(m.Log, "dockerengine: %s healthy after %s\n", name, time.Since(start).Round(100*time.Millisecond))
	}
	return d, nil
}

// upload copies docker_container uploads {file, content, executable} into the created container.
func (m *Mocks) upload(id string, uploads []resource.PropertyValue) error {
	if len(uploads) == 0 {
		return nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, u := range uploads {
		o := obj(u)
		content := []byte(str(o, "content"))
		mode := int64(0o644)
		if str(o, "executable") == "true" {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(str(o, "file"), "/"), Mode: mode, Size: int64(len(content)),
			ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		tw.Write(content)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := m.Cli.CopyToContainer(m.Ctx, id, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}

// WaitHealthy polls a container's healthcheck until it reports healthy.
func WaitHealthy(ctx context.Context, cli client.APIClient, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ci, err := cli.ContainerInspect(ctx, id)
		if err != nil {
			return err
		}
		if ci.State == nil || ci.State.Health == nil {
			return errors.New("wait without a healthcheck")
		}
		if ci.State.Health.Status == "healthy" {
			return nil
		}
		if time.Now().After(deadline) || (!ci.State.Running && !ci.State.Restarting) {
			last := ""
			if n := len(ci.State.Health.Log); n > 0 {
				last = strings.TrimSpace(ci.State.Health.Log[n-1].Output)
			}
			return fmt.Errorf("container failed to be in healthy state (status %s, running %v, last check: %.300s)", ci.State.Health.Status, ci.State.Running, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Replace re-creates a container resource from its inputs the way a create-before-delete
// replacement does (DeleteBeforeReplace(false)): the successor is created under a new generated name
// and must be healthy before the predecessor is stopped (its stop signal and timeout: graceful
// drain) and removed. It returns the successor.
func (m *Mocks) Replace(resName string) (Declared, error) {
	old, ok := m.Container(resName)
	if !ok {
		return Declared{}, fmt.Errorf("dockerengine: no container %s", resName)
	}
	if str(old.Inputs, "name") != "" {
		return Declared{}, fmt.Errorf("dockerengine: %s has a fixed name: it cannot be replaced create-first", resName)
	}
	d, err := m.CreateContainer(resName, old.Inputs)
	if err != nil {
		return d, err
	}
	if err := m.Cli.ContainerStop(m.Ctx, old.ID, container.StopOptions{}); err != nil {
		return d, fmt.Errorf("dockerengine: stop %s: %w", old.Name, err)
	}
	return d, m.Cli.ContainerRemove(m.Ctx, old.ID, container.RemoveOptions{Force: true})
}

// Cleanup removes every container, network and volume of the run (force: what the destroy of a
// stack removes), and returns what it could not remove.
func (m *Mocks) Cleanup(ctx context.Context) error {
	return Cleanup(ctx, m.Cli, m.Run)
}

// Cleanup removes every object labelled RunLabel=run.
func Cleanup(ctx context.Context, cli client.APIClient, run string) error {
	f := filters.NewArgs(filters.Arg("label", RunLabel+"="+run))
	var errs []error
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	errs = append(errs, err)
	for _, c := range cs {
		errs = append(errs, cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}))
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	errs = append(errs, err)
	for _, n := range ns {
		errs = append(errs, cli.NetworkRemove(ctx, n.ID))
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	errs = append(errs, err)
	for _, v := range vs.Volumes {
		errs = append(errs, cli.VolumeRemove(ctx, v.Name, true))
	}
	return errors.Join(errs...)
}

// Leftovers counts the run's objects still on the engine.
func Leftovers(ctx context.Context, cli client.APIClient, run string) (int, error) {
	f := filters.NewArgs(filters.Arg("label", RunLabel+"="+run))
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return 0, err
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return 0, err
	}
	vs, err := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return 0, err
	}
	return len(cs) + len(ns) + len(vs.Volumes), nil
}

// Property access over provider inputs (secrets unwrapped: the engine gets the real values).

func plain(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func str(m resource.PropertyMap, k string) string {
	v, ok := m[resource.PropertyKey(k)]
	if !ok {
		return ""
	}
	v = plain(v)
	switch {
	case v.IsString():
		return v.StringValue()
	case v.IsBool():
		return strconv.FormatBool(v.BoolValue())
	case v.IsNumber():
		return strconv.FormatFloat(v.NumberValue(), 'f', -1, 64)
	}
	return ""
}

func num(m resource.PropertyMap, k string) int {
	v := plain(m[resource.PropertyKey(k)])
	if v.IsNumber() {
		return int(v.NumberValue())
	}
	return 0
}

func arr(m resource.PropertyMap, k string) []resource.PropertyValue {
	v := plain(m[resource.PropertyKey(k)])
	if v.IsArray() {
		return v.ArrayValue()
	}
	return nil
}

func obj(v resource.PropertyValue) resource.PropertyMap {
	v = plain(v)
	if v.IsObject() {
		return v.ObjectValue()
	}
	return nil
}

func strs(vs []resource.PropertyValue) []string {
	var out []string
	for _, v := range vs {
		out = append(out, plain(v).StringValue())
	}
	return out
}
