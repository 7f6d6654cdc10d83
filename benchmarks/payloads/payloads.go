// Package payloads holds the realistic request bodies the load tool and the integration suite send:
// the worked examples of the contract (the worked examples (docs/api.md)), embedded so that the tools run from a single
// binary against any deployed ISL.
package payloads

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed testdata/*.json
var files embed.FS

// Class says which pilot latency SLO applies to an endpoint.
type Class string

const (
	// Causal endpoints (causal validation, counterfactuals and the other model analyses) must keep
	// P95 under 2.0 s.
	Causal Class = "causal"
	// Preference endpoints (elicitation, belief updates, teaching) must keep P95 under 1.5 s.
	Preference Class = "preference"
	// Reference is /health: measured as the throughput ceiling, no SLO.
	Reference Class = "reference"
)

// Endpoint is one API operation with its worked-example body.
type Endpoint struct {
	Name   string // short name used in reports, e.g. "causal/validate"
	Method string
	Path   string // below the API prefix for API routes, absolute for /health
	Class  Class
	File   string // testdata file name, empty for bodiless requests
}

// The eight POST endpoints of docs/api.md#routes (update needs a query id from elicit, see Flow).
var (
	CausalValidate = Endpoint{"causal/validate", "POST", "/api/v1/causal/validate", Causal, "causal_validate.json"}
	Counterfactual = Endpoint{"causal/counterfactual", "POST", "/api/v1/causal/counterfactual", Causal, "causal_counterfactual.json"}
	Elicit         = Endpoint{"preferences/elicit", "POST", "/api/v1/preferences/elicit", Preference, "preferences_elicit.json"}
	Update         = Endpoint{"preferences/update", "POST", "/api/v1/preferences/update", Preference, ""} // body built by UpdateBody
	Teach          = Endpoint{"teaching/teach", "POST", "/api/v1/teaching/teach", Preference, "teaching_teach.json"}
	ModelValidate  = Endpoint{"validation/validate", "POST", "/api/v1/validation/validate", Causal, "validation_validate.json"}
	TeamAlign      = Endpoint{"team/align", "POST", "/api/v1/team/align", Causal, "team_align.json"}
	Sensitivity    = Endpoint{"analysis/sensitivity", "POST", "/api/v1/analysis/sensitivity", Causal, "analysis_sensitivity.json"}
	Health         = Endpoint{"health", "GET", "/health", Reference, ""}
)

// Stateless lists the POST endpoints that need nothing but their body, in report order.
func Stateless() []Endpoint {
	return []Endpoint{CausalValidate, Counterfactual, Teach, ModelValidate, TeamAlign, Sensitivity}
}

// All lists every endpoint a report can mention, in report order.
func All() []Endpoint {
	return []Endpoint{CausalValidate, Counterfactual, Elicit, Update, Teach, ModelValidate, TeamAlign, Sensitivity, Health}
}

// Body returns a copy of the endpoint's worked-example body (nil for bodiless requests).
func (e Endpoint) Body() []byte {
	if e.File == "" {
		return nil
	}
	b, err := files.ReadFile("testdata/" + e.File)
	if err != nil {
		panic(fmt.Sprintf("payloads: embedded %s missing: %v", e.File, err)) // a build defect, not input
	}
	return bytes.TrimSpace(b)
}

// DefaultUser is the user id of the docs/api.md#elicit example.
const DefaultUser = "test_user_pricing_001"

// ElicitBody is the docs/api.md#elicit elicitation body for userID (the id is not seed material, docs/api.md#determinism, so the queries
// are the same for every user).
func ElicitBody(userID string) []byte {
	return bytes.Replace(Elicit.Body(), []byte(quote(DefaultUser)), []byte(quote(userID)), 1)
}

// UpdateBody answers queryID for userID.
func UpdateBody(userID, queryID, response string) []byte {
	b, _ := json.Marshal(map[string]any{"user_id": userID, "query_id": queryID, "response": response, "confidence": 0.9})
	return b
}

// FirstQueryID extracts queries[0].id from an /elicit response (or next_queries[0].id from /update).
func FirstQueryID(resp []byte) (string, error) {
	var r struct {
		Queries     []struct{ ID string } `json:"queries"`
		NextQueries []struct{ ID string } `json:"next_queries"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return "", fmt.Errorf("decode preference response: %w", err)
	}
	qs := r.Queries
	if len(qs) == 0 {
		qs = r.NextQueries
	}
	if len(qs) == 0 || qs[0].ID == "" {
		return "", fmt.Errorf("preference response carries no query id: %.200s", resp)
	}
	return qs[0].ID, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Join puts an API path under base ("http://host:port" with or without a trailing slash).
func Join(base, path string) string { return strings.TrimRight(base, "/") + path }
