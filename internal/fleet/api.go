package fleet

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The documents of the fleet API, as the service sends them (see
// internal/signup). Only the fields the commands show are declared; --json
// prints the service's own bytes.

// Fleet is GET /v1/fleet.
type Fleet struct {
	CurrentVersion string            `json:"currentVersion"`
	UpdatePolicy   string            `json:"updatePolicy"`
	Tenants        int               `json:"tenants"`
	ByState        map[string]int    `json:"byState"`
	ByCloud        map[string]int    `json:"byCloud"`
	ByTier         map[string]int    `json:"byTier"`
	Versions       []TemplateVersion `json:"versions"`
	Drift          map[string]int    `json:"drift"`
	MonthlyCost    float64           `json:"monthlyCost"`
	ActiveRollouts []int64           `json:"activeRollouts"`
}

// TemplateVersion is one template version of the fleet: a 12-hex-character
// hash of the template and the tenantfleet build.
type TemplateVersion struct {
	Version   string    `json:"version"`
	Current   bool      `json:"current"`
	Tenants   int       `json:"tenants"`
	Source    string    `json:"source"`
	Build     string    `json:"build"`
	CreatedAt time.Time `json:"createdAt"`
}

// Selector chooses tenants: All, or the tenants matching every non-empty
// list (a list matches any of its values).
type Selector struct {
	All    bool     `json:"all,omitempty"`
	IDs    []string `json:"ids,omitempty"`
	States []string `json:"states,omitempty"`
	Clouds []string `json:"clouds,omitempty"`
	Tiers  []string `json:"tiers,omitempty"`
}

// RolloutSpec is the body of POST /v1/rollouts, and a rollout's spec with
// the service's defaults filled in. Unset optional fields are left out so
// that the service's defaults apply.
type RolloutSpec struct {
	Selector          Selector   `json:"selector"`
	Version           string     `json:"version,omitempty"`
	Waves             []WaveSize `json:"waves,omitempty"`
	MaxParallel       *int       `json:"maxParallel,omitempty"`
	PauseBetweenWaves string     `json:"pauseBetweenWaves,omitempty"`
	HealthTimeout     string     `json:"healthTimeout,omitempty"`
	MaxFailures       *int       `json:"maxFailures,omitempty"`
	DryRun            bool       `json:"dryRun"`
}

// WaveSize is a wave's cumulative size: a count of tenants ("3", a JSON
// number) or a percentage of the selected tenants ("10%", a JSON string).
type WaveSize string

// ParseWaveSize checks s is a whole number of at least 1 or a percentage
// above 0% and at most 100% ("12.5%").
func ParseWaveSize(s string) (WaveSize, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		n, err := strconv.ParseFloat(p, 64)
		if err != nil || strings.ContainsAny(p, "eE+-") || n <= 0 || n > 100 {
			return "", fmt.Errorf("%q is not a percentage above 0%% and at most 100%%", s)
		}
		return WaveSize(strconv.FormatFloat(n, 'f', -1, 64) + "%"), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return "", fmt.Errorf("%q is neither a count of tenants (1 or more) nor a percentage such as 10%%", s)
	}
	return WaveSize(strconv.Itoa(n)), nil
}

// MarshalJSON writes a count as a number and a percentage as a string.
func (w WaveSize) MarshalJSON() ([]byte, error) {
	if strings.HasSuffix(string(w), "%") {
		return json.Marshal(string(w))
	}
	n, err := strconv.Atoi(string(w))
	if err != nil {
		return nil, fmt.Errorf("wave size %q: %w", string(w), err)
	}
	return json.Marshal(n)
}

// UnmarshalJSON reads a number or a string.
func (w *WaveSize) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*w = WaveSize(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("a wave size is a number or a percentage string, not %s", b)
	}
	*w = WaveSize(n.String())
	return nil
}

// Rollout states.
const (
	RolloutPlanning  = "planning"
	RolloutPlanned   = "planned"
	RolloutRolling   = "rolling"
	RolloutPaused    = "paused"
	RolloutHalted    = "halted"
	RolloutSucceeded = "succeeded"
	RolloutCancelled = "cancelled"
)

// Tenant statuses within a rollout.
const (
	TenantPending   = "pending"
	TenantPlanned   = "planned"
	TenantUpdating  = "updating"
	TenantVerifying = "verifying"
	TenantSucceeded = "succeeded"
	TenantFailed    = "failed"
	TenantSkipped   = "skipped"
)

// Rollout is a rollout of a template version to the selected tenants, wave
// by wave; a dry run only plans it.
type Rollout struct {
	ID        int64          `json:"id"`
	State     string         `json:"state"`
	Version   string         `json:"version"`
	Reason    string         `json:"reason,omitempty"`
	Spec      RolloutSpec    `json:"spec"`
	Wave      int            `json:"wave"`
	Waves     []Wave         `json:"waves"`
	Counts    map[string]int `json:"counts"`
	Plan      Plan           `json:"plan"`
	Failures  int            `json:"failures"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
	// NextWaveAt is when the next wave starts, once a wave is done.
	NextWaveAt *time.Time      `json:"nextWaveAt,omitempty"`
	FinishedAt *time.Time      `json:"finishedAt,omitempty"`
	Tenants    []RolloutTenant `json:"tenants,omitempty"`
}

// Final reports whether following the rollout is over: it is planned (a
// dry run), succeeded or cancelled, which are final, or halted, which waits
// for an operator to resume or cancel it.
func (r *Rollout) Final() bool {
	switch r.State {
	case RolloutPlanned, RolloutSucceeded, RolloutCancelled, RolloutHalted:
		return true
	}
	return false
}

// Wave is one wave of a rollout.
type Wave struct {
	Wave    int    `json:"wave"`
	Tenants int    `json:"tenants"`
	State   string `json:"state"` // done, rolling or pending
}

// Plan is what a rollout changes, summed over its tenants.
type Plan struct {
	Tenants              int     `json:"tenants"`
	Planned              int     `json:"planned"`
	Errors               int     `json:"errors"`
	Create               int     `json:"create"`
	Update               int     `json:"update"`
	Replace              int     `json:"replace"`
	Delete               int     `json:"delete"`
	Same                 int     `json:"same"`
	DatabaseReplacements int     `json:"databaseReplacements"`
	MonthlyBefore        float64 `json:"monthlyBefore"`
	MonthlyAfter         float64 `json:"monthlyAfter"`
	MonthlyDelta         float64 `json:"monthlyDelta"`
}

// RolloutTenant is one tenant of a rollout: its wave, status, planned
// changes and cost.
type RolloutTenant struct {
	Tenant      string `json:"tenant"`
	Wave        int    `json:"wave"`
	Status      string `json:"status"`
	FromVersion string `json:"fromVersion"`
	// Planned is set once the tenant's preview succeeded.
	Planned       bool           `json:"planned"`
	Changes       map[string]int `json:"changes"`
	Replacements  []Replacement  `json:"replacements"`
	MonthlyBefore float64        `json:"monthlyBefore"`
	MonthlyAfter  float64        `json:"monthlyAfter"`
	MonthlyDelta  float64        `json:"monthlyDelta"`
	Error         string         `json:"error,omitempty"`
	UpdatedAt     time.Time      `json:"updatedAt"`
}

// Replacement is a resource the rollout replaces (deletes and creates
// anew); Database marks a database, whose data the new one does not have.
type Replacement struct {
	URN      string `json:"urn"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Database bool   `json:"database"`
}

// rolloutList is GET /v1/rollouts.
type rolloutList struct {
	Rollouts []Rollout `json:"rollouts"`
}

// Drift statuses of a tenant.
const (
	DriftInSync    = "in_sync"
	DriftDrifted   = "drifted"
	DriftError     = "error"
	DriftUnchecked = "unchecked"
)

// DriftCheck is a refresh preview of the selected tenants that finds what
// changed outside tenantfleet.
type DriftCheck struct {
	ID      int64  `json:"id"`
	State   string `json:"state"` // running or done
	Tenants int    `json:"tenants"`
	Checked int    `json:"checked"`
	InSync  int    `json:"inSync"`
	Drifted int    `json:"drifted"`
	Errors  int    `json:"errors"`
	// Skipped counts the tenants no longer ready when their turn came.
	Skipped    int           `json:"skipped"`
	StartedAt  time.Time     `json:"startedAt"`
	FinishedAt *time.Time    `json:"finishedAt,omitempty"`
	Seconds    float64       `json:"seconds,omitempty"`
	Results    []DriftResult `json:"results,omitempty"`
}

// DriftCheckDone is the state of a finished drift check.
const DriftCheckDone = "done"

// DriftSkipped is the status, in a drift check, of a tenant that was no
// longer ready when its turn came.
const DriftSkipped = "skipped"

// DriftResult is one tenant's result in a drift check.
type DriftResult struct {
	Tenant    string          `json:"tenant"`
	Status    string          `json:"status"`
	Resources []DriftResource `json:"resources,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// DriftResource is a resource that differs from the stack's state: changed
// (the properties that differ) or deleted.
type DriftResource struct {
	URN        string   `json:"urn"`
	Type       string   `json:"type"`
	Name       string   `json:"name"`
	Change     string   `json:"change"`
	Properties []string `json:"properties,omitempty"`
}

// Tenant is the part of a tenant of GET /v1/tenants the drift list shows.
type Tenant struct {
	ID              string      `json:"id"`
	State           string      `json:"state"`
	Cloud           string      `json:"cloud"`
	Tier            string      `json:"tier"`
	TemplateVersion string      `json:"templateVersion"`
	TemplateCurrent bool        `json:"templateCurrent"`
	Drift           TenantDrift `json:"drift"`
}

// TenantDrift is a tenant's drift as of its last check.
type TenantDrift struct {
	Status    string          `json:"status"`
	CheckedAt *time.Time      `json:"checkedAt,omitempty"`
	Error     string          `json:"error,omitempty"`
	Resources []DriftResource `json:"resources,omitempty"`
}

// tenantPage is a page of GET /v1/tenants; Next is the next page's path.
type tenantPage struct {
	Tenants []json.RawMessage `json:"tenants"`
	Next    string            `json:"next,omitempty"`
}
