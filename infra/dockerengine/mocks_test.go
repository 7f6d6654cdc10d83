package dockerengine

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The container mapping follows the provider's schema: memory and memorySwap in MB, durations as
// Go duration strings, ports published on 0.0.0.0 unless ip is set, secrets passed through as their
// values, the run label added to the declared labels.
func TestContainerSpecMapping(t *testing.T) {
	m := &Mocks{Run: "rtest"}
	in := resource.NewPropertyMapFromMap(map[string]any{
		"image":       "sha256:abc",
		"envs":        []any{"A=1"},
		"command":     []any{"redis-server", "/etc/redis.conf"},
		"memory":      512,
		"memorySwap":  512,
		"cpus":        "1.5",
		"restart":     "unless-stopped",
		"stopSignal":  "SIGQUIT",
		"stopTimeout": 30,
		"labels":      []any{map[string]any{"label": "isl.role", "value": "nginx"}},
		"healthcheck": map[string]any{"tests": []any{"CMD", "true"}, "interval": "10s", "timeout": "3s",
			"retries": 3, "startPeriod": "15s"},
		"ports": []any{map[string]any{"internal": 80, "external": 8080},
			map[string]any{"internal": 6379, "external": 6379, "ip": "127.0.0.1"}},
		"volumes":          []any{map[string]any{"volumeName": "data", "containerPath": "/data"}},
		"networksAdvanced": []any{map[string]any{"name": "net", "aliases": []any{"isl-1", "isl"}}},
		"logDriver":        "json-file",
		"logOpts":          map[string]any{"max-size": "10m"},
	})
	in["envs"] = resource.MakeSecret(in["envs"]) // secret inputs reach the engine as values
	cfg, host, nets, err := m.containerSpec(in)
	if err != nil {
		t.Fatal(err)
	}
	if host.Memory != 512<<20 || host.MemorySwap != 512<<20 || host.NanoCPUs != 1_500_000_000 {
		t.Errorf("limits: memory %d swap %d cpus %d", host.Memory, host.MemorySwap, host.NanoCPUs)
	}
	if cfg.Env[0] != "A=1" || cfg.Cmd[1] != "/etc/redis.conf" || cfg.StopSignal != "SIGQUIT" || *cfg.StopTimeout != 30 {
		t.Errorf("config: %+v", cfg)
	}
	if host.RestartPolicy.Name != container.RestartPolicyUnlessStopped {
		t.Errorf("restart %q", host.RestartPolicy.Name)
	}
	h := cfg.Healthcheck
	if h.Interval != 10*time.Second || h.Timeout != 3*time.Second || h.StartPeriod != 15*time.Second || h.Retries != 3 || h.Test[0] != "CMD" {
		t.Errorf("healthcheck %+v", h)
	}
	if b := host.PortBindings[nat.Port("80/tcp")]; len(b) != 1 || b[0].HostIP != "0.0.0.0" || b[0].HostPort != "8080" {
		t.Errorf("port 80: %+v", b)
	}
	if b := host.PortBindings[nat.Port("6379/tcp")]; len(b) != 1 || b[0].HostIP != "127.0.0.1" {
		t.Errorf("port 6379: %+v", b)
	}
	if len(host.Mounts) != 1 || host.Mounts[0].Source != "data" || host.Mounts[0].Target != "/data" || host.Mounts[0].ReadOnly {
		t.Errorf("mounts %+v", host.Mounts)
	}
	if ep := nets.EndpointsConfig["net"]; ep == nil || len(ep.Aliases) != 2 || ep.Aliases[0] != "isl-1" {
		t.Errorf("networks %+v", nets.EndpointsConfig)
	}
	if cfg.Labels["isl.role"] != "nginx" || cfg.Labels[RunLabel] != "rtest" {
		t.Errorf("labels %v", cfg.Labels)
	}
	if host.LogConfig.Type != "json-file" || host.LogConfig.Config["max-size"] != "10m" {
		t.Errorf("log %+v", host.LogConfig)
	}
}

// Without memorySwap the engine would apply its default (2 × memory): the mapping must not invent one.
func TestContainerSpecNoSwapUnlessDeclared(t *testing.T) {
	m := &Mocks{Run: "rtest"}
	_, host, _, err := m.containerSpec(resource.NewPropertyMapFromMap(map[string]any{"image": "x", "memory": 128}))
	if err != nil {
		t.Fatal(err)
	}
	if host.Memory != 128<<20 || host.MemorySwap != 0 {
		t.Errorf("memory %d swap %d", host.Memory, host.MemorySwap)
	}
}
