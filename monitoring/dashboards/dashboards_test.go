package dashboards

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/olumi/isl/monitoring"
	"github.com/olumi/isl/monitoring/alerts"
)

// panel is the part of a generated panel the tests read.
type panel struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			Thresholds struct {
				Steps []struct {
					Value *float64 `json:"value"`
					Color string   `json:"color"`
				} `json:"steps"`
			} `json:"thresholds"`
			Mappings []struct {
				Type    string          `json:"type"`
				Options json.RawMessage `json:"options"`
			} `json:"mappings"`
			Custom struct {
				ThresholdsStyle struct {
					Mode string `json:"mode"`
				} `json:"thresholdsStyle"`
			} `json:"custom"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func overviewPanels(t *testing.T) map[string]panel {
	t.Helper()
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(files["isl-overview.json"], &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]panel{}
	for _, p := range d.Panels {
		if _, dup := out[p.Title]; dup {
			t.Errorf("two panels titled %q", p.Title)
		}
		out[p.Title] = p
	}
	return out
}

// The committed JSON (what stacks provisions into Grafana) is exactly what this package builds.
func TestCommittedDashboardsAreGenerated(t *testing.T) {
	want, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	got, err := monitoring.Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("committed dashboards %d, generated %d", len(got), len(want))
	}
	for name, w := range want {
		if !bytes.Equal(got[name], w) {
			t.Errorf("monitoring/grafana/dashboards/%s is stale: run `make dashboards` and commit it", name)
		}
	}
}

// Every alert threshold is drawn on its panel, at the value the rule uses.
func TestEveryAlertThresholdOnItsPanel(t *testing.T) {
	panels := overviewPanels(t)
	for _, th := range alerts.All() {
		p, ok := panels[th.Panel]
		if !ok {
			t.Errorf("%s: no panel %q", th.Alert, th.Panel)
			continue
		}
		found := false
		for _, s := range p.FieldConfig.Defaults.Thresholds.Steps {
			if s.Value != nil && *s.Value == th.Value && s.Color == map[bool]string{true: "green", false: "red"}[p.Type == "stat"] {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: panel %q does not draw the threshold %v (steps %+v)", th.Alert, th.Panel, th.Value, p.FieldConfig.Defaults.Thresholds.Steps)
		}
		if p.Type == "timeseries" && (p.FieldConfig.Defaults.Custom.ThresholdsStyle.Mode == "" || p.FieldConfig.Defaults.Custom.ThresholdsStyle.Mode == "off") {
			t.Errorf("%s: panel %q does not show its threshold on the graph", th.Alert, th.Panel)
		}
	}
}

// The state panels are red/green: 0 red, 1 green, no data red.
func TestStatPanelsRedGreen(t *testing.T) {
	panels := overviewPanels(t)
	for _, title := range []string{alerts.PanelReplicasUp, alerts.PanelRedis, "Redis primary role", "Redis replicas connected"} {
		p, ok := panels[title]
		if !ok || p.Type != "stat" {
			t.Errorf("no stat panel %q", title)
			continue
		}
		var values map[string]struct{ Text, Color string }
		var special struct {
			Match  string
			Result struct{ Text, Color string }
		}
		for _, m := range p.FieldConfig.Defaults.Mappings {
			switch m.Type {
			case "value":
				json.Unmarshal(m.Options, &values)
			case "special":
				json.Unmarshal(m.Options, &special)
			}
		}
		if values["0"].Color != "red" || values["1"].Color != "green" || special.Result.Color != "red" || !strings.Contains(special.Match, "null") {
			t.Errorf("%s: mappings %v / %+v, want 0 red, 1 green, no data red", title, values, special)
		}
	}
}

// Request panels either select API routes (never /health or /metrics, which healthchecks and
// scrapes hit constantly) or are the one panel about those.
func TestAPIRoutesApartFromHealthAndMetrics(t *testing.T) {
	panels := overviewPanels(t)
	route := regexp.MustCompile(`endpoint(!~"/health\|/metrics"|=~"\.\*/[^"]+")`)
	for title, p := range panels {
		for _, q := range p.Targets {
			if !strings.Contains(q.Expr, "isl_http_") || strings.Contains(q.Expr, `status=~"401|403"`) {
				continue
			}
			if title == "Health checks and scrapes" {
				if !strings.Contains(q.Expr, `endpoint=~"/health|/metrics"`) {
					t.Errorf("%s: %s", title, q.Expr)
				}
				continue
			}
			if !route.MatchString(q.Expr) {
				t.Errorf("panel %q mixes /health and /metrics into the API: %s", title, q.Expr)
			}
		}
	}
	mem := panels[alerts.PanelMemoryShare]
	if len(mem.Targets) != 1 || !strings.Contains(mem.Targets[0].Expr, "/ on (job, instance) isl_memory_limit_bytes") || mem.FieldConfig.Defaults.Unit != "percentunit" {
		t.Errorf("memory panel is not a share of the limit: %+v", mem)
	}
}
