package cost

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// Formats are the output formats.
var Formats = []string{"table", "json", "markdown"}

// Render writes the report in format.
func Render(w io.Writer, r *Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "markdown":
		return renderMarkdown(w, r)
	case "table", "":
		return renderTable(w, r)
	}
	return fmt.Errorf("--format: %q is not one of %s", format, strings.Join(Formats, ", "))
}

// errWriter writes to w until a write fails and keeps that first error, so a
// renderer prints line after line and returns err once at the end: a report
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

// printf and println write through e; a failure is kept in e.err.
func (e *errWriter) printf(format string, args ...any) { _, _ = fmt.Fprintf(e, format, args...) }
func (e *errWriter) println(args ...any)               { _, _ = fmt.Fprintln(e, args...) }

// money formats a monthly amount: $1,234.56.
func money(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%.2f", v)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := "$" + b.String() + "." + frac
	if neg {
		return "-" + out
	}
	return out
}

// signed formats a delta: +$1.00, -$1.00, $0.00.
func signed(v float64) string {
	if v > 0 {
		return "+" + money(v)
	}
	return money(v)
}

func quantity(c pricing.Component) string {
	if c.MonthlyQuantity == nil {
		return "-"
	}
	return trimFloat(*c.MonthlyQuantity)
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.4f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

func componentCost(c pricing.Component) string {
	if c.MonthlyCost == nil {
		return "depends on usage"
	}
	return money(*c.MonthlyCost)
}

func groupTitle(g Group) string {
	switch g.Kind {
	case "stack":
		return "stack " + g.Name + " (outside any component)"
	default:
		return g.Kind + " " + g.Name
	}
}

func header(r *Report) string {
	if c, err := pricing.Lookup(r.Cloud); err == nil && c.RunsLocally() {
		return fmt.Sprintf("Stack %s on the %s cloud: it runs on this machine, so every resource costs $0.", r.Stack, r.Cloud)
	}
	where := r.Cloud
	if r.Region != "" {
		where += ", " + r.Region
	}
	catalog := "no catalog"
	if v := r.Catalog[r.Cloud]; v != "" {
		catalog = r.Cloud + " catalog " + v
	}
	line := fmt.Sprintf("Stack %s on %s. Prices: %s, %s, %d hours a month.", r.Stack, where, catalog, r.Currency, r.HoursPerMonth)
	if r.Basis != "" {
		line += "\n" + r.Basis
	}
	return line
}

// renderTable writes a tree per group: each resource with its step and its
// components (quantity, unit, monthly cost), the group's total, and the
// stack's totals before, after and the delta.
func renderTable(w io.Writer, r *Report) error {
	out := &errWriter{w: w}
	out.println(header(r))
	out.println()
	tab := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	tw := &errWriter{w: tab}
	tw.println("NAME\tMONTHLY QTY\tUNIT\tMONTHLY COST\t")
	for _, g := range r.Groups {
		tw.printf("%s\t\t\t%s\t%s\n", groupTitle(g), money(g.After), deltaNote(g.Before, g.After))
		priced := pricedResources(g.Resources)
		for i, res := range priced {
			branch, pipe := "├─", "│ "
			if i == len(priced)-1 {
				branch, pipe = "└─", "  "
			}
			tw.printf("%s %s (%s, %s)\t\t\t%s\t%s\n", branch, res.Name, res.Type, res.Op, resourceCost(res), deltaNote(res.Before, res.After))
			for j, c := range res.Components {
				sub := "├─"
				if j == len(res.Components)-1 {
					sub = "└─"
				}
				tw.printf("%s %s %s\t%s\t%s\t%s\t\n", pipe, sub, c.Name, quantity(c), c.Unit, componentCost(c))
			}
		}
		if n := len(g.Resources) - len(priced); n > 0 {
			tw.printf("   %d free resource%s (%s)\t\t\t\t\n", n, plural(n), freeNote(g.Resources))
		}
	}
	tw.println("\t\t\t\t")
	tw.printf("TOTAL BEFORE\t\t\t%s\t\n", money(r.Totals.Before))
	tw.printf("TOTAL AFTER\t\t\t%s\t\n", money(r.Totals.After))
	tw.printf("DELTA\t\t\t%s\t\n", signed(r.Totals.Delta))
	if err := tab.Flush(); err != nil {
		return err
	}
	if r.Totals.UsageDependent > 0 {
		out.printf("\n%d resource%s also cost%s what they are used for (\"depends on usage\"): not in the totals; "+
			"give expected usage with --usage-file.\n", r.Totals.UsageDependent, plural(r.Totals.UsageDependent), verbS(r.Totals.UsageDependent))
	}
	return out.err
}

func resourceCost(res ResourceCost) string {
	if res.Kind == pricing.Local {
		return "$0.00 (local)"
	}
	if res.UsageDependent {
		return money(res.After) + " + usage"
	}
	return money(res.After)
}

func deltaNote(before, after float64) string {
	d := round(after - before)
	if d == 0 {
		return ""
	}
	return "(" + signed(d) + ")"
}

// pricedResources are the resources with a cost or a usage-priced part.
func pricedResources(rs []ResourceCost) []ResourceCost {
	var out []ResourceCost
	for _, r := range rs {
		if r.Kind != pricing.Free {
			out = append(out, r)
		}
	}
	return out
}

func freeNote(rs []ResourceCost) string {
	types := map[string]bool{}
	for _, r := range rs {
		if r.Kind == pricing.Free {
			types[shortType(r.Type)] = true
		}
	}
	var names []string
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	if len(names) > 4 {
		names = append(names[:4], "...")
	}
	return strings.Join(names, ", ")
}

// shortType is a type token's last part (aws:iam/role:Role -> Role).
func shortType(t string) string {
	if i := strings.LastIndex(t, ":"); i >= 0 {
		return t[i+1:]
	}
	return t
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// renderMarkdown writes a pull-request comment: the totals, a table per
// group and, folded, the components.
func renderMarkdown(w io.Writer, r *Report) error {
	out := &errWriter{w: w}
	out.printf("### Cost of this change: %s a month\n\n", signed(r.Totals.Delta))
	out.printf("%s\n\n", header(r))
	out.println("| | before | after | delta |")
	out.println("| --- | ---: | ---: | ---: |")
	for _, g := range r.Groups {
		out.printf("| %s | %s | %s | %s |\n", groupTitle(g), money(g.Before), money(g.After), signed(g.Delta))
	}
	out.printf("| **total** | **%s** | **%s** | **%s** |\n\n", money(r.Totals.Before), money(r.Totals.After), signed(r.Totals.Delta))
	if r.Totals.UsageDependent > 0 {
		out.printf("%d resource%s also cost%s what they are used for, not in the totals (give expected usage with `--usage-file`).\n\n",
			r.Totals.UsageDependent, plural(r.Totals.UsageDependent), verbS(r.Totals.UsageDependent))
	}
	out.println("<details><summary>Resources</summary>")
	out.println()
	out.println("| resource | step | component | monthly qty | unit | monthly cost |")
	out.println("| --- | --- | --- | ---: | --- | ---: |")
	for _, g := range r.Groups {
		for _, res := range pricedResources(g.Resources) {
			if len(res.Components) == 0 {
				out.printf("| `%s` | %s | %s | | | %s |\n", res.Name, res.Op, mdEscape(res.Note), resourceCost(res))
				continue
			}
			for i, c := range res.Components {
				name, op := "", ""
				if i == 0 {
					name, op = "`"+res.Name+"`", res.Op
				}
				out.printf("| %s | %s | %s | %s | %s | %s |\n", name, op, mdEscape(c.Name), quantity(c), c.Unit, componentCost(c))
			}
		}
	}
	out.println()
	out.println("</details>")
	return out.err
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
