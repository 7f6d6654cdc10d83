package stacks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Masked is how a secret value appears wherever a stack file's values are shown.
const Masked = "[secret]"

// StackFile is a Pulumi.<stack>.yaml file. It reads every form Pulumi writes: plain, quoted and
// block scalars, secrets (`key: {secure: v1:…}` or the block form), lists and objects (e.g.
// docker:sshOpts), the numbers and booleans that `pulumi config set` quotes, and the top-level
// encryptionsalt / secretsprovider / encryptedkey. Values are what the Pulumi SDK hands the program:
// a scalar as its text, a list or object as its JSON encoding, so the diff and the program agree.
type StackFile struct {
	Path    string
	Values  map[string]string // full key ("isl:replicas") → value; secrets are Masked
	Secrets map[string]bool   // keys whose value is, or contains, a `secure:` ciphertext
	Objects map[string]bool   // keys whose value is a list or an object (JSON in Values)

	// EncryptionSalt is the passphrase provider's salt (`encryptionsalt:`), kept as written.
	EncryptionSalt string

	doc *yaml.Node // the parsed document, edited in place by Set so comments survive
}

// Lookup implements Source.
func (f StackFile) Lookup(key string) (string, bool, bool) {
	v, ok := f.Values[key]
	return v, f.Secrets[key], ok
}

// Keys implements Source.
func (f StackFile) Keys() []string {
	ks := make([]string, 0, len(f.Values))
	for k := range f.Values {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// StackFilePath is where the config of a stack lives.
func StackFilePath(dir, stack string) string {
	return filepath.Join(dir, "Pulumi."+stack+".yaml")
}

// ReadStackFile reads <dir>/Pulumi.<stack>.yaml. A stack without a file gets an error that names
// the stacks that do exist.
func ReadStackFile(dir, stack string) (StackFile, error) {
	p := StackFilePath(dir, stack)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		known, _ := KnownStacks(dir)
		return StackFile{}, fmt.Errorf("read stack file: no stack %q (no %s); known stacks: %s", stack, filepath.Base(p), strings.Join(known, ", "))
	}
	if err != nil {
		return StackFile{}, fmt.Errorf("read stack file: %w", err)
	}
	f, err := ParseStackFile(b)
	if err != nil {
		return StackFile{}, fmt.Errorf("parse %s: %w", p, err)
	}
	f.Path = p
	return f, nil
}

// KnownStacks lists the stacks that have a Pulumi.<stack>.yaml in dir.
func KnownStacks(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range m {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "Pulumi."), ".yaml"))
	}
	sort.Strings(out)
	return out, nil
}

// ParseStackFile parses the text of a stack file.
func ParseStackFile(b []byte) (StackFile, error) {
	f := StackFile{Values: map[string]string{}, Secrets: map[string]bool{}, Objects: map[string]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return f, err
	}
	if doc.Kind == 0 { // empty file: what `pulumi stack init` leaves before any `config set`
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	f.doc = &doc
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return f, fmt.Errorf("line %d: a stack file is a mapping (config:, encryptionsalt:, …)", top.Line)
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "encryptionsalt":
			f.EncryptionSalt = v.Value
		case "config":
			if err := f.parseConfig(v); err != nil {
				return f, err
			}
		}
	}
	return f, nil
}

func (f *StackFile) parseConfig(m *yaml.Node) error {
	if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
		return nil // `config:` with nothing under it
	}
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: config: must be a mapping of key: value", m.Line)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn, vn := m.Content[i], m.Content[i+1]
		if kn.Kind != yaml.ScalarNode || kn.Value == "" {
			return fmt.Errorf("line %d: a config key must be a plain name such as isl:replicas", kn.Line)
		}
		key := kn.Value
		if !strings.Contains(key, ":") {
			// Pulumi reads a key without a namespace as the project's own.
			key = Project + ":" + key
		}
		if _, dup := f.Values[key]; dup {
			return fmt.Errorf("line %d: duplicate key %s", kn.Line, key)
		}
		var raw any
		if err := vn.Decode(&raw); err != nil {
			return fmt.Errorf("line %d: %s: %w", vn.Line, key, err)
		}
		text, secret, object, err := configText(raw)
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", vn.Line, key, err)
		}
		if secret {
			text = Masked
		}
		f.Values[key], f.Secrets[key], f.Objects[key] = text, secret, object
	}
	return nil
}

// configText turns a decoded config value into the string the Pulumi SDK gives the program
// (ctx.GetConfig): strings as they are, numbers and booleans in their JSON spelling (so `1.0`
// unquoted arrives as "1"), lists and objects as JSON with secrets as {"secure": …}. It also reports
// whether the value is, or contains, a secret.
func configText(v any) (text string, secret, object bool, err error) {
	switch x := v.(type) {
	case nil:
		// Pulumi would hand the program the text "null": almost surely an unintended empty value.
		return "", false, false, errors.New(`empty value (null); write "" for an empty string`)
	case string:
		return x, false, false, nil
	case time.Time:
		return x.String(), false, false, nil // an unquoted date: Pulumi passes Go's time.Time text
	case bool, int, int64, uint64, float64:
		b, err := json.Marshal(x)
		return string(b), false, false, err
	case map[string]any:
		if c, ok := secure(x); ok {
			return c, true, false, nil
		}
		b, err := json.Marshal(x)
		return string(b), containsSecure(x), true, err
	case []any:
		b, err := json.Marshal(x)
		return string(b), containsSecure(x), true, err
	}
	return "", false, false, fmt.Errorf("unsupported value of type %T", v)
}

// secure reports whether m is a secret, {secure: <ciphertext>}.
func secure(m map[string]any) (string, bool) {
	if len(m) != 1 {
		return "", false
	}
	c, ok := m["secure"].(string)
	return c, ok
}

func containsSecure(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := secure(x); ok {
			return true
		}
		for _, e := range x {
			if containsSecure(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if containsSecure(e) {
				return true
			}
		}
	}
	return false
}

// Set sets a plain (non-secret) string value, as `pulumi config set key value` would, editing the
// parsed document in place: every other key, comment and the encryption salt stay as they were.
func (f *StackFile) Set(key, value string) error {
	if f.doc == nil {
		return errors.New("set: stack file not parsed")
	}
	top := f.doc.Content[0]
	var cfg *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "config" {
			cfg = top.Content[i+1]
		}
	}
	if cfg == nil || cfg.Kind != yaml.MappingNode {
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if cfg == nil {
			top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "config"}, m)
		} else {
			*cfg = *m
		}
		cfg = m
	}
	// Plain style: the encoder quotes the value only where YAML would read it as something other
	// than a string ("true", "3", "").
	node := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
	for i := 0; i+1 < len(cfg.Content); i += 2 {
		if k := cfg.Content[i].Value; k == key || Project+":"+k == key {
			old := cfg.Content[i+1]
			node.LineComment, node.HeadComment, node.FootComment = old.LineComment, old.HeadComment, old.FootComment
			cfg.Content[i+1] = node
			f.setValue(key, value)
			return nil
		}
	}
	cfg.Content = append(cfg.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, node)
	f.setValue(key, value)
	return nil
}

// Comment sets the end-of-line comment of a key's value (a record of why it has that value, such
// as which deployment a promoted image came from). A key that is not set is left alone.
func (f *StackFile) Comment(key, text string) {
	if cfg := f.config(); cfg != nil {
		for i := 0; i+1 < len(cfg.Content); i += 2 {
			if k := cfg.Content[i].Value; k == key || Project+":"+k == key {
				cfg.Content[i+1].LineComment = "# " + text
			}
		}
	}
}

// config is the document's config mapping, if any.
func (f *StackFile) config() *yaml.Node {
	if f.doc == nil {
		return nil
	}
	top := f.doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "config" && top.Content[i+1].Kind == yaml.MappingNode {
			return top.Content[i+1]
		}
	}
	return nil
}

func (f *StackFile) setValue(key, value string) {
	f.Values[key], f.Secrets[key], f.Objects[key] = value, false, false
}

// Bytes renders the (possibly edited) document: two-space indentation, as Pulumi writes it.
func (f StackFile) Bytes() ([]byte, error) {
	if f.doc == nil {
		return nil, errors.New("stack file not parsed")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f.doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	// The encoder does not preserve every form exactly (a null inside a flow mapping comes back as
	// an empty string): refuse to write a file that would no longer mean what it meant.
	again, err := ParseStackFile(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("re-encoded stack file does not parse: %w", err)
	}
	for _, k := range append(f.Keys(), again.Keys()...) {
		if again.Values[k] != f.Values[k] || again.Secrets[k] != f.Secrets[k] {
			return nil, fmt.Errorf("re-encoding the stack file would change %s (%q → %q): edit it by hand", k, f.Values[k], again.Values[k])
		}
	}
	return buf.Bytes(), nil
}

// Write saves the document back to Path atomically (a temporary file renamed over it), keeping
// the file's mode.
func (f StackFile) Write() error {
	b, err := f.Bytes()
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(f.Path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".stackfile-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return nil
}

// FindRoot returns the nearest directory at or above dir that holds Pulumi.yaml: the repository
// root, where the stack files live and what the image build context is relative to.
func FindRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "Pulumi.yaml")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", fmt.Errorf("no Pulumi.yaml in %s or its parents", dir)
		}
		d = p
	}
}
