package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/olumi/isl/service/isl"
)

// statusOf is the one map from error code to HTTP status.
var statusOf = map[string]int{
	isl.EValidation:          http.StatusBadRequest,
	isl.ESchema:              http.StatusUnprocessableEntity,
	isl.EComputation:         http.StatusInternalServerError,
	isl.EUnavailable:         http.StatusServiceUnavailable,
	isl.ETimeout:             http.StatusServiceUnavailable,
	isl.ENotFound:            http.StatusNotFound,
	isl.EUnauthorized:        http.StatusUnauthorized,
	isl.ERateLimited:         http.StatusTooManyRequests,
	isl.ETooLarge:            http.StatusRequestEntityTooLarge,
	isl.EStorageFull:         http.StatusInsufficientStorage,
	isl.EInternal:            http.StatusInternalServerError,
	"method_not_allowed":     http.StatusMethodNotAllowed,
	"unsupported_media_type": http.StatusUnsupportedMediaType,
}

// envelope is the docs/api.md#errors error body. Detail mirrors the message for 404/405 (FastAPI's shape, which
// the contract keeps) and is omitted elsewhere.
type envelope struct {
	ErrorCode       string         `json:"error_code"`
	Message         string         `json:"message"`
	Details         map[string]any `json:"details"`
	TraceID         string         `json:"trace_id"`
	Retryable       bool           `json:"retryable"`
	SuggestedAction string         `json:"suggested_action"`
	Detail          string         `json:"detail,omitempty"`
}

// codeOnWire maps internal codes onto the contract's error_code enum where one exists.
func codeOnWire(code string) string {
	switch code {
	case isl.ESchema:
		return isl.EValidation
	case isl.EInternal:
		return isl.EComputation
	}
	return code
}

// Error writes err as the docs/api.md#errors envelope. Unknown errors become a 500 whose message is generic
// (internals go to the log, with the trace id, never to the client).
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *isl.Error
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, isl.ErrStorageFull):
			e = &isl.Error{Code: isl.EStorageFull, Message: "The preference store is full and accepts no new users; existing users are not affected. Retry later or contact the operator", Err: err}
		case errors.Is(err, isl.ErrUnavailable):
			e = &isl.Error{Code: isl.EUnavailable, Message: "State store is temporarily unavailable; retry shortly", Err: err}
		case errors.Is(err, context.DeadlineExceeded):
			e = &isl.Error{Code: isl.ETimeout, Message: "Computation exceeded the request deadline", Err: err}
		default:
			e = &isl.Error{Code: isl.EInternal, Message: failureMessage(r), Err: err}
		}
	}
	status := e.Status
	if status == 0 {
		status = statusOf[e.Code]
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	env := envelope{
		ErrorCode: codeOnWire(e.Code),
		Message:   e.Message,
		Details:   e.Details,
		TraceID:   uuid.NewString(),
	}
	switch {
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests || status == http.StatusInsufficientStorage:
		// 507: capacity comes back as idle users' state expires or the operator adds memory, so
		// a later retry can succeed, but not within seconds (Retry-After says so).
		env.Retryable, env.SuggestedAction = true, "retry_later"
	case status >= 500:
		// docs/api.md#errors: the service is deterministic, so retrying the same input cannot help.
		env.SuggestedAction = "report_issue"
	case status == http.StatusUnauthorized:
		env.SuggestedAction = "check_credentials"
	default:
		env.SuggestedAction = "fix_input"
	}
	if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		env.Detail = e.Message
	}
	// The request's one log line (observe, at completion) carries the error; only a writer outside
	// observe's chain logs it here.
	if sw := statusWriterOf(w); sw != nil {
		sw.err = &loggedError{code: env.ErrorCode, traceID: env.TraceID, msg: err.Error()}
	} else if log != nil {
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.Log(r.Context(), level, "request_error", "trace_id", env.TraceID,
			"status", status, "error_code", env.ErrorCode, "error", err.Error())
	}
	switch status {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	case http.StatusInsufficientStorage:
		w.Header().Set("Retry-After", "300")
	}
	writeJSON(w, status, env)
}

// endpointActions completes each endpoint's docs/api.md#errors 500 message "Failed to {action}. Check logs for
// details.", keyed by the route's path below the API prefix.
var endpointActions = map[string]string{
	"/causal/validate":       "validate causal model",
	"/causal/counterfactual": "perform counterfactual analysis",
	"/preferences/elicit":    "generate preference queries",
	"/preferences/update":    "update beliefs",
	"/teaching/teach":        "generate teaching examples",
	"/validation/validate":   "validate model",
	"/team/align":            "perform team alignment",
	"/analysis/sensitivity":  "perform sensitivity analysis",
}

// failureMessage is the 500 message for an error that escaped a handler (a panic, an unwrapped
// error, an unencodable response): the endpoint's template when the route is one of the eight.
func failureMessage(r *http.Request) string {
	if r != nil {
		if rc := chi.RouteContext(r.Context()); rc != nil {
			p := rc.RoutePattern()
			for suffix, action := range endpointActions {
				if strings.HasSuffix(p, suffix) {
					return "Failed to " + action + ". Check logs for details."
				}
			}
		}
	}
	return "An unexpected error occurred. Check logs for details."
}

// jsonContentType is shared by every response (net/http only reads header values).
var jsonContentType = []string{"application/json"}

// writeJSON writes v with status. Encoding failures (e.g. a NaN that escaped the engines) become the
// endpoint's 500 envelope rather than a truncated body.
//
// The body is encoded into a pooled buffer (json.Encoder writes exactly json.Marshal's bytes and
// the newline): Marshal copied its result out and the appended newline copied it again, two
// response-sized allocations per request. Writers do not keep b past Write (io.Writer's rule).
// A jsonAppender writes its own (identical) bytes.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := encodeBufs.Get().(*bytes.Buffer)
	defer putEncodeBuf(buf)
	buf.Reset()
	if a, ok := v.(jsonAppender); ok {
		buf.Write(append(a.appendJSON(buf.AvailableBuffer()), '\n')) // AvailableBuffer's idiom
	} else if err := json.NewEncoder(buf).Encode(v); err != nil {
		buf.Reset()
		_ = json.NewEncoder(buf).Encode(envelope{ErrorCode: isl.EComputation, Message: failureMessage(requestOf(w)), TraceID: uuid.NewString(), SuggestedAction: "report_issue"})
		status = http.StatusInternalServerError
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var encodeBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeBufKeep is the largest buffer kept for reuse: a rare huge answer is not pinned.
const encodeBufKeep = 64 << 10

func putEncodeBuf(b *bytes.Buffer) {
	if b.Cap() <= encodeBufKeep {
		encodeBufs.Put(b)
	}
}

// badRequest is a 400 validation_error with a specific message (semantic input errors).
func badRequest(msg string) *isl.Error { return &isl.Error{Code: isl.EValidation, Message: msg} }
