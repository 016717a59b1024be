package signup

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/tenantfleet/tenantfleet/components"
)

var (
	tenantIDPattern = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	slugPattern     = regexp.MustCompile(`^[a-z0-9-]+$`)
)

const (
	tenantIDRule = "a lowercase DNS label: a-z, 0-9 and single hyphens, starting with a letter and not ending with a hyphen"
	maxSlugLen   = 64
)

// checkTenantID applies components' tenant id rule to a value of field.
// The value is never quoted back: it is the caller's, of any size.
func checkTenantID(field, id string) error {
	switch {
	case id == "":
		return newProblem(http.StatusBadRequest, field, "%s is required: the tenant id, %s", field, tenantIDRule)
	case len(id) > components.MaxTenantIDLength:
		return newProblem(http.StatusBadRequest, field, "%s must be at most %d characters", field, components.MaxTenantIDLength)
	case !tenantIDPattern.MatchString(id) || strings.Contains(id, "--"):
		return newProblem(http.StatusBadRequest, field, "%s must be %s", field, tenantIDRule)
	case id == components.SharedTenant:
		return newProblem(http.StatusBadRequest, field, "%s %q is reserved for resources shared by all tenants", field, id)
	}
	return nil
}

func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	return id, checkTenantID("id", id)
}

// queryParams returns the request's query parameters, refusing any not in
// allowed (a misspelt flag must not be ignored) and repeated ones.
func queryParams(r *http.Request, allowed ...string) (map[string]string, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, newProblem(http.StatusBadRequest, "", "the query string is malformed")
	}
	out := make(map[string]string, len(values))
	for k, vs := range values {
		switch {
		case !slices.Contains(allowed, k) && len(allowed) == 0:
			return nil, newProblem(http.StatusBadRequest, truncate(k), "this operation takes no query parameters")
		case !slices.Contains(allowed, k):
			return nil, newProblem(http.StatusBadRequest, truncate(k), "unknown query parameter; this operation takes %s", strings.Join(allowed, ", "))
		case len(vs) > 1:
			return nil, newProblem(http.StatusBadRequest, k, "%s is given %d times; give it once", k, len(vs))
		}
		out[k] = vs[0]
	}
	return out, nil
}

// boolParam reads a flag: absent is false; only true and false are accepted.
func boolParam(q map[string]string, name string) (bool, error) {
	switch v, ok := q[name]; {
	case !ok || v == "false":
		return false, nil
	case v == "true":
		return true, nil
	}
	return false, newProblem(http.StatusBadRequest, name, "%s must be true or false", name)
}

// idempotencyKey reads the Idempotency-Key header ("" when absent).
func idempotencyKey(h http.Header) (string, error) {
	const name = "Idempotency-Key"
	values := h.Values(name)
	switch {
	case len(values) == 0:
		return "", nil
	case len(values) > 1:
		return "", newProblem(http.StatusBadRequest, name, "send one %s header, not %d", name, len(values))
	case !printableASCII(values[0], maxHeaderTokenLen):
		return "", newProblem(http.StatusBadRequest, name, "%s must be 1 to %d printable ASCII characters", name, maxHeaderTokenLen)
	}
	return values[0], nil
}

func requireJSON(h http.Header) error {
	ct := h.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return newProblem(http.StatusUnsupportedMediaType, "Content-Type", "the request body must be JSON: send Content-Type: application/json")
	}
	return nil
}

// decodeSignup parses a signup body strictly: one JSON object whose keys
// are exactly Request's (case-sensitive, each once), string values
// (null for an optional one is as good as absent), and nothing after it.
func decodeSignup(body []byte) (Request, error) {
	var req Request
	fields := map[string]*string{"id": &req.ID, "tier": &req.Tier, "cloud": &req.Cloud, "region": &req.Region}
	const known = "id, tier, cloud, region"

	trimmed := bytes.TrimLeft(body, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return req, newProblem(http.StatusBadRequest, "", `the request body is empty; send a JSON object such as {"id": "acme"}`)
	case trimmed[0] != '{':
		return req, newProblem(http.StatusBadRequest, "", "the request body must be a JSON object (fields %s), not %s", known, jsonKind(trimmed[0]))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return req, malformed(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return req, malformed(err)
		}
		key, _ := tok.(string)
		dst, ok := fields[key]
		if !ok {
			return req, newProblem(http.StatusBadRequest, truncate(key), "unknown field; a signup has the fields %s", known)
		}
		if seen[key] {
			return req, newProblem(http.StatusBadRequest, key, "%s is given twice", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return req, malformed(err)
		}
		switch {
		case string(raw) == "null":
		case raw[0] != '"':
			return req, newProblem(http.StatusBadRequest, key, "%s must be a string, not %s", key, jsonKind(raw[0]))
		default:
			if err := json.Unmarshal(raw, dst); err != nil {
				return req, malformed(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return req, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, newProblem(http.StatusBadRequest, "", "the request body has data after the JSON object; send one object")
	}
	return req, nil
}

func malformed(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return newProblem(http.StatusBadRequest, "", "the request body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, "", "the request body is not valid JSON: it ends before the object does")
	}
	return newProblem(http.StatusBadRequest, "", "the request body is not valid JSON")
}

func jsonKind(first byte) string {
	switch {
	case first == '{':
		return "an object"
	case first == '[':
		return "an array"
	case first == '"':
		return "a string"
	case first == 'n':
		return "null"
	case first == 't' || first == 'f':
		return "a boolean"
	case first == '-' || (first >= '0' && first <= '9'):
		return "a number"
	}
	return "JSON"
}

// validateSignup checks what can be checked without the template: the id
// rule, the tier, and the shape of cloud and region (the service checks
// them against the template).
func validateSignup(req Request) error {
	if err := checkTenantID("id", req.ID); err != nil {
		return err
	}
	if req.Tier != "" && !slices.Contains(components.Tiers(), components.Tier(req.Tier)) {
		return newProblem(http.StatusBadRequest, "tier", "tier must be small, medium or large (default small)")
	}
	for _, f := range []struct{ name, value string }{{"cloud", req.Cloud}, {"region", req.Region}} {
		if f.value != "" && (len(f.value) > maxSlugLen || !slugPattern.MatchString(f.value)) {
			return newProblem(http.StatusBadRequest, f.name, "%s must be at most %d characters of a-z, 0-9 and hyphens", f.name, maxSlugLen)
		}
	}
	return nil
}

// truncate bounds a caller's string quoted back as a field name.
func truncate(s string) string {
	const maxLen = 64
	if len(s) <= maxLen {
		return s
	}
	return s[:maxLen] + "..."
}
