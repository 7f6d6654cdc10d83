// Package pilotlocal runs a stack's topology — Redis (or primary, replica and three Sentinels), N ISL
// replicas, nginx, Prometheus, the backup runner — as loopback
// processes from Debian's packages, on the very files stacks renders for the Pulumi program (one
// source of truth: Build and Bundle.Files). It is what `make pilot-local` runs, and what the
// end-to-end tests drive to prove failover, persistence and monitoring for real.
//
// Processes run in their own sessions so that they outlive the command that started them; their
// PIDs, commands, ports and the generated secrets are kept in <dir>/state.json, and every later
// command (down, stop, start, status) acts on those PIDs only.
package pilotlocal

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// StateFile is the name of the state file inside the directory.
const StateFile = "state.json"

// Component is one process of the topology.
type Component struct {
	Name      string            `json:"name"` // redis[, redis-replica, sentinel-1…3], isl-1…isl-N, nginx, prometheus[, backup]
	Kind      string            `json:"kind"` // redis | sentinel | isl | nginx | prometheus | backup
	PID       int               `json:"pid"`
	Command   []string          `json:"command"`
	Env       map[string]string `json:"env,omitempty"` // on top of a minimal base environment
	Addr      string            `json:"addr"`          // host:port it listens on
	HealthURL string            `json:"health_url,omitempty"`
	Log       string            `json:"log"`
}

// State is everything an operator or a test needs to use and stop the running topology.
type State struct {
	Stack         string `json:"stack"`
	Tier          string `json:"tier"`
	Dir           string `json:"dir"`
	Endpoint      string `json:"endpoint"` // what CEE calls: nginx
	TLS           bool   `json:"tls"`
	HTTPURL       string `json:"http_url,omitempty"` // TLS: the plain-HTTP listener that redirects to Endpoint
	CACert        string `json:"ca_cert,omitempty"`  // the self-signed certificate (trust it or use --insecure)
	APIKey        string `json:"api_key"`
	PrometheusURL string `json:"prometheus_url"` // base URL incl. the /prometheus prefix
	// AlertmanagerURL is Alertmanager's API (amtool --alertmanager.url).
	AlertmanagerURL string       `json:"alertmanager_url"`
	RedisAddr       string       `json:"redis_addr"`          // the initial primary
	Sentinels       []string     `json:"sentinels,omitempty"` // with Redis HA: REDIS_SENTINELS
	BackupDir       string       `json:"backup_dir,omitempty"`
	RedisPassword   string       `json:"redis_password"`
	ISLBinary       string       `json:"isl_binary"`
	Files           []string     `json:"files"` // rendered files
	Components      []*Component `json:"components"`
}

// Component returns the named component.
func (s *State) Component(name string) (*Component, error) {
	for _, c := range s.Components {
		if c.Name == name {
			return c, nil
		}
	}
	var names []string
	for _, c := range s.Components {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("no component %q (have %s)", name, strings.Join(names, ", "))
}

// Replicas lists the ISL replicas in slot order.
func (s *State) Replicas() []*Component {
	var out []*Component
	for _, c := range s.Components {
		if c.Kind == "isl" {
			out = append(out, c)
		}
	}
	return out
}

// Load reads <dir>/state.json.
func Load(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("read pilot-local state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, StateFile), err)
	}
	return &s, nil
}

// Save writes the state atomically, private to the user (it holds the generated secrets).
func (s *State) Save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.Dir, StateFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.Dir, StateFile))
}
