package dockerengine_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/olumi/isl/benchmarks/integration"
	"github.com/olumi/isl/benchmarks/load"
	"github.com/olumi/isl/benchmarks/payloads"
	"github.com/olumi/isl/infra/deploy"
	"github.com/olumi/isl/infra/dockerengine"
	"github.com/olumi/isl/infra/offlineimages"
	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// requireEngine returns a client for the local engine. No engine: a failure under CI=true, else a
// skip with the reason.
func requireEngine(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cli, err := dockerengine.Connect(ctx)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no Docker engine answers: %v", err)
		}
		t.Skipf("no Docker engine answers (%v): the declared containers are not run", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := stacks.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestStacksOnEngine runs the Pulumi program of the dev and the pilot stack with its declared
// resources created on the local Docker engine, checks the running deployment, and removes it.
func TestStacksOnEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the declared containers (about 3 minutes)")
	}
	cli := requireEngine(t)
	root := repoRoot(t)
	ctx := context.Background()
	// The stand-in images (cached by tag: seconds when they exist, ~4 min on an empty engine).
	start := time.Now()
	if err := offlineimages.Ensure(ctx, cli, offlineimages.Options{Root: root, NoService: true, Log: testLog{t}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("offline images ready in %s", time.Since(start).Round(time.Second))
	for _, tier := range []stacks.Tier{stacks.Dev, stacks.Staging, stacks.Pilot} {
		t.Run(string(tier), func(t *testing.T) { runStack(t, cli, root, tier) })
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// deployment is one stack running on the engine.
type deployment struct {
	mocks    *dockerengine.Mocks
	cli      *client.Client
	stack    string
	cfg      stacks.Config
	endpoint string // through nginx
	httpURL  string // plain HTTP entry (pilot: redirects)
	apiKey   string
	redisPW  string
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func secret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func selfSigned(t *testing.T, host string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host, "localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kb, _ := x509.MarshalECPrivateKey(key)
	c, k := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	os.WriteFile(c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return c, k
}

// stackConfig is the committed stack file with what this engine needs: the local build bases, no
// Grafana (no image exists here), free host ports, generated secrets, a self-signed certificate, and
// a rate limit high enough that the load checks measure failover, not the limiter.
func stackConfig(t *testing.T, root string, tier stacks.Tier) (map[string]string, []string, string, string) {
	sf, err := stacks.ReadStackFile(root, string(tier))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	for k, v := range sf.Values {
		cfg[k] = v
	}
	delete(cfg, "docker:host") // the local engine
	cfg["isl:buildImage"], cfg["isl:runtimeImage"], cfg["isl:grafanaImage"] = offlineimages.BuildTag, offlineimages.RuntimeTag, ""
	cfg["isl:rateLimitPerMinute"] = "1000000"
	cfg["isl:httpPort"] = strconv.Itoa(freePort(t))
	if cfg["isl:tls"] == "true" {
		cfg["isl:httpsPort"] = strconv.Itoa(freePort(t))
		cfg["isl:tlsCertFile"], cfg["isl:tlsKeyFile"] = selfSigned(t, cfg["isl:publicHost"])
	}
	for _, k := range []string{"isl:redisHostPort", "isl:prometheusHostPort", "isl:replicaHostPortBase"} {
		if v := cfg[k]; v != "" && v != "0" {
			cfg[k] = strconv.Itoa(freePort(t)) // dev has one replica: one port
		}
	}
	apiKey, redisPW := "", ""
	var secretKeys []string
	if tier != stacks.Dev {
		apiKey, redisPW = "k-"+secret(16), secret(16)
		for k, v := range map[string]string{stacks.SecretRedisPassword: redisPW, stacks.SecretSecretKey: secret(32),
			stacks.SecretAPIKeys: apiKey, stacks.SecretPrometheusPassword: secret(16),
			// The pilot refuses to deploy without an alert receiver; nothing listens there (the
			// routing itself is proven against a real Alertmanager in stacks and benchmarks/e2e).
			stacks.SecretAlertWebhookURL: "http://127.0.0.1:9/isl-alerts"} {
			cfg[k] = v
			secretKeys = append(secretKeys, k)
		}
	}
	return cfg, secretKeys, apiKey, redisPW
}

// up runs the Pulumi program with the engine mocks (PULUMI_CONFIG is process-wide: one at a time).
func up(t *testing.T, cli *client.Client, root string, tier stacks.Tier) *deployment {
	t.Helper()
	config, secretKeys, apiKey, redisPW := stackConfig(t, root, tier)
	m := dockerengine.NewMocks(context.Background(), cli, testLog{t})
	t.Cleanup(func() {
		ctx := context.Background()
		if err := m.Cleanup(ctx); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if n, err := dockerengine.Leftovers(ctx, cli, m.Run); err != nil || n != 0 {
			t.Errorf("left behind on the engine: %d objects (%v)", n, err)
		}
	})
	stack := string(tier) + "-" + m.Run
	cj, _ := json.Marshal(config)
	sj, _ := json.Marshal(secretKeys)
	t.Setenv(pulumi.EnvConfig, string(cj))
	t.Setenv(pulumi.EnvConfigSecretKeys, string(sj))
	start := time.Now()
	if err := pulumi.RunErr(deploy.Program(deploy.Options{Strictness: stacks.Deploy, Root: root, FileStack: string(tier)}),
		pulumi.WithMocks("isl", stack, m)); err != nil {
		t.Fatalf("program on the engine: %v", err)
	}
	t.Logf("%s up in %s (%d containers)", stack, time.Since(start).Round(time.Second), len(m.Containers()))
	sk := map[string]bool{}
	for _, k := range secretKeys {
		sk[k] = true
	}
	cfg, err := stacks.Load(stack, stacks.MapSource{Values: config, SecretKeys: sk})
	if err != nil {
		t.Fatal(err)
	}
	d := &deployment{mocks: m, cli: cli, stack: stack, cfg: cfg, apiKey: apiKey, redisPW: redisPW,
		httpURL: "http://127.0.0.1:" + config["isl:httpPort"]}
	d.endpoint = d.httpURL
	if cfg.Nginx.TLS {
		d.endpoint = "https://127.0.0.1:" + config["isl:httpsPort"]
	}
	return d
}

func runStack(t *testing.T, cli *client.Client, root string, tier stacks.Tier) {
	d := up(t, cli, root, tier)
	c := integration.NewClient(d.endpoint, d.apiKey, true)
	if !t.Run("every container healthy", func(t *testing.T) { d.allHealthy(t) }) {
		t.FailNow()
	}
	t.Run("contract suite through nginx", func(t *testing.T) { integration.Run(t, c) })
	t.Run("entry: /metrics, TLS, headers", func(t *testing.T) { d.entry(t, c) })
	t.Run("nginx -t without warnings", func(t *testing.T) { d.nginxConfigClean(t) })
	t.Run("redis: password and AOF", func(t *testing.T) { d.redisLocked(t) })
	t.Run("prometheus targets up", func(t *testing.T) { d.targetsUp(t) })
	if d.cfg.Service.Replicas >= 2 {
		t.Run("replica killed under load", func(t *testing.T) { d.killReplica(t) })
	} else {
		t.Logf("%d replica: no failover to measure on this stack", d.cfg.Service.Replicas)
	}
	t.Run("redis restart keeps beliefs", func(t *testing.T) { d.redisRestart(t, c) })
	if d.cfg.Service.HostPortBase == 0 {
		t.Run("image update: replicas replaced create-first under load", func(t *testing.T) { d.replaceReplicas(t) })
	}
}

func (d *deployment) containers(t *testing.T) []container.Summary {
	t.Helper()
	cs, err := d.cli.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", dockerengine.RunLabel+"="+d.mocks.Run))})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func (d *deployment) allHealthy(t *testing.T) {
	cs := d.containers(t)
	// Every container the program declared is running (no Grafana here: it has no image), and
	// nothing else carries this run's label.
	if want := len(d.mocks.Containers()); len(cs) != want || want < d.cfg.Service.Replicas+3 {
		t.Errorf("%d containers on the engine, %d declared", len(cs), want)
	}
	for _, c := range cs {
		ci, err := d.cli.ContainerInspect(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ci.State.Health == nil || ci.State.Health.Status != "healthy" {
			t.Errorf("%s: %+v", ci.Name, ci.State)
		}
		// As declared: memory limit and swap equal (no refresh diff), restart policy, stop signal.
		if ci.HostConfig.Memory == 0 || ci.HostConfig.MemorySwap != ci.HostConfig.Memory {
			t.Errorf("%s: memory %d swap %d", ci.Name, ci.HostConfig.Memory, ci.HostConfig.MemorySwap)
		}
		if ci.HostConfig.RestartPolicy.Name != "unless-stopped" || ci.Config.StopSignal == "" || ci.Config.StopTimeout == nil {
			t.Errorf("%s: restart %q stop %q/%v", ci.Name, ci.HostConfig.RestartPolicy.Name, ci.Config.StopSignal, ci.Config.StopTimeout)
		}
	}
}

// exec runs a command in a container and returns its stdout+stderr and exit code.
func (d *deployment) exec(t *testing.T, resName string, env []string, cmd ...string) (string, int) {
	t.Helper()
	c, ok := d.mocks.Container(resName)
	if !ok {
		t.Fatalf("no container %s", resName)
	}
	ctx := context.Background()
	ex, err := d.cli.ContainerExecCreate(ctx, c.ID, container.ExecOptions{Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	att, err := d.cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer att.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, att.Reader)
	ins, err := d.cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), ins.ExitCode
}

func (d *deployment) entry(t *testing.T, c *integration.Client) {
	ctx := context.Background()
	r, err := c.Do(ctx, http.MethodGet, "/metrics", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusNotFound || strings.Contains(string(r.Raw), "isl_") {
		t.Errorf("/metrics through nginx: %d %.200s, want a 404 and no metrics", r.Status, r.Raw)
	}
	r, err = c.Do(ctx, http.MethodGet, "/health", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
		if n := len(r.Header.Values(h)); n != 1 {
			t.Errorf("%s sent %d times", h, n)
		}
	}
	if r, err := c.Do(ctx, http.MethodHead, "/health", nil, false); err != nil || r.Status != 200 {
		t.Errorf("HEAD /health: %v %d", err, r.Status)
	}
	// /prometheus/ is behind basic auth (pilot), or has no route without its password (dev).
	if r, err := c.Do(ctx, http.MethodGet, "/prometheus/api/v1/targets", nil, false); err != nil ||
		(d.cfg.Tier != stacks.Dev && r.Status != http.StatusUnauthorized) || strings.Contains(string(r.Raw), "activeTargets") {
		t.Errorf("/prometheus/ without credentials: %v %d %.200s", err, r.Status, r.Raw)
	}
	if !d.cfg.Nginx.TLS {
		return
	}
	if hsts := r.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("no HSTS on HTTPS: %q", hsts)
	}
	plain := integration.NewClient(d.httpURL, "", false)
	r, err = plain.Do(ctx, http.MethodGet, "/health", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// 308 (a POST stays a POST) to the configured public host, never the client's Host header.
	if loc := r.Header.Get("Location"); r.Status != http.StatusPermanentRedirect || !strings.HasPrefix(loc, "https://"+d.cfg.Nginx.PublicHost) {
		t.Errorf("HTTP: %d Location %q, want 308 to https://%s", r.Status, loc, d.cfg.Nginx.PublicHost)
	}
}

func (d *deployment) redisLocked(t *testing.T) {
	// From the private network (the alias), as a client without the password.
	out, _ := d.exec(t, "redis", nil, "env", "-u", "REDISCLI_AUTH", "redis-cli", "-h", stacks.RedisAlias, "ping")
	if !strings.Contains(out, "NOAUTH") {
		t.Errorf("redis without password: %q, want NOAUTH", out)
	}
	// CONFIG is an operator's command: the admin ACL user has it (the service's user does not).
	out, _ = d.exec(t, "redis", nil, "redis-cli", "--no-auth-warning", "--user", stacks.RedisAdminUser, "-h", stacks.RedisAlias, "config", "get", "appendonly")
	if !strings.Contains(out, "yes") {
		t.Errorf("appendonly: %q", out)
	}
}

type activeTarget struct {
	ScrapeURL string `json:"scrapeUrl"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
}

// targetsUp asks Prometheus's API, on the private network (from the nginx container), until every
// target is up.
func (d *deployment) targetsUp(t *testing.T) {
	url := fmt.Sprintf("http://%s:%d%s/api/v1/targets", stacks.PrometheusAlias, stacks.PrometheusPort, stacks.PrometheusPrefix)
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, code := d.exec(t, "nginx", nil, "wget", "-q", "-O", "-", url)
		var resp struct {
			Data struct {
				ActiveTargets []activeTarget `json:"activeTargets"`
			} `json:"data"`
		}
		var down []string
		if code != 0 || json.Unmarshal([]byte(out), &resp) != nil {
			down = []string{"api: " + out}
		}
		for _, tg := range resp.Data.ActiveTargets {
			if tg.Health != "up" {
				down = append(down, tg.ScrapeURL+" "+tg.Health+" "+tg.LastError)
			}
		}
		// Every replica slot, the nginx exporter (the entry point's job) and Prometheus itself are targets.
		exporter := fmt.Sprintf("http://%s:%d/metrics", stacks.NginxExporterAlias, stacks.NginxExporterPort)
		if !slices.ContainsFunc(resp.Data.ActiveTargets, func(tg activeTarget) bool { return tg.ScrapeURL == exporter }) {
			down = append(down, exporter+" not a target")
		}
		if len(down) == 0 && len(resp.Data.ActiveTargets) >= d.cfg.Service.Replicas+2 {
			t.Logf("%d targets up", len(resp.Data.ActiveTargets))
			// Up means the exporter answered; nginx_up 1 means it also read nginx's stub_status
			// (which nginx allows only from the admin networks).
			if m, code := d.exec(t, "nginx", nil, "wget", "-q", "-O", "-", exporter); code != 0 || !strings.Contains(m, "\nnginx_up 1\n") {
				t.Errorf("nginx exporter does not read stub_status (wget exit %d):\n%.2000s", code, m)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("targets not up: %v (%d targets)", down, len(resp.Data.ActiveTargets))
		}
		time.Sleep(2 * time.Second)
	}
}

// loadClients is the steady load's concurrency.
const loadClients = 4

// underLoad runs a steady mixed load through nginx while chaos runs, then a little longer.
func (d *deployment) underLoad(t *testing.T, chaos func()) load.Report {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	since := time.Now().Add(-time.Second).Format(time.RFC3339)
	var rep load.Report
	var err error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rep, err = load.Run(ctx, load.Config{Host: d.endpoint, APIKey: d.apiKey, Insecure: true, Duration: 3 * time.Minute,
			Concurrency: loadClients, MaxRequests: 200_000})
	}()
	time.Sleep(2 * time.Second)
	chaos()
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests in %.1fs (%.0f/s), %d failed", rep.Requests, rep.Seconds, rep.RPS, rep.Errors)
	if rep.Errors > 0 {
		d.logTail(t, "nginx", since)
	}
	if rep.Requests < 100 {
		t.Errorf("only %d requests: the load did not run", rep.Requests)
	}
	return rep
}

func errorKinds(t *testing.T, rep load.Report) {
	for _, e := range rep.Endpoints {
		for _, k := range e.ErrorKinds {
			t.Errorf("%s: %s (×%d)", e.Endpoint, k.Error, k.Count)
		}
	}
}

// requireNoFailures demands that every request was answered with a success: nginx re-resolves the
// replica aliases itself (`server … resolve`), so nothing reloads it and no client connection is
// ever closed under a request.
func requireNoFailures(t *testing.T, rep load.Report) {
	t.Helper()
	if rep.Errors != 0 {
		errorKinds(t, rep)
		t.Errorf("%d of %d requests failed, want 0", rep.Errors, rep.Requests)
	}
}

// requireOnlyTruncated allows, besides successes, only responses a crash cut off after nginx had
// forwarded their header — which no streaming proxy can retry — at most one per request in flight
// (the load runs 4 clients): no HTTP error, no request that had not yet started its answer.
func requireOnlyTruncated(t *testing.T, rep load.Report, inFlight int) {
	t.Helper()
	cut := 0
	for _, e := range rep.Endpoints {
		cut += e.Statuses["transport_error"]
	}
	if cut > 0 {
		t.Logf("%d of %d responses cut off mid-body by the crash (the replica died while writing them)", cut, rep.Requests)
	}
	if rep.Errors != cut || cut > inFlight {
		errorKinds(t, rep)
		t.Errorf("%d of %d requests failed (%d cut off mid-body): want no HTTP error and at most %d cut", rep.Errors, rep.Requests, cut, inFlight)
	}
}

// killReplica: SIGKILL one replica (a crash) under load; nginx retries its in-flight requests on
// another and the restart policy brings it back.
func (d *deployment) killReplica(t *testing.T) {
	ctx := context.Background()
	victim, _ := d.mocks.Container(d.cfg.ReplicaSlots()[0])
	rep := d.underLoad(t, func() {
		if err := d.cli.ContainerKill(ctx, victim.ID, "SIGKILL"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		// docker kill counts as a manual stop for the restart policy: start it as an operator would.
		if ci, err := d.cli.ContainerInspect(ctx, victim.ID); err == nil && !ci.State.Running {
			if err := d.cli.ContainerStart(ctx, victim.ID, container.StartOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := dockerengine.WaitHealthy(ctx, d.cli, victim.ID, time.Minute); err != nil {
			t.Fatal(err)
		}
	})
	requireOnlyTruncated(t, rep, loadClients)
	worst := load.Millis(0)
	for _, e := range rep.Endpoints {
		worst = max(worst, e.Max)
	}
	t.Logf("slowest request while a replica was dead: %s (proxy_connect_timeout %s)", worst, d.cfg.Nginx.ProxyConnectTimeout)
}

func (d *deployment) redisRestart(t *testing.T, c *integration.Client) {
	ctx := context.Background()
	user := "engine-redis-" + secret(4)
	q0, err := c.Elicit(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	u1, err := c.Update(ctx, user, q0)
	if err != nil || u1.QueriesCompleted != 1 {
		t.Fatalf("first answer: %d %v", u1.QueriesCompleted, err)
	}
	redis, _ := d.mocks.Container("redis")
	start := time.Now()
	if err := d.cli.ContainerRestart(ctx, redis.ID, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	var u2 integration.UpdateResult
	deadline := time.Now().Add(30 * time.Second)
	for {
		if u2, err = c.Update(ctx, user, u1.NextQueryID); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flow after the Redis restart: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("preference flow continued %s after the Redis restart began", time.Since(start).Round(100*time.Millisecond))
	if u2.QueriesCompleted != 2 {
		t.Fatalf("queries_completed %d after the restart, want 2: beliefs or history were lost", u2.QueriesCompleted)
	}
	if r, err := c.Post(ctx, payloads.CausalValidate.Path, payloads.CausalValidate.Body()); err != nil || r.Status != 200 {
		t.Errorf("stateless call after the restart: %v %d", err, r.Status)
	}
}

// replaceReplicas is an image update as the engine performs it with DeleteBeforeReplace(false):
// every replica's successor is created (new generated name, same slot alias) and healthy before its
// predecessor is stopped gracefully and removed, all slots at once as Pulumi runs independent
// replacements in parallel. nginx must follow the aliases to the new containers through Docker's
// DNS without being restarted or reloaded (the same worker processes before and after), and no
// request may fail.
func (d *deployment) replaceReplicas(t *testing.T) {
	ctx := context.Background()
	nginx, _ := d.mocks.Container("nginx")
	before, err := d.cli.ContainerInspect(ctx, nginx.ID)
	if err != nil {
		t.Fatal(err)
	}
	workers := d.nginxWorkers(t)
	old := map[string]string{}
	for _, s := range d.cfg.ReplicaSlots() {
		c, _ := d.mocks.Container(s)
		old[s] = c.ID
	}
	start := time.Now()
	rep := d.underLoad(t, func() {
		var wg sync.WaitGroup
		errs := make(chan error, len(old))
		for s := range old {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := d.mocks.Replace(s)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		t.Logf("%d replicas replaced in %s", len(old), time.Since(start).Round(100*time.Millisecond))
	})
	requireNoFailures(t, rep)
	after, err := d.cli.ContainerInspect(ctx, nginx.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State.StartedAt != before.State.StartedAt || after.RestartCount != before.RestartCount {
		t.Errorf("nginx was restarted (%s → %s)", before.State.StartedAt, after.State.StartedAt)
	}
	if now := d.nginxWorkers(t); now != workers {
		t.Errorf("nginx was reloaded: worker processes %q, before the update %q", now, workers)
	}
	// Only the successors exist now, so every answer above after the swap came through them;
	// check that nginx routes to them by name too.
	for s, id := range old {
		c, _ := d.mocks.Container(s)
		if c.ID == id {
			t.Errorf("%s not replaced", s)
		}
	}
	out, _ := d.exec(t, "nginx", nil, "wget", "-q", "-O", "-", "http://127.0.0.1:"+strconv.Itoa(stacks.NginxStatusPort)+"/health")
	if !strings.Contains(out, "healthy") {
		t.Errorf("nginx → successors: %q", out)
	}
}

// nginxWorkers lists the PIDs of nginx's worker processes (a reload replaces every one of them).
func (d *deployment) nginxWorkers(t *testing.T) string {
	t.Helper()
	out, code := d.exec(t, "nginx", nil, "sh", "-c",
		`for p in /proc/[0-9]*; do case "$(tr '\0' ' ' < $p/cmdline 2>/dev/null)" in "nginx: worker process"*) echo "${p#/proc/}";; esac; done | sort -n | tr '\n' ' '`)
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("list nginx workers: exit %d %q", code, out)
	}
	return strings.TrimSpace(out)
}

// nginxConfigClean runs `nginx -t` in the running nginx container, on the configuration the
// program uploaded: it must pass with no warning (a deprecated directive or an ignored setting).
func (d *deployment) nginxConfigClean(t *testing.T) {
	out, code := d.exec(t, "nginx", nil, "nginx", "-t")
	if code != 0 || !strings.Contains(out, "test is successful") || strings.Contains(out, "[warn]") {
		t.Errorf("nginx -t in the container: exit %d\n%s", code, out)
	}
	if v, _ := d.exec(t, "nginx", nil, "nginx", "-v"); !strings.Contains(v, "nginx/1.") {
		t.Errorf("nginx -v: %q", v)
	} else {
		t.Logf("%s", strings.TrimSpace(v))
	}
}

// failedLine matches an access log line (docs: nginx.conf's isl_route format) with a 5xx status.
var failedLine = regexp.MustCompile(`^\S+ \[[^\]]+\] "[^"]*" 5\d\d `)

// logTail logs what a container wrote to stderr (nginx's error log) since a time: why requests failed.
func (d *deployment) logTail(t *testing.T, resName, since string) {
	t.Helper()
	c, _ := d.mocks.Container(resName)
	rc, err := d.cli.ContainerLogs(context.Background(), c.ID, container.LogsOptions{ShowStderr: true, ShowStdout: true, Since: since})
	if err != nil {
		t.Logf("logs of %s: %v", resName, err)
		return
	}
	defer rc.Close()
	var out bytes.Buffer
	var errOut bytes.Buffer
	stdcopy.StdCopy(&out, &errOut, rc)
	// stdout is the access log: only the failed requests' lines.
	var failed []string
	for _, l := range strings.Split(out.String(), "\n") {
		if failedLine.MatchString(l) {
			failed = append(failed, l)
		}
	}
	t.Logf("%s since %s: error log:\n%s\nfailed requests in the access log:\n%s", resName, since, errOut.String(), strings.Join(failed, "\n"))
}
