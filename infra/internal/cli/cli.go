// Package cli is the flag handling the deployment commands share: -h prints the usage on stdout
// and succeeds, a bad flag or a stray argument fails with status 2, and the repository root
// defaults to the nearest parent holding Pulumi.yaml.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/olumi/isl/stacks"
)

// NewFlagSet is a flag set whose usage is the given text followed by the flags, on stderr.
func NewFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args and fills an empty *root. It returns ok=false with the exit status when the
// command is done: 0 after -h (usage on stdout), 2 for a bad flag, an argument, or no root.
func Parse(fs *flag.FlagSet, args []string, root *string, stdout io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return 2, false
	}
	if *root == "" {
		r, err := stacks.FindRoot(".")
		if err != nil {
			fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
			return 2, false
		}
		*root = r
	}
	return 0, true
}
