package fleet

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tenantfleet/tenantfleet/internal/cli"
)

// env is what the commands take from the process: its variables and the
// polling interval (tests shorten it).
type env struct {
	getenv func(string) string
	poll   time.Duration
}

// globals are the flags every fleet command shares, and how the commands
// reach the service.
type globals struct {
	env
	url  string
	json bool
}

// client returns a client of the service at --url ($TENANTFLEET_URL, else
// DefaultURL) with the token of $TENANTFLEET_API_TOKEN.
func (g *globals) client() (*Client, error) {
	base := cmp.Or(g.url, g.getenv(EnvURL), DefaultURL)
	token := ""
	for _, t := range strings.Split(g.getenv(EnvAPIToken), ",") {
		if token = strings.TrimSpace(t); token != "" {
			break
		}
	}
	if token == "" {
		return nil, usage(fmt.Errorf("$%s is not set: export the operators' bearer token the service was started with", EnvAPIToken))
	}
	c, err := NewClient(base, token)
	if err != nil {
		source := "--url"
		if g.url == "" {
			source = "$" + EnvURL
		}
		return nil, usage(fmt.Errorf("%s: %w", source, err))
	}
	return c, nil
}

func (g *globals) poller(cmd *cobra.Command) poller {
	return poller{every: g.poll, notes: cmd.ErrOrStderr()}
}

// Command is `tenantfleet fleet` with its subcommands status, rollout and
// drift.
func Command(_ *cli.App) *cobra.Command {
	return newCommand(env{getenv: os.Getenv, poll: PollInterval})
}

func newCommand(e env) *cobra.Command {
	g := &globals{env: e}
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "Show the fleet, roll template versions out across tenants and check drift (a client of serve)",
		Long: `fleet talks to a running signup service (tenantfleet serve) over its HTTP API.

status shows the tenants by state, cloud and tier, which template version each
runs, drift and cost. rollout plans (a dry run: a preview of every selected
tenant, with each change, replacement and cost delta) and starts rollouts of a
template version, wave by wave, following their progress tenant by tenant until
they succeed, halt or are cancelled; it pauses, resumes and cancels them. drift
runs a drift check (a refresh preview of each tenant) and shows what changed
outside tenantfleet.

The service is at --url, else $TENANTFLEET_URL, else http://127.0.0.1:8080 (serve's
default --listen). Every request carries the operators' bearer token from
$TENANTFLEET_API_TOKEN, the variable serve reads (the first one when it lists
several); it never goes on a command line. --json prints the service's own JSON
documents, indented.

The service's errors are printed with the field at fault; a refused request (a
4xx) exits 2, anything else that fails exits 1, and so does a rollout that halts
or is cancelled.`,
		Example: `  export TENANTFLEET_API_TOKEN=...   # as given to tenantfleet serve
  tenantfleet fleet status
  tenantfleet fleet rollout plan --all
  tenantfleet fleet rollout start --tier small --waves 1,10%,100% --pause 30s
  tenantfleet fleet drift --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	f := cmd.PersistentFlags()
	f.StringVar(&g.url, "url", "", "the service's base URL (default $"+EnvURL+", else "+DefaultURL+")")
	f.BoolVar(&g.json, "json", false, "print the service's JSON as it answered, indented")
	cmd.AddCommand(statusCommand(g), rolloutCommand(g), driftCommand(g))
	return cmd
}

func statusCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the fleet: tenants by state, cloud and tier, template versions, drift, cost, active rollouts",
		Long: `status reads GET /v1/fleet and shows the number of tenants by state, cloud and
tier; the template versions (a 12-character hash of the tenant template and the
tenantfleet build) with how many tenants run each and which one is current; the
drift statuses as of the last drift check; the fleet's monthly cost; and the
rollouts in progress.`,
		Example: `  tenantfleet fleet status
  tenantfleet fleet status --json | jq .versions`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			f, raw, err := c.Fleet(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return writeJSON(cmd.OutOrStdout(), raw)
			}
			return renderFleet(cmd.OutOrStdout(), f)
		},
	}
}

// selectorFlags choose the tenants of a rollout or a drift check.
type selectorFlags struct {
	all                        bool
	ids, states, clouds, tiers []string
}

func (s *selectorFlags) register(f *pflag.FlagSet, all string) {
	f.BoolVar(&s.all, "all", false, all)
	f.StringSliceVar(&s.ids, "tenant", nil, "the tenant with this id (repeatable, or comma-separated)")
	f.StringSliceVar(&s.states, "state", nil, "tenants in this state, such as ready or failed (repeatable)")
	f.StringSliceVar(&s.clouds, "cloud", nil, "tenants on this cloud (repeatable)")
	f.StringSliceVar(&s.tiers, "tier", nil, "tenants of this tier (repeatable)")
}

// errNoSelector is the usage error of a rollout that names no tenants.
var errNoSelector = errors.New("choose the tenants: pass --all, or filters (--tenant, --state, --cloud, --tier; different filters must all match, the values of one any)")

// selector is the selector the flags make; nil when none is given.
func (s *selectorFlags) selector() (*Selector, error) {
	filtered := len(s.ids)+len(s.states)+len(s.clouds)+len(s.tiers) > 0
	switch {
	case s.all && filtered:
		return nil, usage(errors.New("--all and the filters (--tenant, --state, --cloud, --tier) exclude each other: --all takes every tenant"))
	case s.all:
		return &Selector{All: true}, nil
	case filtered:
		return &Selector{IDs: s.ids, States: s.states, Clouds: s.clouds, Tiers: s.tiers}, nil
	}
	return nil, nil
}

func driftCommand(g *globals) *cobra.Command {
	var (
		sel        selectorFlags
		wait, list bool
	)
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Check the tenants for drift: what changed in the cloud outside tenantfleet",
		Long: `drift starts a drift check (POST /v1/drift-checks): the service runs a refresh
preview of each selected tenant's stack — nothing changes — and records, per
tenant, the resources that differ from the stack's state: changed (with the
properties that differ) or deleted. Without a selector flag every ready tenant
is checked.

drift prints the check's id and returns; --wait follows it until it is done and
prints each drifted tenant with its resources and properties, and each tenant it
could not check. --list starts nothing: it lists the tenants found drifted by
their last check (GET /v1/tenants?drift=true).

POST /v1/tenants/{id}/reconcile puts a drifted tenant back to what its template
version says (an update that refreshes first).`,
		Example: `  tenantfleet fleet drift --wait
  tenantfleet fleet drift --cloud aws --tier large --wait
  tenantfleet fleet drift --list
  tenantfleet fleet drift --list --json | jq -r '.tenants[].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := sel.selector()
			if err != nil {
				return err
			}
			if list && (s != nil || wait) {
				return usage(errors.New("--list starts no check: it takes no --wait and no selector flag"))
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if list {
				ts, raws, err := c.DriftedTenants(ctx)
				if err != nil {
					return err
				}
				if g.json {
					doc, err := json.Marshal(tenantPage{Tenants: raws})
					if err != nil {
						return failed(err)
					}
					return writeJSON(out, doc)
				}
				return renderDriftedTenants(out, ts)
			}
			d, raw, err := c.StartDriftCheck(ctx, s)
			if err != nil {
				return err
			}
			if !wait {
				if g.json {
					return writeJSON(out, raw)
				}
				e := &errWriter{w: out}
				e.printf("Drift check %d started for %s: `tenantfleet fleet drift --list` shows the drifted tenants once it is done.\n",
					d.ID, plural(d.Tenants, "tenant"))
				return e.err
			}
			// The POST answers without results: the check's own document
			// has them.
			if d, raw, err = c.DriftCheck(ctx, d.ID); err != nil {
				return err
			}
			prog := &driftProgress{w: cmd.ErrOrStderr(), checked: -1}
			get := func(ctx context.Context) (*DriftCheck, []byte, error) { return c.DriftCheck(ctx, d.ID) }
			done := func(d *DriftCheck) bool { return d.State == DriftCheckDone }
			d, raw, err = follow(ctx, g.poller(cmd), d, raw, get, done, prog.show)
			if err != nil {
				if ctx.Err() != nil {
					return failed(fmt.Errorf("stopped following drift check %d; it goes on in the service (`tenantfleet fleet drift --list` shows its results once done)", d.ID))
				}
				return err
			}
			if g.json {
				return writeJSON(out, raw)
			}
			return renderDriftCheck(out, d)
		},
	}
	sel.register(cmd.Flags(), "every ready tenant (the default)")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the check until it is done and print the drifted tenants")
	cmd.Flags().BoolVar(&list, "list", false, "start no check: list the tenants their last check found drifted")
	return cmd
}
