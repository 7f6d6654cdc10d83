// Package elicit learns a user's value weights from pairwise choices (docs/api.md#elicit, docs/api.md#update; issue 3, docs/api.md#elicit-model).
//
// # Model
//
// Weights. A user's preferences are a weight vector w over the decision variables V with w_v ≥ 0 and
// Σ w_v = 1 (the probability simplex). Directions (more/less is better) are carried separately, so a
// weight is a pure importance and can be non-negative; the overall scale of a utility is not
// identifiable from choices (multiplying every weight by k only rescales the choice noise), so fixing
// Σ w = 1 removes that unidentifiable degree of freedom. The contract's prior (each weight normal with
// mean 1/|V|) already lives on that scale. Supplied distributions describe raw importances θ_v; a
// particle draws θ_v ≥ 0 from each (truncated at zero) and is normalised, w = θ/Σθ.
//
// Utility. Scenario outcomes are expressed as relative changes from a per-variable baseline
// (r_v = (x_v − base_v)/scale_v, scale_v = |base_v| or 1 when the baseline is 0), signed by the
// variable's direction, so that "revenue +10 %" and "churn −10 %" are comparable. The utility
// difference of a query is ΔU(w) = |V| · Σ_v w_v·c_v where c_v is the direction-signed relative change
// of A minus B; the factor |V| makes an average weight 1 whatever the number of variables.
//
// Choice likelihood. Davidson's extension of Bradley–Terry (logistic) with ties: with
// z = β·c·ΔU (β = Rationality, c = the answer's confidence ∈ [0,1] acting as an inverse temperature)
//
//	P(A) = e^{z/2}/D,  P(B) = e^{−z/2}/D,  P(indifferent) = ν/D,  D = e^{z/2} + e^{−z/2} + ν.
//
// Without ties this is exactly the logistic σ(z). "indifferent" is most likely when ΔU ≈ 0, so it
// moves the posterior towards weights that make the two options equal; c = 0 makes every answer
// uninformative.
//
// Posterior. A weighted particle set (Particles = 2000) drawn from the prior with a deterministic RNG
// (PCG seeded from the request seed, docs/api.md#determinism). Each answer multiplies the weights by its likelihood; when
// the effective sample size drops below half, the particles are resampled (systematic) and jittered
// with the Liu–West kernel (shrinkage a = 0.95, which keeps the first two moments of every weight;
// negative draws are reflected and rows renormalised onto the simplex).
//
// Storage. The State that is stored per user is not the particle cloud (2000 × 50 float64 = 800 KB)
// but its generator: the seed, the prior, the directions and the answer history (direction-signed
// coefficients of each answered query). Replaying the history regenerates the exact same posterior
// (the RNG is the only source of randomness and replay order is fixed), costs O(N·answers) plus the
// occasional resample, and keeps the stored document at a few KB. History is capped at MaxHistory
// answers (the oldest answer is forgotten first). Re-answering a query id replaces its earlier answer,
// so a client retry of /update never counts twice. Query ids are query_{k:03d}_{h8} (docs/api.md#query-ids) where h8
// also covers the number of answers applied so far once it is > 0 (QueryHash), so queries issued
// after an answer never collide with earlier ones.
//
// Query selection. Candidates are pairs of the caller's own variables: option A improves v_i by p,
// option B improves v_j by q, for ten (p, q) levels (ratios from 1/4 to 4), so each candidate tests
// whether w_i/w_j exceeds q/p. Baselines come from numeric constraints (current_<v>, baseline_<v>,
// <v>, or an object under "current"/"baseline"/"baselines") and default to an index of 100. Each
// candidate is scored by the mutual information I(answer; w) in nats under the current posterior
// (estimated on a 500-particle systematic subsample, answers with confidence 1). The returned queries
// are the highest scoring, one per variable pair before any pair is repeated (the top-n of a ranked
// list would otherwise ask near-identical questions about the same pair); stable order on ties.
//
// Directions. From context.constraints, never from names. Accepted forms (case-insensitive words):
//
//	{"minimize": ["churn", "cost"], "maximize": "revenue"}     lists (or one name) under a direction word
//	{"churn": "minimize"} or {"churn_direction": "lower_is_better"}
//	{"directions": {"churn": "less", "revenue": "more"}}       also "direction"
//
// Less-is-better words: minimize, minimise, min, lower, less, decrease, reduce, lower_is_better,
// less_is_better, smaller_is_better. More-is-better words: maximize, maximise, max, higher, more,
// increase, higher_is_better, more_is_better, larger_is_better. A variable named with both directions
// is a 400. A variable no constraint mentions keeps the direction of the stored posterior, else it is
// "more is better" (the contract's original convention).
//
// Uncertainty. uncertainty_estimates[v_weight] = clamp(u0_v · sd_post(w_v)/sd_prior(w_v), 0, 1): the
// supplied (or default 0.8) uncertainty scaled by how much the posterior standard deviation of the
// normalised weight has shrunk relative to the prior particle cloud.
//
// Stopping rule. ready_for_recommendations holds when the expected loss of acting on the current top
// priority, E[max_v w_v − w_v̂] with v̂ = argmax posterior mean, is at most 5 % of E[max_v w_v].
package elicit
