// Command promote pins the image one stack runs as another's isl:image (`make promote
// FROM=staging TO=pilot`): it checks the source's last deployment succeeded and that its image is
// pinned by a registry digest, writes the digest into the target's stack file (every other line
// and comment kept), and prints the target's diff. Then review, commit, and `pulumi up` the target.
//
// Exit status: 0 promoted (or the target already runs the image), 2 refused or failed.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/olumi/isl/infra/internal/cli"
	"github.com/olumi/isl/infra/promote"
	"github.com/olumi/isl/stacks"
)

func main() {
	os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: promote [--from STACK] [--to STACK] [--state DIR] [--dry-run] [--root DIR]

Pins the image FROM runs (its registry digest, from FROM's stack outputs) as TO's isl:image and
prints TO's diff. Refuses when FROM's last deployment did not succeed or its image is not pinned
by a registry digest. State comes from the Pulumi CLI, or with --state DIR from
<stack>.outputs.json (pulumi stack output --json) and <stack>.history.json (pulumi stack history --json).

Exit status: 0 promoted (or nothing to do), 2 refused or failed.

Flags:
`

// Run is the command: parse, promote, print.
func Run(args []string, stdout, stderr io.Writer) int {
	req, state, code, ok := parseFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	res, err := promote.Run(req, state)
	if res.Report != nil {
		res.Report.WriteText(stdout, false)
		fmt.Fprintln(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "promote:", err)
		return 2
	}
	switch {
	case res.Same:
		fmt.Fprintf(stdout, "%s already runs %s: nothing to do\n", req.To, res.Image)
	case res.Written:
		fmt.Fprintf(stdout, "promoted %s (from %s, deployment %d) into %s\nnext: review and commit it, then: pulumi up --stack %s\n",
			res.Image, req.From, res.Update.Version, stacks.StackFilePath(req.Root, req.To), req.To)
	default:
		fmt.Fprintf(stdout, "dry run: %s would run %s (from %s, deployment %d); nothing written\n", req.To, res.Image, req.From, res.Update.Version)
	}
	return 0
}

func parseFlags(args []string, stdout, stderr io.Writer) (promote.Request, promote.State, int, bool) {
	var req promote.Request
	var stateDir string
	fs := cli.NewFlagSet("promote", usage, stderr)
	fs.StringVar(&req.From, "from", "staging", "the tested stack whose image is promoted")
	fs.StringVar(&req.To, "to", "pilot", "the stack whose isl:image is set")
	fs.StringVar(&req.Root, "root", "", "repository root (default: the nearest parent with Pulumi.yaml)")
	fs.StringVar(&stateDir, "state", "", "read the source's outputs and history from saved JSON files in DIR instead of the Pulumi CLI")
	fs.BoolVar(&req.DryRun, "dry-run", false, "show the result, write nothing")
	if code, ok := cli.Parse(fs, args, &req.Root, stdout); !ok {
		return req, nil, code, false
	}
	var state promote.State = promote.PulumiCLI{Root: req.Root}
	if stateDir != "" {
		state = promote.Files{Dir: stateDir}
	}
	return req, state, 0, true
}
