package stacks

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "Pulumi.yaml")); err != nil {
		t.Fatalf("repo root %s has no Pulumi.yaml: %v", d, err)
	}
	return d
}

func loadStack(t *testing.T, stack string) Config {
	t.Helper()
	sf, err := ReadStackFile(repoRoot(t), stack)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(stack, sf)
	if err != nil {
		t.Fatalf("load %s: %v", stack, err)
	}
	return cfg
}

// The committed stack files state every non-secret setting and pass structural validation.
func TestCommittedStackFiles(t *testing.T) {
	wantReplicas := map[Tier]int{Dev: 1, Staging: 2, Pilot: 3}
	for _, tier := range Tiers {
		t.Run(string(tier), func(t *testing.T) {
			sf, err := ReadStackFile(repoRoot(t), string(tier))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range Settings() {
				if s.IsSecret {
					if _, ok := sf.Values[s.Key]; ok {
						t.Errorf("%s: secret committed in the stack file", s.Key)
					}
					continue
				}
				if _, ok := sf.Values[s.Key]; !ok {
					t.Errorf("%s: not spelled out in Pulumi.%s.yaml", s.Key, tier)
				}
			}
			cfg := loadStack(t, string(tier))
			if err := cfg.Validate(Structural); err != nil {
				t.Fatalf("structural validation: %v", err)
			}
			if cfg.Tier != tier || cfg.Service.Replicas != wantReplicas[tier] {
				t.Errorf("tier %s replicas %d, want %s/%d", cfg.Tier, cfg.Service.Replicas, tier, wantReplicas[tier])
			}
			if tier != Dev {
				// What staging tests and the pilot runs is built on exactly the same bases.
				for key, ref := range map[string]string{"isl:buildImage": cfg.Service.BuildImage, "isl:runtimeImage": cfg.Service.RuntimeImage} {
					if !regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).MatchString(ref) {
						t.Errorf("%s = %q on %s: pin it by digest", key, ref, tier)
					}
				}
				ports := cfg.HostPorts()
				for name := range ports {
					if name != "nginx" {
						t.Errorf("%s publishes host ports on %s: %v", name, tier, ports[name])
					}
				}
			}
		})
	}
}

func TestDeployValidationDemandsSecretsAndTLS(t *testing.T) {
	cfg := loadStack(t, "pilot")
	err := cfg.Validate(Deploy)
	if err == nil {
		t.Fatal("pilot without secrets and TLS files passed deploy validation")
	}
	for _, want := range []string{SecretRedisPassword, SecretSecretKey, SecretAPIKeys, SecretGrafanaPassword, SecretPrometheusPassword, "isl:tlsCertFile: TLS file not readable", "isl:tlsKeyFile: TLS file not readable",
		"the pilot needs at least one alert receiver"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("deploy validation error lacks %q:\n%v", want, err)
		}
	}
	if w := cfg.Warnings(); len(w) != 8 {
		t.Errorf("warnings = %d, want 8: %v", len(w), w)
	}
	// With secrets and readable files, it passes.
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(cert, []byte("x"), 0o600)
	os.WriteFile(key, []byte("x"), 0o600)
	cfg.Nginx.TLSCertFile, cfg.Nginx.TLSKeyFile = cert, key
	for _, k := range RequiredSecrets {
		cfg.Secrets[k] = true
	}
	cfg.Secrets[SecretAlertWebhookURL] = true
	if err := cfg.Validate(Deploy); err != nil {
		t.Fatalf("complete pilot rejected: %v", err)
	}
	// Dev needs no secrets.
	if err := loadStack(t, "dev").Validate(Deploy); err != nil {
		t.Fatalf("dev without secrets rejected: %v", err)
	}
}

func TestBadConfigRejected(t *testing.T) {
	base := func(stack string) map[string]string {
		sf, err := ReadStackFile(repoRoot(t), stack)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for k, v := range sf.Values {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name, stack, key, value, want string
	}{
		{"zero replicas", "staging", "isl:replicas", "0", "isl:replicas: must be at least 1 (got 0)"},
		{"pilot single replica", "pilot", "isl:replicas", "1", "isl:replicas: the pilot needs at least 2 replicas"},
		{"replicas not a number", "dev", "isl:replicas", "three", "isl:replicas: not an integer"},
		{"bad memory unit", "staging", "isl:replicaMemory", "512KB", "isl:replicaMemory: bad memory size \"512KB\""},
		{"zero memory", "staging", "isl:replicaMemory", "0Mi", "isl:replicaMemory: bad memory size"},
		{"tiny memory", "staging", "isl:replicaMemory", "16Mi", "isl:replicaMemory: at least 64Mi"},
		{"redis limit below maxmemory", "pilot", "isl:redisMemory", "1Gi", "isl:redisMemory: container limit 1024Mi leaves no headroom"},
		{"redis host port on staging", "staging", "isl:redisHostPort", "6379", "isl:redisHostPort: host ports are allowed on dev only"},
		{"replica host ports on pilot", "pilot", "isl:replicaHostPortBase", "8001", "isl:replicaHostPortBase: host ports are allowed on dev only"},
		{"pilot without TLS", "pilot", "isl:tls", "false", "isl:tls: the pilot serves HTTPS only"},
		{"TLS without files", "staging", "isl:tls", "true", "isl:tlsCertFile: isl:tlsCertFile and isl:tlsKeyFile are required"},
		{"development env on pilot", "pilot", "isl:env", "development", "isl:env: must be production on pilot"},
		{"bad policy", "dev", "isl:redisMaxmemoryPolicy", "lru", "isl:redisMaxmemoryPolicy: noeviction: every ISL key is acknowledged user state"},
		{"evicting policy", "pilot", "isl:redisMaxmemoryPolicy", "volatile-lru", "Redis must never evict"},
		{"bad cidr", "dev", "isl:adminAllowCidrs", "10.0.0.0/33", "isl:adminAllowCidrs: bad CIDR"},
		{"typo key", "dev", "isl:replica", "2", "isl:replica: unknown setting (typo?)"},
		{"unsafe host", "dev", "isl:publicHost", "a;b", "isl:publicHost: not a host name"},
		{"bad tier", "dev", "isl:tier", "prod", "isl:tier: must be one of dev, staging, pilot"},
		{"untagged redis on pilot", "pilot", "isl:redisImage", "redis", "isl:redisImage: pin the image on pilot"},
		{"latest nginx on staging", "staging", "isl:nginxImage", "nginx:latest", "isl:nginxImage: pin the image on staging"},
		{"registry port is no tag", "pilot", "isl:grafanaImage", "registry.local:5000/grafana", "isl:grafanaImage: pin the image on pilot"},
		{"rollback image without tag", "pilot", "isl:image", "ghcr.io/olumi/isl", "isl:image: pin the image on pilot"},
		{"alertmanager host port on pilot", "pilot", "isl:alertmanagerHostPort", "9093", "isl:alertmanagerHostPort: host ports are allowed on dev only"},
		{"latest alertmanager on pilot", "pilot", "isl:alertmanagerImage", "prom/alertmanager:latest", "isl:alertmanagerImage: pin the image on pilot"},
		{"untagged nginx exporter on staging", "staging", "isl:nginxExporterImage", "nginx/nginx-prometheus-exporter", "isl:nginxExporterImage: pin the image on staging"},
		{"tiny nginx exporter", "pilot", "isl:nginxExporterMemory", "16Mi", "isl:nginxExporterMemory: at least 32Mi"},
		{"bad alert e-mail", "staging", "isl:alertEmailTo", "oncall at example.com", "isl:alertEmailTo: bad e-mail address"},
		{"e-mail without sender", "staging", "isl:alertEmailTo", "oncall@example.com", "isl:alertEmailFrom: a sender address is required"},
		{"bad slack channel", "staging", "isl:alertSlackChannel", "#ISL Alerts", "isl:alertSlackChannel: a channel like #isl-alerts"},
		{"bad repeat interval", "pilot", "isl:alertRepeatCritical", "hourly", "isl:alertRepeatCritical: a duration like 1h"},
		{"nginx without resolve", "staging", "isl:nginxImage", "nginx:1.26-alpine", "isl:nginxImage: needs nginx 1.27.3 or later"},
		{"nginx patch before resolve", "dev", "isl:nginxImage", "registry.local:5000/nginx:1.27.2@sha256:0123", "isl:nginxImage: needs nginx 1.27.3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := base(c.stack)
			m[c.key] = c.value
			cfg, err := Load(c.stack, MapSource{Values: m})
			if err == nil {
				err = cfg.Validate(Structural)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, c.want)
			}
		})
	}
	t.Run("secret given in plain text", func(t *testing.T) {
		m := base("staging")
		m[SecretRedisPassword] = "hunter2hunter2"
		_, err := Load("staging", MapSource{Values: m})
		if err == nil || !strings.Contains(err.Error(), "must be a secret") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("secret flag on a plain setting", func(t *testing.T) {
		m := base("staging")
		_, err := Load("staging", MapSource{Values: m, SecretKeys: map[string]bool{"isl:replicas": true}})
		if err == nil || !strings.Contains(err.Error(), "isl:replicas: is not a secret") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("all problems reported at once", func(t *testing.T) {
		m := base("staging")
		m["isl:replicas"], m["isl:redisHostPort"] = "0", "6379"
		cfg, _ := Load("staging", MapSource{Values: m})
		err := cfg.Validate(Structural)
		if err == nil || !strings.Contains(err.Error(), "isl:replicas") || !strings.Contains(err.Error(), "isl:redisHostPort") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestPinnedImage(t *testing.T) {
	for ref, want := range map[string]bool{
		"redis:7.2-alpine": true, "prom/prometheus:v2.53.2": true, "registry.local:5000/isl:c-1a2b3c": true,
		"redis@sha256:0123abcd": true, "redis": false, "redis:latest": false, "registry.local:5000/isl": false, "redis:": false,
	} {
		if got := PinnedImage(ref); got != want {
			t.Errorf("PinnedImage(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestImageVersion(t *testing.T) {
	top := math.MaxInt
	for _, c := range []struct {
		ref    string
		v      [3]int
		ok     bool
		before bool // before 1.27.3
	}{
		{"nginx:1.30-alpine", [3]int{1, 30, top}, true, false},
		{"nginx:1.27", [3]int{1, 27, top}, true, false}, // floats to the newest 1.27.x
		{"nginx:1.27.3-alpine", [3]int{1, 27, 3}, true, false},
		{"nginx:1.27.2", [3]int{1, 27, 2}, true, true},
		{"nginx:1.26-alpine", [3]int{1, 26, top}, true, true},
		{"host:5000/nginx:1.22.1@sha256:ab", [3]int{1, 22, 1}, true, true},
		{"nginx:stable-alpine", [3]int{}, false, false},
		{"nginx@sha256:ab", [3]int{}, false, false},
		{"host:5000/nginx", [3]int{}, false, false},
	} {
		v, ok := imageVersion(c.ref)
		if v != c.v || ok != c.ok {
			t.Errorf("imageVersion(%q) = %v, %v; want %v, %v", c.ref, v, ok, c.v, c.ok)
		}
		if b := ok && versionBefore(v, [3]int{1, 27, 3}); b != c.before {
			t.Errorf("%q before 1.27.3 = %v, want %v", c.ref, b, c.before)
		}
	}
}

// Every setting must be stated by the stack: there is no second set of defaults to fall back on.
func TestLoadRequiresEverySetting(t *testing.T) {
	sf, err := ReadStackFile(repoRoot(t), "staging")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for k, v := range sf.Values {
		m[k] = v
	}
	delete(m, "isl:replicas")
	delete(m, "isl:proxyReadTimeout")
	_, err = Load("staging", MapSource{Values: m})
	for _, want := range []string{"isl:replicas: not set", "isl:proxyReadTimeout: not set"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	}
	delete(m, TierKey)
	if _, err := Load("staging", MapSource{Values: m}); err == nil || !strings.Contains(err.Error(), "isl:tier: not set") {
		t.Errorf("missing tier: error = %v", err)
	}
	m[TierKey] = "prod"
	if _, err := Load("staging", MapSource{Values: m}); err == nil || !strings.Contains(err.Error(), "must be one of dev, staging, pilot") {
		t.Errorf("bad tier: error = %v", err)
	}
}

// Pulumi.yaml declares exactly the non-secret settings, with the type and description of
// settings.go and no default: so Pulumi rejects a stack that lacks one, as Load does, and never
// supplies a value the stack file does not state.
func TestProjectFileDeclaresEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var proj struct {
		Name   string
		Config map[string]map[string]any
	}
	if err := yaml.Unmarshal(b, &proj); err != nil {
		t.Fatal(err)
	}
	if proj.Name != Project {
		t.Errorf("project name %q, want %q", proj.Name, Project)
	}
	want := map[string]bool{}
	for _, s := range Settings() {
		if s.IsSecret {
			continue // a declared secret without a default would be required on dev too
		}
		want[s.Key] = true
		d, ok := proj.Config[s.Key]
		if !ok {
			t.Errorf("%s: not declared in Pulumi.yaml; add:\n%s", s.Key, ProjectConfigEntry(s))
			continue
		}
		if d["type"] != s.Type || d["description"] != s.Doc {
			t.Errorf("%s: Pulumi.yaml declares %v, want type %q description %q:\n%s", s.Key, d, s.Type, s.Doc, ProjectConfigEntry(s))
		}
		if _, has := d["default"]; has {
			t.Errorf("%s: Pulumi.yaml must not give a default (the stack files hold every value)", s.Key)
		}
	}
	for k := range proj.Config {
		if !want[k] {
			t.Errorf("%s: declared in Pulumi.yaml but not a setting", k)
		}
	}
}

func TestParseMemory(t *testing.T) {
	good := map[string]int{"512Mi": 512, "512M": 512, "512mb": 512, "512": 512, "1Gi": 1024, "2g": 2048, "1GB": 1024, " 64Mi ": 64}
	for in, want := range good {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0Mi", "-1Mi", "1.5Gi", "512KB", "Mi", "1Ti", "99999999999Gi", "12 34"} {
		if got, err := ParseMemory(in); err == nil {
			t.Errorf("ParseMemory(%q) = %d, want an error", in, got)
		}
	}
	for _, mb := range []int{64, 512, 1024, 1536, 2048} {
		if got, _ := ParseMemory(FormatMemory(mb)); got != mb {
			t.Errorf("round trip %d → %q → %d", mb, FormatMemory(mb), got)
		}
	}
}

func FuzzParseMemory(f *testing.F) {
	for _, s := range []string{"512Mi", "1Gi", "0", "x", "1e3M", "4294967296Gi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseMemory(s)
		if err == nil && (n <= 0 || n > 1<<30) {
			t.Fatalf("ParseMemory(%q) = %d", s, n)
		}
	})
}
