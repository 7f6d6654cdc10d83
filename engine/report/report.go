// Package report holds the vocabulary every engine package shares: the explanation attached to each
// result, and the input error that the service turns into a 400 with the contract's message.
package report

import "fmt"

// Explanation is the contract's Explanation (docs/api.md#types): what was found, why, on what basis, assuming what.
type Explanation struct {
	Summary        string   `json:"summary"`
	Reasoning      string   `json:"reasoning"`
	TechnicalBasis string   `json:"technical_basis"`
	Assumptions    []string `json:"assumptions"`
}

// InputError is a semantic input error whose message is the contract's text (→ 400 validation_error).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// InputError marks the error for the service's mapping; it returns the client-facing message.
func (e *InputError) InputError() string { return e.Msg }

// Inputf returns an *InputError with a formatted message.
func Inputf(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }
