package fleet

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/tenantfleet/tenantfleet/internal/cli"
)

// Where the client finds the service and its credentials.
const (
	// EnvURL is the service's base URL when --url is not given.
	EnvURL = "TENANTFLEET_URL"
	// EnvAPIToken holds the operator's bearer token; serve reads the same
	// variable, so when it lists several (comma-separated) the first is used.
	EnvAPIToken = "TENANTFLEET_API_TOKEN"
	// DefaultURL is serve's default --listen address.
	DefaultURL = "http://127.0.0.1:8080"
	// requestTimeout bounds one API request (none streams).
	requestTimeout = 30 * time.Second
	// maxBody bounds a response read into memory.
	maxBody = 64 << 20
)

// Client calls the service's API with the operator's bearer token.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// NewClient returns a client of the service at baseURL (scheme and host,
// optionally a path prefix) authenticating with token.
func NewClient(baseURL, token string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL of the service", baseURL)
	}
	if token == "" {
		return nil, errors.New("no API token")
	}
	return &Client{base: u, token: token, http: &http.Client{Timeout: requestTimeout}}, nil
}

// URL is the service's base URL.
func (c *Client) URL() string { return c.base.String() }

// Problem is an RFC 9457 problem details document the service answered
// with.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"requestId,omitempty"`
}

func (p *Problem) Error() string {
	msg := p.Detail
	if msg == "" {
		msg = cmp.Or(p.Title, http.StatusText(p.Status))
	}
	if p.Field != "" {
		msg += " (field " + p.Field + ")"
	}
	return msg
}

// exitError maps a problem to the command's exit code: the caller's mistake
// (4xx) is a usage error, anything else a failure.
func (p *Problem) exitError() error {
	code := cli.ExitFailed
	if p.Status >= 400 && p.Status < 500 {
		code = cli.ExitUsage
	}
	return &cli.ExitError{Code: code, Err: p}
}

// do sends method path with in as its JSON body (none when nil), decodes a
// 2xx answer into out (when not nil) and returns the answer's bytes. Every
// error is a *cli.ExitError.
func (c *Client) do(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	ref, err := url.Parse(path)
	if err != nil {
		return nil, failed(fmt.Errorf("%s %s: %w", method, path, err))
	}
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + ref.Path
	u.RawQuery = ref.RawQuery
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, failed(fmt.Errorf("%s %s: %w", method, path, err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, failed(fmt.Errorf("%s %s: %w", method, path, err))
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json, application/problem+json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, method, path, err)
	}
	defer func() { _ = resp.Body.Close() }() // the body is read in full below; a close error changes nothing
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, c.transportError(ctx, method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, responseError(method, path, resp, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, failed(fmt.Errorf("%s %s: the service's answer is not the expected JSON: %w", method, path, err))
		}
	}
	return raw, nil
}

// responseError is the error for a non-2xx answer: its problem document, or
// the status and the start of the body when it has none (a proxy's page).
func responseError(method, path string, resp *http.Response, raw []byte) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var p Problem
		if json.Unmarshal(raw, &p) == nil && (p.Detail != "" || p.Title != "") {
			if p.Status == 0 {
				p.Status = resp.StatusCode
			}
			return p.exitError()
		}
	}
	text := strings.TrimSpace(string(raw))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	p := &Problem{Status: resp.StatusCode, Detail: fmt.Sprintf("%s %s: %s", method, path, resp.Status)}
	if text != "" {
		p.Detail += ": " + text
	}
	return p.exitError()
}

// transportError says what failed to reach the service, and how to start
// it when nothing listens there.
func (c *Client) transportError(ctx context.Context, method, path string, err error) error {
	if ctx.Err() != nil {
		return failed(ctx.Err())
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return failed(fmt.Errorf("no tenantfleet service at %s (connection refused): start it with `tenantfleet serve`, or point --url or $%s at it",
			c.URL(), EnvURL))
	}
	return failed(fmt.Errorf("%s %s%s: %w", method, c.URL(), path, unwrapURLError(err)))
}

// unwrapURLError drops *url.Error's repetition of the method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func failed(err error) error { return &cli.ExitError{Code: cli.ExitFailed, Err: err} }

func usage(err error) error { return &cli.ExitError{Code: cli.ExitUsage, Err: err} }

// Fleet is GET /v1/fleet.
func (c *Client) Fleet(ctx context.Context) (*Fleet, []byte, error) {
	var f Fleet
	raw, err := c.do(ctx, http.MethodGet, "/v1/fleet", nil, &f)
	return &f, raw, err
}

// StartRollout is POST /v1/rollouts.
func (c *Client) StartRollout(ctx context.Context, spec RolloutSpec) (*Rollout, []byte, error) {
	var r Rollout
	raw, err := c.do(ctx, http.MethodPost, "/v1/rollouts", spec, &r)
	return &r, raw, err
}

// Rollout is GET /v1/rollouts/{id}, with its tenants.
func (c *Client) Rollout(ctx context.Context, id int64) (*Rollout, []byte, error) {
	var r Rollout
	raw, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/rollouts/%d", id), nil, &r)
	return &r, raw, err
}

// Rollouts is GET /v1/rollouts: every rollout, newest first, without
// tenants.
func (c *Client) Rollouts(ctx context.Context) ([]Rollout, []byte, error) {
	var l rolloutList
	raw, err := c.do(ctx, http.MethodGet, "/v1/rollouts", nil, &l)
	return l.Rollouts, raw, err
}

// RolloutAction is POST /v1/rollouts/{id}/{action}: pause, resume or cancel.
func (c *Client) RolloutAction(ctx context.Context, id int64, action string) (*Rollout, []byte, error) {
	var r Rollout
	raw, err := c.do(ctx, http.MethodPost, fmt.Sprintf("/v1/rollouts/%d/%s", id, action), nil, &r)
	return &r, raw, err
}

// driftCheckRequest is the body of POST /v1/drift-checks.
type driftCheckRequest struct {
	Selector *Selector `json:"selector,omitempty"`
}

// StartDriftCheck is POST /v1/drift-checks; a nil selector checks every
// ready tenant.
func (c *Client) StartDriftCheck(ctx context.Context, sel *Selector) (*DriftCheck, []byte, error) {
	var d DriftCheck
	raw, err := c.do(ctx, http.MethodPost, "/v1/drift-checks", driftCheckRequest{Selector: sel}, &d)
	return &d, raw, err
}

// DriftCheck is GET /v1/drift-checks/{id}, with its results.
func (c *Client) DriftCheck(ctx context.Context, id int64) (*DriftCheck, []byte, error) {
	var d DriftCheck
	raw, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/drift-checks/%d", id), nil, &d)
	return &d, raw, err
}

// DriftedTenants is GET /v1/tenants?drift=true, every page. It returns each
// tenant decoded and as the service sent it.
func (c *Client) DriftedTenants(ctx context.Context) ([]Tenant, []json.RawMessage, error) {
	var (
		tenants []Tenant
		raws    = []json.RawMessage{} // none is [] in --json, not null
		path    = "/v1/tenants?drift=true"
	)
	for path != "" {
		var page tenantPage
		if _, err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, nil, err
		}
		for _, raw := range page.Tenants {
			var t Tenant
			if err := json.Unmarshal(raw, &t); err != nil {
				return nil, nil, failed(fmt.Errorf("GET %s: a tenant is not the expected JSON: %w", path, err))
			}
			// A next link that lost the drift filter must not list the
			// tenants in sync as drifted.
			if t.Drift.Status != DriftDrifted {
				continue
			}
			tenants = append(tenants, t)
			raws = append(raws, raw)
		}
		if page.Next == path {
			return nil, nil, failed(fmt.Errorf("GET %s: the next page is the same page", path))
		}
		path = page.Next
	}
	return tenants, raws, nil
}
