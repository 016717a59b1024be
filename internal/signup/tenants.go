package signup

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tenantfleet/tenantfleet/components"
)

// tenantView is a tenant as the API shows it: the record and its links.
type tenantView struct {
	Tenant
	// TemplateCurrent is true when the tenant was last applied with the
	// service's template version.
	TemplateCurrent bool        `json:"templateCurrent"`
	Links           tenantLinks `json:"links"`
	// Resources are the stack's resources (GET /v1/tenants/{id} only).
	Resources []StackResource `json:"resources,omitempty"`
}

type tenantLinks struct {
	Self   string `json:"self"`
	Events string `json:"events"`
}

func tenantPath(id string) string { return "/v1/tenants/" + id }

func viewOf(t Tenant, version string) tenantView {
	return tenantView{Tenant: t, TemplateCurrent: t.TemplateVersion == version,
		Links: tenantLinks{Self: tenantPath(t.ID), Events: tenantPath(t.ID) + "/events"}}
}

// tenantList is a page of GET /v1/tenants.
type tenantList struct {
	Tenants []tenantView `json:"tenants"`
	// Next is the next page's URL, absent on the last page.
	Next string `json:"next,omitempty"`
}

// writeTenant answers with a tenant: 202 and its Location when an
// operation started, else 200.
func writeTenant(w http.ResponseWriter, s *Service, t Tenant, started bool) {
	if started {
		w.Header().Set("Location", tenantPath(t.ID))
		writeJSON(w, http.StatusAccepted, viewOf(t, s.version))
		return
	}
	writeJSON(w, http.StatusOK, viewOf(t, s.version))
}

func (a *api) signup(x *exchange) error {
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	key, err := idempotencyKey(x.r.Header)
	if err != nil {
		return err
	}
	if err := requireJSON(x.r.Header); err != nil {
		return err
	}
	body, err := x.readBody()
	if err != nil {
		return err
	}
	req, err := decodeSignup(body)
	if err != nil {
		return err
	}
	if err := validateSignup(req); err != nil {
		return err
	}
	m := x.mutation()
	m.IdempotencyKey = key
	t, started, err := a.svc.Signup(x.r.Context(), req, m)
	if err != nil {
		return err
	}
	writeTenant(x.w, a.svc, t, started)
	return nil
}

func (a *api) get(x *exchange) error {
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	t, err := a.svc.Get(x.r.Context(), id)
	if err != nil {
		return err
	}
	v := viewOf(t, a.svc.version)
	v.Resources = t.Resources
	writeJSON(x.w, http.StatusOK, v)
	return nil
}

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

func (a *api) list(x *exchange) error {
	q, err := queryParams(x.r, "state", "drift", "cloud", "tier", "version", "limit", "after")
	if err != nil {
		return err
	}
	var filter ListFilter
	if v, ok := q["state"]; ok {
		filter.State = State(v)
		if !slices.Contains(States(), filter.State) {
			return newProblem(http.StatusBadRequest, "state", "state is not a tenant state; valid states are %s", joinStates())
		}
	}
	if filter.Drifted, err = boolParam(q, "drift"); err != nil {
		return err
	}
	filter.Cloud, filter.Tier, filter.Version = q["cloud"], q["tier"], q["version"]
	if err := a.svc.checkFilter(filter); err != nil {
		return err
	}
	limit := defaultPageSize
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return newProblem(http.StatusBadRequest, "limit", "limit must be a whole number from 1 to %d", maxPageSize)
		}
		limit = n
	}
	after, hasAfter := q["after"]
	if hasAfter {
		if err := checkTenantID("after", after); err != nil {
			return err
		}
	}
	ts, err := a.svc.List(x.r.Context(), filter, after, limit+1)
	if err != nil {
		return err
	}
	out := tenantList{Tenants: make([]tenantView, 0, min(len(ts), limit))}
	if len(ts) > limit {
		ts = ts[:limit]
		next := url.Values{"limit": {strconv.Itoa(limit)}, "after": {ts[limit-1].ID}}
		if filter.State != "" {
			next.Set("state", string(filter.State))
		}
		if filter.Drifted {
			next.Set("drift", "true")
		}
		for k, v := range map[string]string{"cloud": filter.Cloud, "tier": filter.Tier, "version": filter.Version} {
			if v != "" {
				next.Set(k, v)
			}
		}
		out.Next = "/v1/tenants?" + next.Encode()
	}
	for _, t := range ts {
		out.Tenants = append(out.Tenants, viewOf(t, a.svc.version))
	}
	writeJSON(x.w, http.StatusOK, out)
	return nil
}

func joinStates() string {
	names := make([]string, 0, len(States()))
	for _, s := range States() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

func (a *api) delete(x *exchange) error {
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	q, err := queryParams(x.r, "force", "retainDatabase")
	if err != nil {
		return err
	}
	var opts DeleteOptions
	if opts.Force, err = boolParam(q, "force"); err != nil {
		return err
	}
	if opts.RetainDatabase, err = boolParam(q, "retainDatabase"); err != nil {
		return err
	}
	if opts.Force && opts.RetainDatabase {
		return newProblem(http.StatusBadRequest, "force",
			"force and retainDatabase exclude each other: force deletes the database with its data, retainDatabase keeps it; choose one")
	}
	if _, err := x.readBody(); err != nil {
		return err
	}
	t, started, err := a.svc.Delete(x.r.Context(), id, opts, x.mutation())
	if err != nil {
		return err
	}
	writeTenant(x.w, a.svc, t, started)
	return nil
}

func (a *api) cancel(x *exchange) error {
	id, err := pathID(x.r)
	if err != nil {
		return err
	}
	if _, err := queryParams(x.r); err != nil {
		return err
	}
	if _, err := x.readBody(); err != nil {
		return err
	}
	t, cancelled, err := a.svc.Cancel(x.r.Context(), id, x.mutation())
	if err != nil {
		return err
	}
	// A redelivered cancel changes nothing: 200 with the tenant as it is.
	writeTenant(x.w, a.svc, t, cancelled)
	return nil
}

var cloudNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// checkFilter refuses a list filter value no tenant could have, naming
// its query parameter.
func (s *Service) checkFilter(f ListFilter) error {
	if f.Cloud != "" && !cloudNamePattern.MatchString(f.Cloud) {
		return newProblem(http.StatusBadRequest, "cloud", "cloud must be a cloud's name, such as %s", strings.Join(s.cfg.Template.CloudNames(), ", "))
	}
	if f.Tier != "" && !slices.Contains(components.Tiers(), components.Tier(f.Tier)) {
		return newProblem(http.StatusBadRequest, "tier", "tier is not a tier; valid tiers are %s", joinTiers())
	}
	if f.Version != "" && !versionPattern.MatchString(f.Version) {
		return newProblem(http.StatusBadRequest, "version", "version must be a template version: 12 hexadecimal digits, as GET /v1/fleet lists them")
	}
	return nil
}
