package signup

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenantfleet/tenantfleet/components"
)

// The console's pages: each reads what it shows from the Service and the
// store as the JSON routes do, a page at a time.

const (
	// chartTenants is how many of the last provisioned tenants the
	// overview's chart shows.
	chartTenants = 50
	// chartHours is how many hours of signups the overview shows.
	chartHours = 24
	// timelineLimit bounds the events of the current operation shown.
	timelineLimit = 1000
	// pastOperations bounds the operation events read for a tenant page.
	pastOperations = 100
	// activeRolloutsShown bounds the running rollouts the overview shows.
	activeRolloutsShown = 10
)

// ---- overview ----

type overviewView struct {
	Fleet        Fleet
	Failed       []Tenant
	FailedCount  int
	Rollouts     []RolloutSummary
	LastDrift    *DriftCheck
	Provisioning provisioningChart
	Signups      signupsChart
	Clouds       []cloudRow
}

type cloudRow struct {
	Cloud   string
	Tenants int
	Cost    float64
}

func (a *api) overviewPage(x *consoleExchange) error {
	ctx := x.r.Context()
	f, err := a.svc.Fleet(ctx)
	if err != nil {
		return err
	}
	v := overviewView{Fleet: f, FailedCount: f.ByState[string(StateFailed)]}
	if v.Failed, err = a.svc.List(ctx, ListFilter{State: StateFailed}, "", 5); err != nil {
		return err
	}
	if v.Rollouts, err = a.svc.store.RolloutSummaries(ctx, activeRolloutsShown, true); err != nil {
		return err
	}
	if v.LastDrift, err = a.svc.store.LastDriftCheck(ctx); err != nil {
		return err
	}
	ps, err := a.svc.store.RecentProvisionings(ctx, chartTenants)
	if err != nil {
		return err
	}
	v.Provisioning = newProvisioningChart(ps)
	now := time.Now()
	counts, err := a.svc.store.SignupsPerHour(ctx, now, chartHours)
	if err != nil {
		return err
	}
	v.Signups = newSignupsChart(counts, now)
	for cloud, n := range f.ByCloud {
		v.Clouds = append(v.Clouds, cloudRow{Cloud: cloud, Tenants: n, Cost: f.CostByCloud[cloud]})
	}
	sort.Slice(v.Clouds, func(i, j int) bool { return v.Clouds[i].Cloud < v.Clouds[j].Cloud })
	return a.render(x, http.StatusOK, "overview", "Fleet", v)
}

// provisioningChart is the overview's bar chart of the last tenants'
// provisioning times, with their median and 95th percentile.
type provisioningChart struct {
	Bars     []chartBar
	P50, P95 float64
	// P50Y and P95Y are the percentiles' lines, in the chart's units.
	P50Y, P95Y float64
	Max        float64
	Width      float64
}

// chartBar is one bar: its place and size in the SVG's units and its label.
type chartBar struct {
	X, Y, W, H float64
	Label      string
	Href       string
}

// The charts' drawing area, in SVG units.
const (
	chartWidth  = 600.0
	chartHeight = 160.0
)

func newProvisioningChart(ps []Provisioning) provisioningChart {
	c := provisioningChart{Width: chartWidth}
	if len(ps) == 0 {
		return c
	}
	secs := make([]float64, len(ps))
	for i, p := range ps {
		secs[i] = p.Seconds
		c.Max = math.Max(c.Max, p.Seconds)
	}
	c.P50, c.P95 = percentile(secs, 50), percentile(secs, 95)
	scale := chartHeight / math.Max(c.Max, 1)
	w := chartWidth / float64(max(len(ps), chartTenants/2)) // a few tenants do not make bars wider than 1/25
	for i, p := range ps {
		h := math.Max(p.Seconds*scale, 1)
		c.Bars = append(c.Bars, chartBar{X: float64(i) * w, Y: chartHeight - h, W: w * 0.8, H: h,
			Label: fmt.Sprintf("%s: %s at %s", p.Tenant, seconds(p.Seconds), p.At.Format("2006-01-02 15:04 UTC")), Href: "/tenants/" + p.Tenant})
	}
	c.P50Y, c.P95Y = chartHeight-c.P50*scale, chartHeight-c.P95*scale
	return c
}

// percentile is the nearest-rank percentile p of values.
func percentile(values []float64, p float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(rank, 0)]
}

// signupsChart is the overview's bar chart of signups per hour.
type signupsChart struct {
	Bars  []chartBar
	Max   int
	Total int
	Width float64
	// Ticks label every sixth hour.
	Ticks []chartTick
}

type chartTick struct {
	X     float64
	Label string
}

func newSignupsChart(counts []int, now time.Time) signupsChart {
	c := signupsChart{Width: chartWidth}
	for _, n := range counts {
		c.Max = max(c.Max, n)
		c.Total += n
	}
	scale := chartHeight / float64(max(c.Max, 1))
	w := chartWidth / float64(len(counts))
	first := now.UTC().Truncate(time.Hour).Add(-time.Duration(len(counts)-1) * time.Hour)
	for i, n := range counts {
		h := float64(n) * scale
		hour := first.Add(time.Duration(i) * time.Hour)
		c.Bars = append(c.Bars, chartBar{X: float64(i) * w, Y: chartHeight - h, W: w * 0.8, H: h,
			Label: fmt.Sprintf("%s–%s UTC: %d signups", hour.Format("Jan 2 15:04"), hour.Add(time.Hour).Format("15:04"), n)})
		if i%6 == 0 {
			c.Ticks = append(c.Ticks, chartTick{X: float64(i) * w, Label: hour.Format("15:04")})
		}
	}
	return c
}

// ---- tenants ----

type tenantsView struct {
	Tenants []tenantView
	Filter  ListFilter
	// Matching counts the tenants that pass the filter.
	Matching int
	Limit    int
	After    string
	Next     string
	First    string
	States   []State
	Clouds   []string
	Tiers    []components.Tier
	Versions []TemplateVersion
	Current  string
}

func (a *api) tenantsPage(x *consoleExchange) error {
	ctx := x.r.Context()
	q := x.r.URL.Query()
	for key := range q {
		if !slices.Contains([]string{"state", "cloud", "tier", "version", "drift", "limit", "after"}, key) {
			return newProblem(http.StatusBadRequest, key, "unknown query parameter %q; the tenant list takes state, cloud, tier, version, drift, limit and after", truncate(key))
		}
	}
	var f ListFilter
	if v := q.Get("state"); v != "" {
		f.State = State(v)
		if !slices.Contains(States(), f.State) {
			return newProblem(http.StatusBadRequest, "state", "state is not a tenant state; valid states are %s", joinStates())
		}
	}
	switch q.Get("drift") {
	case "true":
		f.Drifted = true
	case "", "false":
	default:
		return newProblem(http.StatusBadRequest, "drift", "drift must be true or false")
	}
	// Deleted tenants are left out (as the overview counts) unless asked for.
	f.Live = f.State != StateDeleted
	f.Cloud, f.Tier, f.Version = q.Get("cloud"), q.Get("tier"), q.Get("version")
	if err := a.svc.checkFilter(f); err != nil {
		return err
	}
	limit := defaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return newProblem(http.StatusBadRequest, "limit", "limit must be a whole number from 1 to %d", maxPageSize)
		}
		limit = n
	}
	after := q.Get("after")
	if after != "" {
		if err := checkTenantID("after", after); err != nil {
			return err
		}
	}
	ts, err := a.svc.List(ctx, f, after, limit+1)
	if err != nil {
		return err
	}
	v := tenantsView{Filter: f, Limit: limit, After: after, States: States(), Tiers: components.Tiers(), Current: a.svc.version}
	filterQuery := url.Values{}
	for k, val := range map[string]string{"state": string(f.State), "cloud": f.Cloud, "tier": f.Tier, "version": f.Version} {
		if val != "" {
			filterQuery.Set(k, val)
		}
	}
	if f.Drifted {
		filterQuery.Set("drift", "true")
	}
	if limit != defaultPageSize {
		filterQuery.Set("limit", strconv.Itoa(limit))
	}
	if len(ts) > limit {
		ts = ts[:limit]
		next := url.Values{}
		for k, vs := range filterQuery {
			next[k] = vs
		}
		next.Set("after", ts[limit-1].ID)
		v.Next = "/tenants?" + next.Encode()
	}
	if after != "" {
		v.First = "/tenants?" + filterQuery.Encode()
	}
	for _, t := range ts {
		v.Tenants = append(v.Tenants, viewOf(t, a.svc.version))
	}
	if v.Matching, err = a.svc.store.CountTenants(ctx, f); err != nil {
		return err
	}
	if v.Clouds, err = a.svc.store.TenantClouds(ctx); err != nil {
		return err
	}
	for _, c := range a.svc.cfg.Template.CloudNames() {
		if !slices.Contains(v.Clouds, c) {
			v.Clouds = append(v.Clouds, c)
		}
	}
	sort.Strings(v.Clouds)
	if v.Versions, err = a.svc.store.Versions(ctx); err != nil {
		return err
	}
	return a.render(x, http.StatusOK, "tenants", "Tenants", v)
}

// ---- one tenant ----

type tenantPageView struct {
	Tenant     tenantView
	Outputs    []outputRow
	Components []componentGroup
	// Timeline is the current (or last) operation's events.
	Timeline   []timelineRow
	LastSeq    int64
	Operations []operationRow
	Settled    bool
	Actions    tenantActions
	Current    string
}

type outputRow struct {
	Name   string
	Value  string
	Secret bool
	Link   bool
}

// componentGroup is a top-level resource of the stack (a component, or a
// provider) and the resources under it.
type componentGroup struct {
	Name, Type string
	Resources  []resourceRow
}

type resourceRow struct {
	Name, Type string
	Depth      int
}

type timelineRow struct {
	At      time.Time
	Type    string
	Summary string
	Name    string
	Op      string
	Status  string
	Seconds string
}

type operationRow struct {
	Operation string
	Phase     string
	At        time.Time
	Seconds   string
	Changes   string
	Error     string
}

type tenantActions struct {
	Retry, Reconcile, Cancel, Delete bool
	// DeleteAgain: the tenant's delete failed.
	DeleteAgain bool
}

func (a *api) tenantPage(x *consoleExchange) error {
	ctx := x.r.Context()
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	t, err := a.svc.Get(ctx, id)
	if err != nil {
		return err
	}
	v := tenantPageView{Tenant: viewOf(t, a.svc.version), Settled: t.State.Settled(), Current: a.svc.version}
	v.Outputs = outputRows(t.Outputs)
	v.Components = componentGroups(t.Resources)
	ops, err := a.svc.store.OperationEvents(ctx, id, pastOperations)
	if err != nil {
		return err
	}
	start := int64(0)
	for _, e := range ops {
		if opPhase(e) == "started" {
			start = e.Seq - 1
			break
		}
	}
	evs, err := a.svc.Events(ctx, id, start, timelineLimit)
	if err != nil {
		return err
	}
	v.LastSeq = start
	lastState := ""
	for _, e := range evs {
		row := timelineOf(e)
		v.Timeline = append(v.Timeline, row)
		v.LastSeq = e.Seq
		if e.Type == EventState {
			lastState = row.Status
		}
	}
	if lastState != "" && State(lastState) != t.State {
		// The tenant moved on between the two reads: show it as its
		// events do, so that a settled tenant's page does not follow a
		// stream that has ended.
		if t, err = a.svc.Get(ctx, id); err != nil {
			return err
		}
		v.Tenant, v.Settled = viewOf(t, a.svc.version), t.State.Settled()
		v.Outputs = outputRows(t.Outputs)
		v.Components = componentGroups(t.Resources)
	}
	if len(evs) == timelineLimit {
		// More than a page: the live stream carries on from the last shown.
		v.LastSeq = evs[len(evs)-1].Seq
	}
	v.Operations = operationRows(ops, t.State.Settled())
	v.Actions = tenantActions{
		Retry:     t.State == StateFailed && t.Desired == DesiredPresent,
		Reconcile: t.State == StateReady || t.State == StateFailed && t.Desired == DesiredPresent,
		Cancel:    !t.State.Settled(),
		// A failed delete may be tried again, with force or retain.
		Delete:      t.State != StateDeleted && (t.Desired == DesiredPresent || t.State == StateFailed),
		DeleteAgain: t.Desired == DesiredAbsent,
	}
	return a.render(x, http.StatusOK, "tenant", "Tenant "+t.ID, v)
}

func outputRows(outputs map[string]any) []outputRow {
	names := make([]string, 0, len(outputs))
	for k := range outputs {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []outputRow
	for _, k := range names {
		row := outputRow{Name: k}
		switch v := outputs[k].(type) {
		case string:
			row.Value = v
		default:
			b, _ := json.Marshal(v)
			row.Value = string(b)
		}
		if row.Value == "[secret]" || strings.Contains(row.Value, `"[secret]"`) {
			row.Secret, row.Value = true, ""
		}
		row.Link = strings.HasPrefix(row.Value, "http://") || strings.HasPrefix(row.Value, "https://")
		out = append(out, row)
	}
	return out
}

// urnNameType splits a URN into the resource's name and type.
func urnNameType(urn string) (name, typ string) {
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return urn, ""
	}
	name = parts[len(parts)-1]
	typ = parts[len(parts)-2]
	if i := strings.LastIndex(typ, "$"); i >= 0 {
		typ = typ[i+1:]
	}
	return name, typ
}

// componentGroups groups a stack's resources under the stack's top-level
// resources (the tenant unit, the fanout, providers), each subtree in
// order, indented by depth.
func componentGroups(resources []StackResource) []componentGroup {
	children := map[string][]StackResource{}
	var stackURN string
	byURN := map[string]bool{}
	for _, r := range resources {
		byURN[r.URN] = true
		if r.Type == "pulumi:pulumi:Stack" {
			stackURN = r.URN
		}
	}
	var tops []StackResource
	for _, r := range resources {
		switch {
		case r.URN == stackURN:
		case r.Parent == "" || r.Parent == stackURN || !byURN[r.Parent]:
			tops = append(tops, r)
		default:
			children[r.Parent] = append(children[r.Parent], r)
		}
	}
	sort.SliceStable(tops, func(i, j int) bool {
		pi, pj := strings.HasPrefix(tops[i].Type, "pulumi:providers:"), strings.HasPrefix(tops[j].Type, "pulumi:providers:")
		if pi != pj {
			return !pi
		}
		return tops[i].URN < tops[j].URN
	})
	var groups []componentGroup
	var walk func(g *componentGroup, urn string, depth int)
	walk = func(g *componentGroup, urn string, depth int) {
		kids := children[urn]
		sort.SliceStable(kids, func(i, j int) bool { return kids[i].URN < kids[j].URN })
		for _, k := range kids {
			name, _ := urnNameType(k.URN)
			g.Resources = append(g.Resources, resourceRow{Name: name, Type: k.Type, Depth: depth})
			walk(g, k.URN, depth+1)
		}
	}
	for _, t := range tops {
		name, _ := urnNameType(t.URN)
		g := componentGroup{Name: name, Type: t.Type}
		walk(&g, t.URN, 0)
		groups = append(groups, g)
	}
	return groups
}

// eventData is the union of the fields events carry.
type eventData struct {
	State     string         `json:"state"`
	Error     string         `json:"error"`
	Operation string         `json:"operation"`
	Phase     string         `json:"phase"`
	Attempt   int            `json:"attempt"`
	Changes   map[string]int `json:"changes"`
	Seconds   *float64       `json:"seconds"`
	URN       string         `json:"urn"`
	Type      string         `json:"type"`
	Op        string         `json:"op"`
	Status    string         `json:"status"`
	Severity  string         `json:"severity"`
	Message   string         `json:"message"`
	Reason    string         `json:"reason"`
}

func opPhase(e Event) string {
	var d eventData
	_ = json.Unmarshal(e.Data, &d)
	return d.Phase
}

// timelineOf is one row of a tenant's timeline; console.js builds the
// same rows from the live stream's events.
func timelineOf(e Event) timelineRow {
	var d eventData
	_ = json.Unmarshal(e.Data, &d)
	row := timelineRow{At: e.At, Type: e.Type}
	if d.Seconds != nil {
		row.Seconds = seconds(*d.Seconds)
	}
	switch e.Type {
	case EventState:
		row.Summary = "state: " + d.State
		row.Status = d.State
		if d.Error != "" {
			row.Summary += " — " + d.Error
		}
	case EventOperation:
		row.Summary = d.Operation + " " + d.Phase
		row.Status = d.Phase
		if d.Attempt > 0 {
			row.Summary += fmt.Sprintf(" (attempt %d)", d.Attempt)
		}
		if len(d.Changes) > 0 {
			row.Summary += ": " + changesText(d.Changes)
		}
		if why := cmp.Or(d.Error, d.Reason); why != "" {
			row.Summary += " — " + why
		}
	case EventResource:
		row.Name, _ = urnNameType(d.URN)
		row.Summary = d.Type
		row.Op, row.Status = d.Op, d.Status
		if d.Error != "" {
			row.Summary += " — " + d.Error
		}
	case EventDiagnostic:
		row.Summary = d.Message
		row.Status = d.Severity
		if d.URN != "" {
			row.Name, _ = urnNameType(d.URN)
		}
	default:
		row.Summary = string(e.Data)
	}
	return row
}

// operationRows pairs each operation's start with its end, newest first.
// One operation runs at a time, so a start pairs with the newest unpaired
// end whatever its name (a failed up may end as the refresh it ran
// first). A start with no end is running when it is the newest event of
// an unsettled tenant, else interrupted (its process died).
func operationRows(ops []Event, settled bool) []operationRow {
	var out []operationRow
	var end *operationRow
	for i, e := range ops { // newest first: an end comes before its start
		var d eventData
		_ = json.Unmarshal(e.Data, &d)
		if d.Phase != "started" {
			if end != nil {
				out = append(out, *end)
			}
			row := operationRow{Operation: d.Operation, Phase: d.Phase, At: e.At, Error: cmp.Or(d.Error, d.Reason)}
			if d.Seconds != nil {
				row.Seconds = seconds(*d.Seconds)
			}
			if len(d.Changes) > 0 {
				row.Changes = changesText(d.Changes)
			}
			end = &row
			continue
		}
		switch {
		case end != nil:
			end.At = e.At
			if end.Operation != d.Operation {
				end.Operation = d.Operation + " (" + end.Operation + ")"
			}
			out = append(out, *end)
			end = nil
		case i == 0 && !settled:
			out = append(out, operationRow{Operation: d.Operation, Phase: "running", At: e.At})
		default:
			out = append(out, operationRow{Operation: d.Operation, Phase: "interrupted", At: e.At})
		}
	}
	if end != nil {
		out = append(out, *end)
	}
	return out
}

func changesText(changes map[string]int) string {
	keys := make([]string, 0, len(changes))
	for k, n := range changes {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", changes[k], k)
	}
	return strings.Join(parts, ", ")
}

func seconds(s float64) string {
	if s >= 60 {
		return time.Duration(s * float64(time.Second)).Round(time.Second).String()
	}
	return strconv.FormatFloat(s, 'f', 1, 64) + "s"
}

// tenantLive is the tenant's event stream for the console's timeline: the
// JSON API's stream, behind the session instead of a bearer token.
func (a *api) tenantLive(x *consoleExchange) error {
	x.allowed = a.sessionStillValid(x)
	return a.events(x.exchange)
}

// sessionStillValid checks, at most every sessionRecheck, that the
// session a live stream was opened with has not ended (signed out,
// expired, its token rotated out).
func (a *api) sessionStillValid(x *consoleExchange) func() bool {
	checked := time.Now()
	return func() bool {
		if time.Since(checked) < sessionRecheck {
			return true
		}
		checked = time.Now()
		_, err := a.currentSession(x.r)
		return err == nil
	}
}

// tenantAction runs a tenant page's form: retry, reconcile, cancel or
// delete, through the same Service calls as the JSON API.
func (a *api) tenantAction(x *consoleExchange) error {
	ctx := x.r.Context()
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	action := x.r.URL.Path[strings.LastIndex(x.r.URL.Path, "/")+1:]
	started := false
	switch action {
	case "retry":
		t, err := a.svc.Get(ctx, id)
		if err != nil {
			return err
		}
		if t.State != StateFailed {
			return &ConflictError{Field: "state", Reason: fmt.Sprintf("tenant %s is %s: only a failed tenant is tried again", id, t.State)}
		}
		if _, started, err = a.svc.Signup(ctx, t.Request, Mutation{}); err != nil {
			return err
		}
	case "reconcile":
		if _, started, err = a.svc.Reconcile(ctx, id, Mutation{}); err != nil {
			return err
		}
	case "cancel":
		if _, started, err = a.svc.Cancel(ctx, id, Mutation{}); err != nil {
			return err
		}
	case "delete":
		if got := strings.TrimSpace(x.r.PostForm.Get("confirm")); got != id {
			return newProblem(http.StatusBadRequest, "confirm", "type the tenant's id, %s, to confirm the delete", id)
		}
		var opts DeleteOptions
		switch mode := x.r.PostForm.Get("mode"); mode {
		case "", "protected":
		case "force":
			opts.Force = true
		case "retainDatabase":
			opts.RetainDatabase = true
		default:
			return newProblem(http.StatusBadRequest, "mode", "mode must be protected, force or retainDatabase")
		}
		if _, started, err = a.svc.Delete(ctx, id, opts, Mutation{}); err != nil {
			return err
		}
	}
	done := action
	if !started {
		done = "nothing"
	}
	http.Redirect(x.w, x.r, "/tenants/"+id+"?done="+done, http.StatusSeeOther)
	return nil
}

// ---- rollouts ----

type rolloutsView struct {
	Rollouts []RolloutSummary
	Versions []TemplateVersion
	Current  string
	Form     rolloutForm
	Error    string
}

// rolloutForm is the start-a-rollout form's fields, as typed.
type rolloutForm struct {
	Selector, IDs, Clouds, Tiers, Version, Waves, MaxParallel, Pause, HealthTimeout, MaxFailures string
	DryRun                                                                                       bool
}

func (a *api) rolloutsPage(x *consoleExchange) error {
	return a.renderRollouts(x, http.StatusOK, rolloutForm{Selector: "all", Waves: "1, 100%", MaxParallel: "2", HealthTimeout: "2m", DryRun: true}, "")
}

func (a *api) renderRollouts(x *consoleExchange, status int, form rolloutForm, msg string) error {
	ctx := x.r.Context()
	rs, err := a.svc.store.RolloutSummaries(ctx, defaultPageSize, false)
	if err != nil {
		return err
	}
	vs, err := a.svc.store.Versions(ctx)
	if err != nil {
		return err
	}
	if form.Version == "" {
		form.Version = a.svc.version
	}
	return a.render(x, status, "rollouts", "Rollouts", rolloutsView{Rollouts: rs, Versions: vs, Current: a.svc.version, Form: form, Error: msg})
}

// startRolloutForm starts a rollout from the form: the fields become the
// JSON body POST /v1/rollouts takes and go through the same decoding and
// checks; a refusal shows the form again, as typed, with the reason.
func (a *api) startRolloutForm(x *consoleExchange) error {
	pf := x.r.PostForm
	form := rolloutForm{Selector: pf.Get("selector"), IDs: pf.Get("ids"), Clouds: pf.Get("clouds"), Tiers: pf.Get("tiers"),
		Version: pf.Get("version"), Waves: pf.Get("waves"), MaxParallel: pf.Get("maxParallel"), Pause: pf.Get("pauseBetweenWaves"),
		HealthTimeout: pf.Get("healthTimeout"), MaxFailures: pf.Get("maxFailures"), DryRun: pf.Get("dryRun") == "on"}
	body, err := form.json()
	if err == nil {
		var spec RolloutSpec
		if spec, err = decodeRolloutSpec(body); err == nil {
			var r Rollout
			if r, err = a.svc.StartRollout(x.r.Context(), spec); err == nil {
				http.Redirect(x.w, x.r, fmt.Sprintf("/rollouts/%d?done=rollout", r.ID), http.StatusSeeOther)
				return nil
			}
		}
	}
	p := a.problemOf(x.exchange, err)
	if p.Status >= 500 {
		return p
	}
	msg := p.Detail
	if p.Field != "" {
		msg = p.Field + ": " + msg
	}
	return a.renderRollouts(x, p.Status, form, msg)
}

// json is the form as a POST /v1/rollouts body.
func (f rolloutForm) json() ([]byte, error) {
	list := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	}
	sel := map[string]any{}
	switch f.Selector {
	case "all":
		sel["all"] = true
	case "match":
		if ids := list(f.IDs); len(ids) > 0 {
			sel["ids"] = ids
		}
		if clouds := list(f.Clouds); len(clouds) > 0 {
			sel["clouds"] = clouds
		}
		if tiers := list(f.Tiers); len(tiers) > 0 {
			sel["tiers"] = tiers
		}
	default:
		return nil, newProblem(http.StatusBadRequest, "selector", "choose every tenant, or the tenants that match ids, clouds or tiers")
	}
	body := map[string]any{"selector": sel, "dryRun": f.DryRun}
	if f.Version != "" {
		body["version"] = f.Version
	}
	if waves := list(f.Waves); len(waves) > 0 {
		ws := make([]any, len(waves))
		for i, w := range waves {
			if n, err := strconv.Atoi(w); err == nil {
				ws[i] = n
			} else {
				ws[i] = w
			}
		}
		body["waves"] = ws
	}
	for field, v := range map[string]string{"maxParallel": f.MaxParallel, "maxFailures": f.MaxFailures} {
		if v = strings.TrimSpace(v); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, newProblem(http.StatusBadRequest, field, "%s must be a whole number", field)
			}
			body[field] = n
		}
	}
	for field, v := range map[string]string{"pauseBetweenWaves": f.Pause, "healthTimeout": f.HealthTimeout} {
		if v = strings.TrimSpace(v); v != "" {
			body[field] = v
		}
	}
	return json.Marshal(body)
}

type rolloutView struct {
	Rollout Rollout
	Waves   []waveView
	Actions struct{ Pause, Resume, Cancel bool }
	Live    bool
}

type waveView struct {
	WaveStatus
	Tenants []RolloutTenant
}

func (a *api) rolloutPage(x *consoleExchange) error {
	id, err := rolloutID(x.r)
	if err != nil {
		return err
	}
	r, err := a.svc.store.GetRollout(x.r.Context(), id)
	if err != nil {
		return rolloutError(err, id)
	}
	v := rolloutView{Rollout: r}
	byWave := map[int][]RolloutTenant{}
	for _, t := range r.Tenants {
		byWave[t.Wave] = append(byWave[t.Wave], t)
	}
	for _, w := range r.Waves {
		v.Waves = append(v.Waves, waveView{WaveStatus: w, Tenants: byWave[w.Wave]})
	}
	v.Actions.Pause = r.State == RolloutRolling
	v.Actions.Resume = r.State == RolloutPaused || r.State == RolloutHalted
	v.Actions.Cancel = !r.State.Final()
	v.Live = !r.State.Final() || r.Counts[string(TenantUpdating)]+r.Counts[string(TenantVerifying)] > 0
	return a.render(x, http.StatusOK, "rollout", fmt.Sprintf("Rollout %d", r.ID), v)
}

func (a *api) rolloutLive(x *consoleExchange) error {
	x.allowed = a.sessionStillValid(x)
	return a.rolloutEvents(x.exchange)
}

func (a *api) rolloutFormAction(x *consoleExchange) error {
	id, err := rolloutID(x.r)
	if err != nil {
		return err
	}
	action := x.r.URL.Path[strings.LastIndex(x.r.URL.Path, "/")+1:]
	act := map[string]func(*Service, context.Context, int64) (Rollout, error){
		"pause": (*Service).PauseRollout, "resume": (*Service).ResumeRollout, "cancel": (*Service).CancelRollout}[action]
	if _, err := act(a.svc, x.r.Context(), id); err != nil {
		return rolloutError(err, id)
	}
	http.Redirect(x.w, x.r, fmt.Sprintf("/rollouts/%d?done=%s", id, action), http.StatusSeeOther)
	return nil
}

func (a *api) startDriftCheckForm(x *consoleExchange) error {
	if _, err := a.svc.StartDriftCheck(x.r.Context(), Selector{}); err != nil {
		return err
	}
	http.Redirect(x.w, x.r, "/?done=drift", http.StatusSeeOther)
	return nil
}

// consoleFuncs are the templates' helpers.
var consoleFuncs = template.FuncMap{
	"money": func(v float64) string { return "$" + strconv.FormatFloat(v, 'f', 2, 64) },
	"signedMoney": func(v float64) string {
		if v > 0 {
			return "+$" + strconv.FormatFloat(v, 'f', 2, 64)
		}
		if v < 0 {
			return "−$" + strconv.FormatFloat(-v, 'f', 2, 64)
		}
		return "$0.00"
	},
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return ""
	},
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"seconds": seconds,
	"secondsp": func(s *float64) string {
		if s == nil {
			return "—"
		}
		return seconds(*s)
	},
	"short":   func(v string) string { return v[:min(len(v), 12)] },
	"changes": changesText,
	"f1":      func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"count":   func(m map[string]int, k string) int { return m[k] },
	"indent":  func(depth int) string { return strings.Repeat("  ", depth) },
	"pct": func(n, total int) int {
		if total == 0 {
			return 0
		}
		return n * 100 / total
	},
	"add":  func(a, b int) int { return a + b },
	"base": func(source string) string { return filepath.Base(source) },
	"plural": func(n int, word string) string {
		if n == 1 {
			return word
		}
		return word + "s"
	},
	"clip":    func(s string) string { return clip(s, 140) },
	"isState": func(s State, want string) bool { return string(s) == want },
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
