package elicit

import (
	"fmt"
	"testing"
)

func benchState(b *testing.B, nvars, answers int) (*State, Context) {
	vars := make([]string, nvars)
	for i := range vars {
		vars[i] = fmt.Sprintf("v%d", i)
	}
	ctx := Context{Domain: "general", Variables: vars}
	st, err := Prepare(ctx, nil, nil, 42)
	if err != nil {
		b.Fatal(err)
	}
	for k := range answers {
		res, err := Elicit(st, ctx, 1, fmt.Sprintf("%08d", st.Answered))
		if err != nil {
			b.Fatal(err)
		}
		st, _ = st.Apply(res.Queries[0], []string{"A", "B", "indifferent"}[k%3], 0.9)
	}
	return st, ctx
}

// BenchmarkElicit10x10: /elicit for 10 variables returning 10 queries (fresh prior).
func BenchmarkElicit10x10(b *testing.B) { benchElicit(b, 10, 0, 10) }

// BenchmarkUpdate10: /update on a 2,000-particle posterior over 10 variables with 10 earlier answers:
// apply the answer, replay the posterior, summarise, and pick the 3 next queries.
func BenchmarkUpdate10(b *testing.B) { benchUpdate(b, 10, 10) }

// BenchmarkElicitLargest and BenchmarkUpdateLargest are the most a request can ask for: MaxVariables
// variables, a posterior with MaxHistory answers, MaxQueries queries. Their cost bounds how long a
// computation can hold the request's goroutine (the service runs these without a worker to abandon
// them: see service/http's computeInline).
func BenchmarkElicitLargest(b *testing.B) { benchElicit(b, MaxVariables, MaxHistory, MaxQueries) }

func BenchmarkUpdateLargest(b *testing.B) { benchUpdate(b, MaxVariables, MaxHistory) }

func benchElicit(b *testing.B, nvars, answers, queries int) {
	st, ctx := benchState(b, nvars, answers)
	c := startCPU(b)
	defer c.stop(b)
	for range b.N {
		if _, err := Elicit(st, ctx, queries, "bench000"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchUpdate(b *testing.B, nvars, answers int) {
	st, ctx := benchState(b, nvars, answers)
	res, _ := Elicit(st, ctx, 1, "bench000")
	q := res.Queries[0]
	c := startCPU(b)
	defer c.stop(b)
	for range b.N {
		s2, err := st.Apply(q, "A", 0.8)
		if err != nil {
			b.Fatal(err)
		}
		_ = Summarize(s2, "bench001")
	}
}
