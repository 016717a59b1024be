package fleet

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// errWriter writes to w until a write fails and keeps that first error, so a
// renderer prints line after line and returns err once at the end: output
// cut short (a closed pipe, a full disk) is an error, not a silent success.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// printf writes through e; a failure is kept in e.err.
func (e *errWriter) printf(format string, args ...any) { _, _ = fmt.Fprintf(e, format, args...) }

// table is a tabwriter over e; flush it before writing anything else.
func (e *errWriter) table() *tabwriter.Writer { return tabwriter.NewWriter(e, 0, 0, 2, ' ', 0) }

// writeJSON writes the service's JSON document indented, as it was sent.
func writeJSON(w io.Writer, raw []byte) error {
	var b bytes.Buffer
	// The service ends its documents with a newline (json.Encoder);
	// Indent would keep it.
	if err := json.Indent(&b, bytes.TrimSpace(raw), "", "  "); err != nil {
		return failed(fmt.Errorf("the service's answer is not JSON: %w", err))
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// renderFleet writes GET /v1/fleet: the tenants by state, cloud and tier,
// the template versions, drift, cost and active rollouts.
func renderFleet(w io.Writer, f *Fleet) error {
	e := &errWriter{w: w}
	e.printf("Fleet of %s · current template version %s · update policy %s\n",
		plural(f.Tenants, "tenant"), cmp.Or(f.CurrentVersion, "(none)"), cmp.Or(f.UpdatePolicy, "-"))
	tab := e.table()
	for _, by := range []struct {
		name   string
		counts map[string]int
	}{{"state", f.ByState}, {"cloud", f.ByCloud}, {"tier", f.ByTier}} {
		_, _ = fmt.Fprintf(tab, "  by %s\t%s\n", by.name, countList(by.counts))
	}
	_ = tab.Flush()

	if len(f.Versions) > 0 {
		e.printf("\n")
		tab = e.table()
		_, _ = fmt.Fprintln(tab, "VERSION\tTENANTS\tCREATED\tSOURCE")
		older := 0
		for _, v := range f.Versions {
			name := v.Version
			if v.Current {
				name += " (current)"
			} else {
				older += v.Tenants
			}
			_, _ = fmt.Fprintf(tab, "%s\t%d\t%s\t%s\n", name, v.Tenants, when(v.CreatedAt), cmp.Or(v.Source, "-"))
		}
		_ = tab.Flush()
		if older > 0 {
			e.printf("%s on an older version: `tenantfleet fleet rollout plan --all` shows what updating them changes.\n",
				plural(older, "tenant"))
		}
	}

	e.printf("\nDrift: %s\n", driftCounts(f.Drift))
	e.printf("Monthly cost: %s\n", money(f.MonthlyCost))
	if len(f.ActiveRollouts) == 0 {
		e.printf("Active rollouts: none\n")
	} else {
		ids := make([]string, len(f.ActiveRollouts))
		for i, id := range f.ActiveRollouts {
			ids[i] = strconv.FormatInt(id, 10)
		}
		e.printf("Active rollouts: %s (`tenantfleet fleet rollout status %s` shows one)\n", strings.Join(ids, ", "), ids[0])
	}
	return e.err
}

// countList is "ready 6, provisioning 2": most first, then by name.
func countList(counts map[string]int) string {
	if len(counts) == 0 {
		return "-"
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), strings.Compare(a, b))
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

// driftCounts is the fleet's drift statuses in a fixed order, then any
// other the service reports.
func driftCounts(d map[string]int) string {
	labels := []struct{ key, label string }{
		{DriftInSync, "in sync"}, {DriftDrifted, "drifted"}, {DriftError, "errors"}, {DriftUnchecked, "unchecked"},
	}
	parts := make([]string, 0, len(labels))
	for _, l := range labels {
		parts = append(parts, fmt.Sprintf("%d %s", d[l.key], l.label))
	}
	for _, k := range slices.Sorted(maps.Keys(d)) {
		if !slices.ContainsFunc(labels, func(l struct{ key, label string }) bool { return l.key == k }) {
			parts = append(parts, fmt.Sprintf("%d %s", d[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

// changeKinds are the step kinds of a plan in the order they are shown.
var changeKinds = []string{"create", "update", "replace", "delete", "same"}

// changeList is "1 replace, 2 update, 13 same": the kinds with a count, in
// changeKinds order, then any other kind by name; "-" when the tenant has
// not been previewed (no changes at all, not none).
func changeList(changes map[string]int) string {
	if changes == nil {
		return "-"
	}
	var parts []string
	for _, k := range changeKinds {
		if n := changes[k]; n != 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(changes)) {
		if n := changes[k]; n != 0 && !slices.Contains(changeKinds, k) {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

// planChanges is a plan's step counts as a changeList.
func planChanges(p Plan) string {
	return changeList(map[string]int{"create": p.Create, "update": p.Update, "replace": p.Replace, "delete": p.Delete, "same": p.Same})
}

// renderPlan writes a planned rollout: per tenant the changes and the cost,
// the replacements (databases loudly), the errors and the fleet's totals.
func renderPlan(w io.Writer, r *Rollout) error {
	e := &errWriter{w: w}
	e.printf("Plan of rollout %d: version %s for %s (%s)%s\n",
		r.ID, r.Version, selectorText(r.Spec.Selector), wavesText(r), dryRunText(r))
	if r.Reason != "" {
		e.printf("%s: %s\n", r.State, r.Reason)
	}
	if len(r.Tenants) > 0 {
		e.printf("\n")
		tab := e.table()
		_, _ = fmt.Fprintln(tab, "TENANT\tWAVE\tFROM\tCHANGES\tMONTHLY")
		for _, t := range r.Tenants {
			changes := changeList(t.Changes)
			if t.Error != "" {
				changes = "error (below)"
			}
			_, _ = fmt.Fprintf(tab, "%s\t%d\t%s\t%s\t%s\n", t.Tenant, t.Wave, cmp.Or(t.FromVersion, "-"), changes,
				costChange(t.MonthlyBefore, t.MonthlyAfter, t.MonthlyDelta))
		}
		_ = tab.Flush()
	}

	var replaced, databases []string
	for _, t := range r.Tenants {
		for _, rep := range t.Replacements {
			line := fmt.Sprintf("  %s: %s", t.Tenant, resourceName(rep.Name, rep.Type, rep.URN))
			if rep.Database {
				line += "  DATABASE"
				databases = append(databases, fmt.Sprintf("%s of %s", cmp.Or(rep.Name, rep.URN), t.Tenant))
			}
			replaced = append(replaced, line)
		}
	}
	if len(replaced) > 0 {
		e.printf("\nReplaced (deleted and created anew):\n%s\n", strings.Join(replaced, "\n"))
	}
	var errs []string
	for _, t := range r.Tenants {
		if t.Error != "" {
			errs = append(errs, fmt.Sprintf("  %s: %s", t.Tenant, t.Error))
		}
	}
	if len(errs) > 0 {
		e.printf("\nErrors:\n%s\n", strings.Join(errs, "\n"))
	}

	p := r.Plan
	e.printf("\nTotal: %s planned of %d, %s · %s\n", plural(p.Planned, "tenant"), p.Tenants, plural(p.Errors, "error"), planChanges(p))
	e.printf("Monthly cost: %s\n", costChange(p.MonthlyBefore, p.MonthlyAfter, p.MonthlyDelta))
	if n := max(p.DatabaseReplacements, len(databases)); n > 0 {
		e.printf("\n%s\n", databaseWarning(n, databases))
	}
	return e.err
}

// databaseWarning is the loud line about replaced databases: the new
// database does not have the old one's data.
func databaseWarning(n int, names []string) string {
	s := fmt.Sprintf("WARNING: this rollout REPLACES %s", plural(n, "DATABASE"))
	if len(names) > 0 {
		s += " (" + strings.Join(names, ", ") + ")"
	}
	return s + ": each is deleted and created anew, and the new one does not have the old one's data."
}

func dryRunText(r *Rollout) string {
	if r.Spec.DryRun {
		return ", a dry run"
	}
	return ""
}

// renderRollout writes one rollout: its state, waves, tenants' statuses and
// errors; a dry run's plan.
func renderRollout(w io.Writer, r *Rollout) error {
	if r.Spec.DryRun && r.State == RolloutPlanned {
		return renderPlan(w, r)
	}
	e := &errWriter{w: w}
	e.printf("Rollout %d: %s · version %s · %s%s\n", r.ID, r.State, r.Version, selectorText(r.Spec.Selector), dryRunText(r))
	if r.Reason != "" {
		e.printf("  reason: %s\n", r.Reason)
	}
	tab := e.table()
	if len(r.Waves) > 0 {
		waves := make([]string, len(r.Waves))
		for i, wv := range r.Waves {
			waves[i] = fmt.Sprintf("%d %s (%s)", wv.Wave, wv.State, plural(wv.Tenants, "tenant"))
		}
		_, _ = fmt.Fprintf(tab, "  waves\t%s\n", strings.Join(waves, " · "))
	}
	_, _ = fmt.Fprintf(tab, "  tenants\t%s\n", statusCounts(r.Counts))
	_, _ = fmt.Fprintf(tab, "  plan\t%d of %s planned · %s · monthly %s\n", r.Plan.Planned, plural(r.Plan.Tenants, "tenant"),
		planChanges(r.Plan), costChange(r.Plan.MonthlyBefore, r.Plan.MonthlyAfter, r.Plan.MonthlyDelta))
	_, _ = fmt.Fprintf(tab, "  spec\t%s\n", specText(r.Spec))
	finished := ""
	if r.FinishedAt != nil {
		finished = " · finished " + when(*r.FinishedAt)
	}
	_, _ = fmt.Fprintf(tab, "  created\t%s%s\n", when(r.CreatedAt), finished)
	_ = tab.Flush()
	if len(r.Tenants) > 0 {
		e.printf("\n")
		tab = e.table()
		_, _ = fmt.Fprintln(tab, "TENANT\tWAVE\tSTATUS\tFROM\tCHANGES\tUPDATED")
		for _, t := range r.Tenants {
			_, _ = fmt.Fprintf(tab, "%s\t%d\t%s\t%s\t%s\t%s\n", t.Tenant, t.Wave, t.Status, cmp.Or(t.FromVersion, "-"), changeList(t.Changes), when(t.UpdatedAt))
		}
		_ = tab.Flush()
		var errs []string
		for _, t := range r.Tenants {
			if t.Error != "" {
				errs = append(errs, fmt.Sprintf("  %s: %s", t.Tenant, t.Error))
			}
		}
		if len(errs) > 0 {
			e.printf("\nErrors:\n%s\n", strings.Join(errs, "\n"))
		}
	}
	if n := r.Plan.DatabaseReplacements; n > 0 {
		e.printf("\n%s\n", databaseWarning(n, nil))
	}
	return e.err
}

// renderRollouts writes GET /v1/rollouts, newest first.
func renderRollouts(w io.Writer, rs []Rollout) error {
	e := &errWriter{w: w}
	if len(rs) == 0 {
		e.printf("No rollouts yet: `tenantfleet fleet rollout plan --all` plans one.\n")
		return e.err
	}
	tab := e.table()
	_, _ = fmt.Fprintln(tab, "ID\tSTATE\tVERSION\tTENANTS\tPROGRESS\tCREATED")
	for _, r := range rs {
		progress := statusCounts(r.Counts)
		if r.Spec.DryRun {
			progress = "dry run: " + planChanges(r.Plan)
		}
		_, _ = fmt.Fprintf(tab, "%d\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.State, r.Version, r.Plan.Tenants, progress, when(r.CreatedAt))
	}
	_ = tab.Flush()
	return e.err
}

// tenantStatuses are the statuses of a rollout's tenants in their order.
var tenantStatuses = []string{TenantPending, TenantPlanned, TenantUpdating, TenantVerifying, TenantSucceeded, TenantFailed, TenantSkipped}

// statusCounts is "4 succeeded, 1 updating, 3 pending": the statuses with a
// count, in tenantStatuses order, then any other by name.
func statusCounts(counts map[string]int) string {
	var parts []string
	for _, s := range tenantStatuses {
		if n := counts[s]; n != 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		if n := counts[s]; n != 0 && !slices.Contains(tenantStatuses, s) {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// selectorText is "all tenants" or "tenants acme, globex · state ready".
func selectorText(s Selector) string {
	if s.All {
		return "all tenants"
	}
	var parts []string
	for _, f := range []struct {
		name   string
		values []string
	}{{"tenants", s.IDs}, {"state", s.States}, {"cloud", s.Clouds}, {"tier", s.Tiers}} {
		if len(f.values) > 0 {
			parts = append(parts, f.name+" "+strings.Join(f.values, ", "))
		}
	}
	if len(parts) == 0 {
		return "no selector"
	}
	return strings.Join(parts, " · ")
}

// wavesText is "3 waves: 1, 10%, 100%".
func wavesText(r *Rollout) string {
	sizes := make([]string, len(r.Spec.Waves))
	for i, s := range r.Spec.Waves {
		sizes[i] = string(s)
	}
	n := max(len(r.Waves), len(sizes))
	s := plural(n, "wave")
	if len(sizes) > 0 {
		s += ": " + strings.Join(sizes, ", ")
	}
	return s
}

// specText is the rollout's pacing: waves, parallelism, pause, health
// timeout and failure budget.
func specText(s RolloutSpec) string {
	parts := []string{}
	if len(s.Waves) > 0 {
		sizes := make([]string, len(s.Waves))
		for i, w := range s.Waves {
			sizes[i] = string(w)
		}
		parts = append(parts, "waves "+strings.Join(sizes, ", "))
	}
	if s.MaxParallel != nil {
		parts = append(parts, fmt.Sprintf("max parallel %d", *s.MaxParallel))
	}
	if s.PauseBetweenWaves != "" {
		parts = append(parts, "pause "+s.PauseBetweenWaves)
	}
	if s.HealthTimeout != "" {
		parts = append(parts, "health timeout "+s.HealthTimeout)
	}
	if s.MaxFailures != nil {
		parts = append(parts, fmt.Sprintf("max failures %d", *s.MaxFailures))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " · ")
}

// renderDriftCheck writes a drift check: its counts, then each drifted
// tenant's resources and each tenant that could not be checked.
func renderDriftCheck(w io.Writer, d *DriftCheck) error {
	e := &errWriter{w: w}
	took := ""
	if d.Seconds > 0 {
		took = fmt.Sprintf(" in %.1fs", d.Seconds)
	}
	skipped := ""
	if d.Skipped > 0 {
		skipped = fmt.Sprintf(", %d skipped (no longer ready)", d.Skipped)
	}
	e.printf("Drift check %d: %s%s · %d of %s checked: %d in sync, %d drifted, %s%s\n",
		d.ID, d.State, took, d.Checked, plural(d.Tenants, "tenant"), d.InSync, d.Drifted, plural(d.Errors, "error"), skipped)
	shown := 0
	for _, res := range d.Results {
		switch res.Status {
		case DriftDrifted:
			e.printf("\n%s  drifted\n", res.Tenant)
			writeResources(e, res.Resources)
		case DriftError:
			e.printf("\n%s  error: %s\n", res.Tenant, res.Error)
		default:
			continue
		}
		shown++
	}
	if shown == 0 && d.State == DriftCheckDone && d.Errors == 0 {
		e.printf("No drift: every checked tenant matches its stack's state.\n")
	}
	return e.err
}

// renderDriftedTenants writes GET /v1/tenants?drift=true: each drifted
// tenant with its resources as of its last check.
func renderDriftedTenants(w io.Writer, ts []Tenant) error {
	e := &errWriter{w: w}
	if len(ts) == 0 {
		e.printf("No tenant has drifted, as of their last drift check (`tenantfleet fleet drift --wait` runs one).\n")
		return e.err
	}
	for i, t := range ts {
		if i > 0 {
			e.printf("\n")
		}
		checked := "never checked"
		if t.Drift.CheckedAt != nil {
			checked = "checked " + when(*t.Drift.CheckedAt)
		}
		e.printf("%s  %s · %s · %s, %s · version %s\n", t.ID, t.Drift.Status, checked, cmp.Or(t.Cloud, "-"), cmp.Or(t.Tier, "-"), cmp.Or(t.TemplateVersion, "-"))
		if t.Drift.Error != "" {
			e.printf("  error: %s\n", t.Drift.Error)
		}
		writeResources(e, t.Drift.Resources)
	}
	e.printf("\n%s drifted.\n", plural(len(ts), "tenant"))
	return e.err
}

// writeResources writes drifted resources: "~ name (type) changed: port"
// or "- name (type) deleted".
func writeResources(e *errWriter, rs []DriftResource) {
	for _, r := range rs {
		name := resourceName(r.Name, r.Type, r.URN)
		switch r.Change {
		case "deleted":
			e.printf("  - %s deleted\n", name)
		case "changed":
			if len(r.Properties) > 0 {
				e.printf("  ~ %s changed: %s\n", name, strings.Join(r.Properties, ", "))
			} else {
				e.printf("  ~ %s changed\n", name)
			}
		default:
			e.printf("  ? %s %s\n", name, r.Change)
		}
	}
}

// resourceName is "name (type)", or the URN when the name is missing.
func resourceName(name, typ, urn string) string {
	if name == "" {
		return urn
	}
	if typ == "" {
		return name
	}
	return name + " (" + typ + ")"
}

// costChange is "$12.00 → $24.00 (+$12.00)".
func costChange(before, after, delta float64) string {
	return fmt.Sprintf("%s → %s (%s)", money(before), money(after), signed(delta))
}

// money formats a monthly amount in USD: $1,234.56.
func money(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	intPart, frac, _ := strings.Cut(fmt.Sprintf("%.2f", v), ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteByte('$')
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String() + "." + frac
}

// signed is money with a + on an increase.
func signed(v float64) string {
	if v > 0 {
		return "+" + money(v)
	}
	return money(v)
}

// plural is "1 tenant" or "2 tenants".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.ToUpper(noun) == noun {
		return fmt.Sprintf("%d %sS", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// when is a time in UTC to the second, "-" when unset.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
