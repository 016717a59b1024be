package signup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenantfleet/tenantfleet/components"
)

// RolloutState is where a rollout is.
type RolloutState string

// The rollout states. planning and rolling work; paused and halted wait for
// an operator (resume); planned, succeeded and cancelled are final.
const (
	RolloutPlanning  RolloutState = "planning"
	RolloutPlanned   RolloutState = "planned"
	RolloutRolling   RolloutState = "rolling"
	RolloutPaused    RolloutState = "paused"
	RolloutHalted    RolloutState = "halted"
	RolloutSucceeded RolloutState = "succeeded"
	RolloutCancelled RolloutState = "cancelled"
)

// Final reports whether nothing more happens to a rollout in state r.
func (r RolloutState) Final() bool {
	return r == RolloutPlanned || r == RolloutSucceeded || r == RolloutCancelled
}

// TenantStatus is where one tenant is in a rollout.
type TenantStatus string

// The statuses of a rollout's tenant, in order.
const (
	// TenantPending: not previewed yet.
	TenantPending TenantStatus = "pending"
	// TenantPlanned: previewed; its update has not started.
	TenantPlanned TenantStatus = "planned"
	// TenantUpdating: its update (a new generation of the tenant) runs.
	TenantUpdating TenantStatus = "updating"
	// TenantVerifying: updated; the health gate runs.
	TenantVerifying TenantStatus = "verifying"
	TenantSucceeded TenantStatus = "succeeded"
	TenantFailed    TenantStatus = "failed"
	// TenantSkipped: not updated (the rollout was cancelled, or the tenant
	// was deleted or re-signed up meanwhile).
	TenantSkipped TenantStatus = "skipped"
)

func (s TenantStatus) done() bool {
	return s == TenantSucceeded || s == TenantFailed || s == TenantSkipped
}

// Selector picks tenants: every field given must match (a tenant matches a
// field when it has one of its values); All picks every tenant.
type Selector struct {
	All    bool     `json:"all,omitempty"`
	IDs    []string `json:"ids,omitempty"`
	States []State  `json:"states,omitempty"`
	Clouds []string `json:"clouds,omitempty"`
	Tiers  []string `json:"tiers,omitempty"`
}

func (s Selector) empty() bool {
	return !s.All && len(s.IDs) == 0 && len(s.States) == 0 && len(s.Clouds) == 0 && len(s.Tiers) == 0
}

// Matches reports whether the selector picks t.
func (s Selector) Matches(t Tenant) bool {
	match := func(values []string, v string) bool { return len(values) == 0 || slices.Contains(values, v) }
	states := make([]string, len(s.States))
	for i, st := range s.States {
		states[i] = string(st)
	}
	return match(s.IDs, t.ID) && match(states, string(t.State)) && match(s.Clouds, t.Cloud) && match(s.Tiers, t.Tier)
}

// validate checks the selector's values; field is its name in the body.
func (s Selector) validate(field string) error {
	if s.empty() {
		return newProblem(http.StatusBadRequest, field, `%s is required: {"all": true}, or ids, states, clouds and/or tiers to pick tenants by`, field)
	}
	if s.All && (len(s.IDs) > 0 || len(s.States) > 0 || len(s.Clouds) > 0 || len(s.Tiers) > 0) {
		return newProblem(http.StatusBadRequest, field+".all", "%s.all picks every tenant: leave out the other fields, or all", field)
	}
	for i, id := range s.IDs {
		if err := checkTenantID(fmt.Sprintf("%s.ids[%d]", field, i), id); err != nil {
			return err
		}
	}
	for i, st := range s.States {
		if !slices.Contains(States(), st) {
			return newProblem(http.StatusBadRequest, fmt.Sprintf("%s.states[%d]", field, i), "not a tenant state; valid states are %s", joinStates())
		}
	}
	for i, tier := range s.Tiers {
		if !slices.Contains(components.Tiers(), components.Tier(tier)) {
			return newProblem(http.StatusBadRequest, fmt.Sprintf("%s.tiers[%d]", field, i), "not a tier; valid tiers are %s", joinTiers())
		}
	}
	return nil
}

func joinTiers() string {
	names := make([]string, 0, len(components.Tiers()))
	for _, t := range components.Tiers() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// Wave is one wave's cumulative size: a count of tenants, or a percentage
// of the rollout's tenants ("10%"). In JSON, a number or a string.
type Wave struct {
	Count   int
	Percent float64
}

var percentPattern = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)%$`)

// UnmarshalJSON takes 3 or "25%".
func (w *Wave) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		m := percentPattern.FindStringSubmatch(s)
		if m == nil {
			return errors.New("a wave is a number of tenants (3) or a percentage (\"25%\")")
		}
		p, _ := strconv.ParseFloat(m[1], 64)
		*w = Wave{Percent: p}
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("a wave is a number of tenants (3) or a percentage (\"25%\")")
	}
	if n != math.Trunc(n) {
		return errors.New("a wave's number of tenants is a whole number (or give a percentage, \"25%\")")
	}
	*w = Wave{Count: int(n)}
	return nil
}

// MarshalJSON gives 3 or "25%".
func (w Wave) MarshalJSON() ([]byte, error) {
	if w.Percent > 0 {
		return json.Marshal(strconv.FormatFloat(w.Percent, 'f', -1, 64) + "%")
	}
	return json.Marshal(w.Count)
}

func (w Wave) String() string {
	b, _ := w.MarshalJSON()
	return strings.Trim(string(b), `"`)
}

// reach is how many of n tenants the waves up to and including w cover.
func (w Wave) reach(n int) int {
	if w.Percent > 0 {
		return min(n, int(math.Ceil(w.Percent*float64(n)/100-1e-9)))
	}
	return min(n, w.Count)
}

// Duration is a time.Duration written as Go writes one ("30s", "2m").
type Duration time.Duration

// UnmarshalJSON takes "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "30s" or "2m"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New(`a duration is a string such as "30s" or "2m"`)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON gives "30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// RolloutSpec is what a rollout does: the body of POST /v1/rollouts, with
// its defaults filled in once accepted.
type RolloutSpec struct {
	Selector Selector `json:"selector"`
	// Version is the template version to apply (default: the service's).
	Version string `json:"version,omitempty"`
	// Waves are cumulative: each wave updates tenants until the count or
	// percentage it names is reached; the last reaches every tenant.
	Waves []Wave `json:"waves"`
	// MaxParallel caps the tenants updated at once.
	MaxParallel int `json:"maxParallel"`
	// PauseBetweenWaves is waited after a wave before the next starts.
	PauseBetweenWaves Duration `json:"pauseBetweenWaves"`
	// HealthTimeout bounds the wait for a tenant's web app to answer
	// /healthz after its update.
	HealthTimeout Duration `json:"healthTimeout"`
	// MaxFailures is how many tenants may fail before the rollout halts.
	MaxFailures int `json:"maxFailures"`
	// DryRun stops the rollout once every tenant is previewed.
	DryRun bool `json:"dryRun"`
}

// maxParallelCap bounds a rollout's maxParallel.
const maxParallelCap = 100

// The defaults of a rollout's spec.
var (
	defaultWaves         = []Wave{{Count: 1}, {Percent: 100}}
	defaultHealthTimeout = Duration(2 * time.Minute)
)

// decodeRolloutSpec reads a POST /v1/rollouts body, refusing unknown
// fields and values of the wrong type with the field's name.
func decodeRolloutSpec(body []byte) (RolloutSpec, error) {
	var spec RolloutSpec
	top, err := decodeObject(body, "", "selector, version, waves, maxParallel, pauseBetweenWaves, healthTimeout, maxFailures, dryRun")
	if err != nil {
		return spec, err
	}
	for key, raw := range top {
		var err error
		switch key {
		case "selector":
			spec.Selector, err = decodeSelector(raw, "selector")
		case "version":
			err = decodeField(raw, key, &spec.Version)
		case "waves":
			var items []json.RawMessage
			if err = decodeField(raw, key, &items); err == nil {
				spec.Waves = make([]Wave, len(items))
				for i, item := range items {
					if err = decodeField(item, fmt.Sprintf("waves[%d]", i), &spec.Waves[i]); err != nil {
						break
					}
				}
			}
		case "maxParallel":
			err = decodeField(raw, key, &spec.MaxParallel)
		case "pauseBetweenWaves":
			err = decodeField(raw, key, &spec.PauseBetweenWaves)
		case "healthTimeout":
			err = decodeField(raw, key, &spec.HealthTimeout)
		case "maxFailures":
			err = decodeField(raw, key, &spec.MaxFailures)
		case "dryRun":
			err = decodeField(raw, key, &spec.DryRun)
		}
		if err != nil {
			return spec, err
		}
	}
	return spec, nil
}

// decodeSelector reads a selector object at field.
func decodeSelector(raw json.RawMessage, field string) (Selector, error) {
	var sel Selector
	obj, err := decodeObject(raw, field, "all, ids, states, clouds, tiers")
	if err != nil {
		return sel, err
	}
	for key, v := range obj {
		name := field + "." + key
		var err error
		switch key {
		case "all":
			err = decodeField(v, name, &sel.All)
		case "ids":
			err = decodeField(v, name, &sel.IDs)
		case "states":
			err = decodeField(v, name, &sel.States)
		case "clouds":
			err = decodeField(v, name, &sel.Clouds)
		case "tiers":
			err = decodeField(v, name, &sel.Tiers)
		}
		if err != nil {
			return sel, err
		}
	}
	return sel, nil
}

// decodeObject reads a JSON object (field names it, "" for the body),
// refusing keys not in known (a comma-separated list).
func decodeObject(raw []byte, field, known string) (map[string]json.RawMessage, error) {
	what := "the request body"
	if field != "" {
		what = field
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, newProblem(http.StatusBadRequest, field, "%s must be a JSON object (fields %s)", what, known)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, newProblem(http.StatusBadRequest, field, "%s is not valid JSON", what)
	}
	allowed := strings.Split(known, ", ")
	for key := range obj {
		if !slices.Contains(allowed, key) {
			name := key
			if field != "" {
				name = field + "." + key
			}
			return nil, newProblem(http.StatusBadRequest, truncate(name), "unknown field %q; %s has the fields %s", truncate(key), what, known)
		}
	}
	return obj, nil
}

// decodeField decodes one field's value, naming it when it has the wrong type.
func decodeField(raw json.RawMessage, field string, into any) error {
	err := json.Unmarshal(raw, into)
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typ):
		return newProblem(http.StatusBadRequest, field, "%s must be of type %s, not a JSON %s", field, typeName(typ.Type.Kind().String()), typ.Value)
	default:
		return newProblem(http.StatusBadRequest, field, "%s: %s", field, strings.TrimPrefix(err.Error(), "json: "))
	}
}

func typeName(kind string) string {
	switch kind {
	case "slice":
		return "array"
	case "int", "int64":
		return "integer"
	case "struct", "map":
		return "object"
	}
	return kind
}

// normalize fills the spec's defaults and checks it; errors are problems
// naming the field.
func (spec *RolloutSpec) normalize(defaultVersion string, defaultParallel int) error {
	if err := spec.Selector.validate("selector"); err != nil {
		return err
	}
	if spec.Version == "" {
		spec.Version = defaultVersion
	}
	if !versionPattern.MatchString(spec.Version) {
		return newProblem(http.StatusBadRequest, "version", "version must be a template version: 12 hexadecimal digits, as GET /v1/fleet lists them")
	}
	if len(spec.Waves) == 0 {
		spec.Waves = defaultWaves
	}
	if len(spec.Waves) > 100 {
		return newProblem(http.StatusBadRequest, "waves", "at most 100 waves")
	}
	for i, w := range spec.Waves {
		field := fmt.Sprintf("waves[%d]", i)
		switch {
		case w.Percent == 0 && w.Count < 1:
			return newProblem(http.StatusBadRequest, field, "a wave reaches at least 1 tenant (or a percentage above 0)")
		case w.Percent > 100:
			return newProblem(http.StatusBadRequest, field, "a wave's percentage is at most 100%%")
		}
		if i > 0 {
			prev := spec.Waves[i-1]
			if (w.Percent > 0) == (prev.Percent > 0) && (w.Percent < prev.Percent || w.Count < prev.Count) {
				return newProblem(http.StatusBadRequest, field, "waves are cumulative: %s must not be smaller than the wave before it (%s)", w, prev)
			}
		}
	}
	if last := spec.Waves[len(spec.Waves)-1]; last.Percent != 100 && last.Percent != 0 {
		return newProblem(http.StatusBadRequest, fmt.Sprintf("waves[%d]", len(spec.Waves)-1),
			"the last wave must reach every selected tenant: make it \"100%%\" (it is %s)", last)
	}
	switch {
	case spec.MaxParallel == 0:
		spec.MaxParallel = defaultParallel
	case spec.MaxParallel < 0 || spec.MaxParallel > maxParallelCap:
		return newProblem(http.StatusBadRequest, "maxParallel", "maxParallel must be from 1 to %d", maxParallelCap)
	}
	if spec.PauseBetweenWaves < 0 || time.Duration(spec.PauseBetweenWaves) > 24*time.Hour {
		return newProblem(http.StatusBadRequest, "pauseBetweenWaves", "pauseBetweenWaves must be from 0s to 24h")
	}
	switch {
	case spec.HealthTimeout == 0:
		spec.HealthTimeout = defaultHealthTimeout
	case spec.HealthTimeout < Duration(time.Second) || time.Duration(spec.HealthTimeout) > time.Hour:
		return newProblem(http.StatusBadRequest, "healthTimeout", "healthTimeout must be from 1s to 1h")
	}
	if spec.MaxFailures < 0 {
		return newProblem(http.StatusBadRequest, "maxFailures", "maxFailures must be 0 or more")
	}
	return nil
}

// assignWaves gives each of the ids (sorted) its 1-based wave; the last
// wave that is a count reaches the rest only when it is the last wave and
// at least as large, which normalize and checkWaves make sure of.
func assignWaves(ids []string, waves []Wave) ([]int, error) {
	sort.Strings(ids)
	n := len(ids)
	out := make([]int, n)
	done := 0
	for i, w := range waves {
		reach := w.reach(n)
		if reach < done {
			return nil, newProblem(http.StatusBadRequest, fmt.Sprintf("waves[%d]", i),
				"waves are cumulative: %s reaches %d of the %d tenants, fewer than the %d of the waves before it", w, reach, n, done)
		}
		for ; done < reach; done++ {
			out[done] = i + 1
		}
	}
	if done < n {
		return nil, newProblem(http.StatusBadRequest, fmt.Sprintf("waves[%d]", len(waves)-1),
			"the waves reach %d of the %d selected tenants: the last must reach every one (\"100%%\")", done, n)
	}
	return out, nil
}

// Rollout is a rollout as the API shows it.
type Rollout struct {
	ID      int64        `json:"id"`
	State   RolloutState `json:"state"`
	Version string       `json:"version"`
	// Reason says why the rollout halted, was cancelled or paused.
	Reason string      `json:"reason,omitempty"`
	Spec   RolloutSpec `json:"spec"`
	// Wave is the wave being rolled (0 while planning).
	Wave      int            `json:"wave"`
	Waves     []WaveStatus   `json:"waves"`
	Counts    map[string]int `json:"counts"`
	Plan      PlanTotals     `json:"plan"`
	Failures  int            `json:"failures"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
	// NextWaveAt is when the next wave starts, during a pause between waves.
	NextWaveAt *time.Time        `json:"nextWaveAt,omitempty"`
	FinishedAt *time.Time        `json:"finishedAt,omitempty"`
	Tenants    []RolloutTenant   `json:"tenants,omitempty"`
	Links      map[string]string `json:"links"`

	leaseOwner string
}

// WaveStatus is one wave's progress.
type WaveStatus struct {
	Wave    int `json:"wave"`
	Tenants int `json:"tenants"`
	// State is pending, rolling, done, empty (a wave that adds no tenant),
	// or the rollout's paused, halted or cancelled for the current wave.
	State string `json:"state"`
}

// PlanTotals sums the plan over the rollout's tenants.
type PlanTotals struct {
	Tenants int `json:"tenants"`
	// Planned counts the tenants previewed so far; Errors those whose
	// preview failed.
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

// RolloutTenant is one tenant of a rollout: its plan and its progress.
type RolloutTenant struct {
	Tenant        string         `json:"tenant"`
	Wave          int            `json:"wave"`
	Status        TenantStatus   `json:"status"`
	FromVersion   string         `json:"fromVersion"`
	Planned       bool           `json:"planned"`
	Changes       map[string]int `json:"changes,omitempty"`
	Replacements  []Replacement  `json:"replacements,omitempty"`
	MonthlyBefore float64        `json:"monthlyBefore"`
	MonthlyAfter  float64        `json:"monthlyAfter"`
	MonthlyDelta  float64        `json:"monthlyDelta"`
	Error         string         `json:"error,omitempty"`
	UpdatedAt     time.Time      `json:"updatedAt"`

	// generation is the tenant generation the rollout's update started.
	generation int64
}

// Replacement is a resource the plan replaces (deletes and creates anew).
type Replacement struct {
	URN  string `json:"urn"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Database is true for the tenant's database: its data is lost unless
	// restored.
	Database bool `json:"database"`
}

// totals computes the rollout's counts, waves and plan from its tenants.
func (r *Rollout) totals() {
	r.Counts = map[string]int{}
	for _, st := range []TenantStatus{TenantPending, TenantPlanned, TenantUpdating, TenantVerifying, TenantSucceeded, TenantFailed, TenantSkipped} {
		r.Counts[string(st)] = 0
	}
	r.Plan = PlanTotals{Tenants: len(r.Tenants)}
	waves := map[int]*WaveStatus{}
	for i := range r.Spec.Waves {
		waves[i+1] = &WaveStatus{Wave: i + 1, State: "pending"}
	}
	for _, t := range r.Tenants {
		r.Counts[string(t.Status)]++
		if w := waves[t.Wave]; w != nil {
			w.Tenants++
		}
		if !t.Planned {
			if t.Status == TenantFailed && t.Changes == nil {
				r.Plan.Errors++
			}
			continue
		}
		r.Plan.Planned++
		r.Plan.Create += t.Changes["create"]
		r.Plan.Update += t.Changes["update"]
		r.Plan.Replace += t.Changes["replace"]
		r.Plan.Delete += t.Changes["delete"]
		r.Plan.Same += t.Changes["same"]
		for _, rp := range t.Replacements {
			if rp.Database {
				r.Plan.DatabaseReplacements++
			}
		}
		r.Plan.MonthlyBefore += t.MonthlyBefore
		r.Plan.MonthlyAfter += t.MonthlyAfter
		r.Plan.MonthlyDelta += t.MonthlyDelta
	}
	r.Plan.MonthlyBefore = math.Round(r.Plan.MonthlyBefore*100) / 100
	r.Plan.MonthlyAfter = math.Round(r.Plan.MonthlyAfter*100) / 100
	r.Plan.MonthlyDelta = math.Round(r.Plan.MonthlyDelta*100) / 100
	done := map[int]bool{}
	for i := range waves {
		done[i] = true
	}
	for _, t := range r.Tenants {
		if !t.Status.done() {
			done[t.Wave] = false
		}
	}
	r.Waves = make([]WaveStatus, 0, len(waves))
	for i := 1; i <= len(r.Spec.Waves); i++ {
		w := waves[i]
		switch {
		case w.Tenants == 0:
			w.State = "empty" // a percentage that adds no tenant
		case done[i] && r.State != RolloutPlanning && r.State != RolloutPlanned:
			w.State = "done"
		case i == r.Wave && r.State == RolloutRolling:
			w.State = "rolling"
		case i == r.Wave && (r.State == RolloutPaused || r.State == RolloutHalted || r.State == RolloutCancelled):
			w.State = string(r.State)
		}
		r.Waves = append(r.Waves, *w)
	}
	r.Links = map[string]string{"self": rolloutPath(r.ID), "events": rolloutPath(r.ID) + "/events"}
}

func rolloutPath(id int64) string { return "/v1/rollouts/" + strconv.FormatInt(id, 10) }

// RolloutEvent is one entry of a rollout's progress log.
type RolloutEvent struct {
	Seq     int64           `json:"seq"`
	Rollout int64           `json:"rollout"`
	At      time.Time       `json:"at"`
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
}

// The rollout event types.
const (
	// RolloutEventState: the rollout changed state ({"state", "reason"?}).
	RolloutEventState = "state"
	// RolloutEventWave: a wave started or was done ({"wave", "phase"}).
	RolloutEventWave = "wave"
	// RolloutEventTenant: a tenant's status changed ({"tenant", "wave",
	// "status", "error"?}).
	RolloutEventTenant = "tenant"
)
