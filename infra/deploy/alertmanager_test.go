package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/olumi/isl/stacks"
)

// Alertmanager's invariants on every committed stack: healthchecked and waited for, no host port
// outside dev (loopback only on dev), its config (with the receivers' secrets) uploaded as a
// secret and equal to the renderer's, silences on a volume, and Prometheus sending alerts to it.
func TestAlertmanagerComponent(t *testing.T) {
	for _, tier := range stacks.Tiers {
		stack := string(tier)
		t.Run(stack, func(t *testing.T) {
			config, secretKeys := stackConfig(t, stack, true)
			config[stacks.SecretAlertPagerDutyKey] = "0123456789abcdef0123456789abcdef"
			secretKeys = append(secretKeys, stacks.SecretAlertPagerDutyKey)
			c, err := runProgram(t, stack, config, secretKeys, stacks.Deploy)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(c.byType(TypeAlertmanager)); n != 1 {
				t.Fatalf("%d %s components", n, TypeAlertmanager)
			}
			am, ok := c.get(tContainer, "alertmanager")
			if !ok {
				t.Fatal("no alertmanager container")
			}
			hc := strs(arr(obj(am.Inputs["healthcheck"]), "tests"))
			if len(hc) < 2 || !strings.Contains(strings.Join(hc, " "), "/-/ready") {
				t.Errorf("healthcheck %v does not probe /-/ready", hc)
			}
			if str(am.Inputs, "wait") != "true" || str(am.Inputs, "waitTimeout") == "" {
				t.Error("pulumi up does not wait for Alertmanager's health")
			}
			for _, p := range arr(am.Inputs, "ports") {
				if tier != stacks.Dev {
					t.Errorf("alertmanager publishes host port %s on %s", str(obj(p), "external"), tier)
				} else if ip := str(obj(p), "ip"); ip != "127.0.0.1" {
					t.Errorf("dev debug port on %q, want 127.0.0.1", ip)
				}
			}
			if !am.DeleteBeforeReplace {
				t.Error("alertmanager owns a volume: replace delete-first")
			}
			if vols := arr(am.Inputs, "volumes"); len(vols) != 1 || str(obj(vols[0]), "containerPath") != stacks.AlertmanagerDataPath {
				t.Errorf("volumes %v", vols)
			}
			if !slices.Contains(strs(arr(am.Inputs, "command")), "--config.file="+stacks.AlertmanagerConfPath) {
				t.Errorf("command %v", strs(arr(am.Inputs, "command")))
			}
			up := uploads(am)[stacks.AlertmanagerConfPath]
			if !up.Secret {
				t.Error("alertmanager.yml (receiver secrets inside) is not uploaded as a secret")
			}
			sf, _ := stacks.ReadStackFile(testRoot(t), stack)
			cfg, _ := stacks.Load(stack, sf)
			for _, k := range secretKeys {
				cfg.Secrets[k] = true
			}
			b, _ := stacks.Build(cfg, stacks.Placement{})
			want, err := b.AlertmanagerFile(stacks.AlertSecrets{WebhookURL: testSecrets[stacks.SecretAlertWebhookURL], PagerDutyKey: config[stacks.SecretAlertPagerDutyKey]})
			if err != nil {
				t.Fatal(err)
			}
			if up.Content != string(want.Content) {
				t.Errorf("uploaded alertmanager.yml differs from stacks' render (two sources of truth):\n%s", up.Content)
			}
			for _, s := range []string{"webhook_configs", testSecrets[stacks.SecretAlertWebhookURL], "pagerduty_configs"} {
				if !strings.Contains(up.Content, s) {
					t.Errorf("alertmanager.yml lacks %q", s)
				}
			}
			if strings.Contains(up.Content, "slack_configs") || strings.Contains(up.Content, "email_configs") {
				t.Error("receivers rendered that the stack does not configure")
			}
			for _, l := range []string{"isl.alerts.webhook=true", "isl.alerts.pagerduty=true", "isl.alerts.slack=false"} {
				k, v, _ := strings.Cut(l, "=")
				found := false
				for _, lb := range arr(am.Inputs, "labels") {
					if str(obj(lb), "label") == k && str(obj(lb), "value") == v {
						found = true
					}
				}
				if !found {
					t.Errorf("label %s missing", l)
				}
			}
			prom, _ := c.get(tContainer, "prometheus")
			pc := uploads(prom)[stacks.PrometheusConfPath].Content
			if !strings.Contains(pc, "alerting:") || !strings.Contains(pc, `"alertmanager:9093"`) {
				t.Errorf("prometheus.yml does not send alerts to Alertmanager:\n%s", pc)
			}
		})
	}
	// Diff mode without secrets: the receivers are absent, the config still a secret.
	t.Run("structural without secrets", func(t *testing.T) {
		config, _ := stackConfig(t, "pilot", false)
		c, err := runProgram(t, "pilot", config, nil, stacks.Structural)
		if err != nil {
			t.Fatal(err)
		}
		am, _ := c.get(tContainer, "alertmanager")
		up := uploads(am)[stacks.AlertmanagerConfPath]
		if !up.Secret || strings.Contains(up.Content, "webhook_configs") {
			t.Errorf("secret=%v\n%s", up.Secret, up.Content)
		}
	})
	// The pilot refuses to deploy alerts that reach no one.
	t.Run("pilot without receivers", func(t *testing.T) {
		config, secretKeys := stackConfig(t, "pilot", true)
		delete(config, stacks.SecretAlertWebhookURL)
		var keep []string
		for _, k := range secretKeys {
			if k != stacks.SecretAlertWebhookURL {
				keep = append(keep, k)
			}
		}
		_, err := runProgram(t, "pilot", config, keep, stacks.Deploy)
		if err == nil || !strings.Contains(err.Error(), "at least one alert receiver") {
			t.Fatalf("error = %v", err)
		}
	})
}
