package cost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/pulumi/pulumi/pkg/v3/display"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/tenantfleet/tenantfleet/internal/pricing"
	"github.com/tenantfleet/tenantfleet/providers"
)

// StepsFromEvents keeps the resource steps of a preview's engine events
// (one per resource: the pre-event carries old and new inputs).
type StepsFromEvents struct {
	steps []Step
}

// Handle takes one engine event.
func (s *StepsFromEvents) Handle(ev events.EngineEvent) {
	if ev.ResourcePreEvent == nil {
		return
	}
	m := ev.ResourcePreEvent.Metadata
	s.steps = append(s.steps, Step{Op: string(m.Op), URN: m.URN, Type: m.Type, Old: eventState(m.Old), New: eventState(m.New)})
}

// Steps returns the steps seen.
func (s *StepsFromEvents) Steps() []Step { return s.steps }

func eventState(m *apitype.StepEventStateMetadata) *State {
	if m == nil {
		return nil
	}
	return &State{Inputs: m.Inputs, Parent: m.Parent, Custom: m.Custom, External: m.External}
}

// PreviewFile is a saved `pulumi preview --json`: its steps and the stack
// config it ran with (secrets blinded), which names the cloud and region.
type PreviewFile struct {
	Steps  []Step
	Config map[string]string
}

// ReadPreviewFile reads a `pulumi preview --json` document (Pulumi's
// display.PreviewDigest).
func ReadPreviewFile(path string) (*PreviewFile, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--preview-file: %w", err)
		}
		defer func() { _ = f.Close() }() // read-only: a close error loses nothing
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("--preview-file %s: %w", path, err)
	}
	return ParsePreview(path, raw)
}

// ParsePreview parses a `pulumi preview --json` document.
func ParsePreview(name string, raw []byte) (*PreviewFile, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("--preview-file %s: not a `pulumi preview --json` document (it must be one JSON object)", name)
	}
	var digest display.PreviewDigest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&digest); err != nil {
		return nil, fmt.Errorf("--preview-file %s: not a `pulumi preview --json` document: %w", name, err)
	}
	if digest.Steps == nil && digest.ChangeSummary == nil {
		return nil, fmt.Errorf("--preview-file %s: no steps and no changeSummary: not a `pulumi preview --json` document", name)
	}
	out := &PreviewFile{Config: digest.Config}
	for i, s := range digest.Steps {
		if s == nil || s.URN == "" || !s.URN.IsValid() {
			return nil, fmt.Errorf("--preview-file %s: steps[%d]: no valid urn", name, i)
		}
		step := Step{Op: string(s.Op), URN: string(s.URN), Type: string(s.URN.Type())}
		step.Old, step.New = resourceState(s.OldState), resourceState(s.NewState)
		out.Steps = append(out.Steps, step)
	}
	return out, nil
}

func resourceState(r *apitype.ResourceV3) *State {
	if r == nil {
		return nil
	}
	return &State{Inputs: r.Inputs, Parent: string(r.Parent), Custom: r.Custom, External: r.External}
}

// StepsFromPlan turns what an offline run registered into create steps.
func StepsFromPlan(resources []pricing.Resource, parents map[string]string) []Step {
	steps := make([]Step, 0, len(resources))
	for _, r := range resources {
		steps = append(steps, Step{Op: "create", URN: r.URN, Type: r.Type, New: &State{Inputs: r.Inputs, Parent: parents[r.URN]}})
	}
	return steps
}

// CloudAndRegion reads a stack config (flat key: value, as in a preview
// digest or a Pulumi.<stack>.yaml) for the cloud and its region.
func CloudAndRegion(config map[string]any) (string, string, error) {
	cloud, _ := config["tenantfleet:cloud"].(string)
	if cloud == "" {
		return "", "", fmt.Errorf("the stack config has no tenantfleet:cloud")
	}
	c, err := pricing.Lookup(cloud)
	if err != nil {
		return "", "", fmt.Errorf("tenantfleet:cloud: %w", err)
	}
	if region := providers.Region(config, cloud); region != "" {
		return cloud, region, nil
	}
	return cloud, c.DefaultRegion, nil
}
