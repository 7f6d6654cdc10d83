// Package load drives an ISL deployment with a realistic endpoint mix and judges the result against
// the pilot SLOs. It is a black-box HTTP client: nothing here imports the service.
package load

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/olumi/isl/benchmarks/payloads"
)

// SLO is the pilot's service-level objective set.
type SLO struct {
	CausalP95     time.Duration // causal/counterfactual (and the other model analyses)
	PreferenceP95 time.Duration // preference/teaching
	MinSuccess    float64       // success rate must exceed this (percent)
	Users         int           // concurrent users the pilot must carry
}

// PilotSLO is what the pilot promises (seed deployment guide, issue 6).
var PilotSLO = SLO{CausalP95: 2 * time.Second, PreferenceP95: 1500 * time.Millisecond, MinSuccess: 99.5, Users: 100}

// Sample is one finished request.
type Sample struct {
	Endpoint string
	Latency  time.Duration
	OK       bool
	Status   int    // 0 on transport errors
	Err      string // short reason when !OK
}

// EndpointStats summarises one endpoint.
type EndpointStats struct {
	Endpoint    string         `json:"endpoint"`
	Class       payloads.Class `json:"class"`
	Requests    int            `json:"requests"`
	Errors      int            `json:"errors"`
	Succeeded   int            `json:"succeeded"` // the latency figures are over these only
	SuccessRate float64        `json:"success_rate_pct"`
	P50         Millis         `json:"p50_ms"`
	P95         Millis         `json:"p95_ms"`
	P99         Millis         `json:"p99_ms"`
	Mean        Millis         `json:"mean_ms"`
	Max         Millis         `json:"max_ms"`
	RPS         float64        `json:"rps"`
	Statuses    map[string]int `json:"statuses"`
	ErrorKinds  []ErrorKind    `json:"error_kinds,omitempty"`
}

// ErrorKind is one distinct failure and how often it occurred.
type ErrorKind struct {
	Error string `json:"error"`
	Count int    `json:"count"`
}

// volatile matches the parts of an error that differ between otherwise identical failures: trace
// ids and local ephemeral ports.
var volatile = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|:[0-9]{2,5}->`)

// errorKind is the failure with its volatile parts replaced, so that one cause prints once.
func errorKind(msg string) string {
	return volatile.ReplaceAllStringFunc(msg, func(m string) string {
		if strings.HasSuffix(m, "->") {
			return ":*->"
		}
		return "…"
	})
}

// kinds counts distinct errors, most frequent first (ties by first occurrence).
func kinds(errs []string) []ErrorKind {
	idx := map[string]int{}
	var out []ErrorKind
	for _, e := range errs {
		k := errorKind(e)
		if i, ok := idx[k]; ok {
			out[i].Count++
			continue
		}
		idx[k] = len(out)
		out = append(out, ErrorKind{Error: k, Count: 1})
	}
	slices.SortStableFunc(out, func(a, b ErrorKind) int { return b.Count - a.Count })
	return out
}

// Millis marshals a duration as fractional milliseconds.
type Millis time.Duration

func (m Millis) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(m)/float64(time.Millisecond))), nil
}

func (m Millis) String() string { return fmt.Sprintf("%.1fms", float64(m)/float64(time.Millisecond)) }

// Percentile is the nearest-rank percentile (p in (0,100]) of sorted; 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Summarise groups samples by endpoint (in payloads.All order, unknown names last, by name).
func Summarise(samples []Sample, elapsed time.Duration) []EndpointStats {
	by := map[string][]Sample{}
	for _, s := range samples {
		by[s.Endpoint] = append(by[s.Endpoint], s)
	}
	classOf := map[string]payloads.Class{}
	var order []string
	for _, e := range payloads.All() {
		classOf[e.Name] = e.Class
		if _, ok := by[e.Name]; ok {
			order = append(order, e.Name)
		}
	}
	var extra []string
	for n := range by {
		if _, ok := classOf[n]; !ok {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	order = append(order, extra...)

	out := make([]EndpointStats, 0, len(order))
	for _, n := range order {
		ss := by[n]
		st := EndpointStats{Endpoint: n, Class: classOf[n], Requests: len(ss), Statuses: map[string]int{}}
		// Latency is judged on successful responses only: a 3 ms 401 or a refused connection
		// says nothing about how fast the service computes.
		lat := make([]time.Duration, 0, len(ss))
		var sum time.Duration
		var errs []string
		for _, s := range ss {
			key := fmt.Sprint(s.Status)
			if s.Status == 0 {
				key = "transport_error"
				if strings.HasPrefix(s.Err, "not sent") {
					key = "not_sent"
				}
			}
			st.Statuses[key]++
			if !s.OK {
				st.Errors++
				errs = append(errs, s.Err)
				continue
			}
			lat = append(lat, s.Latency)
			sum += s.Latency
		}
		st.ErrorKinds = kinds(errs)
		st.Succeeded = len(lat)
		if len(lat) > 0 {
			slices.Sort(lat)
			st.P50, st.P95, st.P99 = Millis(Percentile(lat, 50)), Millis(Percentile(lat, 95)), Millis(Percentile(lat, 99))
			st.Mean, st.Max = Millis(sum/time.Duration(len(lat))), Millis(lat[len(lat)-1])
		}
		st.SuccessRate = successRate(st.Requests, st.Errors)
		if elapsed > 0 {
			st.RPS = float64(st.Requests) / elapsed.Seconds()
		}
		out = append(out, st)
	}
	return out
}

func successRate(n, errs int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(n-errs) / float64(n)
}

// Check is one line of the verdict.
type Check struct {
	Name     string `json:"name"`
	Target   string `json:"target"`
	Observed string `json:"observed"`
	Pass     bool   `json:"pass"`
	// Informational checks are reported but do not fail the verdict (e.g. a run below 100 users
	// cannot demonstrate the 100-user promise, but it is not a failure either).
	Informational bool `json:"informational,omitempty"`
}

// Verdict is the SLO judgement of a run.
type Verdict struct {
	Pass   bool    `json:"pass"`
	Checks []Check `json:"checks"`
}

// Judge compares a run with slo. Every endpoint with an SLO class is checked on its P95; the overall
// success rate must exceed MinSuccess; a run without requests fails.
func Judge(stats []EndpointStats, concurrency int, slo SLO) Verdict {
	v := Verdict{Pass: true}
	add := func(c Check) {
		v.Checks = append(v.Checks, c)
		if !c.Pass && !c.Informational {
			v.Pass = false
		}
	}
	total, errs := 0, 0
	for _, s := range stats {
		total += s.Requests
		errs += s.Errors
		var limit time.Duration
		switch s.Class {
		case payloads.Causal:
			limit = slo.CausalP95
		case payloads.Preference:
			limit = slo.PreferenceP95
		default:
			continue
		}
		if s.Requests-s.Errors <= 0 {
			add(Check{Name: "p95 " + s.Endpoint, Target: "< " + limit.String(), Observed: "no successful response", Pass: false})
			continue
		}
		add(Check{Name: "p95 " + s.Endpoint, Target: "< " + limit.String(), Observed: s.P95.String() + fmt.Sprintf(" (%d ok)", s.Requests-s.Errors), Pass: time.Duration(s.P95) < limit})
	}
	if total == 0 {
		add(Check{Name: "requests", Target: "> 0", Observed: "0", Pass: false})
		return v
	}
	rate := successRate(total, errs)
	add(Check{Name: "success rate", Target: fmt.Sprintf("> %.1f%%", slo.MinSuccess), Observed: fmt.Sprintf("%.3f%% (%d/%d failed)", rate, errs, total), Pass: rate > slo.MinSuccess})
	add(Check{Name: "concurrent users", Target: fmt.Sprintf(">= %d", slo.Users), Observed: fmt.Sprint(concurrency), Pass: concurrency >= slo.Users, Informational: true})
	return v
}
