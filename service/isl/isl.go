// Package isl holds the service's domain vocabulary: error codes, the error type every layer returns,
// and the store interface the preference endpoints depend on. Implementations live in packages named
// after their dependency (redis, memory, http).
package isl

import (
	"errors"
	"fmt"
)

// Error codes. The contract's enum (docs/api.md#errors) plus the codes Go needs for its own statuses.
const (
	EValidation   = "validation_error"  // 400 (semantic) or 422 (schema)
	ESchema       = "schema_error"      // internal: 422 with a list of field errors
	EComputation  = "computation_error" // 400 for non-finite results, 500 for internal failures
	EUnavailable  = "service_unavailable"
	ETimeout      = "timeout"
	ENotFound     = "not_found"
	EUnauthorized = "unauthorized"
	ERateLimited  = "rate_limited"
	ETooLarge     = "payload_too_large"
	EStorageFull  = "storage_full" // 507: the preference store admits no new users (or no writes)
	EInternal     = "internal_error"
)

// Error is the one error type that carries a code, a client-facing message and optional details.
type Error struct {
	Code    string
	Message string
	Details map[string]any
	// Status overrides the status derived from Code (e.g. computation_error as 400).
	Status int
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnavailable marks store failures that a retry may cure (Redis down, timeout).
var ErrUnavailable = errors.New("store unavailable")

// ErrStorageFull marks a store at its capacity: it admits no new users (existing users go on until
// the hard limit, where writes fail with it too). Nothing stored is evicted to make room.
var ErrStorageFull = errors.New("store full")
