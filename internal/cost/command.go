package cost

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tenantfleet/tenantfleet/internal/cli"
	"github.com/tenantfleet/tenantfleet/internal/engine"
	"github.com/tenantfleet/tenantfleet/internal/pricing"
)

// options are the flags the cost commands share.
type options struct {
	stack, projectDir, backend, format, usageFile, catalogDir string
}

func (o *options) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.stack, "stack", "s", "", "stack to price (its Pulumi.<stack>.yaml names the cloud and region)")
	f.StringVar(&o.projectDir, "project-dir", "", "directory of Pulumi.yaml (default: the nearest one upward)")
	f.StringVar(&o.format, "format", "table", "output: table, json (a stable schema) or markdown (for a pull-request comment)")
	f.StringVar(&o.usageFile, "usage-file", "", "expected monthly usage of usage-priced parts (YAML; see the README)")
	f.StringVar(&o.catalogDir, "catalog-dir", "", "price catalog directory instead of the embedded one (refresh-catalog writes one; or your own kubernetes.yaml rates)")
}

func (o *options) load() (*pricing.Catalog, *pricing.Usage, error) {
	if !slices.Contains(Formats, o.format) {
		return nil, nil, usage(fmt.Errorf("--format: %q is not one of %s", o.format, strings.Join(Formats, ", ")))
	}
	cat, err := pricing.LoadCatalog(o.catalogDir)
	if err != nil {
		return nil, nil, usage(fmt.Errorf("--catalog-dir: %w", err))
	}
	var u *pricing.Usage
	if o.usageFile != "" {
		if u, err = pricing.LoadUsage(o.usageFile); err != nil {
			return nil, nil, usage(err)
		}
	}
	return cat, u, nil
}

func (o *options) stackConfig() (map[string]any, error) {
	dir := o.projectDir
	if dir == "" {
		cwd, err := os.Getwd()
		if err != nil {
			return nil, usage(err)
		}
		if dir, err = engine.FindProjectDir(cwd); err != nil {
			return nil, err
		}
	}
	o.projectDir = dir
	path := filepath.Join(dir, "Pulumi."+o.stack+".yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, usage(fmt.Errorf("--stack %s: %w", o.stack, err))
	}
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, usage(fmt.Errorf("--stack %s: %s is not valid YAML: %w", o.stack, path, err))
	}
	return doc.Config, nil
}

func usage(err error) error { return &cli.ExitError{Code: cli.ExitUsage, Err: err} }

// Command is `tenantfleet cost` with its subcommands plan and refresh-catalog.
func Command(app *cli.App) *cobra.Command {
	var (
		o                        options
		previewFile              string
		failAbove, failDelta     float64
		cloudFlag, regionFlag    string
		failAboveSet, deltaSet   bool
		previewTime, pricingTime time.Duration
	)
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "Price a stack preview: per resource, per tenant, before, after and delta",
		Long: `cost runs a preview of the stack through the Automation API (nothing changes) and
prices every step from the embedded price catalog: a create at its new cost, a
delete as a saving, an update or replacement as the difference. Resources are
grouped by tenant (their TenantUnit component), fanout and platform; the stack's
monthly total before and after the change and the delta close the report.

Each price component is a monthly quantity, a unit and a unit price (730 hours a
month). Parts priced by use (requests, messages, GB) take their quantity from
--usage-file, or show as "depends on usage" and stay out of the totals; they are
never counted as $0. Local-cloud resources cost $0 and say so. A Kubernetes
cluster has no price list: its resources are priced by the CPU, memory and
persistent storage they request, at the rates of the kubernetes catalog — example
rates until you set your own with --catalog-dir (see the README).

--preview-file prices a saved ` + "`pulumi preview --json`" + ` made elsewhere (a pipeline with
cloud credentials) instead of running one. --fail-above and --fail-delta make CI
gates: exit 4 when the monthly total after the change, or its increase, is above
the amount.`,
		Example: `  tenantfleet cost --stack aws
  tenantfleet cost --stack aws --format markdown > cost.md
  pulumi preview --json --stack prod > preview.json && tenantfleet cost --preview-file preview.json --fail-delta 100
  tenantfleet cost plan --clouds aws,azure,gcp,digitalocean --stack dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			failAboveSet, deltaSet = cmd.Flags().Changed("fail-above"), cmd.Flags().Changed("fail-delta")
			cat, u, err := o.load()
			if err != nil {
				return err
			}
			var (
				steps         []Step
				cloud, region string
				stackName     = o.stack
			)
			switch {
			case previewFile != "" && o.stack != "" && cmd.Flags().Changed("stack"):
				return usage(fmt.Errorf("--preview-file and --stack exclude each other: --preview-file prices a preview made elsewhere"))
			case previewFile != "":
				pf, err := ReadPreviewFile(previewFile)
				if err != nil {
					return usage(err)
				}
				cfg := map[string]any{}
				for k, v := range pf.Config {
					cfg[k] = v
				}
				if cloudFlag != "" {
					cfg["tenantfleet:cloud"] = cloudFlag
				}
				if cloud, region, err = CloudAndRegion(cfg); err != nil {
					return usage(fmt.Errorf("--preview-file %s: %w (pass --cloud)", previewFile, err))
				}
				steps = pf.Steps
				if stackName == "" && len(steps) > 0 {
					stackName = strings.SplitN(strings.TrimPrefix(steps[0].URN, "urn:pulumi:"), "::", 2)[0]
				}
			case o.stack != "":
				cfg, err := o.stackConfig()
				if err != nil {
					return err
				}
				if cloud, region, err = CloudAndRegion(cfg); err != nil {
					return usage(fmt.Errorf("--stack %s: %w", o.stack, err))
				}
				collector := &StepsFromEvents{}
				previewStart := time.Now()
				_, err = app.Engine.Run(cmd.Context(), engine.OpPreview, engine.StackOptions{
					Stack: o.stack, ProjectDir: o.projectDir, Backend: o.backend, Events: collector.Handle, Progress: io.Discard,
				})
				previewTime = time.Since(previewStart)
				if err != nil {
					return err
				}
				steps = collector.Steps()
			default:
				return usage(fmt.Errorf("--stack or --preview-file is required"))
			}
			if regionFlag != "" {
				region = regionFlag
			}
			priceStart := time.Now()
			est, err := pricing.NewEstimator(cat, map[string]string{cloud: region}, u)
			if err != nil {
				return usage(err)
			}
			report, err := Build(stackName, cloud, region, cat, est, steps)
			if err != nil {
				return &cli.ExitError{Code: cli.ExitFailed, Err: err}
			}
			pricingTime = time.Since(priceStart)
			slog.Debug("cost timing", "steps", len(steps), "previewSeconds", previewTime.Seconds(), "pricingSeconds", pricingTime.Seconds())
			if err := Render(cmd.OutOrStdout(), report, o.format); err != nil {
				return err
			}
			if failAboveSet && report.Totals.After > failAbove {
				return &cli.ExitError{Code: cli.ExitCostGate, Err: fmt.Errorf("the monthly cost after the change, %s, is above --fail-above %s",
					money(report.Totals.After), money(failAbove))}
			}
			if deltaSet && report.Totals.Delta > failDelta {
				return &cli.ExitError{Code: cli.ExitCostGate, Err: fmt.Errorf("the change adds %s a month, above --fail-delta %s",
					signed(report.Totals.Delta), money(failDelta))}
			}
			return nil
		},
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.backend, "backend", "", "Pulumi state backend URL (default as for the stack commands)")
	f.StringVar(&previewFile, "preview-file", "", "price this saved `pulumi preview --json` (- for stdin) instead of running a preview")
	f.StringVar(&cloudFlag, "cloud", "", "the cloud of a --preview-file whose config does not name tenantfleet:cloud")
	f.StringVar(&regionFlag, "region", "", "price in this region instead of the stack's")
	f.Float64Var(&failAbove, "fail-above", 0, "exit 4 when the monthly total after the change is above this amount (USD)")
	f.Float64Var(&failDelta, "fail-delta", 0, "exit 4 when the change adds more than this amount a month (USD)")
	cmd.AddCommand(planCommand(), refreshCommand())
	return cmd
}

func planCommand() *cobra.Command {
	var (
		o       options
		clouds  []string
		regions []string
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Price the same fleet on several clouds, offline (Pulumi mocks, no credentials)",
		Long: `plan takes the tenants and fanout of a stack (--stack, default dev) and runs the
tenantfleet program against each cloud's adapter with Pulumi's mocks — nothing is
created, no credentials or network are used — then prices what each would
register and puts the fleet side by side per cloud and per tenant. Each cloud
runs with the settings its adapter requires in its default region; --region
cloud=REGION changes it. A fleet a cloud refuses (an adapter's validation) is
reported with the reason.`,
		Example: `  tenantfleet cost plan --clouds aws,azure,gcp,digitalocean --stack dev
  tenantfleet cost plan --clouds aws,gcp --region aws=eu-west-1 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, u, err := o.load()
			if err != nil {
				return err
			}
			if len(clouds) == 0 {
				return usage(fmt.Errorf("--clouds is required: some of %s", strings.Join(PlanClouds(), ", ")))
			}
			regionMap := map[string]string{}
			for _, r := range regions {
				cloud, region, ok := strings.Cut(r, "=")
				if !ok || cloud == "" || region == "" {
					return usage(fmt.Errorf("--region %q: use cloud=REGION, for example aws=eu-west-1", r))
				}
				regionMap[cloud] = region
			}
			if o.stack == "" {
				o.stack = "dev"
			}
			fleet, err := o.stackConfig()
			if err != nil {
				return err
			}
			cmp, err := Compare(cmd.Context(), o.stack, fleet, clouds, regionMap, cat, u)
			if err != nil {
				return usage(err)
			}
			return RenderComparison(cmd.OutOrStdout(), cmp, o.format)
		},
	}
	o.register(cmd)
	cmd.Flags().StringSliceVar(&clouds, "clouds", nil, "clouds to compare: "+strings.Join(PlanClouds(), ", "))
	cmd.Flags().StringArrayVar(&regions, "region", nil, "cloud=REGION to price a cloud in another region (repeatable)")
	return cmd
}
