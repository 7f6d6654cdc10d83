package http

import (
	"net/http"

	"github.com/olumi/isl/service/isl"
)

// notImplemented answers routes whose handler has not landed yet.
func notImplemented(w http.ResponseWriter, r *http.Request) {
	Error(w, r, nil, &isl.Error{Code: isl.EInternal, Status: http.StatusNotImplemented, Message: "Not implemented yet"})
}
