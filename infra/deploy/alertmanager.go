package deploy

import (
	"fmt"

	"github.com/olumi/isl/stacks"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypeAlertmanager is the component type token of Alertmanager.
const TypeAlertmanager = "isl:deploy:Alertmanager"

// AlertSecrets are the receiver secrets (each a secret output; empty where the receiver is not set).
type AlertSecrets struct {
	WebhookURL      pulumi.StringOutput
	SlackWebhookURL pulumi.StringOutput
	SMTPPassword    pulumi.StringOutput
	PagerDutyKey    pulumi.StringOutput
}

// AlertmanagerArgs configures Alertmanager.
type AlertmanagerArgs struct {
	Config  stacks.Config
	Bundle  stacks.Bundle
	Network pulumi.StringInput
	Secrets AlertSecrets
}

// Alertmanager receives Prometheus' alerts and routes them to the stack's receivers.
type Alertmanager struct {
	pulumi.ResourceState
	Container *docker.Container
}

// NewAlertmanager declares Alertmanager. Its config carries the receivers' secrets, so it is
// rendered inside an apply of them and uploaded as a secret. Its volume keeps silences and the
// notification log across replacements (delete-first: one writer per volume), so an update
// neither forgets a silence nor re-sends what was already sent.
func NewAlertmanager(ctx *pulumi.Context, name string, args AlertmanagerArgs, opts ...pulumi.ResourceOption) (*Alertmanager, error) {
	comp := &Alertmanager{}
	if err := ctx.RegisterComponentResource(TypeAlertmanager, name, comp, opts...); err != nil {
		return nil, err
	}
	cfg := args.Config
	s := args.Secrets
	conf := pulumi.All(s.WebhookURL, s.SlackWebhookURL, s.SMTPPassword, s.PagerDutyKey).ApplyT(func(v []any) (string, error) {
		f, err := args.Bundle.AlertmanagerFile(stacks.AlertSecrets{WebhookURL: v[0].(string), SlackWebhookURL: v[1].(string),
			SMTPPassword: v[2].(string), PagerDutyKey: v[3].(string)})
		return string(f.Content), err
	}).(pulumi.StringOutput)
	img, err := remoteImage(ctx, name+"-image", cfg.Alertmanager.Image, comp)
	if err != nil {
		return nil, err
	}
	vol, err := dataVolume(ctx, name+"-data", cfg, comp)
	if err != nil {
		return nil, err
	}
	var cmd pulumi.StringArray
	for _, a := range args.Bundle.AlertmanagerArgs {
		cmd = append(cmd, pulumi.String(a))
	}
	r := cfg.Receivers()
	c, err := docker.NewContainer(ctx, name, managed(&docker.ContainerArgs{
		Name:    pulumi.String(fmt.Sprintf("isl-%s-alertmanager", cfg.Stack)),
		Image:   img.ImageId,
		Command: cmd,
		Uploads: docker.ContainerUploadArray{upload(stacks.AlertmanagerConfPath, pulumi.ToSecret(conf).(pulumi.StringOutput), false)},
		Volumes: docker.ContainerVolumeArray{docker.ContainerVolumeArgs{VolumeName: vol.Name, ContainerPath: pulumi.String(stacks.AlertmanagerDataPath)}},
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name: args.Network, Aliases: pulumi.StringArray{pulumi.String(stacks.AlertmanagerAlias)}}},
		Ports: debugPort(stacks.AlertmanagerPort, cfg.Alertmanager.HostPort),
		Healthcheck: &docker.ContainerHealthcheckArgs{
			Tests: pulumi.StringArray{pulumi.String("CMD"), pulumi.String("wget"), pulumi.String("-q"), pulumi.String("-O"), pulumi.String("/dev/null"),
				pulumi.String(fmt.Sprintf("http://127.0.0.1:%d/-/ready", stacks.AlertmanagerPort))},
			Interval: pulumi.String("10s"), Timeout: pulumi.String("3s"), Retries: pulumi.Int(5), StartPeriod: pulumi.String("10s"),
		},
	}, cfg, lifecycle{Role: "alertmanager", MemoryMB: cfg.Alertmanager.MemoryMB, StopSignal: "SIGTERM", StopSeconds: 30,
		// Which receivers exist (not their secrets), visible for the promotion diff.
		Labels: []string{"isl.alerts.webhook", fmt.Sprint(r.Webhook), "isl.alerts.slack", fmt.Sprint(r.Slack), "isl.alerts.email", fmt.Sprint(r.Email), "isl.alerts.pagerduty", fmt.Sprint(r.PagerDuty)}}),
		pulumi.Parent(comp), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	comp.Container = c
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"container": c.Name, "volume": vol.Name})
}
