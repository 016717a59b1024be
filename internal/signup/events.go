package signup

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/tenantfleet/tenantfleet/internal/engine"
)

// engineRecorder records the engine processes of a tenant's operations.
type engineRecorder struct {
	svc    *Service
	tenant string
}

func (e engineRecorder) Started(pid int) {
	_ = e.svc.store.RecordEngine(context.Background(), EngineRun{TenantID: e.tenant, Replica: e.svc.cfg.ReplicaID, Host: e.svc.host, PID: pid})
}

func (e engineRecorder) Ended(pid int) {
	_ = e.svc.store.ForgetEngine(context.Background(), e.tenant, e.svc.host, pid)
}

// recorder turns engine events into the tenant's events, written in batches.
type recorder struct {
	svc    *Service
	tenant string

	mu      sync.Mutex
	pending []Event
	started map[string]time.Time
	last    time.Time
}

func newRecorder(s *Service, tenant string) *recorder {
	return &recorder{svc: s, tenant: tenant, started: map[string]time.Time{}}
}

func (r *recorder) add(typ string, data map[string]any) {
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.pending = append(r.pending, Event{TenantID: r.tenant, At: time.Now(), Type: typ, Data: b})
	r.mu.Unlock()
}

// handle records a resource step or an engine diagnostic; flushes at most
// every 250 ms (and at the end of the operation).
func (r *recorder) handle(ev events.EngineEvent) {
	switch {
	case ev.ResourcePreEvent != nil:
		m := ev.ResourcePreEvent.Metadata
		if m.Op == apitype.OpSame {
			return
		}
		r.mu.Lock()
		r.started[m.URN] = time.Now()
		r.mu.Unlock()
		r.add(EventResource, map[string]any{"urn": m.URN, "type": m.Type, "op": m.Op, "status": "started"})
	case ev.ResOutputsEvent != nil:
		m := ev.ResOutputsEvent.Metadata
		if m.Op == apitype.OpSame {
			return
		}
		data := map[string]any{"urn": m.URN, "type": m.Type, "op": m.Op, "status": "done"}
		r.mu.Lock()
		if t, ok := r.started[m.URN]; ok {
			data["seconds"] = math.Round(time.Since(t).Seconds()*10) / 10
		}
		r.mu.Unlock()
		r.add(EventResource, data)
	case ev.ResOpFailedEvent != nil:
		m := ev.ResOpFailedEvent.Metadata
		r.add(EventResource, map[string]any{"urn": m.URN, "type": m.Type, "op": m.Op, "status": "failed"})
	case ev.DiagnosticEvent != nil:
		d := ev.DiagnosticEvent
		if d.Ephemeral || (d.Severity != "error" && d.Severity != "warning") {
			return
		}
		msg := strings.TrimSpace(engine.StripColor(d.Message))
		if msg == "" || strings.Contains(msg, "-local from $PATH") {
			return // the local cloud's plugin is meant to be found on PATH
		}
		data := map[string]any{"severity": d.Severity, "message": msg}
		if d.URN != "" {
			data["urn"] = d.URN
		}
		r.add(EventDiagnostic, data)
	default:
		return
	}
	r.mu.Lock()
	due := time.Since(r.last) >= 250*time.Millisecond
	r.mu.Unlock()
	if due {
		r.flush()
	}
}

func (r *recorder) flush() {
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.last = time.Now()
	r.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := r.svc.store.AddEvents(context.Background(), batch); err != nil {
		r.svc.cfg.Logger.Error("record engine events", "tenant", r.tenant, "error", err)
		return
	}
	r.svc.notify()
}
