package localcloud

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrNotRunning is returned by Client calls when no runtime answers on the
// data directory's socket.
var ErrNotRunning = errors.New("local cloud runtime is not running")

// APIError is an error answered by the runtime. It unwraps to ErrNotFound
// for a 404, so errors.Is(err, ErrNotFound) holds.
type APIError struct {
	Status  int    // HTTP status code
	Message string // the runtime's message
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, http.StatusText(e.Status))
}

// Unwrap makes errors.Is(err, ErrNotFound) true for a 404.
func (e *APIError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}

// statusError is an error the runtime answers with a specific status code.
// Errors without one answer 500.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// badRequest is a 400 about one field of a spec: "field: message".
func badRequest(field, format string, args ...any) error {
	return &statusError{status: http.StatusBadRequest, msg: field + ": " + fmt.Sprintf(format, args...)}
}

// notFound is a 404: the named resource does not exist.
func notFound(kind, name string) error {
	return &statusError{status: http.StatusNotFound, msg: fmt.Sprintf("%s %q not found", kind, name)}
}

// conflict is a 409.
func conflict(format string, args ...any) error {
	return &statusError{status: http.StatusConflict, msg: fmt.Sprintf(format, args...)}
}

// unavailable is a 503: the runtime is shutting down.
func unavailable(msg string) error {
	return &statusError{status: http.StatusServiceUnavailable, msg: msg}
}

// statusOf is the HTTP status code an error answers with.
func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	var ie *ImageError
	if errors.As(err, &ie) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
