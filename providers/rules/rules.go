package rules

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Rule is one thing a provider refuses about one resource type's inputs.
type Rule struct {
	// Type is the resource type token ("aws:ec2/securityGroup:SecurityGroup").
	Type string
	// Path selects the inputs the rule judges; see Select. Empty: the
	// check sees the whole input object (for rules across several fields).
	Path string
	// Check judges one selected value; see the constructors below.
	Check Check
	// Source is where the rule comes from: the provider's file and symbol,
	// or the API reference, so a reader can verify it and see when it changes.
	Source string
}

// Check judges a known, non-secret-wrapped value and returns what is wrong
// with it, or "" when the provider would accept it.
type Check struct {
	// Describe says what the rule wants, for reports ("matches ^[a-z]+$").
	Describe string
	judge    func(v resource.PropertyValue) string
}

// Violation is one input a provider would refuse.
type Violation struct {
	Rule Rule
	// Path is the concrete path of the value ("ingress[0].description").
	Path string
	// Value is the offending value as text (secrets are never shown).
	Value   string
	Problem string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s %s = %s: %s (%s)", v.Rule.Type, v.Path, v.Value, v.Problem, v.Rule.Source)
}

// Evaluate checks the inputs of one resource of type typ against every rule
// for that type. Unknown values (preview, before what they come from
// exists) are not judged, as the provider skips them too.
func Evaluate(rs []Rule, typ string, inputs resource.PropertyMap) []Violation {
	var out []Violation
	for _, r := range rs {
		if r.Type != typ {
			continue
		}
		for _, sel := range Select(resource.NewObjectProperty(inputs), r.Path) {
			v, secret, known := unwrap(sel.Value)
			if !known {
				continue
			}
			if problem := r.Check.judge(v); problem != "" {
				shown := "[secret]"
				if !secret {
					shown = show(v)
				}
				// A check may quote what it read, and what it read may be
				// a secret inside the value: never let one through.
				for _, hidden := range secretStrings(sel.Value, secret) {
					problem = strings.ReplaceAll(problem, hidden, "[secret]")
				}
				out = append(out, Violation{Rule: r, Path: sel.Path, Value: shown, Problem: problem})
			}
		}
	}
	return out
}

// secretStrings lists the non-empty strings inside v that are secret (v
// itself when inSecret), longest first so a replacement never leaves part
// of one behind.
func secretStrings(v resource.PropertyValue, inSecret bool) []string {
	var out []string
	var walk func(v resource.PropertyValue, secret bool)
	walk = func(v resource.PropertyValue, secret bool) {
		switch {
		case v.IsSecret():
			walk(v.SecretValue().Element, true)
		case v.IsOutput():
			walk(v.OutputValue().Element, secret || v.OutputValue().Secret)
		case v.IsString():
			if secret && v.StringValue() != "" {
				out = append(out, v.StringValue())
			}
		case v.IsArray():
			for _, e := range v.ArrayValue() {
				walk(e, secret)
			}
		case v.IsObject():
			for _, e := range v.ObjectValue() {
				walk(e, secret)
			}
		}
	}
	walk(v, inSecret)
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// Selects is how many known values r selects in inputs (0 for another
// type): a rule that never selects anything checks nothing.
func Selects(r Rule, inputs resource.PropertyMap) int {
	n := 0
	for _, sel := range Select(resource.NewObjectProperty(inputs), r.Path) {
		if _, _, known := unwrap(sel.Value); known {
			n++
		}
	}
	return n
}

// Types lists the resource types rs has rules for, sorted.
func Types(rs []Rule) []string {
	var out []string
	for _, r := range rs {
		if !slices.Contains(out, r.Type) {
			out = append(out, r.Type)
		}
	}
	slices.Sort(out)
	return out
}

// Selected is one value a path selected, with its concrete path.
type Selected struct {
	Path  string
	Value resource.PropertyValue
}

// Select walks path through v. A path is dot-separated keys; "[*]" after a
// key takes every element of an array, "{}" every value of a map and
// "{keys}" every key of a map (as a string), for example
// "ingress[*].description", "tags{}", "tags{keys}", "settings.backupConfiguration.transactionLogRetentionDays".
// A missing or null key selects nothing; an unknown value on the way ends
// the walk there (selected as is, so Evaluate skips it). What lies inside a
// secret is selected as a secret.
func Select(v resource.PropertyValue, path string) []Selected {
	if path == "" {
		return []Selected{{Path: "(inputs)", Value: v}}
	}
	cur := []Selected{{Path: "", Value: v}}
	for _, part := range strings.Split(path, ".") {
		key, suffix := part, ""
		if i := strings.IndexAny(part, "[{"); i >= 0 {
			key, suffix = part[:i], part[i:]
		}
		var next []Selected
		for _, s := range cur {
			inner, inSecret, known := unwrap(s.Value)
			if !known {
				next = append(next, s)
				continue
			}
			if !inner.IsObject() {
				continue
			}
			child, ok := inner.ObjectValue()[resource.PropertyKey(key)]
			if !ok || child.IsNull() {
				continue
			}
			child = rewrap(child, inSecret)
			p := join(s.Path, key)
			switch suffix {
			case "":
				next = append(next, Selected{Path: p, Value: child})
			case "[*]":
				inner, secret, known := unwrap(child)
				if !known || !inner.IsArray() {
					if !known {
						next = append(next, Selected{Path: p, Value: child})
					}
					continue
				}
				for i, e := range inner.ArrayValue() {
					next = append(next, Selected{Path: p + "[" + strconv.Itoa(i) + "]", Value: rewrap(e, secret)})
				}
			case "{}", "{keys}":
				inner, secret, known := unwrap(child)
				if !known || !inner.IsObject() {
					if !known {
						next = append(next, Selected{Path: p, Value: child})
					}
					continue
				}
				m := inner.ObjectValue()
				for _, k := range m.StableKeys() {
					if suffix == "{keys}" {
						next = append(next, Selected{Path: p + "{" + string(k) + "}", Value: rewrap(resource.NewStringProperty(string(k)), secret)})
					} else {
						next = append(next, Selected{Path: p + "." + string(k), Value: rewrap(m[k], secret)})
					}
				}
			default:
				panic(fmt.Sprintf("rules: path %q: unknown selector %q", path, suffix))
			}
		}
		cur = next
	}
	return cur
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// unwrap removes secret and known-output wrappers. known is false for a
// computed value or an unknown output.
func unwrap(v resource.PropertyValue) (inner resource.PropertyValue, secret, known bool) {
	for {
		switch {
		case v.IsSecret():
			secret = true
			v = v.SecretValue().Element
		case v.IsComputed():
			return v, secret, false
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return v, secret, false
			}
			secret = secret || o.Secret
			v = o.Element
		default:
			return v, secret, true
		}
	}
}

func rewrap(v resource.PropertyValue, secret bool) resource.PropertyValue {
	if secret && !v.IsSecret() {
		return resource.MakeSecret(v)
	}
	return v
}

func show(v resource.PropertyValue) string {
	switch {
	case v.IsString():
		s := v.StringValue()
		if len(s) > 120 {
			s = s[:117] + "..."
		}
		return strconv.Quote(s)
	case v.IsNumber():
		return strconv.FormatFloat(v.NumberValue(), 'f', -1, 64)
	case v.IsBool():
		return strconv.FormatBool(v.BoolValue())
	case v.IsObject():
		return "{...}"
	case v.IsArray():
		return fmt.Sprintf("[%d items]", len(v.ArrayValue()))
	}
	return v.TypeString()
}

// stringCheck builds a Check of string values; another kind is a problem
// of its own (the provider's schema would refuse it too).
func stringCheck(describe string, judge func(s string) string) Check {
	return Check{Describe: describe, judge: func(v resource.PropertyValue) string {
		if !v.IsString() {
			return "is a " + v.TypeString() + ", want a string"
		}
		return judge(v.StringValue())
	}}
}

// Matches wants every string to match the regular expression pattern.
func Matches(pattern string) Check {
	re := regexp.MustCompile(pattern)
	return stringCheck("matches "+pattern, func(s string) string {
		if re.MatchString(s) {
			return ""
		}
		return "does not match " + pattern
	})
}

// NotMatches wants no string to match pattern (a forbidden prefix, a
// forbidden character); why says what the provider calls it.
func NotMatches(pattern, why string) Check {
	re := regexp.MustCompile(pattern)
	return stringCheck("does not match "+pattern, func(s string) string {
		if re.MatchString(s) {
			return why
		}
		return ""
	})
}

// Length wants strings of minLen to maxLen characters (maxLen 0: no upper bound).
// Characters are Unicode code points; see Bytes for limits in bytes.
func Length(minLen, maxLen int) Check {
	describe := fmt.Sprintf("%d to %d characters", minLen, maxLen)
	if maxLen == 0 {
		describe = fmt.Sprintf("at least %d characters", minLen)
	}
	return stringCheck(describe, func(s string) string {
		n := utf8.RuneCountInString(s)
		switch {
		case n < minLen:
			return fmt.Sprintf("is %d characters long, the minimum is %d", n, minLen)
		case maxLen > 0 && n > maxLen:
			return fmt.Sprintf("is %d characters long, the maximum is %d", n, maxLen)
		}
		return ""
	})
}

// Bytes wants strings of at most limit bytes in UTF-8 (PostgreSQL's 63-byte
// identifiers, limits a provider states in bytes).
func Bytes(limit int) Check {
	return stringCheck(fmt.Sprintf("at most %d bytes", limit), func(s string) string {
		if len(s) > limit {
			return fmt.Sprintf("is %d bytes long, the maximum is %d", len(s), limit)
		}
		return ""
	})
}

// NotReserved refuses the given words, compared without regard to case.
func NotReserved(what string, words ...string) Check {
	set := map[string]bool{}
	for _, w := range words {
		set[strings.ToLower(w)] = true
	}
	return stringCheck("not a "+what, func(s string) string {
		if set[strings.ToLower(s)] {
			return "is a " + what
		}
		return ""
	})
}

// OneOf wants a string among values.
func OneOf(values ...string) Check {
	return stringCheck("one of "+strings.Join(values, ", "), func(s string) string {
		if slices.Contains(values, s) {
			return ""
		}
		return "is not one of " + strings.Join(values, ", ")
	})
}

// Between wants a number from lo to hi, inclusive.
func Between(lo, hi float64) Check {
	return Check{Describe: fmt.Sprintf("a number from %v to %v", lo, hi), judge: func(v resource.PropertyValue) string {
		if !v.IsNumber() {
			return "is a " + v.TypeString() + ", want a number"
		}
		if n := v.NumberValue(); n < lo || n > hi {
			return fmt.Sprintf("is outside %v to %v", lo, hi)
		}
		return ""
	}}
}

// Each applies c to every element of an array value (a list of strings).
func Each(c Check) Check {
	return Check{Describe: "each element " + c.Describe, judge: func(v resource.PropertyValue) string {
		if !v.IsArray() {
			return "is a " + v.TypeString() + ", want a list"
		}
		for i, e := range v.ArrayValue() {
			e, _, known := unwrap(e)
			if !known {
				continue
			}
			if p := c.judge(e); p != "" {
				return fmt.Sprintf("[%d] %s", i, p)
			}
		}
		return ""
	}}
}

// Func is a check of its own, for combinations of fields (with an empty
// Rule.Path it sees the whole input object). judge returns "" when the
// provider would accept the value. Read fields with Lookup, which reports
// an unknown field as absent (not judged).
func Func(describe string, judge func(v resource.PropertyValue) string) Check {
	return Check{Describe: describe, judge: judge}
}

// Lookup reads a known value at path inside v (no wildcards), through
// secrets; ok is false when it is absent, null or unknown.
func Lookup(v resource.PropertyValue, path string) (resource.PropertyValue, bool) {
	sel := Select(v, path)
	if len(sel) != 1 {
		return resource.PropertyValue{}, false
	}
	inner, _, known := unwrap(sel[0].Value)
	return inner, known && !inner.IsNull()
}

// Present reports whether path is set in v, known or not: an unknown
// value (preview) is present, only not yet known.
func Present(v resource.PropertyValue, path string) bool {
	return len(Select(v, path)) > 0
}

// String reads a known string at path in v.
func String(v resource.PropertyValue, path string) (string, bool) {
	x, ok := Lookup(v, path)
	if !ok || !x.IsString() {
		return "", false
	}
	return x.StringValue(), true
}

// Number reads a known number at path in v.
func Number(v resource.PropertyValue, path string) (float64, bool) {
	x, ok := Lookup(v, path)
	if !ok || !x.IsNumber() {
		return 0, false
	}
	return x.NumberValue(), true
}

// Int reads a known whole number at path in v: a number, or a string of
// digits (as some providers type numbers).
func Int(v resource.PropertyValue, path string) (int, bool) {
	x, ok := Lookup(v, path)
	switch {
	case !ok:
		return 0, false
	case x.IsNumber():
		return int(x.NumberValue()), true
	case x.IsString():
		n, err := strconv.Atoi(x.StringValue())
		return n, err == nil
	}
	return 0, false
}

// Elements is the known elements of the array at path in v, unwrapped
// (unknown elements are left out).
func Elements(v resource.PropertyValue, path string) []resource.PropertyValue {
	a, ok := Lookup(v, path)
	if !ok || !a.IsArray() {
		return nil
	}
	var out []resource.PropertyValue
	for _, e := range a.ArrayValue() {
		if e, ok := Unwrap(e); ok {
			out = append(out, e)
		}
	}
	return out
}

// Unwrap removes the secret and known-output wrappers of a value that
// Lookup or Elements returned from inside an object or array; ok is false
// for an unknown value.
func Unwrap(v resource.PropertyValue) (resource.PropertyValue, bool) {
	inner, _, known := unwrap(v)
	return inner, known
}

// CIDR wants an IP prefix in CIDR notation ("10.0.0.0/16").
func CIDR() Check {
	return stringCheck("a CIDR prefix", func(s string) string {
		if _, err := netip.ParsePrefix(s); err != nil {
			return "is not a CIDR prefix"
		}
		return ""
	})
}
