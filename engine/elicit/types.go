package elicit

import (
	"math"

	"github.com/olumi/isl/engine/jsonv"
	"github.com/olumi/isl/engine/report"
)

// InputError is a semantic input error (→ 400 validation_error with its message).
type InputError = report.InputError

var inputErr = report.Inputf

// Limits (docs/api.md#limits).
const (
	MaxVariables = 50
	MaxQueries   = 10
	// MaxBase bounds a baseline's magnitude: improved by the largest level (+40 %) it stays below MaxFloat64.
	MaxBase = 1e308
)

// Distribution is the contract's Distribution (docs/api.md#types).
type Distribution struct {
	Type       string             `json:"type"`
	Parameters jsonv.Map[float64] `json:"parameters"`
}

// Beliefs is the contract's UserBeliefModel (docs/api.md#types).
type Beliefs struct {
	ValueWeights         jsonv.Map[Distribution] `json:"value_weights"`
	RiskTolerance        Distribution            `json:"risk_tolerance"`
	TimeHorizon          Distribution            `json:"time_horizon"`
	UncertaintyEstimates jsonv.Map[float64]      `json:"uncertainty_estimates"`
}

// Context is the contract's DecisionContext (docs/api.md#types). Constraints is nil for JSON null.
type Context struct {
	Domain      string       `json:"domain"`
	Variables   []string     `json:"variables"`
	Constraints *jsonv.Value `json:"constraints"`
}

// Scenario is one option of a query.
type Scenario struct {
	Description string             `json:"description"`
	Outcomes    jsonv.Map[float64] `json:"outcomes"`
	TradeOffs   []string           `json:"trade_offs"`
}

// Query is the contract's CounterfactualQuery.
type Query struct {
	ID              string   `json:"id"`
	Question        string   `json:"question"`
	ScenarioA       Scenario `json:"scenario_a"`
	ScenarioB       Scenario `json:"scenario_b"`
	InformationGain float64  `json:"information_gain"`
}

// IssuedQuery is what the service stores per issued query: the public query plus the
// direction-signed relative change of A minus B per variable, which is all /update needs.
type IssuedQuery struct {
	Query
	Coef jsonv.Map[float64] `json:"coef"`
}

// Explanation is the contract's explanation object.
type Explanation = report.Explanation

// Strategy is the query strategy block of /elicit.
type Strategy struct {
	Type       string   `json:"type"`
	Rationale  string   `json:"rationale"`
	FocusAreas []string `json:"focus_areas"`
}

// DistMean is the distribution mean of docs/api.md#types (docs/api.md#distribution): normal mean, uniform midpoint, beta α/(α+β),
// exponential scale; other types use parameters.mean, else 0.5.
func DistMean(d Distribution) float64 {
	p := d.Parameters
	get := func(k string) float64 { v, _ := p.Get(k); return v }
	switch d.Type {
	case "normal":
		return get("mean")
	case "uniform":
		return (get("min") + get("max")) / 2
	case "beta":
		a, b := get("alpha"), get("beta")
		if a+b > 0 {
			return a / (a + b)
		}
		return 0.5
	case "exponential":
		return get("scale")
	}
	if m, ok := p.Get("mean"); ok {
		return m
	}
	return 0.5
}

// ValidateDistribution checks the parameters a distribution type needs (docs/api.md#counterfactual-errors messages) and that they
// are finite and in range. name is the variable the messages mention.
func ValidateDistribution(name string, d Distribution) error {
	var need []string
	switch d.Type {
	case "normal":
		need = []string{"mean", "std"}
	case "uniform":
		need = []string{"min", "max"}
	case "beta":
		need = []string{"alpha", "beta"}
	case "exponential":
		need = []string{"scale"}
	}
	for _, k := range need {
		if _, ok := d.Parameters.Get(k); !ok {
			return inputErr("Distribution for '%s' requires parameter '%s'", name, k)
		}
	}
	for _, e := range d.Parameters {
		if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
			return inputErr("Invalid parameters for distribution '%s'", name)
		}
	}
	get := func(k string) float64 { v, _ := d.Parameters.Get(k); return v }
	bad := false
	switch d.Type {
	case "normal":
		bad = get("std") < 0
	case "uniform":
		bad = get("min") > get("max")
	case "beta":
		bad = get("alpha") <= 0 || get("beta") <= 0
	case "exponential":
		bad = get("scale") < 0
	}
	if bad {
		return inputErr("Invalid parameters for distribution '%s'", name)
	}
	return nil
}

// ValidateBeliefs applies docs/api.md#limits and docs/api.md#elicit to a supplied UserBeliefModel.
func ValidateBeliefs(b *Beliefs) error {
	if len(b.UncertaintyEstimates) == 0 {
		return inputErr("current_beliefs.uncertainty_estimates must not be empty")
	}
	return ValidateBeliefValues(b)
}

// ValidateBeliefValues is ValidateBeliefs without the non-empty uncertainty rule (docs/api.md#elicit is /elicit's).
func ValidateBeliefValues(b *Beliefs) error {
	if len(b.ValueWeights) > MaxVariables {
		return inputErr("current_beliefs.value_weights must contain at most %d variables", MaxVariables)
	}
	seen := map[string]bool{}
	for _, e := range b.ValueWeights {
		if e.Key == "" {
			return inputErr("current_beliefs.value_weights must not contain an empty variable name")
		}
		if seen[e.Key] {
			return inputErr("current_beliefs.value_weights contains duplicate variable '%s'", e.Key)
		}
		seen[e.Key] = true
		if err := ValidateDistribution(e.Key, e.Value); err != nil {
			return err
		}
	}
	if err := ValidateDistribution("risk_tolerance", b.RiskTolerance); err != nil {
		return err
	}
	if err := ValidateDistribution("time_horizon", b.TimeHorizon); err != nil {
		return err
	}
	if len(b.UncertaintyEstimates) > 2*MaxVariables+2 {
		return inputErr("current_beliefs.uncertainty_estimates must contain at most %d entries", 2*MaxVariables+2)
	}
	for _, e := range b.UncertaintyEstimates {
		if !(e.Value >= 0 && e.Value <= 1) {
			return inputErr("current_beliefs.uncertainty_estimates['%s'] must be between 0 and 1", e.Key)
		}
	}
	return nil
}

// ValidateContext applies docs/api.md#elicit and docs/api.md#limits to a DecisionContext.
func ValidateContext(c Context) error {
	if len(c.Variables) == 0 {
		return inputErr("context.variables must contain at least one variable")
	}
	if len(c.Variables) > MaxVariables {
		return inputErr("context.variables must contain at most %d variables", MaxVariables)
	}
	seen := map[string]bool{}
	for _, v := range c.Variables {
		if v == "" {
			return inputErr("context.variables must not contain an empty variable name")
		}
		if seen[v] {
			return inputErr("context.variables contains duplicate variable '%s'", v)
		}
		seen[v] = true
	}
	if _, err := parseDirections(c.Constraints, c.Variables); err != nil {
		return err
	}
	return nil
}

// validateBases rejects baselines a query cannot be built on: scenario values are the baseline
// improved by up to 40 %, so a baseline near the float64 limit would overflow to ±Inf, which no
// JSON response can carry. (Elicitation only: teaching does not build scenarios on baselines.)
func validateBases(c Context) error {
	bases := parseBases(c.Constraints, c.Variables)
	for _, v := range c.Variables {
		if b, ok := bases[v]; ok && math.Abs(b) > MaxBase {
			return inputErr("context.constraints: the baseline of '%s' must be at most %g in magnitude", v, MaxBase)
		}
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
