package stacks

import (
	"fmt"
	"net/mail"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Alert receiver secrets. Each is optional; a receiver exists when its secret (and, for e-mail,
// isl:alertEmailTo) is set. They are secrets because each grants the right to post into a channel.
const (
	SecretAlertWebhookURL      = "isl:alertWebhookUrl"
	SecretAlertSlackWebhookURL = "isl:alertSlackWebhookUrl"
	SecretAlertSMTPPassword    = "isl:alertSmtpPassword"
	SecretAlertPagerDutyKey    = "isl:alertPagerdutyRoutingKey"
)

// AlertSecretKeys lists the receiver secrets.
var AlertSecretKeys = []string{SecretAlertWebhookURL, SecretAlertSlackWebhookURL, SecretAlertSMTPPassword, SecretAlertPagerDutyKey}

// Alertmanager paths and names shared by the Pulumi program and the rendered files.
const (
	AlertmanagerAlias    = "alertmanager"
	AlertmanagerPort     = 9093
	AlertmanagerConfPath = "/etc/alertmanager/alertmanager.yml"
	AlertmanagerDataPath = "/alertmanager"
)

// AlertmanagerConfig configures Alertmanager and where alerts go.
type AlertmanagerConfig struct {
	Image    string
	MemoryMB int
	HostPort int // dev only

	EmailTo       []string // recipients; empty = no e-mail receiver
	EmailFrom     string
	SMTPSmarthost string // host:port
	SMTPUsername  string // empty = no SMTP authentication
	SlackChannel  string // empty = the Slack webhook's own channel

	RepeatCritical string // how often an unresolved critical alert is re-sent
	RepeatWarning  string
}

// Receivers says which notification channels a stack has (from which secrets are set).
type Receivers struct {
	Webhook, Slack, Email, PagerDuty bool
}

// Any reports whether alerts reach anyone.
func (r Receivers) Any() bool { return r.Webhook || r.Slack || r.Email || r.PagerDuty }

// Receivers returns the configured notification channels.
func (c Config) Receivers() Receivers {
	return Receivers{
		Webhook:   c.Secrets[SecretAlertWebhookURL],
		Slack:     c.Secrets[SecretAlertSlackWebhookURL],
		Email:     len(c.Alertmanager.EmailTo) > 0,
		PagerDuty: c.Secrets[SecretAlertPagerDutyKey],
	}
}

// validateAlerting checks the receivers; bad records one problem.
func (c Config) validateAlerting(mode Strictness, bad func(key, format string, a ...any)) {
	a := c.Alertmanager
	if a.MemoryMB < 32 {
		bad("isl:alertmanagerMemory", "at least 32Mi (got %dMi)", a.MemoryMB)
	}
	if len(a.EmailTo) > 0 {
		if _, err := mail.ParseAddress(a.EmailFrom); err != nil {
			bad("isl:alertEmailFrom", "a sender address is required with isl:alertEmailTo (got %q)", a.EmailFrom)
		}
		if err := checkHostPort("smarthost", a.SMTPSmarthost); err != nil {
			bad("isl:alertSmtpSmarthost", "the SMTP server host:port is required with isl:alertEmailTo (got %q)", a.SMTPSmarthost)
		}
		if mode == Deploy && a.SMTPUsername != "" && !c.Secrets[SecretAlertSMTPPassword] {
			bad(SecretAlertSMTPPassword, "required with isl:alertSmtpUsername: pulumi config set --secret %s <password>", SecretAlertSMTPPassword)
		}
	}
	if mode == Deploy && a.SlackChannel != "" && !c.Secrets[SecretAlertSlackWebhookURL] {
		bad(SecretAlertSlackWebhookURL, "required with isl:alertSlackChannel: pulumi config set --secret %s <incoming webhook URL>", SecretAlertSlackWebhookURL)
	}
	// The pilot's alerts must reach someone; staging may run with alerts visible only in Prometheus.
	if mode == Deploy && c.Tier == Pilot && !c.Receivers().Any() {
		bad("isl:alertWebhookUrl", "the pilot needs at least one alert receiver: set a secret %s, %s or %s, or isl:alertEmailTo",
			SecretAlertWebhookURL, SecretAlertSlackWebhookURL, SecretAlertPagerDutyKey)
	}
}

func parseEmails(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		a, err := mail.ParseAddress(f)
		if err != nil || a.Address != f {
			return nil, fmt.Errorf("bad e-mail address %q (want a bare address like oncall@example.com)", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// AlertmanagerParams is everything alertmanager.yml depends on, secrets excepted.
type AlertmanagerParams struct {
	Origin    string
	Stack     string
	Receivers Receivers
	Config    AlertmanagerConfig
	// Grouping per severity: how long to wait for more alerts of a new group, and how long between
	// notifications about a changed group. Critical alerts go out fast; warnings are batched.
	CriticalGroupWait, CriticalGroupInterval string
	WarningGroupWait, WarningGroupInterval   string
}

// AlertSecrets are the receiver secrets' values, given at render time.
type AlertSecrets struct {
	WebhookURL      string
	SlackWebhookURL string
	SMTPPassword    string
	PagerDutyKey    string
}

// amData is what the template sees.
type amData struct {
	AlertmanagerParams
	Secrets AlertSecrets
}

var (
	routingKeyRe = regexp.MustCompile(`^[A-Za-z0-9]{8,64}$`)
	slackChanRe  = regexp.MustCompile(`^[#@]?[a-z0-9._-]{1,80}$`)
)

func checkURL(what, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(v, " \t\r\n") {
		return fmt.Errorf("%s: not an http(s) URL", what) // never echo a secret
	}
	return nil
}

// RenderAlertmanager renders alertmanager.yml (checkable with `amtool check-config`). The result
// contains the receiver secrets: treat it as a secret.
func RenderAlertmanager(p AlertmanagerParams, s AlertSecrets) ([]byte, error) {
	r := p.Receivers
	if r.Webhook {
		if err := checkURL("alert webhook URL", s.WebhookURL); err != nil {
			return nil, fmt.Errorf("render alertmanager.yml: %w", err)
		}
	}
	if r.Slack {
		if err := checkURL("Slack webhook URL", s.SlackWebhookURL); err != nil {
			return nil, fmt.Errorf("render alertmanager.yml: %w", err)
		}
		if c := p.Config.SlackChannel; c != "" && !slackChanRe.MatchString(c) {
			return nil, fmt.Errorf("render alertmanager.yml: bad Slack channel %q", c)
		}
	}
	if r.PagerDuty && !routingKeyRe.MatchString(s.PagerDutyKey) {
		return nil, fmt.Errorf("render alertmanager.yml: the PagerDuty routing key must be 8–64 letters and digits")
	}
	if r.Email {
		if err := checkHostPort("smarthost", p.Config.SMTPSmarthost); err != nil {
			return nil, fmt.Errorf("render alertmanager.yml: %w", err)
		}
		for _, a := range append([]string{p.Config.EmailFrom}, p.Config.EmailTo...) {
			if _, err := mail.ParseAddress(a); err != nil {
				return nil, fmt.Errorf("render alertmanager.yml: bad e-mail address %q", a)
			}
		}
		if strings.ContainsAny(s.SMTPPassword, "\r\n") {
			return nil, fmt.Errorf("render alertmanager.yml: the SMTP password contains a line break")
		}
	}
	for what, v := range map[string]string{"critical repeat interval": p.Config.RepeatCritical, "warning repeat interval": p.Config.RepeatWarning,
		"critical group wait": p.CriticalGroupWait, "critical group interval": p.CriticalGroupInterval,
		"warning group wait": p.WarningGroupWait, "warning group interval": p.WarningGroupInterval} {
		if _, err := ParseInterval(v); err != nil {
			return nil, fmt.Errorf("render alertmanager.yml: %s: %w", what, err)
		}
	}
	return render("alertmanager.yml", "templates/alertmanager.yml.tmpl", [2]string{"[[", "]]"}, amData{p, s})
}

// buildAlertmanager fills the Alertmanager part of a bundle.
func (b *Bundle) buildAlertmanager(origin string) {
	cfg, pl := b.Config, b.Placement
	b.Alertmanager = AlertmanagerParams{Origin: origin, Stack: cfg.Stack, Receivers: cfg.Receivers(), Config: cfg.Alertmanager,
		CriticalGroupWait: "10s", CriticalGroupInterval: "1m", WarningGroupWait: "1m", WarningGroupInterval: "10m"}
	conf, data := AlertmanagerConfPath, AlertmanagerDataPath
	listen := "0.0.0.0:" + strconv.Itoa(AlertmanagerPort)
	if pl.Local {
		conf, data = path.Join(pl.Dir, "alertmanager.yml"), path.Join(pl.Dir, "alertmanager-data")
		listen = b.alertmanagerAddr()
	}
	b.AlertmanagerArgs = []string{
		"--config.file=" + conf,
		"--storage.path=" + data,
		"--web.listen-address=" + listen,
		// One Alertmanager: no gossip cluster (it would listen on 9094 and wait for peers).
		"--cluster.listen-address=",
	}
}

// alertmanagerAddr is where Prometheus sends alerts.
func (b *Bundle) alertmanagerAddr() string {
	if !b.Placement.Local {
		return AlertmanagerAlias + ":" + strconv.Itoa(AlertmanagerPort)
	}
	if b.Placement.AlertmanagerAddr != "" {
		return b.Placement.AlertmanagerAddr
	}
	return "127.0.0.1:" + strconv.Itoa(AlertmanagerPort)
}

// AlertmanagerFile renders alertmanager.yml for the bundle's placement.
func (b Bundle) AlertmanagerFile(s AlertSecrets) (File, error) {
	conf, err := RenderAlertmanager(b.Alertmanager, s)
	if err != nil {
		return File{}, err
	}
	p := AlertmanagerConfPath
	if b.Placement.Local {
		p = path.Join(b.Placement.Dir, "alertmanager.yml")
	}
	return File{Name: "alertmanager.yml", Path: p, Content: conf, Secret: true, Mode: "0600"}, nil
}
