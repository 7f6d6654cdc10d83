package payloads

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// Varied returns a valid request body for e that differs with i: the worked examples are the
// shape, the sizes and values vary (DAGs of 4–24 nodes, models with 1–4 noisy inputs, 2–5
// variables, every concept and validation level), so that a load run does not measure one cached
// path through the engines. The same i always gives the same body (runs are reproducible).
// Bodiless endpoints (health) return nil; Update is built by UpdateBody.
func Varied(e Endpoint, i int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 0x15a1_0ad))
	var v any
	switch e {
	case CausalValidate:
		nodes, edges := randomDAG(rng, 4+rng.IntN(21))
		t := rng.IntN(len(nodes) - 1)
		v = map[string]any{"dag": map[string]any{"nodes": nodes, "edges": edges},
			"treatment": nodes[t], "outcome": nodes[t+1+rng.IntN(len(nodes)-t-1)]}
	case Counterfactual:
		v = randomModelRequest(rng)
	case Teach:
		vars := variables(rng, 2+rng.IntN(4))
		weights := map[string]any{}
		unc := map[string]any{}
		for _, name := range vars {
			weights[name] = normal(0.1+0.8*rng.Float64(), 0.05+0.2*rng.Float64())
			unc[name+"_weight"] = round3(0.1 + 0.8*rng.Float64())
		}
		v = map[string]any{"user_id": fmt.Sprintf("teach_user_%d", i),
			"current_beliefs": map[string]any{"value_weights": weights,
				"risk_tolerance": map[string]any{"type": "beta", "parameters": map[string]any{"alpha": 2, "beta": 2}},
				"time_horizon":   normal(12, 6), "uncertainty_estimates": unc},
			"target_concept": concepts[i%len(concepts)],
			"context":        map[string]any{"domain": "pricing", "variables": vars, "constraints": map[string]any{"budget": 1000}},
			"max_examples":   1 + rng.IntN(5)}
	case ModelValidate:
		nodes, edges := randomDAG(rng, 4+rng.IntN(21))
		req := map[string]any{"dag": map[string]any{"nodes": nodes, "edges": edges},
			"validation_level": levels[i%len(levels)]}
		if rng.IntN(2) == 0 {
			req["structural_model"] = randomModelRequest(rng)["model"]
			req["context"] = map[string]any{"domain": "pricing"}
		}
		v = req
	case TeamAlign:
		goals := []string{"speed", "quality", "revenue", "cost", "features", "stability", "innovation"}
		var persp, opts []any
		for k := range 2 + rng.IntN(4) {
			persp = append(persp, map[string]any{"role": fmt.Sprintf("role%d", k),
				"priorities":  pick(rng, goals, 1+rng.IntN(3)),
				"constraints": pick(rng, []string{"budget", "capacity", "deadline"}, 1+rng.IntN(2))})
		}
		for k := range 2 + rng.IntN(4) {
			opts = append(opts, map[string]any{"id": fmt.Sprintf("o%d", k), "name": fmt.Sprintf("Option %d", k),
				"attributes": map[string]any{"speed": []string{"fast", "slow"}[rng.IntN(2)], "quality": []string{"low", "high"}[rng.IntN(2)],
					"cost": rng.IntN(100)}})
		}
		v = map[string]any{"perspectives": persp, "options": opts}
	case Sensitivity:
		var as []any
		for k := range 1 + rng.IntN(6) {
			cv := round3(0.1 + 10*rng.Float64())
			a := map[string]any{"name": fmt.Sprintf("Assumption %d", k), "current_value": cv, "type": "parametric"}
			if rng.IntN(2) == 0 {
				a["variation_range"] = map[string]any{"min": round3(cv * 0.5), "max": round3(cv * 1.6)}
			}
			as = append(as, a)
		}
		v = map[string]any{"model": map[string]any{"type": "pricing"}, "baseline_result": 1000 + rng.IntN(100000), "assumptions": as}
	default:
		return e.Body()
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("payloads: varied %s: %v", e.Name, err)) // plain maps always encode
	}
	return b
}

// VariedElicitBody is an elicitation body for userID with 2–5 variables, one of them to be
// minimised, and 1–10 queries.
func VariedElicitBody(userID string, i int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 0xe11c17))
	vars := variables(rng, 2+rng.IntN(4))
	b, _ := json.Marshal(map[string]any{"user_id": userID, "num_queries": 1 + rng.IntN(10),
		"context": map[string]any{"domain": "pricing", "variables": vars,
			"constraints": map[string]any{"minimize": []string{vars[len(vars)-1]}}}})
	return b
}

var (
	concepts = []string{"confounding", "trade_offs", "causal_mechanism", "uncertainty", "optimization"}
	levels   = []string{"basic", "standard", "comprehensive"}
	names    = []string{"revenue", "churn", "brand", "acquisition", "retention", "cost", "satisfaction"}
)

// randomDAG draws an acyclic graph: edges only from lower to higher index.
func randomDAG(rng *rand.Rand, n int) ([]string, [][2]string) {
	nodes := make([]string, n)
	for k := range nodes {
		nodes[k] = fmt.Sprintf("V%d", k)
	}
	var edges [][2]string
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			if rng.Float64() < 2.5/float64(n) {
				edges = append(edges, [2]string{nodes[a], nodes[b]})
			}
		}
	}
	return nodes, edges
}

// randomModelRequest is a counterfactual request over a linear chain Y = c0 + Σ c·X_k + noise.
func randomModelRequest(rng *rand.Rand) map[string]any {
	k := 1 + rng.IntN(4)
	dists := map[string]any{}
	expr := fmt.Sprintf("%d", rng.IntN(1000))
	for j := range k {
		x := fmt.Sprintf("X%d", j)
		dists[x] = normal(float64(10+rng.IntN(90)), float64(1+rng.IntN(10)))
		expr += fmt.Sprintf(" + %d * %s", 1+rng.IntN(50), x)
	}
	dists["Noise"] = normal(0, float64(1+rng.IntN(100)))
	eqs := map[string]any{"Y": expr + " + Noise", "Z": "sqrt(abs(Y)) + 0.5 * X0"}
	return map[string]any{
		"model":        map[string]any{"variables": []string{"X0", "Y", "Z"}, "equations": eqs, "distributions": dists},
		"intervention": map[string]any{"X0": float64(10 + rng.IntN(90))},
		"outcome":      []string{"Y", "Z"}[rng.IntN(2)],
	}
}

func variables(rng *rand.Rand, n int) []string { return pick(rng, names, n) }

// pick returns n distinct items of from in a random order.
func pick(rng *rand.Rand, from []string, n int) []string {
	p := rng.Perm(len(from))[:min(n, len(from))]
	out := make([]string, len(p))
	for k, j := range p {
		out[k] = from[j]
	}
	return out
}

func normal(mean, std float64) map[string]any {
	return map[string]any{"type": "normal", "parameters": map[string]any{"mean": mean, "std": std}}
}

func round3(x float64) float64 { return float64(int(x*1000+0.5)) / 1000 }
