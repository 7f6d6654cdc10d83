// Package scm evaluates structural causal models (docs/api.md#counterfactual): a whitelisted equation language
// compiled to a vectorised evaluator, Monte Carlo sampling with a per-request RNG, do()-interventions,
// and Pearl's abduction–action–prediction for context observations.
//
// Equations (docs/api.md#equation-grammar, docs/api.md#limits). expr-lang's parser builds the AST; nothing is ever executed by expr. A scanner
// first admits only the grammar's tokens and parses number literals itself (so `0x10`, `1_000`,
// strings, brackets, `^`, `%`, `?`, `==`, `;` never reach expr), then the AST is walked with a strict
// whitelist (literals, declared identifiers, + - * / **, unary ±, sqrt exp log abs max min and their
// np.* forms with exact arity; expr parses np.f(x) as a method call on the identifier np). Caps:
// 1 KiB per equation, 200 equations, N ≤ 100000, AST depth and parenthesis nesting ≤ 256,
// ≤ 1024 nodes. expr's precedence matches the grammar (-x**2 = -(x**2), ** right-associative).
//
// Evaluation (docs/api.md#counterfactual-algorithm). Draws: one PCG stream (math/rand/v2, seed = request seed, fixed stream
// constant), N draws per distribution in request order; normal/uniform inline distuv's arithmetic,
// beta uses distuv.Beta, exponential is scale·E. Interventions bind constants; unbound equations run
// in Kahn order (ties by request order) over []float64 columns with IEEE semantics.
//
// Context (docs/api.md#counterfactual-context). Each context entry is an observation of the factual world (no intervention):
//   - an exogenous (distribution-only) or unmodelled variable is fixed to the value;
//   - a variable defined by an equation is explained by abduction when its equation contains exactly
//     one eligible exogenous variable U (sampled, not observed, not intervened, not already abducted,
//     reaching the equation only directly and not upstream of an earlier abducted observation) in
//     which the equation is affine with non-zero slope for every sample (checked numerically at
//     probe points with the other inputs at their factual values, and by plugging the solution
//     back in): U := (observed − a)/b per sample. The counterfactual world then uses the abducted
//     U and re-evaluates the observed variable under the intervention;
//   - otherwise (no or several noise terms, non-affine, an input without factual value such as a
//     variable set only by the intervention, cyclic equations) the entry is an override (do), as in
//     the original. Result.Context reports the treatment of every entry; technical_basis says it too.
//
// Attribution and robustness (docs/api.md#counterfactual-attribution). Source impact = Var(y) − Var(y | input at its distribution
// mean), re-run with the same draws for all other inputs, clamped at 0; 0 for inputs bound by
// context or intervention (unless abduction read their factual samples), defined by an equation, or
// abducted. Robustness perturbs each numeric literal of an equation by ×0.7 and ×1.3, one literal at
// a time (one-at-a-time design; scaling all literals of an equation together would move a linear
// equation's output by exactly 30% and label every simple model fragile); an equation's impact is
// the largest |Δ median|, a non-finite perturbed outcome counts as |pe|. Re-runs are incremental and
// capped in work (see BENCHMARKS.md); the request context is checked between them. Past a hard
// budget (about a second of work: huge models with thousands of literals) robustness falls back to
// perturbing each equation's literals together and, if needed, to fewer draws, so that any valid
// model answers instead of running into the request deadline.
package scm
