package deploy

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// pulumiSource adapts the Pulumi stack config to stacks.Source.
type pulumiSource struct {
	ctx      *pulumi.Context
	fileKeys []string // keys of Pulumi.<stack>.yaml, when it can be read (typo detection)
}

func (s pulumiSource) Lookup(key string) (string, bool, bool) {
	v, ok := s.ctx.GetConfig(key)
	return v, ok && s.ctx.IsConfigSecret(key), ok
}

// Keys lists the keys of the stack file: the Pulumi SDK does not enumerate config keys, but the
// stack file is where `pulumi config set` writes them, so a misspelt isl:* key is still rejected.
func (s pulumiSource) Keys() []string { return s.fileKeys }

// FindRoot returns the nearest directory at or above dir holding Pulumi.yaml (the repo root).
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
			return "", os.ErrNotExist
		}
		d = p
	}
}

func shortKey(k string) string { return strings.TrimPrefix(k, "isl:") }
