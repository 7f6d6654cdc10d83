// Package stackdiff compares two stack configurations the way a release manager reads them before
// a promotion: the settings that differ, a unified diff of every rendered file that differs
// (nginx.conf, prometheus.yml, alert rules, redis.conf, Grafana provisioning and dashboards), and
// what `pulumi up` would do to each declared resource — created, deleted, replaced (and in which
// order) or updated in place, and resource options such as protect — from running the Pulumi
// program under mocks (no Docker, no Pulumi service). Secrets are never shown.
package stackdiff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/olumi/isl/infra/deploy"
	"github.com/olumi/isl/stacks"
)

// Side is one stack configuration: a stack's file as committed, or as a promotion would leave it.
type Side struct {
	Name  string // how the report labels it ("staging", "pilot (promoted)")
	Stack string // the Pulumi stack it configures
	File  stacks.StackFile
}

// Options tune a comparison.
type Options struct {
	Root   string // repository root: Pulumi.yaml, the stack files, the build context
	Strict bool   // deploy-time checks of the target (secrets set, TLS files readable) make it invalid
}

// Row is one setting of both sides.
type Row struct {
	Key     string `json:"key"`
	From    string `json:"from"`
	To      string `json:"to"`
	Changed bool   `json:"changed"`
}

// FileChange is a rendered file that differs.
type FileChange struct {
	Name string `json:"name"`
	Path string `json:"path"` // where it goes in its container
	Diff string `json:"diff"` // unified diff
}

// ResourceChange is what `pulumi up` would do to one declared resource going from one side to the
// other.
type ResourceChange struct {
	Resource string   `json:"resource"` // "Container isl-1"
	Action   string   `json:"action"`   // create | delete | replace | update | options
	Order    string   `json:"order,omitempty"`
	Reasons  []string `json:"reasons"`
}

// Report is the comparison.
type Report struct {
	From      string           `json:"from"`
	To        string           `json:"to"`
	Config    []Row            `json:"config"`
	Files     []FileChange     `json:"files"`
	Resources []ResourceChange `json:"resources"`
	Identical int              `json:"identicalResources"`
	Notes     []string         `json:"notes"`    // plain statements: a TLS file that cannot be read here, …
	Problems  []string         `json:"problems"` // why a side is invalid (exit 2)
	Warnings  []string         `json:"warnings"` // what `pulumi up` of the target still needs
	Strict    bool             `json:"strict"`
}

// Differs reports whether the two sides differ in anything that is compared.
func (r Report) Differs() bool {
	for _, row := range r.Config {
		if row.Changed {
			return true
		}
	}
	return len(r.Files) > 0 || len(r.Resources) > 0
}

// Invalid reports whether a side is invalid, or (with Strict) the target fails deploy-time checks.
func (r Report) Invalid() bool {
	return len(r.Problems) > 0 || (r.Strict && len(r.Warnings) > 0)
}

// ExitCode is the command's status: 0 the same, 1 different, 2 invalid.
func (r Report) ExitCode() int {
	switch {
	case r.Invalid():
		return 2
	case r.Differs():
		return 1
	}
	return 0
}

// side is one loaded side.
type side struct {
	Side
	cfg      stacks.Config
	cfgErr   error
	files    map[string]stacks.File
	declared []deploy.Declared
	runErr   error
	tls      map[string]tlsFile // by upload path
}

type tlsFile struct {
	key, path string
	content   []byte
	err       error
}

// Compare compares two sides.
func Compare(from, to Side, opts Options) (Report, error) {
	r := Report{From: from.Name, To: to.Name, Strict: opts.Strict}
	a, err := load(from, opts.Root)
	if err != nil {
		return r, err
	}
	b, err := load(to, opts.Root)
	if err != nil {
		return r, err
	}
	r.Config = compareConfig(a, b)
	r.Files = compareFiles(a, b)
	r.Notes = tlsNotes(a, b)
	r.Resources, r.Identical = compareResources(a, b, r.Files)
	r.Problems, r.Warnings = validate(a, b)
	return r, nil
}

// load reads a side's configuration, renders its files and runs the program for it under mocks.
func load(s Side, root string) (*side, error) {
	sd := &side{Side: s, files: map[string]stacks.File{}, tls: map[string]tlsFile{}}
	sd.cfg, sd.cfgErr = stacks.Load(s.Stack, s.File)
	// As the program does: a relative TLS path is taken from the root, where the stack files are.
	for _, p := range []*string{&sd.cfg.Nginx.TLSCertFile, &sd.cfg.Nginx.TLSKeyFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(root, *p)
		}
	}
	if sd.cfgErr == nil {
		sd.cfgErr = sd.cfg.Validate(stacks.Structural)
	}
	if sd.cfgErr == nil {
		if err := sd.render(); err != nil {
			return nil, fmt.Errorf("render %s: %w", s.Name, err)
		}
	}
	config := map[string]string{}
	var secretKeys []string
	for k, v := range s.File.Values {
		if s.File.Secrets[k] {
			v = "masked-secret-value"
			secretKeys = append(secretKeys, k)
		}
		config[k] = v
	}
	sort.Strings(secretKeys)
	sd.declared, sd.runErr = deploy.RunMocked(s.Stack, config, secretKeys, deploy.Options{Strictness: stacks.Structural, Root: root, ImageTag: "c-<content>",
		Build: &deploy.BuildInfo{Version: "<version>", Commit: "<commit>", Date: "<date>"}})
	return sd, nil
}

// render produces the files the stack's containers receive, with the Redis password masked, and
// reads the TLS files.
func (s *side) render() error {
	b, err := stacks.Build(s.cfg, stacks.Placement{})
	if err != nil {
		return err
	}
	files, err := b.Files(stacks.Masked)
	if err != nil {
		return err
	}
	// The service user's password derives from the (masked) Redis password: mask it as well.
	derived := []byte(stacks.RedisServicePassword(stacks.Masked))
	for _, f := range files {
		f.Content = bytes.ReplaceAll(f.Content, derived, []byte(stacks.Masked))
		s.files[f.Name] = f
	}
	if s.cfg.Nginx.TLS {
		for _, t := range []tlsFile{{key: "isl:tlsCertFile", path: s.cfg.Nginx.TLSCertFile}, {key: "isl:tlsKeyFile", path: s.cfg.Nginx.TLSKeyFile}} {
			t.content, t.err = os.ReadFile(t.path)
			upload := stacks.NginxCertPath
			if t.key == "isl:tlsKeyFile" {
				upload = stacks.NginxKeyPath
			}
			s.tls[upload] = t
		}
	}
	return nil
}

// compareConfig lists every setting, docker:host first, then any other key either file sets.
func compareConfig(a, b *side) []Row {
	keys := []string{"docker:host"}
	seen := map[string]bool{"docker:host": true}
	secret := map[string]bool{}
	for _, s := range stacks.Settings() {
		keys, seen[s.Key], secret[s.Key] = append(keys, s.Key), true, s.IsSecret
	}
	var extra []string
	for _, f := range []stacks.StackFile{a.File, b.File} {
		for _, k := range f.Keys() {
			if !seen[k] {
				extra, seen[k] = append(extra, k), true
			}
		}
	}
	sort.Strings(extra)
	var rows []Row
	for _, k := range append(keys, extra...) {
		va, vb := display(a.File, k, secret[k]), display(b.File, k, secret[k])
		rows = append(rows, Row{Key: k, From: va, To: vb, Changed: va != vb})
	}
	return rows
}

// display is a value as the report shows it. Two set secrets show the same: their ciphertexts
// differ per stack whatever the plaintext, so only whether one is set can be compared.
func display(f stacks.StackFile, key string, secret bool) string {
	v, ok := f.Values[key]
	switch {
	case !ok:
		return "<not set>"
	case secret || f.Secrets[key]:
		return stacks.Masked
	case v == "":
		return `""`
	}
	return v
}

// compareFiles diffs each rendered file. The provenance comment names the stack; it is made the
// same on both sides so that only real differences show.
func compareFiles(a, b *side) []FileChange {
	sorted := union(a.files, b.files)
	var out []FileChange
	for _, n := range sorted {
		fa, fb := a.files[n], b.files[n]
		ca, cb := neutral(a, fa.Content), neutral(b, fb.Content)
		if ca == cb {
			continue
		}
		path := fb.Path
		if path == "" {
			path = fa.Path
		}
		out = append(out, FileChange{Name: n, Path: path, Diff: Unified(a.Name+"/"+n, b.Name+"/"+n, ca, cb)})
	}
	return out
}

func neutral(s *side, content []byte) string {
	origin := fmt.Sprintf("stack %s, tier %s", s.cfg.Stack, s.cfg.Tier)
	return strings.ReplaceAll(string(content), origin, "stack <stack>, tier <tier>")
}

// tlsNotes says plainly when a TLS file cannot be read here, and whether the certificates differ.
func tlsNotes(a, b *side) []string {
	var notes []string
	var order []string
	who := map[string][]string{} // the same unreadable file on both sides is said once
	for _, s := range []*side{a, b} {
		for _, p := range []string{stacks.NginxCertPath, stacks.NginxKeyPath} {
			if t, ok := s.tls[p]; ok && t.err != nil {
				n := fmt.Sprintf("%s %s cannot be read here (%v); nginx's TLS files are not compared", t.key, t.path, unwrapPath(t.err))
				if who[n] == nil {
					order = append(order, n)
				}
				who[n] = append(who[n], s.Name)
			}
		}
	}
	for _, n := range order {
		notes = append(notes, strings.Join(who[n], " and ")+": "+n)
	}
	ca, cb := a.tls[stacks.NginxCertPath], b.tls[stacks.NginxCertPath]
	if ca.err == nil && cb.err == nil && ca.content != nil && cb.content != nil && string(ca.content) != string(cb.content) {
		notes = append(notes, fmt.Sprintf("TLS certificate differs: %s sha256:%s, %s sha256:%s", a.Name, short(ca.content), b.Name, short(cb.content)))
	}
	ka, kb := a.tls[stacks.NginxKeyPath], b.tls[stacks.NginxKeyPath]
	if ka.err == nil && kb.err == nil && ka.content != nil && kb.content != nil && string(ka.content) != string(kb.content) {
		notes = append(notes, "TLS private key differs (not shown)")
	}
	return notes
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func short(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:6])
}

// validate reports why either side is invalid and what the target still needs for `pulumi up`.
func validate(a, b *side) (problems, warnings []string) {
	for _, s := range []*side{a, b} {
		switch {
		case s.cfgErr != nil:
			for _, l := range strings.Split(s.cfgErr.Error(), "\n") {
				problems = append(problems, s.Name+": "+l)
			}
		case s.runErr != nil:
			problems = append(problems, fmt.Sprintf("%s: the Pulumi program fails: %v", s.Name, s.runErr))
		}
	}
	if b.cfgErr == nil {
		warnings = b.cfg.Warnings()
	}
	return problems, warnings
}
