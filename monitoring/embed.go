// Package monitoring holds the deployment's configuration assets: the templates of the files that
// stacks renders (nginx, Redis, Prometheus, alert rules, Grafana provisioning), the Grafana dashboards
// and the promtool unit tests of the alert rules. It has no logic beyond reading them; rendering lives
// in github.com/olumi/isl/stacks so that the Pulumi program and `make pilot-local` share it.
package monitoring

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

//go:embed templates/*.tmpl rules/*.tmpl grafana/provisioning/*.tmpl grafana/dashboards/*.json tests/*.yml
var FS embed.FS

// Template returns the text of one embedded template, e.g. "templates/nginx.conf.tmpl".
func Template(name string) (string, error) {
	b, err := FS.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("read monitoring asset: %w", err)
	}
	return string(b), nil
}

// Dashboards returns the Grafana dashboards by file name (e.g. "isl-overview.json").
func Dashboards() (map[string][]byte, error) {
	entries, err := fs.ReadDir(FS, "grafana/dashboards")
	if err != nil {
		return nil, fmt.Errorf("list dashboards: %w", err)
	}
	out := make(map[string][]byte, len(entries))
	for _, e := range entries {
		b, err := FS.ReadFile(path.Join("grafana/dashboards", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read dashboard %s: %w", e.Name(), err)
		}
		out[e.Name()] = b
	}
	return out, nil
}

// Query is one PromQL expression of a dashboard panel.
type Query struct {
	Dashboard string // dashboard uid
	Panel     string // panel title
	RefID     string
	Expr      string
}

// DashboardQueries lists every PromQL expression of every dashboard, in a stable order, so that a
// live check (issue 6) can evaluate each one against Prometheus. The dashboards use no Grafana
// template variables, so each expression is valid PromQL as is.
func DashboardQueries() ([]Query, error) {
	ds, err := Dashboards()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ds))
	for n := range ds {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Query
	for _, n := range names {
		var d struct {
			UID    string `json:"uid"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					RefID string `json:"refId"`
					Expr  string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(ds[n], &d); err != nil {
			return nil, fmt.Errorf("parse dashboard %s: %w", n, err)
		}
		for _, p := range d.Panels {
			for _, t := range p.Targets {
				out = append(out, Query{Dashboard: d.UID, Panel: p.Title, RefID: t.RefID, Expr: t.Expr})
			}
		}
	}
	return out, nil
}
