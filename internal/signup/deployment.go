package signup

import (
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// clearPendingCreates drops the creates a killed engine left pending in the
// state (refresh --clear-pending-creates), so that the update creates them
// again: local cloud resources are created idempotently (adopted); on other
// clouds such a resource may have been created, so the event names them.
// It reports whether the stack is missing, as its export found.
func (o *operation) clearPendingCreates(ctx context.Context, cfg map[string]any) (missing bool, err error) {
	s, t := o.svc, o.tenant
	o.pendingCleared = true
	report, err := s.cfg.Engine.Run(ctx, engine.OpExport, engine.StackOptions{Stack: t.Stack, Backend: s.cfg.Backend, Config: cfg, Progress: io.Discard})
	if err != nil {
		return false, nil // a read the update will redo
	}
	if report.Deployment == nil {
		return true, nil // a stack not yet created
	}
	var dep struct {
		Pending []struct {
			Type     string `json:"type"`
			Resource struct {
				URN string `json:"urn"`
			} `json:"resource"`
		} `json:"pending_operations"`
	}
	if json.Unmarshal(report.Deployment, &dep) != nil || len(dep.Pending) == 0 {
		return false, nil
	}
	var urns []string
	for _, p := range dep.Pending {
		if p.Type == "creating" {
			urns = append(urns, p.Resource.URN)
		}
	}
	if len(urns) == 0 {
		return false, nil
	}
	rec := newRecorder(s, t.ID)
	rec.add(EventOperation, map[string]any{"operation": "refresh", "phase": "started",
		"reason":  "a killed engine left creates pending; clearing them so the update creates (or adopts) them again",
		"pending": urns})
	rec.flush()
	_, err = o.stack(ctx, engine.OpRefresh, cfg, engine.StackOptions{Stack: t.Stack, Backend: s.cfg.Backend, Config: cfg,
		Progress: io.Discard, ClearPendingCreates: true, Events: rec.handle})
	if err != nil {
		o.pendingCleared = false // try again with the next attempt
	}
	rec.flush()
	return false, err
}

// databaseSubtree returns the URNs a delete with retainDatabase must leave
// alone — the tenant's database resources (named <tenant>-db...), what they
// depend on, their parents and the providers — and the cloud resources
// among them, which stay behind.
func databaseSubtree(deployment json.RawMessage, tenant string) ([]string, []RetainedResource) {
	var dep apitype.DeploymentV3
	if len(deployment) == 0 || json.Unmarshal(deployment, &dep) != nil {
		return nil, nil
	}
	byURN := map[string]apitype.ResourceV3{}
	for _, r := range dep.Resources {
		byURN[string(r.URN)] = r
	}
	keep := map[string]bool{}
	var visit func(urn string)
	visit = func(urn string) {
		if keep[urn] {
			return
		}
		r, ok := byURN[urn]
		if !ok {
			return
		}
		keep[urn] = true
		for _, d := range r.Dependencies {
			visit(string(d))
		}
		if r.Parent != "" {
			visit(string(r.Parent))
		}
		if r.Provider != "" {
			if i := strings.LastIndex(r.Provider, "::"); i >= 0 {
				visit(r.Provider[:i])
			}
		}
	}
	for _, r := range dep.Resources {
		if r.Custom && strings.HasPrefix(r.URN.Name(), tenant+"-db") {
			visit(string(r.URN))
		}
	}
	var urns []string
	var retained []RetainedResource
	for _, r := range dep.Resources {
		if !keep[string(r.URN)] {
			continue
		}
		urns = append(urns, string(r.URN))
		if r.Custom && !strings.HasPrefix(string(r.Type), "pulumi:providers:") {
			retained = append(retained, RetainedResource{URN: string(r.URN), Type: string(r.Type), ID: string(r.ID)})
		}
	}
	return urns, retained
}
