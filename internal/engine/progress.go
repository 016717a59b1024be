package engine

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// progress turns the engine's event stream into one line per resource step
// on w (when quiet is false), and keeps the operation's summary and error
// diagnostics for the final report.
type progress struct {
	w       io.Writer
	quiet   bool // --verbose streams the engine's own output instead
	preview bool

	mu      sync.Mutex
	seen    bool // any event arrived: the engine opened the stream
	started map[string]time.Time
	printed map[string]bool // urn + op: the stack resource reports its outputs twice
	changes map[string]int
	summary bool
	diags   diagnostics
	// outputs are the root stack's outputs, secrets masked, from its last
	// ResourceOutputsEvent (hasOutputs: one came).
	outputs    map[string]any
	hasOutputs bool
	// forward, when set, gets every event as well.
	forward func(events.EngineEvent)
}

// diagnostics are the engine's error messages: all of them, and those about
// a resource (not the stack itself).
type diagnostics struct {
	all, resource []string
}

func newProgress(w io.Writer, quiet, preview bool) *progress {
	return &progress{w: w, quiet: quiet, preview: preview, started: map[string]time.Time{}, printed: map[string]bool{}}
}

// consume reads ch until it is closed and then closes done.
func (p *progress) consume(ch <-chan events.EngineEvent, done chan<- struct{}) {
	defer close(done)
	for ev := range ch {
		p.handle(ev)
		if p.forward != nil {
			p.forward(ev)
		}
	}
}

var stepSymbols = map[apitype.OpType]string{
	apitype.OpCreate:               "+",
	apitype.OpUpdate:               "~",
	apitype.OpDelete:               "-",
	apitype.OpReplace:              "+-",
	apitype.OpCreateReplacement:    "++",
	apitype.OpDeleteReplaced:       "--",
	apitype.OpRead:                 ">",
	apitype.OpReadReplacement:      ">>",
	apitype.OpRefresh:              "~",
	apitype.OpReadDiscard:          "<",
	apitype.OpDiscardReplaced:      "<<",
	apitype.OpRemovePendingReplace: "-",
	apitype.OpImport:               "=",
	apitype.OpImportReplacement:    "=>",
}

func (p *progress) handle(ev events.EngineEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = true
	switch {
	case ev.ResourcePreEvent != nil:
		p.started[ev.ResourcePreEvent.Metadata.URN] = time.Now()
	case ev.ResOutputsEvent != nil:
		p.stackOutputsEvent(ev.ResOutputsEvent.Metadata)
		p.step(ev.ResOutputsEvent.Metadata, "")
	case ev.ResOpFailedEvent != nil:
		p.step(ev.ResOpFailedEvent.Metadata, "failed")
	case ev.DiagnosticEvent != nil:
		p.diagnostic(*ev.DiagnosticEvent)
	case ev.SummaryEvent != nil:
		p.summary = true
		p.changes = map[string]int{}
		for op, n := range ev.SummaryEvent.ResourceChanges {
			p.changes[string(op)] = n
		}
		if ev.SummaryEvent.MaybeCorrupt && !p.quiet {
			p.printf("warning: one or more resources may be in an inconsistent state; run `tenantfleet refresh`\n")
		}
	}
}

// printf writes a progress line to w. A failed write is dropped on purpose:
// the lines are commentary for a person (stderr), the operation's result is
// its report, and the engine's events must be consumed whatever happens to
// the terminal.
func (p *progress) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(p.w, format, args...)
}

func (p *progress) step(m apitype.StepEventMetadata, failure string) {
	if m.Op == apitype.OpSame || p.quiet {
		return
	}
	// A refresh step is a change only when it found drift.
	if m.Op == apitype.OpRefresh && failure == "" && len(m.Diffs) == 0 && m.New != nil {
		return
	}
	key := m.URN + " " + string(m.Op) + " " + failure
	if p.printed[key] {
		return
	}
	p.printed[key] = true
	sym := stepSymbols[m.Op]
	if sym == "" {
		sym = "*"
	}
	op := string(m.Op)
	if m.Op == apitype.OpRefresh {
		op = "drift"
		if m.New == nil {
			sym, op = "-", "gone"
		}
	}
	line := fmt.Sprintf("%-2s %-7s %s  %s", sym, op, m.Type, urnName(m.URN))
	if t, ok := p.started[m.URN]; ok && !p.preview {
		if d := time.Since(t); d >= time.Second {
			line += fmt.Sprintf("  (%s)", d.Round(100*time.Millisecond))
		}
	}
	if failure != "" {
		line = "! " + line[2:] + "  " + failure
	}
	p.printf("%s\n", line)
}

func (p *progress) diagnostic(d apitype.DiagnosticEvent) {
	if d.Ephemeral {
		return
	}
	msg := strings.TrimSpace(StripColor(d.Message))
	if msg == "" {
		return
	}
	name := urnName(d.URN)
	isStack := strings.Contains(d.URN, "::pulumi:pulumi:Stack::")
	switch d.Severity {
	case "error":
		p.diags.all = append(p.diags.all, msg)
		// Resource errors show at once; the stack's own error is the
		// operation's error, printed once at the end.
		if !isStack && name != "" {
			p.diags.resource = append(p.diags.resource, name+": "+msg)
			if !p.quiet {
				p.printf("error: %s: %s\n", name, indentContinuation(msg))
			}
		}
	case "warning":
		// The plugin is meant to be found on PATH, next to tenantfleet.
		if strings.Contains(msg, pluginBinary+" from $PATH") {
			slog.Debug("engine", "warning", msg)
			return
		}
		if !p.quiet {
			if name != "" && !isStack {
				p.printf("warning: %s: %s\n", name, indentContinuation(msg))
			} else {
				p.printf("warning: %s\n", indentContinuation(msg))
			}
		}
	}
}

// rootStackType is the type of the stack resource, the root of every
// other, which holds the stack's outputs.
const rootStackType = "pulumi:pulumi:Stack"

// stackOutputsEvent keeps the root stack's outputs from its
// ResourceOutputsEvent. The engine registers them at the end of the
// deployment ("finalizing stack outputs", deploymentExecutor.Execute in
// pkg/v3@v3.232.0/resource/deploy) and reports the state it then records:
// what `pulumi stack output` reads afterwards. A refresh reports the
// stack's unchanged outputs the same way.
func (p *progress) stackOutputsEvent(m apitype.StepEventMetadata) {
	if m.Type != rootStackType || m.New == nil || m.New.Parent != "" {
		return
	}
	outs := map[string]any{}
	for k, v := range m.New.Outputs {
		outs[k] = maskSecrets(v)
	}
	p.outputs, p.hasOutputs = outs, true
}

// maskSecrets returns v with every secret, however deeply nested, replaced
// by "[secret]", as `pulumi stack output --json` prints it
// (display.MassageSecrets). An event carries a secret as the object
// {resource.SigKey: resource.SecretSig, "ciphertext": "[secret]"}: the CLI
// serialises events with a blinding encrypter
// (pkg/v3@v3.232.0/backend/display/events.go). Everything else is
// serialised for both by the same function (stack.SerializePropertyValue).
func maskSecrets(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v[resource.SigKey] == resource.SecretSig {
			return "[secret]"
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = maskSecrets(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = maskSecrets(e)
		}
		return out
	default:
		return v
	}
}

// stackOutputs returns the root stack's outputs the events reported, if
// any did.
func (p *progress) stackOutputs() (map[string]any, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.outputs), p.hasOutputs
}

// streamed reports whether the engine sent any event.
func (p *progress) streamed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen
}

// result returns the change counts of the summary event (nil when none came)
// and the error diagnostics seen.
func (p *progress) result() (map[string]int, diagnostics) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var changes map[string]int
	if p.summary {
		changes = maps.Clone(p.changes)
	}
	return changes, diagnostics{all: slices.Clone(p.diags.all), resource: slices.Clone(p.diags.resource)}
}

// HasChanges reports whether counts has any step that is not "same".
func HasChanges(counts map[string]int) bool {
	for op, n := range counts {
		if op != string(apitype.OpSame) && n > 0 {
			return true
		}
	}
	return false
}

// FormatChanges renders counts as "create 3, same 2" in a stable order.
func FormatChanges(counts map[string]int) string {
	if len(counts) == 0 {
		return "no changes"
	}
	order := []string{"create", "update", "replace", "delete", "refresh", "read", "import", "same"}
	var parts []string
	for _, op := range order {
		if n := counts[op]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", op, n))
		}
	}
	var rest []string
	for op, n := range counts {
		if n > 0 && !slices.Contains(order, op) {
			rest = append(rest, fmt.Sprintf("%s %d", op, n))
		}
	}
	slices.Sort(rest)
	parts = append(parts, rest...)
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

// urnName is the logical name at the end of a URN
// (urn:pulumi:stack::project::type::name).
func urnName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}

var colorTags = regexp.MustCompile(`<\{%[^%]*%\}>`)

// StripColor removes the engine's color directives (<{%fg 1%}>, <{%reset%}>)
// from its messages.
func StripColor(s string) string { return colorTags.ReplaceAllString(s, "") }

func indentContinuation(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }
