package load

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText prints the human report: per-endpoint table, totals and the verdict.
func (r Report) WriteText(w io.Writer) {
	model := "closed loop"
	if r.LoadModel == "open" {
		model = fmt.Sprintf("open loop at %g req/s", r.TargetRate)
	}
	fmt.Fprintf(w, "ISL load test: %s  mix=%s  payloads=%s  %s  concurrency=%d  duration=%.1fs\n", r.Host, r.Mix, r.Payloads, model, r.Concurrency, r.Seconds)
	fmt.Fprintf(w, "latency percentiles are over successful (200) responses only\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\trequests\terrors\tsuccess\trps\tp50\tp95\tp99\tmax\t")
	for _, s := range r.Endpoints {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f%%\t%.1f\t%s\t%s\t%s\t%s\t\n", s.Endpoint, s.Requests, s.Errors, s.SuccessRate, s.RPS, s.P50, s.P95, s.P99, s.Max)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntotal: %d requests, %d errors, success %.3f%%, throughput %.1f req/s\n", r.Requests, r.Errors, r.SuccessRate, r.RPS)
	for _, s := range r.Endpoints {
		for _, e := range s.ErrorKinds {
			fmt.Fprintf(w, "  error %s ×%d: %s\n", s.Endpoint, e.Count, e.Error)
		}
	}
	fmt.Fprintln(w, "\nverdict against the pilot SLOs:")
	for _, c := range r.Verdict.Checks {
		mark := "PASS"
		switch {
		case !c.Pass && c.Informational:
			mark = "INFO"
		case !c.Pass:
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %-4s %-30s target %-10s observed %s\n", mark, c.Name, c.Target, c.Observed)
	}
	if r.Verdict.Pass {
		fmt.Fprintln(w, "VERDICT: PASS")
	} else {
		fmt.Fprintln(w, "VERDICT: FAIL")
	}
}
