package engine

import (
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// The changes a DriftResource reports.
const (
	// DriftChanged: the resource exists but differs from the state.
	DriftChanged = "changed"
	// DriftDeleted: the resource no longer exists.
	DriftDeleted = "deleted"
)

// DriftResource is a resource a refresh found changed or deleted behind
// the engine.
type DriftResource struct {
	URN  string `json:"urn"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Change is DriftChanged or DriftDeleted.
	Change string `json:"change"`
	// Properties are the top-level properties that differ, sorted: names
	// only, never values (they may be secrets). Empty for a deleted
	// resource.
	Properties []string `json:"properties,omitempty"`
}

// DriftCollector gathers the drift a refresh finds from the operation's
// events: pass its Handle as StackOptions.Events of OpRefresh (with or
// without PreviewOnly) or of OpUp with Refresh. Providers, component
// resources and the stack are left out: a refresh never reads them.
//
// What the engine sends (pkg/v3@v3.232.0 engine/update.go, resource/deploy
// step.go RefreshStep): each refresh step starts with a ResourcePreEvent of
// Op "refresh", and ends with a ResOutputsEvent whose Op is
//
//   - in a refresh (pulumi refresh, --preview-only or not): the step's
//     result, "same", "update" (Diffs and DetailedDiff say which
//     properties) or "delete" (New is nil);
//   - in up --refresh: "refresh" again, with New nil for a deleted
//     resource and Diffs and DetailedDiff set for a changed one.
//
// "Changed" is the engine's own judgement: the provider's Diff of the
// refreshed state against the program's last inputs, inverted (what an up
// would change back). An output that moved without that diff seeing a
// change (the local cloud's Process port, say) is not drift.
//
// It is safe for concurrent use.
type DriftCollector struct {
	mu sync.Mutex
	// refreshing are the URNs whose refresh step has started and not ended.
	refreshing map[string]bool
	found      map[string]DriftResource
}

// Handle takes one engine event.
func (c *DriftCollector) Handle(ev events.EngineEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refreshing == nil {
		c.refreshing = map[string]bool{}
		c.found = map[string]DriftResource{}
	}
	switch {
	case ev.ResourcePreEvent != nil:
		if m := ev.ResourcePreEvent.Metadata; m.Op == apitype.OpRefresh && driftCandidate(m) {
			c.refreshing[m.URN] = true
		}
	case ev.ResOpFailedEvent != nil:
		delete(c.refreshing, ev.ResOpFailedEvent.Metadata.URN)
	case ev.ResOutputsEvent != nil:
		m := ev.ResOutputsEvent.Metadata
		// Only the end of a refresh step: in up --refresh, the same URN's
		// later steps (a delete of a resource the program dropped) are
		// the operation's own changes, not drift.
		if !c.refreshing[m.URN] {
			return
		}
		delete(c.refreshing, m.URN)
		if d, ok := driftOf(m); ok {
			c.found[m.URN] = d
		}
	}
}

// Resources returns the drift found so far, sorted by URN.
func (c *DriftCollector) Resources() []DriftResource {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]DriftResource, 0, len(c.found))
	for _, d := range c.found {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b DriftResource) int { return strings.Compare(a.URN, b.URN) })
	return out
}

// driftCandidate reports whether a refresh step's resource is one a
// refresh reads: a custom resource that is not a provider.
func driftCandidate(m apitype.StepEventMetadata) bool {
	if strings.HasPrefix(m.Type, "pulumi:providers:") || m.Type == rootStackType {
		return false
	}
	return m.Old != nil && m.Old.Custom
}

// driftOf is the drift the end of a refresh step reports, if any.
func driftOf(m apitype.StepEventMetadata) (DriftResource, bool) {
	d := DriftResource{URN: m.URN, Type: m.Type, Name: urnName(m.URN)}
	switch {
	case m.New == nil && (m.Op == apitype.OpDelete || m.Op == apitype.OpRefresh):
		d.Change = DriftDeleted
		return d, true
	case m.Op == apitype.OpUpdate || m.Op == apitype.OpRefresh:
		d.Properties = changedProperties(m)
		if len(d.Properties) == 0 && m.Op == apitype.OpRefresh {
			return DriftResource{}, false // up --refresh: no diff, no drift
		}
		d.Change = DriftChanged
		return d, true
	default:
		return DriftResource{}, false
	}
}

// changedProperties are the top-level property names the step's diff
// names; without one (a refresh that diffs outputs only: an external
// resource, or the legacy refresh diff), those whose inputs or outputs
// differ between Old and New. Secrets arrive masked, so a changed secret
// is seen only through the diff.
func changedProperties(m apitype.StepEventMetadata) []string {
	seen := map[string]bool{}
	for _, k := range m.Diffs {
		seen[topLevel(k)] = true
	}
	for path := range m.DetailedDiff {
		seen[topLevel(path)] = true
	}
	if len(seen) == 0 && m.Old != nil && m.New != nil {
		for _, pair := range [][2]map[string]any{{m.Old.Outputs, m.New.Outputs}, {m.Old.Inputs, m.New.Inputs}} {
			for k := range pair[0] {
				if v, ok := pair[1][k]; !ok || !reflect.DeepEqual(pair[0][k], v) {
					seen[k] = true
				}
			}
			for k := range pair[1] {
				if _, ok := pair[0][k]; !ok {
					seen[k] = true
				}
			}
		}
	}
	delete(seen, "")
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// topLevel is the first name of a property path: env.FOO, tags["a.b"]
// and command[0] are env, tags and command; ["a.b"].c is a.b.
func topLevel(path string) string {
	if strings.HasPrefix(path, `["`) {
		if end := strings.Index(path, `"]`); end > 0 {
			return path[2:end]
		}
	}
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}
