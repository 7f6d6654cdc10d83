// Package promote pins the image a tested stack runs as another stack's isl:image: build once on
// staging, promote the exact bytes to the pilot (`make promote FROM=staging TO=pilot`).
//
// What the source runs is read from its last deployment (a State: the Pulumi CLI, or saved
// `pulumi stack output --json` / `pulumi stack history --json` files). A promotion is refused when
// the source's image is not pinned by a registry digest (a tag can move; a local image id exists
// only on the source's Docker host), or when the source's last deployment did not succeed — every
// container has a healthcheck that `pulumi up` waits for, so a succeeded update means every
// container became healthy. The target's stack file gets the digest with every other line,
// comment and the encryption salt unchanged.
package promote

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/olumi/isl/infra/stackdiff"
	"github.com/olumi/isl/stacks"
)

// Update is one entry of a stack's history.
type Update struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"`   // update, refresh, destroy, …
	Result  string `json:"result"` // succeeded, failed, in-progress, not-started
	EndTime any    `json:"endTime"`
}

// State reads what a stack's deployments recorded.
type State interface {
	// Outputs are the stack's outputs (`pulumi stack output --json`).
	Outputs(stack string) (map[string]any, error)
	// History is the stack's updates (`pulumi stack history --json`), in any order.
	History(stack string) ([]Update, error)
}

// Request is one promotion.
type Request struct {
	From, To string
	Root     string // the repository root, where the stack files are
	DryRun   bool   // show the result, write nothing
}

// Result is what a promotion found and did.
type Result struct {
	Image    string            // the pinned reference promoted
	Previous string            // the target's isl:image before
	Update   Update            // the source's deployment the image comes from
	Report   *stackdiff.Report // the target before → after
	Written  bool
	Same     bool // the target already ran this image
}

// digestRef is a registry image pinned by content: name@sha256:<64 hex>.
var digestRef = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$`)

// ErrRefused marks a promotion the checks refused (as opposed to a failure to read or write).
var ErrRefused = errors.New("promotion refused")

func refuse(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

// Run promotes: check the source's last deployment, take its pinned image, set it on the target,
// show the target's diff, and write the target's stack file unless DryRun.
func Run(req Request, st State) (Result, error) {
	var res Result
	if req.From == req.To {
		return res, refuse("source and target are the same stack (%s)", req.From)
	}
	upd, err := lastDeployment(req.From, st)
	if err != nil {
		return res, err
	}
	res.Update = upd
	image, err := runningImage(req.From, st)
	if err != nil {
		return res, err
	}
	res.Image = image
	before, err := stacks.ReadStackFile(req.Root, req.To)
	if err != nil {
		return res, err
	}
	res.Previous = before.Values["isl:image"]
	if res.Previous == image {
		res.Same = true
		return res, nil
	}
	after, err := stacks.ReadStackFile(req.Root, req.To)
	if err != nil {
		return res, err
	}
	if err := after.Set("isl:image", image); err != nil {
		return res, err
	}
	after.Comment("isl:image", fmt.Sprintf("promoted from %s (deployment %d)", req.From, upd.Version))
	r, err := stackdiff.Compare(stackdiff.Side{Name: req.To + " now", Stack: req.To, File: before},
		stackdiff.Side{Name: req.To + " promoted", Stack: req.To, File: after}, stackdiff.Options{Root: req.Root})
	if err != nil {
		return res, err
	}
	res.Report = &r
	if len(r.Problems) > 0 {
		return res, refuse("%s would be invalid:\n  %s", req.To, strings.Join(r.Problems, "\n  "))
	}
	if req.DryRun {
		return res, nil
	}
	if err := after.Write(); err != nil {
		return res, err
	}
	res.Written = true
	return res, nil
}

// lastDeployment is the source's newest update or destroy; it must be an update that succeeded.
func lastDeployment(stack string, st State) (Update, error) {
	h, err := st.History(stack)
	if err != nil {
		return Update{}, fmt.Errorf("read the history of %s: %w", stack, err)
	}
	var deploys []Update
	for _, u := range h {
		if u.Kind == "update" || u.Kind == "destroy" {
			deploys = append(deploys, u)
		}
	}
	if len(deploys) == 0 {
		return Update{}, refuse("%s has never been deployed (no update in its history)", stack)
	}
	sort.Slice(deploys, func(i, j int) bool { return deploys[i].Version > deploys[j].Version })
	last := deploys[0]
	switch {
	case last.Kind == "destroy":
		return last, refuse("%s's last deployment (%d) was a destroy: nothing runs there to promote", stack, last.Version)
	case last.Result != "succeeded":
		return last, refuse("%s's last deployment (%d) did not succeed (result %q): its containers were not all healthy; fix and redeploy %s first",
			stack, last.Version, last.Result, stack)
	}
	return last, nil
}

// runningImage is the image reference the source's replicas run, pinned by digest. A stack that
// runs a prebuilt image exports it as imageName; one that builds exports the pushed image's
// repository digest as imageDigest (a local image id when it was never pushed).
func runningImage(stack string, st State) (string, error) {
	out, err := st.Outputs(stack)
	if err != nil {
		return "", fmt.Errorf("read the outputs of %s: %w", stack, err)
	}
	name, _ := out["imageName"].(string)
	digest, _ := out["imageDigest"].(string)
	for _, ref := range []string{name, digest} {
		if digestRef.MatchString(ref) {
			return ref, nil
		}
	}
	switch {
	case name == "" && digest == "":
		return "", refuse("%s's outputs name no image (imageName, imageDigest): deploy it with this program first", stack)
	case strings.HasPrefix(digest, "sha256:"):
		return "", refuse("%s runs %s, an image id that exists only on its own Docker host (the image was never pushed): set isl:imageRegistry on %s, pulumi up, then promote",
			stack, digest, stack)
	}
	return "", refuse("%s's image is not pinned by a registry digest (imageName %q, imageDigest %q): a tag can move; push it to a registry (isl:imageRegistry) or pin isl:image to name@sha256:…",
		stack, name, digest)
}
