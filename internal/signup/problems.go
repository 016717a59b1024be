package signup

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// problem is an RFC 9457 problem details document; it is also the error a
// handler returns to answer with it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	// Detail is a sentence naming the problem, safe to show to the caller.
	Detail string `json:"detail"`
	// Field names the body field, query parameter or header at fault.
	Field string `json:"field,omitempty"`
	// header is added to the response (Allow, WWW-Authenticate).
	header http.Header
}

func newProblem(status int, field, format string, args ...any) *problem {
	return &problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: fmt.Sprintf(format, args...),
		Field:  field,
	}
}

func (p *problem) Error() string { return p.Detail }

func internalProblem(rid string) *problem {
	return newProblem(http.StatusInternalServerError, "",
		"the service failed to handle the request; its log has the details under request id %s", rid)
}

func writeProblem(w http.ResponseWriter, p *problem) {
	for k, vs := range p.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeError answers with the problem err stands for. Errors of the
// caller's making are named; any other is logged and answered with a 500
// that says nothing of it.
func (a *api) writeError(x *exchange, err error) {
	writeProblem(x.w, a.problemOf(x, err))
}

// problemOf is the problem err stands for (logged when it is not the
// caller's).
func (a *api) problemOf(x *exchange, err error) *problem {
	var (
		af  *authFailure
		p   *problem
		ce  *ConflictError
		re  *RequestError
		te  *TemplateError
		rid = requestID(x.r.Context())
	)
	switch {
	case errors.As(err, &af):
		a.metrics.authFailure(af.reason)
		p = af.problem
	case errors.As(err, &p):
	case errors.Is(err, ErrNotFound):
		p = newProblem(http.StatusNotFound, "", "tenant %s does not exist", x.r.PathValue("id"))
	case errors.As(err, &ce):
		p = newProblem(http.StatusConflict, ce.Field, "%s", ce.Reason)
	case errors.As(err, &re):
		p = newProblem(http.StatusUnprocessableEntity, re.Field, "%s", re.Error())
	case errors.As(err, &te):
		a.log.Error("the tenant template is invalid", "request_id", rid, "error", te.Error())
		p = newProblem(http.StatusInternalServerError, "", "%s (request id %s)", te.Error(), rid)
	case x.r.Context().Err() != nil:
		// The caller went away (or the server is stopping): nobody reads this.
		p = newProblem(http.StatusServiceUnavailable, "", "the request was cancelled before it completed")
	default:
		a.log.Error("request failed", "request_id", rid, "error", err.Error())
		p = internalProblem(rid)
	}
	return p
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
