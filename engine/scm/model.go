package scm

import (
	"fmt"
	"math/rand/v2"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/report"
	"gonum.org/v1/gonum/stat/distuv"
)

// InputError is a semantic input error (→ 400 validation_error with its message).
type InputError = report.InputError

// ComputationError is the one 400 of docs/api.md#counterfactual-algorithm whose error_code is `computation_error`: the model
// produced non-finite outcome values.
type ComputationError struct{ Msg string }

func (e *ComputationError) Error() string            { return e.Msg }
func (e *ComputationError) ComputationError() string { return e.Msg }

// Distribution is docs/api.md#types Distribution.
type Distribution struct {
	Type       string             `json:"type"`
	Parameters jsonv.Map[float64] `json:"parameters"`
}

// Model is docs/api.md#types StructuralModel. Variables is never used (kept for echo/seed material).
type Model struct {
	Variables     []string                `json:"variables"`
	Equations     jsonv.Map[string]       `json:"equations"`
	Distributions jsonv.Map[Distribution] `json:"distributions"`
}

// Request is the engine view of a docs/api.md#counterfactual request. Context nil means absent/null.
type Request struct {
	Model        Model
	Intervention jsonv.Map[float64]
	Outcome      string
	Context      *jsonv.Map[float64]
}

// Options control the Monte Carlo run.
type Options struct {
	Samples int    // N; MAX_MONTE_CARLO_ITERATIONS (10000); 1..MaxSamples
	Seed    uint32 // jsonv.Seed of the validated request (docs/api.md#determinism)
	// drawAll samples every distribution, read or not: the tests' oracle for drawsUsed.
	drawAll bool
}

// pcgStream fixes the second PCG word; the seed comes from the request (docs/api.md#determinism). PCG is a specified
// algorithm in math/rand/v2, so draws are stable across Go releases.
const pcgStream = 0x49534c5f53434d31 // "ISL_SCM1"

var distParams = map[string][]string{
	"normal":      {"mean", "std"},
	"uniform":     {"min", "max"},
	"beta":        {"alpha", "beta"},
	"exponential": {"scale"},
}

// checkDistribution applies the docs/api.md#counterfactual-errors parameter checks.
func checkDistribution(name string, d Distribution) error {
	ps, ok := distParams[d.Type]
	if !ok {
		return &InputError{Msg: fmt.Sprintf("Unsupported distribution type '%s' for '%s'", d.Type, name)}
	}
	for _, p := range ps {
		if !d.Parameters.Has(p) {
			return &InputError{Msg: fmt.Sprintf("Distribution for '%s' requires parameter '%s'", name, p)}
		}
	}
	p := func(k string) float64 { v, _ := d.Parameters.Get(k); return v }
	invalid := false
	switch d.Type {
	case "normal":
		invalid = p("std") < 0
	case "exponential":
		invalid = p("scale") < 0
	case "beta":
		invalid = p("alpha") <= 0 || p("beta") <= 0
	}
	if invalid {
		return &InputError{Msg: fmt.Sprintf("Invalid parameters for distribution '%s'", name)}
	}
	return nil
}

// DistributionMean is the docs/api.md#distribution mean: normal mean, uniform (min+max)/2, beta α/(α+β), exponential scale.
func DistributionMean(d Distribution) float64 {
	p := func(k string) float64 { v, _ := d.Parameters.Get(k); return v }
	switch d.Type {
	case "normal":
		return p("mean")
	case "uniform":
		return (p("min") + p("max")) / 2
	case "beta":
		return p("alpha") / (p("alpha") + p("beta"))
	case "exponential":
		return p("scale")
	}
	return 0
}

// sample draws n values of every distribution in request order from one PCG stream (docs/api.md#counterfactual-algorithm step 1).
// used, when not nil, says which distributions' samples any run can read: the others get no
// vector (nil). Those before a used one are still drawn, into scratch, so the stream position of
// every used distribution is the same as when everything is drawn; those after the last used
// one are not drawn at all.
func sample(dists jsonv.Map[Distribution], n int, seed uint32, used []bool) [][]float64 {
	src := rand.NewPCG(uint64(seed), pcgStream)
	rng := rand.New(src)
	out := make([][]float64, len(dists))
	last := len(dists) - 1
	if used != nil {
		for last >= 0 && !used[last] {
			last--
		}
	}
	var scratch []float64
	for k, e := range dists[:last+1] {
		d := e.Value
		p := func(k string) float64 { v, _ := d.Parameters.Get(k); return v }
		var xs []float64
		if used == nil || used[k] {
			xs = make([]float64, n)
		} else {
			if scratch == nil {
				scratch = make([]float64, n)
			}
			xs = scratch
		}
		switch d.Type {
		case "normal":
			// Same arithmetic and stream as distuv.Normal{Mu, Sigma, Src}.Rand() (Z·σ+μ), without
			// its per-draw rand.New wrapper, which doubles the cost (TestSamplerMatchesDistuv).
			mu, sigma := p("mean"), p("std")
			for i := range xs {
				xs[i] = rng.NormFloat64()*sigma + mu
			}
		case "uniform":
			// As distuv.Uniform.Rand(): U·(max−min)+min.
			lo, hi := p("min"), p("max")
			for i := range xs {
				xs[i] = rng.Float64()*(hi-lo) + lo
			}
		case "beta":
			g := distuv.Beta{Alpha: p("alpha"), Beta: p("beta"), Src: src}
			for i := range xs {
				xs[i] = g.Rand()
			}
		case "exponential":
			// scale·E exactly as docs/api.md#counterfactual-algorithm words it (distuv.Exponential divides by a rate instead);
			// scale 0 gives zeros.
			s := p("scale")
			for i := range xs {
				xs[i] = s * rng.ExpFloat64()
			}
		}
		if used == nil || used[k] {
			out[k] = xs
		}
	}
	return out
}
