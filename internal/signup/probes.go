package signup

import (
	"context"
	_ "embed"
	"net/http"
	"time"
)

// openAPISpec documents the HTTP API; it is served at /openapi.yaml.
//
//go:embed openapi.yaml
var openAPISpec []byte

func (a *api) healthz(x *exchange) error {
	writeJSON(x.w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (a *api) readyz(x *exchange) error {
	ctx, cancel := context.WithTimeout(x.r.Context(), 5*time.Second)
	defer cancel()
	if err := a.svc.Ready(ctx); err != nil {
		return newProblem(http.StatusServiceUnavailable, "", "not ready: %s", err.Error())
	}
	writeJSON(x.w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (a *api) serveMetrics(x *exchange) error {
	if a.prom == nil {
		return newProblem(http.StatusServiceUnavailable, "", "metrics are not set up")
	}
	a.prom.ServeHTTP(x.w, x.r)
	return nil
}

func (a *api) serveOpenAPI(x *exchange) error {
	x.w.Header().Set("Content-Type", "application/yaml")
	x.w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = x.w.Write(openAPISpec)
	return nil
}
