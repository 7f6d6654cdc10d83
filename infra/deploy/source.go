package deploy

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

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
