package localcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

func (rt *runtime) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, rt.status())
	})
	mux.HandleFunc("POST /v1/shutdown", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "shutting down"})
		rt.requestShutdown()
	})

	handle(mux, rt, "databases",
		func(s *DatabaseSpec) *string { return &s.Name },
		rt.databases.put, rt.databases.get, rt.databases.delete)
	handle(mux, rt, "queues",
		func(s *QueueSpec) *string { return &s.Name },
		rt.queues.put, rt.queues.get, rt.queues.delete)
	handle(mux, rt, "topics",
		func(s *TopicSpec) *string { return &s.Name },
		rt.topics.put, rt.topics.get, rt.topics.delete)
	handle(mux, rt, "subscriptions",
		func(s *SubscriptionSpec) *string { return &s.Name },
		rt.topics.putSubscription, rt.topics.getSubscription, rt.topics.deleteSubscription)
	handle(mux, rt, "processes",
		func(s *ProcessSpec) *string { return &s.Name },
		rt.processes.put,
		func(_ context.Context, name string) (Process, error) { return rt.processes.get(name) },
		func(_ context.Context, name string) error { return rt.processes.delete(name) })

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if parts := strings.Split(r.URL.Path, "/"); len(parts) == 4 && parts[1] == "v1" && parts[3] == "" {
			writeError(w, badRequest("name", "must not be empty"))
			return
		}
		writeError(w, &statusError{status: http.StatusNotFound, msg: fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

// handle registers PUT, GET and DELETE /v1/<kind>/{name}. The body's name
// may be omitted (the path's is used) but must not differ from it.
func handle[S, R any](mux *http.ServeMux, rt *runtime, kind string, nameOf func(*S) *string,
	put func(context.Context, S) (R, error),
	get func(context.Context, string) (R, error),
	del func(context.Context, string) error,
) {
	path := "/v1/" + kind + "/{name}"
	mux.HandleFunc("PUT "+path, func(w http.ResponseWriter, r *http.Request) {
		if rt.closing.Load() {
			writeError(w, unavailable(errClosing.Error()))
			return
		}
		var spec S
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			writeError(w, badRequest("body", "%v", err))
			return
		}
		name := r.PathValue("name")
		if err := validateName("name", name); err != nil {
			writeError(w, err)
			return
		}
		if n := nameOf(&spec); *n == "" {
			*n = name
		} else if *n != name {
			writeError(w, badRequest("name", "%q does not match the path's %q", *n, name))
			return
		}
		out, err := put(r.Context(), spec)
		if err != nil {
			rt.logFailure(r, err)
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		out, err := get(r.Context(), r.PathValue("name"))
		if err != nil {
			if statusOf(err) >= 500 {
				rt.logFailure(r, err)
			}
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE "+path, func(w http.ResponseWriter, r *http.Request) {
		if rt.closing.Load() {
			writeError(w, unavailable(errClosing.Error()))
			return
		}
		if err := del(r.Context(), r.PathValue("name")); err != nil {
			rt.logFailure(r, err)
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// logFailure logs a failed request. Error texts never hold a secret: specs'
// passwords and environments are not part of any error.
func (rt *runtime) logFailure(r *http.Request, err error) {
	if statusOf(err) >= 500 {
		rt.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	rt.log.Warn("request refused", "method", r.Method, "path", r.URL.Path, "err", err)
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	var se *statusError
	msg := err.Error()
	if errors.As(err, &se) && se.status < 500 {
		// The client-facing text of a 4xx is the message itself, without
		// the wrapping ("put database "x": ...") the log gets.
		msg = se.msg
	}
	writeJSON(w, statusOf(err), errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
