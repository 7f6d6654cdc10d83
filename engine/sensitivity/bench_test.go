package sensitivity

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/olumi/isl/engine/internal/benchcpu"
)

// benchRequest: 10 equations over 5 normal inputs and 3 free parameters; 20 assumptions on
// distribution parameters, means, equation constants, free parameters, do() and two that the
// model cannot use.
func benchRequest(tb testing.TB) Request {
	var eqs, dists, as []string
	for i := 1; i <= 5; i++ {
		dists = append(dists, fmt.Sprintf(`"X%d":{"type":"normal","parameters":{"mean":%d,"std":%d}}`, i, 10*i, i))
	}
	eqs = append(eqs,
		`"E1":"2.5 * X1 + a * X2"`, `"E2":"E1 + 0.3 * X3 ** 2"`, `"E3":"sqrt(abs(E2)) + b * X4"`,
		`"E4":"max(E3, 10) - 0.1 * X5"`, `"E5":"E4 * 1.2 + E1"`, `"E6":"log(1 + abs(E5)) * 100"`,
		`"E7":"E6 + c * E2"`, `"E8":"min(E7, 5000) + 3"`, `"E9":"E8 - 0.5 * E3"`, `"Y":"E9 + 0.01 * E5 - 400"`)
	for i := 1; i <= 5; i++ {
		as = append(as,
			fmt.Sprintf(`{"name":"X%d.mean","current_value":%d,"type":"parametric"}`, i, 10*i),
			fmt.Sprintf(`{"name":"X%d.std","current_value":%d,"type":"distributional","variation_range":{"min":%d,"max":%d}}`, i, i, i/2, 2*i))
	}
	as = append(as,
		`{"name":"a","current_value":1.5,"type":"parametric"}`, `{"name":"b","current_value":-2,"type":"parametric"}`,
		`{"name":"c","current_value":0.2,"type":"parametric","variation_range":{"min":0,"max":1}}`,
		`{"name":"E2[1]","current_value":0.3,"type":"parametric"}`, `{"name":"E5[1]","current_value":1.2,"type":"parametric"}`,
		`{"name":"E6[2]","current_value":100,"type":"parametric"}`, `{"name":"E4","current_value":80,"type":"structural"}`,
		`{"name":"Y[1]","current_value":0.01,"type":"parametric"}`,
		`{"name":"Market timing","current_value":"Q3","type":"structural"}`,
		`{"name":"Effect risk ratio","current_value":1.8,"type":"effect_ratio","variation_range":{"min":1.2,"max":2.6}}`)
	body := fmt.Sprintf(`{"model":{"variables":[],"equations":{%s},"distributions":{%s}},"baseline_result":450,"assumptions":[%s]}`,
		strings.Join(eqs, ","), strings.Join(dists, ","), strings.Join(as, ","))
	return decode(tb, body)
}

func TestBenchRequestUsesModel(t *testing.T) {
	r, err := Analyze(context.Background(), benchRequest(t), Options{Samples: 1000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	model := 0
	for _, a := range r.Assumptions {
		if a.Method == "model" {
			model++
		}
	}
	if len(r.Assumptions) != 20 || model != 18 {
		t.Fatalf("%d assumptions, %d model-linked", len(r.Assumptions), model)
	}
}

func BenchmarkSensitivity20x10(b *testing.B) {
	req := benchRequest(b)
	for _, n := range []int{1000, 2000, 10000} {
		b.Run(fmt.Sprintf("samples=%d", n), func(b *testing.B) {
			var runs int
			c0 := benchcpu.Now()
			for i := 0; i < b.N; i++ {
				r, err := Analyze(context.Background(), req, Options{Samples: n, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				runs = r.ModelRun.Runs
			}
			benchcpu.Report(b, c0, b.N)
			b.ReportMetric(float64(runs), "model-runs/op")
		})
	}
}
