// Command stackdiff compares two stacks before a promotion (`make diff FROM=staging TO=pilot
// ARGS=…`): the settings that differ, a unified diff of every rendered file that differs, and what
// `pulumi up` would do to each declared resource (the program run under mocks). Secrets are
// masked.
//
// Exit status: 0 the stacks are the same, 1 they differ, 2 invalid (a bad flag, an unknown stack,
// a configuration that does not validate; with --strict also the target's deploy-time checks).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/olumi/isl/infra/internal/cli"
	"github.com/olumi/isl/infra/stackdiff"
	"github.com/olumi/isl/stacks"
)

func main() {
	os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: stackdiff [--from STACK] [--to STACK] [--all] [--strict] [--json] [--root DIR]

Compares two stacks: changed settings (--all: every setting), unified diffs of the rendered files
that differ, and what pulumi up would do to each resource. Secrets are masked.

Exit status: 0 same, 1 different, 2 invalid (bad flag, unknown stack, invalid configuration;
with --strict also missing secrets or unreadable TLS files of the target).

Flags:
`

// params are the parsed flags.
type params struct {
	from, to, root     string
	all, strict, jsonO bool
}

// Run is the command: parse, load both stacks, compare, print.
func Run(args []string, stdout, stderr io.Writer) int {
	p, code, ok := parseFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	from, to, err := loadSides(p)
	if err != nil {
		fmt.Fprintln(stderr, "stackdiff:", err)
		return 2
	}
	r, err := stackdiff.Compare(from, to, stackdiff.Options{Root: p.root, Strict: p.strict})
	if err != nil {
		fmt.Fprintln(stderr, "stackdiff:", err)
		return 2
	}
	if err := print(r, p, stdout); err != nil {
		fmt.Fprintln(stderr, "stackdiff:", err)
		return 2
	}
	return r.ExitCode()
}

// parseFlags returns the parameters, or the exit code when the command is done (-h: 0, a bad
// flag: 2).
func parseFlags(args []string, stdout, stderr io.Writer) (params, int, bool) {
	var p params
	fs := cli.NewFlagSet("stackdiff", usage, stderr)
	fs.StringVar(&p.from, "from", "staging", "source stack")
	fs.StringVar(&p.to, "to", "pilot", "target stack")
	fs.StringVar(&p.root, "root", "", "repository root (default: the nearest parent with Pulumi.yaml)")
	fs.BoolVar(&p.all, "all", false, "list every setting, not only those that differ")
	fs.BoolVar(&p.strict, "strict", false, "the target's deploy-time checks (secrets set, TLS files readable) must pass")
	fs.BoolVar(&p.jsonO, "json", false, "print the report as JSON")
	code, ok := cli.Parse(fs, args, &p.root, stdout)
	return p, code, ok
}

// loadSides reads both stack files; an unknown stack is named along with the known ones.
func loadSides(p params) (stackdiff.Side, stackdiff.Side, error) {
	var sides [2]stackdiff.Side
	for i, name := range []string{p.from, p.to} {
		f, err := stacks.ReadStackFile(p.root, name)
		if err != nil {
			return sides[0], sides[1], err
		}
		sides[i] = stackdiff.Side{Name: name, Stack: name, File: f}
	}
	return sides[0], sides[1], nil
}

func print(r stackdiff.Report, p params, w io.Writer) error {
	if p.jsonO {
		return r.WriteJSON(w)
	}
	return r.WriteText(w, p.all)
}
