package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

func renderLocal(t *testing.T, out string, extra ...string) Manifest {
	t.Helper()
	args := append([]string{"--stack", "pilot", "--local", "--out", out, "--root", "../../..",
		"--upstreams", "127.0.0.1:8101,127.0.0.1:8102,127.0.0.1:8103", "--http-port", "18080", "--tls=false", "--redis-port", "16390"}, extra...)
	if err := run(args); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRenderLocal(t *testing.T) {
	out := t.TempDir()
	m := renderLocal(t, out)
	want := []string{"127.0.0.1:8101", "127.0.0.1:8102", "127.0.0.1:8103"}
	conf, err := os.ReadFile(m.Files["nginx.conf"])
	if err != nil {
		t.Fatal(err)
	}
	if got := stacks.UpstreamServers(conf); !reflect.DeepEqual(got, want) {
		t.Errorf("nginx upstreams %v, want %v", got, want)
	}
	prom, _ := os.ReadFile(m.Files["prometheus.yml"])
	if got := stacks.ScrapeTargets(prom); !reflect.DeepEqual(got, want) {
		t.Errorf("prometheus targets %v, want %v", got, want)
	}
	if m.Endpoint != "http://127.0.0.1:18080" || m.RedisAddr != "127.0.0.1:16390" || len(m.ReplicaEnv) != 3 || m.ReplicaEnv[1]["PORT"] != "8102" {
		t.Errorf("manifest: %+v", m)
	}
	st, err := os.Stat(m.RedisPasswordFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", st, err)
	}
	pw, _ := os.ReadFile(m.RedisPasswordFile)
	rc, _ := os.ReadFile(m.Files["redis.conf"])
	svc, _ := os.ReadFile(m.ISLPasswordFile)
	if !strings.Contains(string(rc), "user admin on >"+strings.TrimSpace(string(pw))+" ") ||
		!strings.Contains(string(rc), "user isl on >"+strings.TrimSpace(string(svc))+" ") || m.ReplicaEnv[0]["REDIS_USERNAME"] != "isl" {
		t.Error("redis.conf does not use the password files' passwords")
	}
	for _, k := range []string{"redis", "nginx", "prometheus", "alertmanager"} {
		if len(m.Commands[k]) < 2 {
			t.Errorf("no command for %s", k)
		}
	}
	if st, err := os.Stat(m.Files["alertmanager.yml"]); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("alertmanager.yml (receiver secrets) not rendered private: %v %v", st, err)
	}
	if !strings.Contains(string(prom), "alerting:") {
		t.Error("prometheus.yml does not send alerts to Alertmanager")
	}
	// A re-render keeps the password (the AOF on disk was written under it).
	m2 := renderLocal(t, out)
	pw2, _ := os.ReadFile(m2.RedisPasswordFile)
	if string(pw) != string(pw2) {
		t.Error("re-render changed the Redis password")
	}
	if _, err := os.Stat(filepath.Join(out, "grafana-datasource.yml")); err == nil {
		t.Error("container-only file rendered locally")
	}
}

func TestRenderContainers(t *testing.T) {
	out := t.TempDir()
	if err := run([]string{"--stack", "staging", "--out", out, "--root", "../../..", "--redis-password", "abcdefgh12345"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"nginx.conf", "redis.conf", "prometheus.yml", "isl-alerts.yml",
		"grafana-datasource.yml", "grafana-dashboards.yml", "isl-overview.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s not rendered", f)
		}
	}
	if err := run([]string{"--stack", "staging", "--out", out, "--root", "../../..", "--upstreams", "127.0.0.1:1"}); err == nil {
		t.Error("--upstreams accepted without --local")
	}
	if err := run([]string{"--stack", "nosuch", "--out", out, "--root", "../../.."}); err == nil {
		t.Error("unknown stack accepted")
	}
}
