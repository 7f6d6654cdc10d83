// Command stackdiff compares two stacks before a promotion (`make diff FROM=staging TO=pilot`):
// the effective configuration side by side (secrets masked), then the difference in the resources
// the Pulumi program declares for each (run under mocks: no Docker, no Pulumi service). It exits
// non-zero if the target stack fails validation (structural; with --strict also the deploy-time
// checks: secrets set, TLS files readable).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/olumi/isl/infra/deploy"
	"github.com/olumi/isl/stacks"
)

func main() {
	code, err := run(os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stackdiff:", err)
	}
	os.Exit(code)
}

const masked = "masked-secret-value"

func run(args []string, w io.Writer) (int, error) {
	fs := flag.NewFlagSet("stackdiff", flag.ContinueOnError)
	from := fs.String("from", "staging", "source stack")
	to := fs.String("to", "pilot", "target stack")
	root := fs.String("root", "", "repo root (default: nearest parent with Pulumi.yaml)")
	strict := fs.Bool("strict", false, "also apply deploy-time validation to the target (secrets, TLS files)")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if *root == "" {
		r, err := stacks.FindRoot(".")
		if err != nil {
			return 2, fmt.Errorf("find Pulumi.yaml: %w", err)
		}
		*root = r
	}
	type side struct {
		file stacks.StackFile
		cfg  stacks.Config
		err  error
		res  []deploy.Declared
		rerr error
	}
	load := func(stack string) (*side, error) {
		f, err := stacks.ReadStackFile(*root, stack)
		if err != nil {
			return nil, err
		}
		s := &side{file: f}
		s.cfg, s.err = stacks.Load(stack, f)
		if s.err == nil {
			s.err = s.cfg.Validate(stacks.Structural)
		}
		config := map[string]string{}
		var secretKeys []string
		for k, v := range f.Values {
			if f.Secrets[k] {
				v = masked
				secretKeys = append(secretKeys, k)
			}
			config[k] = v
		}
		s.res, s.rerr = deploy.RunMocked(stack, config, secretKeys, deploy.Options{Strictness: stacks.Structural, Root: *root})
		return s, nil
	}
	a, err := load(*from)
	if err != nil {
		return 2, err
	}
	b, err := load(*to)
	if err != nil {
		return 2, err
	}

	fmt.Fprintf(w, "== Effective configuration: %s → %s (* = differs) ==\n", *from, *to)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "KEY\t%s\t%s\t\n", *from, *to)
	value := func(s *side, key string, secret bool) string {
		if secret {
			if s.cfg.Secrets[key] {
				return "[secret]"
			}
			return "<not set>"
		}
		if v, ok := s.cfg.Effective[key]; ok {
			if v == "" {
				return `""`
			}
			return v
		}
		return "?"
	}
	for _, st := range append([]stacks.Setting{{Key: "docker:host"}}, stacks.Settings()...) {
		va, vb := value(a, st.Key, st.IsSecret), value(b, st.Key, st.IsSecret)
		mark := ""
		if va != vb {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Key, va, vb, mark)
	}
	tw.Flush()

	fmt.Fprintf(w, "\n== Declared resources (program under mocks) ==\n")
	for _, s := range []struct {
		name string
		sd   *side
	}{{*from, a}, {*to, b}} {
		if s.sd.rerr != nil {
			fmt.Fprintf(w, "%s: the program fails: %v\n", s.name, s.sd.rerr)
		} else {
			fmt.Fprintf(w, "%s: %s\n", s.name, inventory(s.sd.res))
		}
	}
	index := func(rs []deploy.Declared) map[string]deploy.Declared {
		m := map[string]deploy.Declared{}
		for _, r := range rs {
			m[shortType(r.Type)+" "+r.Name] = r
		}
		return m
	}
	ia, ib := index(a.res), index(b.res)
	var keys []string
	for k := range ia {
		keys = append(keys, k)
	}
	for k := range ib {
		if _, ok := ia[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	same := 0
	for _, k := range keys {
		ra, inA := ia[k]
		rb, inB := ib[k]
		switch {
		case !inB:
			fmt.Fprintf(w, "- %s (only in %s)\n", k, *from)
		case !inA:
			fmt.Fprintf(w, "+ %s (only in %s)%s\n", k, *to, brief(rb))
		default:
			d := diffAttrs(ra.Attrs, rb.Attrs)
			if len(d) == 0 {
				same++
				continue
			}
			fmt.Fprintf(w, "~ %s\n", k)
			for _, l := range d {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	fmt.Fprintf(w, "(%d resources identical)\n", same)

	fmt.Fprintf(w, "\n== Validation of %s ==\n", *to)
	failed := false
	if b.err != nil {
		failed = true
		fmt.Fprintf(w, "INVALID:\n%s\n", indent(b.err.Error()))
	} else if b.rerr != nil {
		failed = true
		fmt.Fprintf(w, "the program fails:\n%s\n", indent(b.rerr.Error()))
	} else {
		fmt.Fprintln(w, "structurally valid")
	}
	if b.err == nil {
		if warn := b.cfg.Warnings(); len(warn) > 0 {
			label := "before `pulumi up` you still need (not checked here; --strict to enforce)"
			if *strict {
				label, failed = "deploy-time checks FAIL (--strict)", true
			}
			fmt.Fprintf(w, "%s:\n%s\n", label, indent(strings.Join(warn, "\n")))
		}
	}
	if failed {
		return 1, nil
	}
	return 0, nil
}

func shortType(t string) string {
	switch {
	case strings.HasPrefix(t, "docker:index/"):
		return strings.SplitN(strings.TrimPrefix(t, "docker:index/"), ":", 2)[1]
	case strings.HasPrefix(t, "isl:deploy:"):
		return "component:" + strings.TrimPrefix(t, "isl:deploy:")
	}
	return t
}

func inventory(rs []deploy.Declared) string {
	counts := map[string]int{}
	for _, r := range rs {
		counts[shortType(r.Type)]++
	}
	var parts []string
	for k, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func brief(r deploy.Declared) string {
	var parts []string
	for _, k := range []string{"image", "memory", "hostPorts", "volumes"} {
		if v := r.Attrs[k]; v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, " ")
}

func diffAttrs(a, b map[string]string) []string {
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
	var out []string
	for _, k := range keys {
		va, vb := a[k], b[k]
		if va == vb {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s → %s", k, orNone(va), orNone(vb)))
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
