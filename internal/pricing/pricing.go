package pricing

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// HoursPerMonth is the month an hourly price is multiplied by (as AWS,
// Azure and Infracost count it).
const HoursPerMonth = 730

// AnyRegion is the one region of the catalog of a cloud without regions
// (providers.Cloud.NoRegions, such as a Kubernetes cluster): its prices
// apply wherever the cloud runs.
const AnyRegion = "any"

// Resource is what pricing reads of one resource: its type token and its
// inputs as plain JSON values (strings, float64 numbers, bools, maps,
// slices; secrets and unknowns are absent or nil).
type Resource struct {
	URN    string
	Type   string
	Inputs map[string]any
}

// Kind says how a resource type is priced.
type Kind string

// The kinds of resource types.
const (
	// Sized: a fixed monthly cost from its size (it may also have usage-priced parts).
	Sized Kind = "priced"
	// UsageOnly: costs only what it is used for (requests, messages, GB).
	UsageOnly Kind = "usage"
	// Free: no charge of its own (IAM, network rules, components, providers).
	Free Kind = "free"
	// Local: runs on this machine (the local cloud): $0.
	Local Kind = "local"
)

// Component is one priced part of a resource, Infracost-style: a quantity
// per month, a unit and a unit price.
type Component struct {
	// Name says what is charged ("Instance usage (db.t4g.micro)").
	Name string `json:"name"`
	// Unit of the quantity ("hours", "GB-months", "1M requests").
	Unit string `json:"unit"`
	// MonthlyQuantity is nil when it depends on usage the usage file does not give.
	MonthlyQuantity *float64 `json:"monthlyQuantity"`
	// UnitPrice in the catalog's currency per unit.
	UnitPrice float64 `json:"unitPrice"`
	// MonthlyCost is MonthlyQuantity × UnitPrice, nil when the quantity is.
	MonthlyCost *float64 `json:"monthlyCost"`
	// SKU is the catalog entry the price comes from.
	SKU string `json:"sku"`
	// UsageKey names the usage-file key that sets the quantity, for
	// usage-priced components.
	UsageKey string `json:"usageKey,omitempty"`
}

// Priced is a resource with its cost.
type Priced struct {
	Resource   Resource    `json:"-"`
	Kind       Kind        `json:"kind"`
	Components []Component `json:"components,omitempty"`
	// Note explains a free or local resource, or a limit of the estimate.
	Note string `json:"note,omitempty"`
}

// Monthly is the resource's known monthly cost, and whether some part
// depends on usage that was not given.
func (p Priced) Monthly() (float64, bool) {
	total, unknown := 0.0, false
	for _, c := range p.Components {
		if c.MonthlyCost == nil {
			unknown = true
			continue
		}
		total += *c.MonthlyCost
	}
	return total, unknown
}

// Pricer prices one resource type of one cloud. It returns the components;
// a usage-priced component reads its quantity with ctx.Usage.
type Pricer func(ctx *Context, r Resource) ([]Component, error)

// TypeInfo is how a resource type is priced.
type TypeInfo struct {
	Kind Kind
	// Price prices it (Sized and UsageOnly kinds).
	Price Pricer
	// UsageKeys are the usage-file keys it reads, with their meaning.
	UsageKeys map[string]string
	// Note, for free types, says why.
	Note string
}

// neutralTypes are free wherever they appear: Pulumi's own, tenantfleet's
// components, and generated passwords.
var neutralTypes = map[string]string{
	"pulumi:pulumi:Stack":                        "the stack itself",
	"tenantfleet:index:TenantUnit":               "a component: its children are priced",
	"tenantfleet:index:MessagingFanout":          "a component: its children are priced",
	"tenantfleet:index:Platform":                 "a component: its children are priced",
	"random:index/randomPassword:RandomPassword": "generated in the engine",
	"random:index/randomId:RandomId":             "generated in the engine",
}

// Catalog is the embedded price catalog: per cloud and region, SKU prices
// with their source and retrieval date.
type Catalog struct {
	clouds map[string]*CloudCatalog
}

// CloudCatalog is one cloud's catalog file.
type CloudCatalog struct {
	Cloud    string `yaml:"cloud" json:"cloud"`
	Version  string `yaml:"version" json:"version"`
	Currency string `yaml:"currency" json:"currency"`
	// Note, when set, says what the prices are in every report priced
	// from this catalog (the embedded Kubernetes rates say they are
	// examples).
	Note string `yaml:"note,omitempty" json:"note,omitempty"`
	// Regions maps a region to its SKUs (AnyRegion only, for a cloud
	// without regions).
	Regions map[string]map[string]Price `yaml:"regions" json:"regions"`
}

// Price is one SKU's unit price.
type Price struct {
	USD  float64 `yaml:"usd" json:"usd"`
	Unit string  `yaml:"unit" json:"unit"`
	// Source is the public price list it comes from; Retrieved when; Method
	// how ("bulk offer file", "retail prices API", "transcribed from the price page").
	Source    string `yaml:"source" json:"source"`
	Retrieved string `yaml:"retrieved" json:"retrieved"`
	Method    string `yaml:"method,omitempty" json:"method,omitempty"`
}

//go:embed catalog/*.yaml
var catalogFS embed.FS

// LoadCatalog reads the embedded catalog; dir, when not "", replaces it
// with the *.yaml files there (a refreshed catalog).
func LoadCatalog(dir string) (*Catalog, error) {
	var fsys fs.FS = catalogFS
	pattern := "catalog/*.yaml"
	if dir != "" {
		fsys, pattern = os.DirFS(dir), "*.yaml"
	}
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	cat := &Catalog{clouds: map[string]*CloudCatalog{}}
	for _, f := range files {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var cc CloudCatalog
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(&cc); err != nil {
			return nil, fmt.Errorf("price catalog %s: %w", path.Base(f), err)
		}
		if cc.Cloud == "" || cc.Version == "" || cc.Currency != "USD" {
			return nil, fmt.Errorf("price catalog %s: cloud, version and currency USD are required", path.Base(f))
		}
		if c := clouds[cc.Cloud]; c != nil && c.DefaultRegion == "" {
			for region := range cc.Regions {
				if region != AnyRegion {
					return nil, fmt.Errorf("price catalog %s: %s has no regions: its prices go under regions.%s, not regions.%s",
						path.Base(f), cc.Cloud, AnyRegion, region)
				}
			}
		}
		for region, skus := range cc.Regions {
			for sku, p := range skus {
				if p.Unit == "" || p.Source == "" || p.Retrieved == "" || p.USD < 0 {
					return nil, fmt.Errorf("price catalog %s: %s/%s: unit, source and retrieved are required and the price must not be negative",
						path.Base(f), region, sku)
				}
			}
		}
		cat.clouds[cc.Cloud] = &cc
	}
	return cat, nil
}

// Cloud returns a cloud's catalog (nil when it has none).
func (c *Catalog) Cloud(cloud string) *CloudCatalog { return c.clouds[cloud] }

// Versions returns each cloud's catalog version.
func (c *Catalog) Versions() map[string]string {
	out := map[string]string{}
	for name, cc := range c.clouds {
		out[name] = cc.Version
	}
	return out
}

// Regions lists the regions the catalog prices for a cloud.
func (c *Catalog) Regions(cloud string) []string {
	cc := c.clouds[cloud]
	if cc == nil {
		return nil
	}
	var out []string
	for r := range cc.Regions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Context is what a Pricer needs besides the resource: the cloud's prices
// in the region, the usage file, and the rest of the stack.
type Context struct {
	Cloud  string
	Region string
	// Stack is the stack's resources as they are at the same point of the
	// change as the one priced (nil when unknown: Estimator.Price).
	Stack  *Stack
	prices map[string]Price
	usage  map[string]float64
}

// Stack is a stack's resources at one point of a change (all as they are
// before it, or all as they will be after it), for a type whose price
// depends on another resource: a Kubernetes Deployment is priced at the
// minReplicas of the HorizontalPodAutoscaler that scales it.
type Stack struct {
	byType map[string][]Resource
}

// NewStack indexes resources.
func NewStack(resources []Resource) *Stack {
	s := &Stack{byType: map[string][]Resource{}}
	for _, r := range resources {
		s.byType[r.Type] = append(s.byType[r.Type], r)
	}
	return s
}

// OfType returns the stack's resources of a type (none for a nil stack).
func (s *Stack) OfType(typ string) []Resource {
	if s == nil {
		return nil
	}
	return s.byType[typ]
}

// Unit returns a component of quantity units of sku.
func (c *Context) Unit(name, sku string, quantity float64) (Component, error) {
	p, ok := c.prices[sku]
	if !ok {
		return Component{}, &MissingPriceError{Cloud: c.Cloud, Region: c.Region, SKU: sku}
	}
	cost := quantity * p.USD
	return Component{Name: name, Unit: p.Unit, MonthlyQuantity: &quantity, UnitPrice: p.USD, MonthlyCost: &cost, SKU: sku}, nil
}

// Hourly returns a component running all month (HoursPerMonth × count) of
// an hourly sku.
func (c *Context) Hourly(name, sku string, count float64) (Component, error) {
	return c.Unit(name, sku, HoursPerMonth*count)
}

// Usage returns a usage-priced component of sku: its quantity is the usage
// file's key (scaled by per: 1e6 for a price per million), or unknown.
func (c *Context) Usage(name, sku, key string, per float64) (Component, error) {
	p, ok := c.prices[sku]
	if !ok {
		return Component{}, &MissingPriceError{Cloud: c.Cloud, Region: c.Region, SKU: sku}
	}
	comp := Component{Name: name, Unit: p.Unit, UnitPrice: p.USD, SKU: sku, UsageKey: key}
	if v, ok := c.usage[key]; ok {
		q := v / per
		cost := q * p.USD
		comp.MonthlyQuantity, comp.MonthlyCost = &q, &cost
	}
	return comp, nil
}

// MissingPriceError is the error when the catalog has no price for a SKU the
// resource needs.
type MissingPriceError struct{ Cloud, Region, SKU string }

func (e *MissingPriceError) Error() string {
	return fmt.Sprintf("the %s price catalog has no price for %s in region %s", e.Cloud, e.SKU, e.Region)
}

// UnknownTypeError is the error for a resource type pricing knows nothing of
// (never silently $0).
type UnknownTypeError struct{ Type string }

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("resource type %s is neither priced nor declared free or usage-only", e.Type)
}

// Estimator prices resources of one stack: one region per cloud, one usage file.
type Estimator struct {
	catalog *Catalog
	// regions maps a cloud to the stack's region for it.
	regions map[string]string
	usage   *Usage
}

// NewEstimator prices with the catalog, the regions (cloud → region; a
// cloud without one uses its default region) and the usage file (nil: none).
func NewEstimator(cat *Catalog, regions map[string]string, usage *Usage) (*Estimator, error) {
	e := &Estimator{catalog: cat, regions: map[string]string{}, usage: usage}
	for cloud, region := range regions {
		c, err := Lookup(cloud)
		if err != nil {
			return nil, err
		}
		if c.DefaultRegion == "" {
			continue // a cloud without regions
		}
		if region == "" {
			region = c.DefaultRegion
		}
		if !slices.Contains(cat.Regions(cloud), region) {
			return nil, fmt.Errorf("region %q of cloud %s is not in the price catalog (it has %s)", region, cloud,
				strings.Join(cat.Regions(cloud), ", "))
		}
		e.regions[cloud] = region
	}
	if usage != nil {
		if err := usage.check(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Price prices one resource on its own: a type whose price depends on
// another resource prices as if the stack had none (see PriceIn).
func (e *Estimator) Price(r Resource) (Priced, error) { return e.PriceIn(r, nil) }

// PriceIn prices one resource of stack, the stack's resources as they are
// at the same point of the change (all before it, or all after it): a
// Kubernetes Deployment is priced at the minReplicas of the
// HorizontalPodAutoscaler of stack that scales it.
func (e *Estimator) PriceIn(r Resource, stack *Stack) (Priced, error) {
	if note, ok := neutralTypes[r.Type]; ok || strings.HasPrefix(r.Type, "pulumi:providers:") {
		if note == "" {
			note = "a provider configuration"
		}
		return Priced{Resource: r, Kind: Free, Note: note}, nil
	}
	c := CloudOf(r.Type)
	if c == nil {
		return Priced{}, &UnknownTypeError{Type: r.Type}
	}
	info, ok := c.Types[r.Type]
	if !ok {
		return Priced{}, &UnknownTypeError{Type: r.Type}
	}
	switch info.Kind {
	case Free, Local:
		return Priced{Resource: r, Kind: info.Kind, Note: info.Note}, nil
	}
	region := e.regions[c.Name]
	if region == "" {
		region = c.DefaultRegion
	}
	if c.DefaultRegion == "" {
		region = AnyRegion // a cloud without regions
	}
	ctx := &Context{Cloud: c.Name, Region: region, Stack: stack, usage: e.usage.For(r)}
	if cc := e.catalog.clouds[c.Name]; cc != nil {
		ctx.prices = cc.Regions[region]
	}
	comps, err := info.Price(ctx, r)
	if err != nil {
		return Priced{}, fmt.Errorf("%s (%s): %w", r.URN, r.Type, err)
	}
	return Priced{Resource: r, Kind: info.Kind, Components: comps, Note: info.Note}, nil
}

// Usage is a usage file: expected monthly usage of usage-priced parts, by
// resource type (defaults) and by resource name or URN (overrides).
type Usage struct {
	Version   int                           `yaml:"version" json:"version"`
	Defaults  map[string]map[string]float64 `yaml:"defaults" json:"defaults"`
	Resources map[string]map[string]float64 `yaml:"resources" json:"resources"`
	source    string
}

// LoadUsage reads a usage file (YAML or JSON).
func LoadUsage(file string) (*Usage, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--usage-file: %w", err)
	}
	var u Usage
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&u); err != nil {
		return nil, fmt.Errorf("--usage-file %s: %w", file, err)
	}
	if u.Version != 1 {
		return nil, fmt.Errorf("--usage-file %s: version: must be 1", file)
	}
	u.source = file
	return &u, nil
}

// check refuses keys no type reads, naming them.
func (u *Usage) check() error {
	known := map[string]map[string]bool{}
	all := map[string]bool{}
	for _, c := range clouds {
		for typ, info := range c.Types {
			for k := range info.UsageKeys {
				if known[typ] == nil {
					known[typ] = map[string]bool{}
				}
				known[typ][k] = true
				all[k] = true
			}
		}
	}
	for typ, keys := range u.Defaults {
		if known[typ] == nil {
			return fmt.Errorf("--usage-file %s: defaults.%s: no usage-priced resource type of that name", u.source, typ)
		}
		for k := range keys {
			if !known[typ][k] {
				return fmt.Errorf("--usage-file %s: defaults.%s.%s: unknown usage key for that type (it reads %s)",
					u.source, typ, k, strings.Join(sortedKeys(known[typ]), ", "))
			}
		}
	}
	for name, keys := range u.Resources {
		for k := range keys {
			if !all[k] {
				return fmt.Errorf("--usage-file %s: resources.%s.%s: unknown usage key", u.source, name, k)
			}
		}
	}
	return nil
}

// For returns the usage that applies to r: its type's defaults, then what
// its name (the URN's last part) or URN sets.
func (u *Usage) For(r Resource) map[string]float64 {
	out := map[string]float64{}
	if u == nil {
		return out
	}
	for k, v := range u.Defaults[r.Type] {
		out[k] = v
	}
	name := r.URN
	if i := strings.LastIndex(name, "::"); i >= 0 {
		name = name[i+2:]
	}
	for _, key := range []string{name, r.URN} {
		for k, v := range u.Resources[key] {
			out[k] = v
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// String helpers for pricers reading inputs.

// Str reads a string input by path ("instanceClass", "sku.name").
func Str(in map[string]any, path string) string {
	v := get(in, path)
	s, _ := v.(string)
	return s
}

// Num reads a number input by path (0 when absent).
func Num(in map[string]any, path string) float64 {
	switch v := get(in, path).(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case json.Number:
		f, _ := v.Float64()
		return f
	}
	return 0
}

// Bool reads a boolean input by path.
func Bool(in map[string]any, path string) bool {
	b, _ := get(in, path).(bool)
	return b
}

func get(in map[string]any, p string) any {
	var cur any = in
	for _, part := range strings.Split(p, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}
