package stacks

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// StackFile is the config of a Pulumi.<stack>.yaml file. Only the shape this project uses is
// understood: a top-level `config:` map of scalar values, where a secret is `key: {secure: …}` (or the
// block form that `pulumi config set --secret` writes). Anything else is an error rather than a guess.
type StackFile struct {
	Path    string
	Values  map[string]string
	Secrets map[string]bool
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

// ReadStackFile reads <dir>/Pulumi.<stack>.yaml.
func ReadStackFile(dir, stack string) (StackFile, error) {
	p := filepath.Join(dir, "Pulumi."+stack+".yaml")
	b, err := os.ReadFile(p)
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

// ParseStackFile parses the text of a stack file.
func ParseStackFile(b []byte) (StackFile, error) {
	f := StackFile{Values: map[string]string{}, Secrets: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	inConfig := false
	pending := "" // a key whose value is a nested block (expecting `secure:`)
	line := 0
	for sc.Scan() {
		line++
		raw := strings.TrimRight(sc.Text(), " \t\r")
		text := stripComment(raw)
		if strings.TrimSpace(text) == "" {
			continue
		}
		indent := len(text) - len(strings.TrimLeft(text, " "))
		if strings.HasPrefix(strings.TrimLeft(text, " "), "\t") {
			return f, fmt.Errorf("line %d: tabs are not allowed for indentation", line)
		}
		body := strings.TrimSpace(text)
		if indent == 0 {
			if pending != "" {
				return f, fmt.Errorf("line %d: %s has no value", line, pending)
			}
			k, _, ok := splitKV(body)
			if !ok {
				return f, fmt.Errorf("line %d: expected `key: value`", line)
			}
			inConfig = k == "config"
			continue
		}
		if !inConfig {
			continue // encryptionsalt, secretsprovider, …: not ours
		}
		if pending != "" && indent > 2 {
			k, v, ok := splitKV(body)
			if !ok || k != "secure" || v == "" {
				return f, fmt.Errorf("line %d: only `secure: …` may be nested under %s (structured config is not supported; use comma-separated strings)", line, pending)
			}
			f.Values[pending] = "[secret]"
			f.Secrets[pending] = true
			pending = ""
			continue
		}
		if pending != "" {
			return f, fmt.Errorf("line %d: %s has no value", line, pending)
		}
		if strings.HasPrefix(body, "- ") || body == "-" {
			return f, fmt.Errorf("line %d: lists are not supported; use comma-separated strings", line)
		}
		k, v, ok := splitKV(body)
		if !ok {
			return f, fmt.Errorf("line %d: expected `key: value`", line)
		}
		if !strings.Contains(k, ":") {
			return f, fmt.Errorf("line %d: config key %q lacks a namespace (isl:…, docker:…)", line, k)
		}
		if _, dup := f.Values[k]; dup {
			return f, fmt.Errorf("line %d: duplicate key %s", line, k)
		}
		switch {
		case v == "":
			pending = k
		case strings.HasPrefix(v, "{"):
			inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(v, "{"), "}"))
			ik, iv, ok := splitKV(inner)
			if !ok || ik != "secure" || !strings.HasSuffix(v, "}") {
				return f, fmt.Errorf("line %d: only {secure: …} maps are supported", line)
			}
			_ = iv
			f.Values[k] = "[secret]"
			f.Secrets[k] = true
		default:
			s, err := unquote(v)
			if err != nil {
				return f, fmt.Errorf("line %d: %s: %w", line, k, err)
			}
			f.Values[k] = s
		}
	}
	if pending != "" {
		return f, fmt.Errorf("%s has no value", pending)
	}
	return f, sc.Err()
}

// splitKV splits "key: value" where key may itself contain a colon ("isl:replicas: 3").
func splitKV(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i == len(s)-1 || s[i+1] == ' ') {
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), i > 0
		}
	}
	return "", "", false
}

func stripComment(s string) string {
	inS, inD := false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			if !inD {
				inS = !inS
			}
		case '"':
			if !inS {
				inD = !inD
			}
		case '#':
			if !inS && !inD && (i == 0 || s[i-1] == ' ') {
				return s[:i]
			}
		}
	}
	return s
}

func unquote(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, `"`):
		return strconv.Unquote(v)
	case strings.HasPrefix(v, `'`):
		if len(v) < 2 || !strings.HasSuffix(v, `'`) {
			return "", fmt.Errorf("unterminated quote in %s", v)
		}
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), nil
	case strings.ContainsAny(v[:1], "[{&*!|>%@`"):
		return "", fmt.Errorf("unsupported YAML value %s (quote it)", v)
	}
	return v, nil
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
