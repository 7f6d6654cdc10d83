package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Declared is one resource the program declared, summarised for humans: the attributes that
// matter when promoting a stack (image, limits, ports, volumes, env, uploaded files), with secret
// values masked.
type Declared struct {
	Type  string
	Name  string
	Attrs map[string]string
	// Options are the resource options that decide what `pulumi up` may do to it: protect,
	// deleteBeforeReplace ("true"/"false" when set explicitly, absent = the provider's default),
	// ignoreChanges, replaceOnChanges, retainOnDelete.
	Options map[string]string
}

type recorder struct {
	mu  sync.Mutex
	out []Declared
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	r.out = append(r.out, Declared{Type: args.TypeToken, Name: args.Name, Attrs: summarise(args.Inputs), Options: options(args.RegisterRPC)})
	r.mu.Unlock()
	outs := args.Inputs.Copy()
	switch args.TypeToken {
	case "docker:index/container:Container":
		if !outs.HasValue("name") {
			outs["name"] = resource.NewStringProperty(args.Name + "-<hex>")
		}
	case "docker:index/image:Image":
		outs["repoDigest"] = resource.NewStringProperty("sha256:<built>")
	case "docker:index/remoteImage:RemoteImage":
		// Containers run the image id; show which image it is, for the diff.
		outs["imageId"] = resource.NewStringProperty("sha256:<id of " + outs["name"].StringValue() + ">")
		outs["repoDigest"] = resource.NewStringProperty(outs["name"].StringValue() + "@sha256:<pulled>")
	case "docker:index/network:Network", "docker:index/volume:Volume":
		outs["name"] = resource.NewStringProperty(args.Name + "-<hex>")
	}
	return args.Name + "-id", outs, nil
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

// RunMocked runs the program for a stack under Pulumi mocks with the given config (full keys;
// secretKeys lists which are secrets) and returns what it declared. It sets PULUMI_CONFIG in the
// process environment, so calls must not run concurrently.
func RunMocked(stack string, config map[string]string, secretKeys []string, opts Options) ([]Declared, error) {
	cj, _ := json.Marshal(config)
	sj, _ := json.Marshal(secretKeys)
	os.Setenv(pulumi.EnvConfig, string(cj))
	os.Setenv(pulumi.EnvConfigSecretKeys, string(sj))
	defer os.Unsetenv(pulumi.EnvConfig)
	defer os.Unsetenv(pulumi.EnvConfigSecretKeys)
	rec := &recorder{}
	err := pulumi.RunErr(Program(opts), pulumi.WithMocks("isl", stack, rec))
	sort.Slice(rec.out, func(i, j int) bool {
		if rec.out[i].Type != rec.out[j].Type {
			return rec.out[i].Type < rec.out[j].Type
		}
		return rec.out[i].Name < rec.out[j].Name
	})
	return rec.out, err
}

// options records the resource options of a registration.
func options(req *pulumirpc.RegisterResourceRequest) map[string]string {
	out := map[string]string{}
	if req == nil {
		return out
	}
	if req.GetProtect() {
		out["protect"] = "true"
	}
	if req.GetDeleteBeforeReplaceDefined() || req.GetDeleteBeforeReplace() {
		out["deleteBeforeReplace"] = fmt.Sprint(req.GetDeleteBeforeReplace())
	}
	if v := req.GetIgnoreChanges(); len(v) > 0 {
		out["ignoreChanges"] = strings.Join(v, ",")
	}
	if v := req.GetReplaceOnChanges(); len(v) > 0 {
		out["replaceOnChanges"] = strings.Join(v, ",")
	}
	if req.GetRetainOnDelete() {
		out["retainOnDelete"] = "true"
	}
	return out
}

// summarise flattens the interesting inputs of a resource into display strings.
func summarise(pm resource.PropertyMap) map[string]string {
	out := map[string]string{}
	for k, v := range pm {
		key := string(k)
		switch key {
		case "image", "name", "memory", "cpus", "restart", "stopTimeout", "stopSignal", "imageName", "driver", "wait":
			out[key] = display(v)
		case "command", "entrypoints":
			out[key] = display(v)
		case "ports":
			var ps []string
			for _, p := range plain(v).ArrayValue() {
				o := plain(p).ObjectValue()
				ps = append(ps, fmt.Sprintf("%s→%s", display(o["external"]), display(o["internal"])))
			}
			out["hostPorts"] = strings.Join(ps, ",")
		case "volumes":
			var vs []string
			for _, p := range plain(v).ArrayValue() {
				o := plain(p).ObjectValue()
				vs = append(vs, display(o["containerPath"]))
			}
			out["volumes"] = strings.Join(vs, ",")
		case "envs":
			for _, e := range plain(v).ArrayValue() {
				k, val, _ := strings.Cut(plain(e).StringValue(), "=")
				if e.IsSecret() || v.IsSecret() {
					val = "[secret]"
				}
				out["env."+k] = val
			}
		case "uploads":
			for _, u := range plain(v).ArrayValue() {
				o := plain(u).ObjectValue()
				c := o["content"]
				val := "[secret]"
				if !c.IsSecret() && !u.IsSecret() {
					sum := sha256.Sum256([]byte(plain(c).StringValue()))
					val = fmt.Sprintf("%d bytes sha256:%s", len(plain(c).StringValue()), hex.EncodeToString(sum[:4]))
				}
				out["file."+display(o["file"])] = val
			}
		case "networksAdvanced":
			for _, n := range plain(v).ArrayValue() {
				out["aliases"] = display(plain(n).ObjectValue()["aliases"])
			}
		case "labels":
			for _, l := range plain(v).ArrayValue() {
				o := plain(l).ObjectValue()
				if lk := display(o["label"]); lk != "isl.stack" {
					out["label."+lk] = display(o["value"])
				}
			}
		case "healthcheck":
			out["healthcheck"] = display(plain(v).ObjectValue()["tests"])
		}
	}
	return out
}

func plain(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func display(v resource.PropertyValue) string {
	if v.IsSecret() {
		return "[secret]"
	}
	switch {
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return fmt.Sprint(v.NumberValue())
	case v.IsBool():
		return fmt.Sprint(v.BoolValue())
	case v.IsArray():
		var parts []string
		for _, e := range v.ArrayValue() {
			parts = append(parts, display(e))
		}
		return strings.Join(parts, " ")
	case v.IsNull():
		return ""
	}
	return v.String()
}
