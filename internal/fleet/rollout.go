package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func rolloutCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Plan, start, follow, pause, resume and cancel rollouts of a template version",
		Long: `A rollout brings the selected tenants to a template version (by default the
service's current one) wave by wave: each wave is a cumulative size, a count or
a percentage of the selected tenants (--waves 1,10%,100%: one canary, then up
to a tenth, then the rest). In a wave up to --max-parallel tenants are updated
at once; each updated tenant must pass its health check within
--health-timeout. A failed tenant counts against --max-failures (default 0):
one more halts the rollout, and the tenants not yet updated stay as they are
until it is resumed (the failed ones are tried again) or cancelled. --pause
waits between waves.

plan is a dry run: a preview of every selected tenant, nothing changes. start
runs the rollout and follows it; status shows or follows one (or lists them);
pause, resume and cancel act on one between tenants.`,
		Example: `  tenantfleet fleet rollout plan --all
  tenantfleet fleet rollout start --all --waves 1,10%,100% --pause 1m
  tenantfleet fleet rollout status
  tenantfleet fleet rollout status 3 --watch
  tenantfleet fleet rollout cancel 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(planCommand(g), startCommand(g), rolloutStatusCommand(g),
		actionCommand(g, "pause", "Pause a rollout after the tenants being updated finish",
			`pause stops a rolling rollout from starting more tenants; those being updated
finish (POST /v1/rollouts/{id}/pause). resume carries on where it stopped. A
rollout that is not rolling cannot be paused: the service refuses (exit 2).`),
		actionCommand(g, "resume", "Resume a paused or halted rollout",
			`resume carries on with a paused or halted rollout from where it stopped (POST
/v1/rollouts/{id}/resume); a halted rollout's failed tenants are tried again
(previewed again when their preview failed). `+"`tenantfleet fleet rollout status ID --watch`"+`
follows it. A rollout that is neither paused nor halted cannot be resumed: the
service refuses (exit 2).`),
		actionCommand(g, "cancel", "Cancel a rollout: no more tenants are updated",
			`cancel ends a rollout for good (POST /v1/rollouts/{id}/cancel): the tenants not
yet updated are skipped and keep their version, those being updated finish, and
the updated ones stay on the new version (a rollout of the old version takes
them back). A finished rollout cannot be cancelled: the service refuses (exit 2).`),
	)
	return cmd
}

// rolloutFlags are the flags of plan and start: the selector and the
// rollout's version and pacing. Only the flags given are sent; the service
// applies its defaults to the others.
type rolloutFlags struct {
	sel           selectorFlags
	version       string
	waves         []string
	maxParallel   int
	pause         time.Duration
	healthTimeout time.Duration
	maxFailures   int
}

func (rf *rolloutFlags) register(f *pflag.FlagSet) {
	rf.sel.register(f, "every tenant (those on the version already are left out)")
	f.StringVar(&rf.version, "version", "", "the template version to roll out (default: the service's current version)")
	f.StringSliceVar(&rf.waves, "waves", nil, "cumulative wave sizes, counts or percentages of the selected tenants; the last reaches all (default 1,100%)")
	f.IntVar(&rf.maxParallel, "max-parallel", 0, "tenants updated at once within a wave (default: serve's --concurrency)")
	f.DurationVar(&rf.pause, "pause", 0, "wait between waves, such as 30s or 5m")
	f.DurationVar(&rf.healthTimeout, "health-timeout", 0, "how long an updated tenant has to pass its health check (default 2m)")
	f.IntVar(&rf.maxFailures, "max-failures", 0, "failed tenants the rollout tolerates; one more halts it")
}

// spec is the POST /v1/rollouts body the flags make.
func (rf *rolloutFlags) spec(f *pflag.FlagSet, dryRun bool) (RolloutSpec, error) {
	sel, err := rf.sel.selector()
	if err != nil {
		return RolloutSpec{}, err
	}
	if sel == nil {
		return RolloutSpec{}, usage(errNoSelector)
	}
	spec := RolloutSpec{Selector: *sel, Version: rf.version, DryRun: dryRun}
	for _, w := range rf.waves {
		size, err := ParseWaveSize(w)
		if err != nil {
			return RolloutSpec{}, usage(fmt.Errorf("--waves: %w", err))
		}
		spec.Waves = append(spec.Waves, size)
	}
	if f.Changed("max-parallel") {
		if rf.maxParallel < 1 {
			return RolloutSpec{}, usage(errors.New("--max-parallel must be 1 or more"))
		}
		spec.MaxParallel = &rf.maxParallel
	}
	if f.Changed("pause") {
		if rf.pause < 0 {
			return RolloutSpec{}, usage(errors.New("--pause must not be negative"))
		}
		spec.PauseBetweenWaves = rf.pause.String()
	}
	if f.Changed("health-timeout") {
		if rf.healthTimeout <= 0 {
			return RolloutSpec{}, usage(errors.New("--health-timeout must be more than 0"))
		}
		spec.HealthTimeout = rf.healthTimeout.String()
	}
	if f.Changed("max-failures") {
		if rf.maxFailures < 0 {
			return RolloutSpec{}, usage(errors.New("--max-failures must be 0 or more"))
		}
		spec.MaxFailures = &rf.maxFailures
	}
	return spec, nil
}

// begin posts spec and returns the rollout, read again at once when the
// answer is already final (the POST's answer lists no tenants).
func begin(ctx context.Context, c *Client, spec RolloutSpec, final func(*Rollout) bool) (*Rollout, []byte, error) {
	r, raw, err := c.StartRollout(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	if final(r) {
		return c.Rollout(ctx, r.ID)
	}
	return r, raw, nil
}

func planCommand(g *globals) *cobra.Command {
	var rf rolloutFlags
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Preview a rollout: per tenant the changes, replacements and cost delta, then the fleet's totals",
		Long: `plan starts a rollout as a dry run (POST /v1/rollouts with dryRun): the service
runs a preview of every selected tenant's stack on the version — nothing
changes — and plan follows it until it is planned. It then prints, per tenant,
its wave, the version it is on, the resources created, updated, replaced and
deleted and its monthly cost before and after; the resources replaced, a
database loudly (a replaced database is a new one, without the old one's data);
the tenants whose preview failed; and the fleet's totals.

Choose the tenants with --all or filters: --tenant, --state, --cloud and --tier
(each repeatable; different filters must all match, the values of one any).
Tenants on the version already are left out.
The pacing flags are those of start, so that the plan shows the waves start
would use. A plan with a failed preview exits 1.`,
		Example: `  tenantfleet fleet rollout plan --all
  tenantfleet fleet rollout plan --cloud aws --tier large --version 3f2a9c1b7d4e
  tenantfleet fleet rollout plan --all --waves 1,10%,100% --json | jq .plan`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := rf.spec(cmd.Flags(), true)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			r, raw, err := begin(ctx, c, spec, (*Rollout).Final)
			if err != nil {
				return err
			}
			notes := cmd.ErrOrStderr()
			planned := -1
			seen := func(r *Rollout) {
				if r.State == RolloutPlanning && r.Plan.Planned != planned {
					planned = r.Plan.Planned
					_, _ = fmt.Fprintf(notes, "rollout %d: planning · %d/%d tenants planned\n", r.ID, r.Plan.Planned, r.Plan.Tenants) // progress for the terminal
				}
			}
			get := func(ctx context.Context) (*Rollout, []byte, error) { return c.Rollout(ctx, r.ID) }
			r, raw, err = follow(ctx, g.poller(cmd), r, raw, get, (*Rollout).Final, seen)
			if err != nil {
				if ctx.Err() != nil {
					return interrupted(r.ID)
				}
				return err
			}
			if g.json {
				err = writeJSON(cmd.OutOrStdout(), raw)
			} else {
				err = renderPlan(cmd.OutOrStdout(), r)
			}
			if err != nil {
				return err
			}
			return outcome(r)
		},
	}
	rf.register(cmd.Flags())
	return cmd
}

func startCommand(g *globals) *cobra.Command {
	var (
		rf     rolloutFlags
		detach bool
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start a rollout and follow it wave by wave, tenant by tenant",
		Long: `start starts a rollout (POST /v1/rollouts): the service plans it (a preview of
every selected tenant), then updates the tenants wave by wave. start follows it
until it succeeds, halts or is cancelled, a line per change:

  wave 2/3: started · 3 tenants
  wave 2/3 · acme  updating → verifying
  wave 2/3 · acme  verifying → succeeded

It exits 0 when the rollout succeeds and 1 when it halts (more tenants failed
than --max-failures) or is cancelled. Interrupting start (Ctrl-C) stops only the
following: the rollout goes on in the service, and status --watch picks it up
again. --detach prints the rollout's id and returns at once. With --json the
progress goes to stderr and the rollout's final document to stdout.

Choose the tenants with --all or filters, as for plan; ` + "`tenantfleet fleet rollout plan`" + `
with the same flags shows what start would change.`,
		Example: `  tenantfleet fleet rollout start --all
  tenantfleet fleet rollout start --tier small --waves 1,10%,100% --max-parallel 4 --pause 30s
  tenantfleet fleet rollout start --tenant acme --tenant globex --max-failures 1
  tenantfleet fleet rollout start --all --detach`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := rf.spec(cmd.Flags(), false)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			r, raw, err := begin(ctx, c, spec, (*Rollout).Final)
			if err != nil {
				return err
			}
			if detach {
				if g.json {
					return writeJSON(out, raw)
				}
				e := &errWriter{w: out}
				e.printf("Rollout %d started (%s): `tenantfleet fleet rollout status %d --watch` follows it.\n", r.ID, r.State, r.ID)
				return e.err
			}
			return watch(cmd, g, c, r, raw, nil)
		},
	}
	rf.register(cmd.Flags())
	cmd.Flags().BoolVar(&detach, "detach", false, "print the rollout's id and return instead of following it")
	return cmd
}

// watch follows rollout r until it is final, writing its progress (to
// stderr with --json, whose document goes to stdout at the end); prev is the
// reading already shown, if any. A rollout that halts or is cancelled is an
// error.
func watch(cmd *cobra.Command, g *globals, c *Client, r *Rollout, raw []byte, prev *Rollout) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	progressOut := out
	if g.json {
		progressOut = cmd.ErrOrStderr()
	}
	prog := newProgress(progressOut)
	if prev != nil {
		prog.seed(prev)
	}
	get := func(ctx context.Context) (*Rollout, []byte, error) { return c.Rollout(ctx, r.ID) }
	r, raw, err := follow(ctx, g.poller(cmd), r, raw, get, (*Rollout).Final, prog.show)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(r.ID)
		}
		return err
	}
	if prog.w.err != nil && !g.json {
		return prog.w.err
	}
	if g.json {
		if err := writeJSON(out, raw); err != nil {
			return err
		}
	}
	return outcome(r)
}

func rolloutStatusCommand(g *globals) *cobra.Command {
	var watchFlag bool
	cmd := &cobra.Command{
		Use:   "status [ID]",
		Short: "List the rollouts, or show one; --watch follows it until it finishes",
		Long: `status without an id lists the rollouts, newest first: state, version, tenants
and progress. With an id it shows that rollout: its state (and why it halted or
was cancelled), waves, tenants' statuses and errors, plan and pacing; a dry
run's plan as plan prints it.

--watch then follows the rollout as start does, a line per change, until it
succeeds (exit 0), halts or is cancelled (exit 1).`,
		Example: `  tenantfleet fleet rollout status
  tenantfleet fleet rollout status 3
  tenantfleet fleet rollout status 3 --watch
  tenantfleet fleet rollout status 3 --json | jq '.tenants[] | select(.status == "failed")'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && watchFlag {
				return usage(errors.New("--watch follows one rollout: give its id (`tenantfleet fleet rollout status` lists them)"))
			}
			var id int64
			if len(args) == 1 {
				var err error
				if id, err = parseID(args[0]); err != nil {
					return err
				}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if len(args) == 0 {
				rs, raw, err := c.Rollouts(ctx)
				if err != nil {
					return err
				}
				if g.json {
					return writeJSON(out, raw)
				}
				return renderRollouts(out, rs)
			}
			r, raw, err := c.Rollout(ctx, id)
			if err != nil {
				return err
			}
			if !watchFlag {
				if g.json {
					return writeJSON(out, raw)
				}
				return renderRollout(out, r)
			}
			if !g.json {
				if err := renderRollout(out, r); err != nil {
					return err
				}
				if !r.Final() {
					e := &errWriter{w: out}
					e.printf("\n")
					if e.err != nil {
						return e.err
					}
				}
			}
			return watch(cmd, g, c, r, raw, r)
		},
	}
	cmd.Flags().BoolVar(&watchFlag, "watch", false, "follow the rollout until it succeeds, halts or is cancelled")
	return cmd
}

// actionCommand is pause, resume or cancel: POST /v1/rollouts/{id}/action.
func actionCommand(g *globals, action, short, long string) *cobra.Command {
	return &cobra.Command{
		Use:     action + " ID",
		Short:   short,
		Long:    long,
		Example: fmt.Sprintf("  tenantfleet fleet rollout %s 3\n  tenantfleet fleet rollout %s 3 --json | jq .state", action, action),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			r, raw, err := c.RolloutAction(cmd.Context(), id, action)
			if err != nil {
				return err
			}
			if g.json {
				return writeJSON(cmd.OutOrStdout(), raw)
			}
			return renderActionResult(cmd.OutOrStdout(), r)
		},
	}
}

func renderActionResult(w io.Writer, r *Rollout) error {
	e := &errWriter{w: w}
	e.printf("Rollout %d: %s · version %s · %s\n", r.ID, r.State, r.Version, statusCounts(r.Counts))
	switch r.State {
	case RolloutPaused:
		e.printf("`tenantfleet fleet rollout resume %d` resumes it.\n", r.ID)
	case RolloutPlanning, RolloutRolling:
		e.printf("`tenantfleet fleet rollout status %d --watch` follows it.\n", r.ID)
	}
	return e.err
}

// parseID reads a rollout id.
func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, usage(fmt.Errorf("%q is not a rollout id (a number; `tenantfleet fleet rollout status` lists them)", s))
	}
	return id, nil
}
