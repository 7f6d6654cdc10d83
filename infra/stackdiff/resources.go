package stackdiff

import (
	"fmt"
	"sort"
	"strings"

	"github.com/olumi/isl/infra/deploy"
	"github.com/olumi/isl/stacks"
)

// The provider's update model for docker_container (pulumi-docker v4 wraps the Terraform provider):
// these inputs are changed in place by `docker update`; these are the provider's own bookkeeping
// and change nothing on the host; every other input replaces the container.
var (
	inPlace  = map[string]bool{"memory": true, "memorySwap": true, "restart": true, "cpuShares": true, "cpuSet": true, "maxRetryCount": true}
	noEffect = map[string]bool{"wait": true, "waitTimeout": true, "destroyGraceSeconds": true}
)

// Attributes that follow the stack's identity rather than a setting: comparing two stacks they
// always differ, and say nothing a reader needs.
var identity = map[string]bool{"label.isl.tier": true, "label.isl.stack": true}

const (
	tContainer = "docker:index/container:Container"
	tComponent = "isl:deploy:"
)

// compareResources says, per declared resource, what going from a's declaration to b's would do.
func compareResources(a, b *side, files []FileChange) ([]ResourceChange, int) {
	// Uploaded files that are rendered are compared by content above; a container's own summary
	// of them (size, hash) would only repeat it, or differ by the stack's name in a comment.
	changedFile := map[string]bool{}
	for _, s := range []*side{a, b} {
		for _, f := range s.files {
			changedFile[f.Path] = false
		}
	}
	for _, f := range files {
		changedFile[f.Path] = true
	}
	ia, ib := index(a), index(b)
	sorted := union(ia, ib)
	var out []ResourceChange
	same := 0
	for _, k := range sorted {
		ra, inA := ia[k]
		rb, inB := ib[k]
		switch {
		case !inB:
			c := ResourceChange{Resource: k, Action: "delete", Reasons: []string{"only in " + a.Name}}
			if ra.Options["protect"] == "true" {
				c.Reasons = append(c.Reasons, "protected: `pulumi up` refuses until it is unprotected")
			}
			out = append(out, c)
		case !inA:
			out = append(out, ResourceChange{Resource: k, Action: "create", Reasons: []string{"only in " + b.Name}})
		default:
			if c, ok := change(k, ra, rb, a, b, changedFile); ok {
				out = append(out, c)
			} else {
				same++
			}
		}
	}
	return out, same
}

// index keys the declared resources by short type and name; component resources carry no inputs.
func index(s *side) map[string]deploy.Declared {
	m := map[string]deploy.Declared{}
	for _, r := range s.declared {
		if strings.HasPrefix(r.Type, tComponent) {
			continue
		}
		m[shortType(r.Type)+" "+r.Name] = r
	}
	return m
}

func shortType(t string) string {
	if rest, ok := strings.CutPrefix(t, "docker:index/"); ok {
		if _, name, ok := strings.Cut(rest, ":"); ok {
			return name
		}
	}
	return t
}

// change classifies the differences of one resource present on both sides.
func change(key string, ra, rb deploy.Declared, a, b *side, changedFile map[string]bool) (ResourceChange, bool) {
	var replacing, updating []string
	for _, k := range union(ra.Attrs, rb.Attrs) {
		if identity[k] {
			continue
		}
		va, vb := normal(a, ra.Attrs[k]), normal(b, rb.Attrs[k])
		if path, isFile := strings.CutPrefix(k, "file."); isFile {
			switch {
			case path == stacks.NginxCertPath || path == stacks.NginxKeyPath:
				// TLS material: compared (or said to be unreadable) in the notes.
				_, readA := a.tls[path]
				_, readB := b.tls[path]
				if readA != readB {
					replacing = append(replacing, "file "+path+": "+presence(readA)+" → "+presence(readB))
				}
				continue
			case changedFile[path]:
				replacing = append(replacing, "file "+path+" (diff above)")
				continue
			}
			if _, rendered := changedFile[path]; rendered {
				continue
			}
			switch {
			case va != vb && strings.Contains(va+vb, stacks.Masked):
				continue // a secret file (redis.conf): its masked rendering is compared above
			}
		}
		if va == vb {
			continue
		}
		desc := describe(k, va, vb)
		switch {
		case ra.Type != tContainer:
			replacing = append(replacing, desc)
		case noEffect[k]:
		case inPlace[k]:
			updating = append(updating, desc)
		default:
			replacing = append(replacing, desc)
		}
	}
	var optionChanges []string
	for _, k := range union(ra.Options, rb.Options) {
		if va, vb := ra.Options[k], rb.Options[k]; va != vb {
			optionChanges = append(optionChanges, fmt.Sprintf("option %s: %s → %s", k, orUnset(va), orUnset(vb)))
		}
	}
	c := ResourceChange{Resource: key}
	switch {
	case len(replacing) > 0:
		c.Action, c.Reasons = "replace", append(append(replacing, updating...), optionChanges...)
		c.Order = order(rb)
		if ra.Options["protect"] == "true" {
			c.Reasons = append(c.Reasons, "protected: `pulumi up` refuses to replace it until it is unprotected")
		}
	case len(updating) > 0:
		c.Action, c.Reasons = "update", append(updating, optionChanges...)
	case len(optionChanges) > 0:
		c.Action, c.Reasons = "options", optionChanges
	default:
		return c, false
	}
	return c, true
}

// order is how the resource would be replaced: Pulumi's default is create-first, but the Docker
// provider marks containers delete-before-replace unless the program says otherwise explicitly.
func order(r deploy.Declared) string {
	switch r.Options["deleteBeforeReplace"] {
	case "true":
		return "delete first (a gap until the new one is healthy)"
	case "false":
		return "create first (the old one stays until the new one is healthy)"
	}
	if r.Type == tContainer {
		return "delete first (the provider's default for containers)"
	}
	return "create first"
}

// normal replaces the stack's own name in container names ("isl-staging-redis"), so that two
// stacks compare by what they declare, not by what they are called.
func normal(s *side, v string) string {
	return strings.ReplaceAll(v, "isl-"+s.Stack+"-", "isl-<stack>-")
}

func presence(read bool) string {
	if read {
		return "set"
	}
	return "none"
}

// union is the keys of two maps, sorted.
func union[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func orUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

// describe says how one attribute changes; of two equally long word lists (a command line) only
// the words that differ are shown.
func describe(k, va, vb string) string {
	fa, fb := strings.Fields(va), strings.Fields(vb)
	if len(fa) > 1 && len(fa) == len(fb) {
		var parts []string
		for i := range fa {
			if fa[i] != fb[i] {
				parts = append(parts, fa[i]+" → "+fb[i])
			}
		}
		return k + ": " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%s: %s → %s", k, orNone(va), orNone(vb))
}
