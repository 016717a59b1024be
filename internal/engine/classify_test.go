package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

func TestIsConfigError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reason string
		err    error
		want   bool
	}{
		{"stacks.Program's validation", errors.New("invalid stack configuration:\n  tenantfleet:tenants[0].id: is required"), true},
		{"a key that does not decode", errors.New(`tenantfleet:tenants: json: cannot unmarshal`), true},
		{"an unknown cloud", errors.New(`tenantfleet:cloud: unknown cloud "gcp": valid clouds are aws`), true},
		{"config.Require's panic", errors.New("Missing required configuration variable 'tenantfleet:cloud'"), true},
		{"a registration error", errors.New("registering resource acme-db: connection refused"), false},
		{"a key named later in the message is not enough", errors.New("create queue: tenantfleet:x"), false},
	}
	for _, c := range cases {
		if got := isConfigError(c.err); got != c.want {
			t.Errorf("%s: isConfigError(%q) = %v, want %v", c.reason, c.err, got, c.want)
		}
	}
}

func TestEngineErrorLines(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reason, stderr, want string
	}{
		{
			"error lines and their continuations, without the prefix or other lines",
			"Updating (dev):\nerror: the stack is broken\n  because of this\nResources:\nerror: the stack is broken\n",
			"the stack is broken\nbecause of this",
		},
		{"no error line: the whole output", "  something odd\n", "something odd"},
	}
	for _, c := range cases {
		if got := engineErrorLines(c.stderr); got != c.want {
			t.Errorf("%s: got %q, want %q", c.reason, got, c.want)
		}
	}
}

func TestLockLines(t *testing.T) {
	t.Parallel()
	stderr := "error: the stack is currently locked by 1 lock(s). Either wait.\n" +
		"  file:///s/.pulumi/locks/organization/p/dev/x.json?no_tmp_dir=true: created by me@host (pid 1) at 2026-01-01T00:00:00Z\n"
	want := "\n  /s/.pulumi/locks/organization/p/dev/x.json: created by me@host (pid 1) at 2026-01-01T00:00:00Z"
	if got := lockLines(stderr); got != want {
		t.Errorf("lockLines = %q, want %q", got, want)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reason   string
		program  error
		stderr   string
		code     int
		expect   bool
		changes  map[string]int
		wantKind Kind
		wantMsg  string
		wantIs   error
	}{
		{reason: "a config error from the program", program: errors.New("tenantfleet:cloud is required: one of aws"),
			wantKind: KindUsage, wantMsg: "stack dev: tenantfleet:cloud is required"},
		{reason: "another program error", program: errors.New("boom"), wantKind: KindFailed, wantMsg: "up of stack dev failed: boom"},
		{reason: "locked", stderr: "error: the stack is currently locked by 1 lock(s).", code: 255,
			wantKind: KindFailed, wantMsg: "stack dev is locked by another operation", wantIs: ErrLocked},
		{reason: "changes with --expect-no-changes", stderr: "error: no changes were expected but changes were proposed", code: 7,
			expect: true, changes: map[string]int{"create": 2}, wantKind: KindChanges, wantMsg: "found changes (create 2)"},
		{reason: "exit code 7 without --expect-no-changes is just a failure", stderr: "error: x", code: 7,
			wantKind: KindFailed, wantMsg: "up of stack dev failed:\n  x"},
		{reason: "a wrong passphrase", stderr: "error: getting stack configuration: incorrect passphrase", code: 255,
			wantKind: KindUsage, wantMsg: "incorrect passphrase"},
		{reason: "stack config type check", stderr: "error: validating stack config: must be of type 'integer'", code: 255,
			wantKind: KindUsage, wantMsg: "validating stack config"},
		{reason: "an engine failure", stderr: "Updating\nerror: creating db: refused\n", code: 255,
			wantKind: KindFailed, wantMsg: "up of stack dev failed:\n  creating db: refused"},
	}
	for _, c := range cases {
		engine := &engineCommand{}
		engine.last = commandResult{stderr: c.stderr, code: c.code}
		r := &stackRun{op: OpUp, opts: StackOptions{Stack: "dev", ExpectNoChanges: c.expect}, engine: engine,
			env: &engineEnv{stateDir: "/state"}}
		r.program.set(c.program)
		err := r.classify(t.Context(), errors.New("auto: failed\ncode: 255\nstderr: "+c.stderr), c.changes, diagnostics{})
		if KindOf(err) != c.wantKind || !strings.Contains(err.Error(), c.wantMsg) {
			t.Errorf("%s: classify = %v %q, want %v containing %q", c.reason, KindOf(err), err, c.wantKind, c.wantMsg)
		}
		if got := errors.Is(err, ErrLocked); got != errors.Is(c.wantIs, ErrLocked) {
			t.Errorf("%s: errors.Is(err, ErrLocked) = %v", c.reason, got)
		}
	}

	// The engine's stack errors, without its generic closing line.
	r := &stackRun{op: OpUp, opts: StackOptions{Stack: "dev"}, engine: &engineCommand{}, env: &engineEnv{}}
	err := r.classify(t.Context(), errors.New("x"), nil, diagnostics{all: []string{"no quota", "update failed", "no quota"}})
	if want := "up of stack dev failed:\n  no quota"; err == nil || err.Error() != want {
		t.Errorf("stack errors: %q, want %q", err, want)
	}

	// Resource errors explain a program error that is their consequence.
	r.program.set(errors.New(`tenant unit "acme": register outputs: context canceled`))
	err = r.classify(t.Context(), errors.New("x"), nil, diagnostics{
		all:      []string{"no plugin aws", "update failed"},
		resource: []string{"default_6_83_2: no plugin aws", "default_6_83_2: no plugin aws"},
	})
	if want := "up of stack dev failed:\n  default_6_83_2: no plugin aws"; KindOf(err) != KindFailed || err.Error() != want {
		t.Errorf("resource errors: %q, want %q", err, want)
	}
	r.program.set(nil)

	// Interrupted wins over everything.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r = &stackRun{op: OpDestroy, opts: StackOptions{Stack: "dev"}, engine: &engineCommand{}, env: &engineEnv{}}
	if err := r.classify(ctx, errors.New("x"), nil, diagnostics{}); KindOf(err) != KindFailed || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("interrupted: %v", err)
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	p := newProgress(&out, false, true)
	urn := "urn:pulumi:dev::tenantfleet::tenantfleet:index:TenantUnit$tenantfleet-local:index:Database::acme-db"
	stackURN := "urn:pulumi:dev::tenantfleet::pulumi:pulumi:Stack::tenantfleet-dev"
	meta := func(op apitype.OpType, urn, typ string) apitype.StepEventMetadata {
		return apitype.StepEventMetadata{Op: op, URN: urn, Type: typ, New: &apitype.StepEventStateMetadata{}}
	}
	evs := []apitype.EngineEvent{
		{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: meta(apitype.OpCreate, stackURN, "pulumi:pulumi:Stack")}},
		{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: meta(apitype.OpCreate, urn, "tenantfleet-local:index:Database")}},
		// The stack reports its outputs a second time: one line only.
		{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: meta(apitype.OpCreate, stackURN, "pulumi:pulumi:Stack")}},
		{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: meta(apitype.OpSame, urn+"2", "x:y:Z")}},
		{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: meta(apitype.OpRefresh, urn+"3", "x:y:Z")}},
		{DiagnosticEvent: &apitype.DiagnosticEvent{URN: urn, Severity: "error", Message: "<{%fg 1%}>refused<{%reset%}>\n"}},
		{DiagnosticEvent: &apitype.DiagnosticEvent{URN: stackURN, Severity: "error", Message: "update failed"}},
		{DiagnosticEvent: &apitype.DiagnosticEvent{Severity: "warning", Message: "using pulumi-resource-tenantfleet-local from $PATH at /x"}},
		{DiagnosticEvent: &apitype.DiagnosticEvent{Severity: "info", Message: "chatter"}},
		{SummaryEvent: &apitype.SummaryEvent{ResourceChanges: map[apitype.OpType]int{"create": 2, "same": 1}}},
	}
	ch := make(chan events.EngineEvent)
	done := make(chan struct{})
	go p.consume(ch, done)
	for _, ev := range evs {
		ch <- events.EngineEvent{EngineEvent: ev}
	}
	close(ch)
	<-done

	want := "+  create  pulumi:pulumi:Stack  tenantfleet-dev\n" +
		"+  create  tenantfleet-local:index:Database  acme-db\n" +
		"error: acme-db: refused\n"
	if out.String() != want {
		t.Errorf("progress output:\n%s\nwant:\n%s", out.String(), want)
	}
	changes, errs := p.result()
	if changes["create"] != 2 || changes["same"] != 1 || !HasChanges(changes) {
		t.Errorf("changes = %v", changes)
	}
	if strings.Join(errs.all, "|") != "refused|update failed" || strings.Join(errs.resource, "|") != "acme-db: refused" {
		t.Errorf("errors = %+v", errs)
	}
	if got := FormatChanges(changes); got != "create 2, same 1" {
		t.Errorf("FormatChanges = %q", got)
	}
	if HasChanges(map[string]int{"same": 4}) {
		t.Error(`HasChanges({"same": 4}) = true`)
	}
}
