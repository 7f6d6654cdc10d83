package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/olumi/isl/stacks"
	"github.com/olumi/isl/stacks/certs"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	tContainer   = "docker:index/container:Container"
	tImage       = "docker:index/image:Image"
	tRemoteImage = "docker:index/remoteImage:RemoteImage"
	tNetwork     = "docker:index/network:Network"
	tVolume      = "docker:index/volume:Volume"
)

func testRoot(t *testing.T) string {
	t.Helper()
	r, err := stacks.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func selfSigned(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	c, k := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := certs.SelfSigned(c, k, time.Hour, "isl.example.com"); err != nil {
		t.Fatal(err)
	}
	return c, k
}

var testSecrets = map[string]string{
	stacks.SecretRedisPassword:      "redis-Pa55word-xyz",
	stacks.SecretSecretKey:          "secret-key-0123456789abcdef",
	stacks.SecretAPIKeys:            "key-one,key-two",
	stacks.SecretGrafanaPassword:    "grafana-Pa55word",
	stacks.SecretPrometheusPassword: "prometheus-Pa55word-0123",
	stacks.SecretAlertWebhookURL:    "https://hooks.example.com/isl-alerts?token=t0k3n",
}

// stackConfig returns the committed stack file's config plus secrets (and, for TLS, a real cert).
func stackConfig(t *testing.T, stack string, withSecrets bool) (map[string]string, []string) {
	t.Helper()
	sf, err := stacks.ReadStackFile(testRoot(t), stack)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{}
	for k, v := range sf.Values {
		cfg[k] = v
	}
	var secretKeys []string
	if withSecrets {
		for k, v := range testSecrets {
			cfg[k] = v
			secretKeys = append(secretKeys, k)
		}
	}
	if cfg["isl:tls"] == "true" {
		cfg["isl:tlsCertFile"], cfg["isl:tlsKeyFile"] = selfSigned(t)
	}
	return cfg, secretKeys
}

// Captured is what the program declared under mocks.
type Captured struct {
	mu        sync.Mutex
	Resources []Res
	Outputs   map[string]any
	// LocalOnly names images that exist only in the local Docker engine (built there, never pulled
	// or pushed): the provider reports no repoDigest for them, only their imageId.
	LocalOnly map[string]bool
}

// Res is one declared resource with its inputs.
type Res struct {
	Type, Name string
	Inputs     resource.PropertyMap
	// Resource options as registered (from the register RPC).
	DeleteBeforeReplace, Protect bool
	// DeleteBeforeReplaceDefined: the option was set explicitly (true or false). The docker provider
	// defaults containers to delete-first, so only an explicit false gives create-first.
	DeleteBeforeReplaceDefined bool
	Deps                       []string // URNs of the explicit dependsOn
}

func (c *Captured) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	c.mu.Lock()
	r := Res{Type: args.TypeToken, Name: args.Name, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		r.DeleteBeforeReplace, r.Protect = rpc.GetDeleteBeforeReplace(), rpc.GetProtect()
		r.DeleteBeforeReplaceDefined = rpc.GetDeleteBeforeReplaceDefined()
		r.Deps = rpc.GetDependencies()
	}
	c.Resources = append(c.Resources, r)
	c.mu.Unlock()
	outs := args.Inputs.Copy()
	switch args.TypeToken {
	case tContainer:
		if !outs.HasValue("name") { // the provider's naming of unnamed containers
			outs["name"] = resource.NewStringProperty(args.Name + "-4b0063f")
		}
	case tImage:
		outs["repoDigest"] = resource.NewStringProperty("sha256:1111111111111111111111111111111111111111111111111111111111111111")
	case tRemoteImage:
		name := outs["name"].StringValue()
		sum := sha256.Sum256([]byte(name))
		outs["imageId"] = resource.NewStringProperty("sha256:" + hex.EncodeToString(sum[:]))
		if c.LocalOnly[name] {
			outs["repoDigest"] = resource.NewStringProperty("")
		} else {
			outs["repoDigest"] = resource.NewStringProperty(name + "@sha256:2222")
		}
	case tNetwork, tVolume:
		outs["name"] = resource.NewStringProperty(args.Name + "-a1b2c3d")
	}
	return args.Name + "-id", outs, nil
}

func (c *Captured) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

func (c *Captured) byType(typ string) []Res {
	var out []Res
	for _, r := range c.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *Captured) get(typ, name string) (Res, bool) {
	for _, r := range c.Resources {
		if r.Type == typ && r.Name == name {
			return r, true
		}
	}
	return Res{}, false
}

// runProgram runs the Pulumi program for a stack under mocks with the given config.
func runProgram(t *testing.T, stack string, config map[string]string, secretKeys []string, mode stacks.Strictness) (*Captured, error) {
	t.Helper()
	return runProgramWith(t, stack, config, secretKeys, Options{Strictness: mode, Root: testRoot(t), ImageTag: "c-test"}, nil)
}

// runProgramWith runs the program with explicit options; localOnly lists images that exist only
// in the local Docker engine.
func runProgramWith(t *testing.T, stack string, config map[string]string, secretKeys []string, opts Options, localOnly map[string]bool) (*Captured, error) {
	t.Helper()
	cj, _ := json.Marshal(config)
	sj, _ := json.Marshal(secretKeys)
	t.Setenv("PULUMI_CONFIG", string(cj))
	t.Setenv("PULUMI_CONFIG_SECRET_KEYS", string(sj))
	c := &Captured{Outputs: map[string]any{}, LocalOnly: localOnly}
	err := pulumi.RunErr(Program(opts), pulumi.WithMocks("isl", stack, c))
	return c, err
}

// Property helpers.

func str(pm resource.PropertyMap, key string) string {
	v, ok := pm[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	v = unsecret(v)
	if v.IsString() {
		return v.StringValue()
	}
	if v.IsNumber() {
		return fmt.Sprint(v.NumberValue())
	}
	if v.IsBool() {
		return fmt.Sprint(v.BoolValue())
	}
	return ""
}

func unsecret(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func arr(pm resource.PropertyMap, key string) []resource.PropertyValue {
	v, ok := pm[resource.PropertyKey(key)]
	if !ok {
		return nil
	}
	v = unsecret(v)
	if !v.IsArray() {
		return nil
	}
	return v.ArrayValue()
}

func strs(vs []resource.PropertyValue) []string {
	var out []string
	for _, v := range vs {
		if u := unsecret(v); u.IsString() {
			out = append(out, u.StringValue())
		}
	}
	return out
}

func obj(v resource.PropertyValue) resource.PropertyMap {
	v = unsecret(v)
	if v.IsObject() {
		return v.ObjectValue()
	}
	return nil
}

// uploads maps container path → (content, secret).
func uploads(r Res) map[string]struct {
	Content string
	Secret  bool
} {
	out := map[string]struct {
		Content string
		Secret  bool
	}{}
	for _, u := range arr(r.Inputs, "uploads") {
		m := obj(u)
		cv := m["content"]
		out[str(m, "file")] = struct {
			Content string
			Secret  bool
		}{str(m, "content"), cv.IsSecret() || u.IsSecret()}
	}
	return out
}

func TestCommittedStacks(t *testing.T) {
	for _, tier := range stacks.Tiers {
		stack := string(tier)
		t.Run(stack, func(t *testing.T) {
			config, secretKeys := stackConfig(t, stack, true)
			c, err := runProgram(t, stack, config, secretKeys, stacks.Deploy)
			if err != nil {
				t.Fatalf("program failed: %v", err)
			}
			sf, _ := stacks.ReadStackFile(testRoot(t), stack)
			cfg, err := stacks.Load(stack, sf)
			if err != nil {
				t.Fatal(err)
			}
			n := cfg.Service.Replicas
			slots := cfg.ReplicaSlots()

			// Inventory.
			counts := map[string]int{}
			for _, r := range c.Resources {
				counts[r.Type]++
			}
			ha, backups := b2i(cfg.RedisHA.Enabled), b2i(cfg.Backup.Every() > 0)
			want := map[string]int{
				tContainer: n + 6 + 4*ha + backups, tImage: 1 + backups, tRemoteImage: 6, tNetwork: 1, tVolume: 4 + ha + backups,
				TypeNetwork: 1, TypeService: 1, TypeNginx: 1, TypeNginxExporter: 1, TypePrometheus: 1, TypeGrafana: 1, TypeAlertmanager: 1,
			}
			if ha == 1 {
				want[TypeRedisHA] = 1
			} else {
				want[TypeRedis] = 1
			}
			if backups == 1 {
				want[TypeBackup] = 1
			}
			if !reflect.DeepEqual(counts, want) {
				t.Errorf("inventory %v\nwant %v", counts, want)
			}

			containers := c.byType(tContainer)
			var replicas []Res
			for _, r := range containers {
				// Every container: healthcheck, wait, restart policy, graceful stop, memory limit.
				hc := obj(r.Inputs["healthcheck"])
				if hc == nil || len(strs(arr(hc, "tests"))) < 2 {
					t.Errorf("%s: no healthcheck", r.Name)
				}
				if str(r.Inputs, "wait") != "true" || str(r.Inputs, "waitTimeout") == "" {
					t.Errorf("%s: pulumi up does not wait for health", r.Name)
				}
				if str(r.Inputs, "restart") != "unless-stopped" {
					t.Errorf("%s: restart %q", r.Name, str(r.Inputs, "restart"))
				}
				if str(r.Inputs, "stopTimeout") == "" || str(r.Inputs, "stopSignal") == "" || str(r.Inputs, "destroyGraceSeconds") == "" {
					t.Errorf("%s: no graceful stop (stopTimeout/stopSignal/destroyGraceSeconds)", r.Name)
				}
				if str(r.Inputs, "memory") == "" {
					t.Errorf("%s: no memory limit", r.Name)
				}
				// Docker reports an unset swap limit back as 2 × memory: refresh would show a diff.
				if str(r.Inputs, "memorySwap") != str(r.Inputs, "memory") {
					t.Errorf("%s: memorySwap %q, want = memory %q (idempotent refresh)", r.Name, str(r.Inputs, "memorySwap"), str(r.Inputs, "memory"))
				}
				if !strings.Contains(str(r.Inputs, "image"), "sha256:") {
					t.Errorf("%s: image %q is not pinned by digest", r.Name, str(r.Inputs, "image"))
				}
				ports := arr(r.Inputs, "ports")
				if tier != stacks.Dev && r.Name != "nginx" && len(ports) > 0 {
					t.Errorf("%s publishes host ports on %s", r.Name, tier)
				}
				if strings.HasPrefix(r.Name, "isl-") {
					replicas = append(replicas, r)
				}
			}

			// Replicas: one per slot, unnamed (create-before-delete), slot alias, secrets secret.
			var names []string
			for _, r := range replicas {
				names = append(names, r.Name)
				if r.Inputs.HasValue("name") {
					t.Errorf("%s has a fixed container name: replacement would be delete-first", r.Name)
				}
				nets := arr(r.Inputs, "networksAdvanced")
				if len(nets) != 1 || !slices.Contains(strs(arr(obj(nets[0]), "aliases")), r.Name) {
					t.Errorf("%s: network alias %v lacks its slot name", r.Name, nets)
				}
				hc := strs(arr(obj(r.Inputs["healthcheck"]), "tests"))
				if !reflect.DeepEqual(hc, []string{"CMD", cfg.Service.BinaryPath, "healthcheck"}) {
					t.Errorf("%s: healthcheck %v", r.Name, hc)
				}
				env := map[string]resource.PropertyValue{}
				for _, e := range arr(r.Inputs, "envs") {
					k, _, _ := strings.Cut(unsecret(e).StringValue(), "=")
					env[k] = e
				}
				for _, k := range []string{"REDIS_PASSWORD", "SECRET_KEY", "API_KEYS"} {
					v, ok := env[k]
					if !ok {
						t.Errorf("%s: env %s missing", r.Name, k)
					} else if !v.IsSecret() && !r.Inputs["envs"].IsSecret() {
						t.Errorf("%s: env %s is not a secret", r.Name, k)
					}
				}
				wantEnv := map[string]string{"PORT": "8000", "REDIS_HOST": "redis", "ENV": cfg.Service.Env, "API_V1_PREFIX": "/api/v1"}
				if cfg.RedisHA.Enabled {
					delete(wantEnv, "REDIS_HOST")
					wantEnv["REDIS_SENTINELS"], wantEnv["REDIS_MASTER_NAME"] = "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379", "isl"
					if v, ok := env["REDIS_SENTINEL_PASSWORD"]; !ok || (!v.IsSecret() && !r.Inputs["envs"].IsSecret()) {
						t.Errorf("%s: REDIS_SENTINEL_PASSWORD missing or not a secret", r.Name)
					}
				}
				for k, want := range wantEnv {
					if v, ok := env[k]; !ok || unsecret(v).StringValue() != k+"="+want {
						t.Errorf("%s: env %s = %v, want %s", r.Name, k, v, want)
					}
				}
				if v := env["SHUTDOWN_TIMEOUT_SECONDS"]; v.IsNull() || !(atoi(strings.TrimPrefix(unsecret(v).StringValue(), "SHUTDOWN_TIMEOUT_SECONDS=")) < atoi(str(r.Inputs, "stopTimeout"))) {
					t.Errorf("%s: service drain bound %v not below the container stop timeout %s", r.Name, v, str(r.Inputs, "stopTimeout"))
				}
			}
			if !reflect.DeepEqual(names, slots) {
				t.Errorf("replicas %v, want %v", names, slots)
			}

			// Redis: password secret, AOF on a volume, no host port outside dev.
			redis, _ := c.get(tContainer, "redis")
			confPath := stacks.RedisConfPath
			if cfg.RedisHA.Enabled { // the node's own file holds redis.conf's settings
				confPath = stacks.RedisNodeConfPath
			}
			ru := uploads(redis)[confPath]
			if !ru.Secret || !strings.Contains(ru.Content, "user admin on >"+testSecrets[stacks.SecretRedisPassword]+" ") ||
				!strings.Contains(ru.Content, "user "+stacks.RedisServiceUser+" on >"+stacks.RedisServicePassword(testSecrets[stacks.SecretRedisPassword])+" ") ||
				!strings.Contains(ru.Content, "appendonly yes") || !strings.Contains(ru.Content, "maxmemory-policy noeviction") {
				t.Errorf("redis.conf upload: secret=%v\n%s", ru.Secret, ru.Content)
			}
			if vols := arr(redis.Inputs, "volumes"); len(vols) != 1 || str(obj(vols[0]), "containerPath") != "/data" {
				t.Errorf("redis volumes %v", vols)
			}

			// nginx: the upstream lists exactly the replicas; the uploaded file is the renderer's.
			nginx, _ := c.get(tContainer, "nginx")
			nu := uploads(nginx)
			conf := nu[stacks.NginxConfPath].Content
			var wantUp []string
			for _, s := range slots {
				wantUp = append(wantUp, s+":8000")
			}
			if got := stacks.UpstreamServers([]byte(conf)); !reflect.DeepEqual(got, wantUp) {
				t.Errorf("nginx upstream %v, want %v", got, wantUp)
			}
			withSecrets := cfg
			withSecrets.Secrets = map[string]bool{}
			for k := range testSecrets {
				withSecrets.Secrets[k] = true
			}
			b, _ := stacks.Build(withSecrets, stacks.Placement{})
			if rendered, _ := stacks.RenderNginx(b.Nginx); string(rendered) != conf {
				t.Error("uploaded nginx.conf differs from stacks.RenderNginx (two sources of truth)")
			}
			// /prometheus/ behind basic auth: the htpasswd is uploaded as a secret and holds the
			// secret's hash; /metrics is never proxied.
			hp, ok := nu[stacks.NginxHtpasswdPath]
			wantHp, _ := stacks.RenderHtpasswd(stacks.PrometheusAdminUser, testSecrets[stacks.SecretPrometheusPassword])
			if !ok || !hp.Secret || hp.Content != string(wantHp) || !strings.Contains(conf, "auth_basic_user_file "+stacks.NginxHtpasswdPath) {
				t.Errorf("prometheus basic auth: htpasswd uploaded %v secret %v", ok, hp.Secret)
			}
			wantPorts := []string{fmt.Sprint(cfg.Nginx.HTTPPort)}
			if cfg.Nginx.TLS {
				wantPorts = append(wantPorts, fmt.Sprint(cfg.Nginx.HTTPSPort))
				if k := nu[stacks.NginxKeyPath]; !k.Secret || !strings.Contains(k.Content, "PRIVATE KEY") {
					t.Errorf("TLS key upload missing or not secret (secret=%v)", k.Secret)
				}
				if !strings.Contains(nu[stacks.NginxCertPath].Content, "CERTIFICATE") {
					t.Error("TLS certificate not uploaded")
				}
			}
			var gotPorts []string
			for _, p := range arr(nginx.Inputs, "ports") {
				gotPorts = append(gotPorts, str(obj(p), "external"))
			}
			if !reflect.DeepEqual(gotPorts, wantPorts) {
				t.Errorf("nginx host ports %v, want %v", gotPorts, wantPorts)
			}

			// Prometheus scrapes exactly the replicas and loads the alert rules.
			prom, _ := c.get(tContainer, "prometheus")
			pu := uploads(prom)
			if got := stacks.ScrapeTargets([]byte(pu[stacks.PrometheusConfPath].Content)); !reflect.DeepEqual(got, wantUp) {
				t.Errorf("prometheus targets %v, want %v", got, wantUp)
			}
			if !strings.Contains(pu[stacks.PrometheusRulesPath].Content, "alert: ISLServiceDown") {
				t.Error("alert rules not uploaded")
			}
			if !slices.Contains(strs(arr(prom.Inputs, "command")), "--storage.tsdb.retention.time="+cfg.Prometheus.Retention) {
				t.Errorf("retention not set: %v", strs(arr(prom.Inputs, "command")))
			}

			// The nginx exporter: reads nginx's private stub_status, is reached by its alias only
			// (no host port on any tier), starts after nginx, and Prometheus scrapes it.
			exp, ok := c.get(tContainer, "nginx-exporter")
			if !ok {
				t.Fatal("no nginx-exporter container")
			}
			if cmd := strs(arr(exp.Inputs, "command")); !slices.Contains(cmd, fmt.Sprintf("--nginx.scrape-uri=http://nginx:%d/stub_status", stacks.NginxMetricsPort)) {
				t.Errorf("nginx-exporter command %v does not scrape nginx's stub_status", cmd)
			}
			if !strings.Contains(conf, fmt.Sprintf("listen 0.0.0.0:%d", stacks.NginxMetricsPort)) {
				t.Errorf("nginx.conf has no stub_status listener on %d for the exporter", stacks.NginxMetricsPort)
			}
			if nets := arr(exp.Inputs, "networksAdvanced"); len(nets) != 1 || !slices.Contains(strs(arr(obj(nets[0]), "aliases")), stacks.NginxExporterAlias) {
				t.Errorf("nginx-exporter network alias %v", nets)
			}
			if p := arr(exp.Inputs, "ports"); len(p) != 0 {
				t.Errorf("nginx-exporter publishes host ports %v", p)
			}
			if hc := strings.Join(strs(arr(obj(exp.Inputs["healthcheck"]), "tests")), " "); !strings.Contains(hc, fmt.Sprintf("http://127.0.0.1:%d/metrics", stacks.NginxExporterPort)) {
				t.Errorf("nginx-exporter healthcheck %q does not probe its /metrics", hc)
			}
			if !slices.ContainsFunc(exp.Deps, func(u string) bool { return strings.HasSuffix(u, "::nginx") }) {
				t.Errorf("nginx-exporter does not depend on nginx: %v", exp.Deps)
			}
			if img := cfg.NginxExporter.Image; tier != stacks.Dev && !stacks.PinnedImage(img) {
				t.Errorf("nginx exporter image %q is not pinned on %s", img, tier)
			}
			promConf := pu[stacks.PrometheusConfPath].Content
			if !strings.Contains(promConf, "- job_name: nginx") || !strings.Contains(promConf, fmt.Sprintf("targets: [%q]", fmt.Sprintf("%s:%d", stacks.NginxExporterAlias, stacks.NginxExporterPort))) {
				t.Errorf("prometheus does not scrape the nginx exporter:\n%s", promConf)
			}

			// Grafana: admin password secret, dashboards provisioned.
			graf, _ := c.get(tContainer, "grafana")
			found := false
			for _, e := range arr(graf.Inputs, "envs") {
				if strings.HasPrefix(unsecret(e).StringValue(), "GF_SECURITY_ADMIN_PASSWORD=") {
					found = true
					if !e.IsSecret() && !graf.Inputs["envs"].IsSecret() {
						t.Error("Grafana admin password is not a secret")
					}
				}
			}
			if !found {
				t.Error("Grafana admin password not set")
			}
			if _, ok := uploads(graf)[stacks.GrafanaDashDir+"/isl-overview.json"]; !ok {
				t.Error("dashboard not provisioned")
			}

			// Data volumes are protected on the pilot.
			for _, v := range c.byType(tVolume) {
				_ = v // protection is a resource option, not an input; checked through the config below
			}
			if (tier == stacks.Pilot) != cfg.ProtectData {
				t.Errorf("protectData = %v on %s", cfg.ProtectData, tier)
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func TestBadConfigRejected(t *testing.T) {
	cases := []struct {
		name, stack string
		edit        func(map[string]string) []string // returns secret keys to drop
		mode        stacks.Strictness
		want        string
	}{
		{"zero replicas", "staging", func(m map[string]string) []string { m["isl:replicas"] = "0"; return nil }, stacks.Deploy, "isl:replicas: must be at least 1"},
		{"bad memory", "pilot", func(m map[string]string) []string { m["isl:replicaMemory"] = "lots"; return nil }, stacks.Deploy, "isl:replicaMemory: bad memory size"},
		{"redis port on pilot", "pilot", func(m map[string]string) []string { m["isl:redisHostPort"] = "6379"; return nil }, stacks.Deploy, "isl:redisHostPort: host ports are allowed on dev only"},
		{"missing secret on pilot", "pilot", func(m map[string]string) []string {
			delete(m, stacks.SecretRedisPassword)
			return []string{stacks.SecretRedisPassword}
		}, stacks.Deploy, "isl:redisPassword: secret required on pilot"},
		{"missing TLS file on pilot", "pilot", func(m map[string]string) []string {
			m["isl:tlsCertFile"] = "/nonexistent/fullchain.pem"
			return nil
		}, stacks.Deploy, "isl:tlsCertFile: TLS file not readable"},
		{"secret in plain text", "staging", func(m map[string]string) []string { return []string{stacks.SecretAPIKeys} }, stacks.Deploy, "isl:apiKeys: must be a secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			config, secretKeys := stackConfig(t, tc.stack, true)
			drop := tc.edit(config)
			var keep []string
			for _, k := range secretKeys {
				if !slices.Contains(drop, k) {
					keep = append(keep, k)
				}
			}
			c, err := runProgram(t, tc.stack, config, keep, tc.mode)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant %q", err, tc.want)
			}
			if n := len(c.byType(tContainer)); n != 0 {
				t.Errorf("%d containers declared despite invalid config", n)
			}
		})
	}
	// The same missing secret is fine for the diff (structural), and masked by a secret placeholder.
	t.Run("missing secrets allowed structurally", func(t *testing.T) {
		config, _ := stackConfig(t, "pilot", false)
		c, err := runProgram(t, "pilot", config, nil, stacks.Structural)
		if err != nil {
			t.Fatal(err)
		}
		redis, _ := c.get(tContainer, "redis")
		if !uploads(redis)[stacks.RedisNodeConfPath].Secret { // the pilot's primary (Redis HA)
			t.Error("placeholder redis.conf not secret")
		}
	})
}
