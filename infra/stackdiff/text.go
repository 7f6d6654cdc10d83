package stackdiff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report for a person: changed settings only unless all, aligned; then the
// file diffs, the resource changes, notes and validation.
func (r Report) WriteText(w io.Writer, all bool) error {
	ew := &errWriter{w: w}
	r.writeConfig(ew, all)
	r.writeFiles(ew)
	r.writeResources(ew)
	if len(r.Notes) > 0 {
		fmt.Fprintf(ew, "\nNotes\n")
		for _, n := range r.Notes {
			fmt.Fprintf(ew, "  %s\n", n)
		}
	}
	r.writeValidation(ew)
	return ew.err
}

func (r Report) writeConfig(w io.Writer, all bool) {
	changed := 0
	for _, row := range r.Config {
		if row.Changed {
			changed++
		}
	}
	hint := " (--all shows every key)"
	if all {
		hint = ""
	}
	fmt.Fprintf(w, "Configuration %s → %s: %d of %d settings differ%s\n", r.From, r.To, changed, len(r.Config), hint)
	if changed == 0 && !all {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "   \tKEY\t%s\t%s\n", r.From, r.To)
	for _, row := range r.Config {
		mark := " "
		if row.Changed {
			mark = "~"
		} else if !all {
			continue
		}
		fmt.Fprintf(tw, " %s \t%s\t%s\t%s\n", mark, row.Key, row.From, row.To)
	}
	tw.Flush()
}

func (r Report) writeFiles(w io.Writer) {
	if len(r.Files) == 0 {
		fmt.Fprintf(w, "\nRendered files: all the same\n")
		return
	}
	names := make([]string, len(r.Files))
	for i, f := range r.Files {
		names[i] = f.Name
	}
	fmt.Fprintf(w, "\nRendered files: %d differ (%s)\n", len(r.Files), strings.Join(names, ", "))
	for _, f := range r.Files {
		fmt.Fprint(w, f.Diff)
	}
}

func (r Report) writeResources(w io.Writer) {
	count := map[string]int{}
	for _, c := range r.Resources {
		count[c.Action]++
	}
	fmt.Fprintf(w, "\nResources (%s → %s, the program under mocks): %d replaced, %d updated in place, %d created, %d deleted, %d option changes, %d identical\n",
		r.From, r.To, count["replace"], count["update"], count["create"], count["delete"], count["options"], r.Identical)
	if len(r.Resources) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Resources {
		action := c.Action
		if c.Order != "" {
			action += ", " + c.Order
		}
		fmt.Fprintf(tw, " %s \t%s\t%s\n", symbol[c.Action], c.Resource, action)
		for _, why := range c.Reasons {
			fmt.Fprintf(tw, "   \t\t  %s\n", why)
		}
	}
	tw.Flush()
}

var symbol = map[string]string{"create": "+", "delete": "-", "replace": "±", "update": "~", "options": "!"}

func (r Report) writeValidation(w io.Writer) {
	fmt.Fprintf(w, "\nValidation\n")
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "  INVALID:\n")
		for _, p := range r.Problems {
			fmt.Fprintf(w, "    %s\n", p)
		}
	} else {
		fmt.Fprintf(w, "  %s and %s are structurally valid\n", r.From, r.To)
	}
	if len(r.Warnings) > 0 {
		label := "before `pulumi up` of " + r.To + " you still need (make diff ARGS=--strict enforces):"
		if r.Strict {
			label = "deploy-time checks of " + r.To + " FAIL (--strict):"
		}
		fmt.Fprintf(w, "  %s\n", label)
		for _, l := range r.Warnings {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}

// WriteJSON prints the report for tooling (empty lists as [], never null).
func (r Report) WriteJSON(w io.Writer) error {
	for _, l := range []*[]string{&r.Notes, &r.Problems, &r.Warnings} {
		if *l == nil {
			*l = []string{}
		}
	}
	if r.Files == nil {
		r.Files = []FileChange{}
	}
	if r.Resources == nil {
		r.Resources = []ResourceChange{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Report
		Differs  bool `json:"differs"`
		Invalid  bool `json:"invalid"`
		ExitCode int  `json:"exitCode"`
	}{r, r.Differs(), r.Invalid(), r.ExitCode()})
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
