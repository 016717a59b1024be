package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// Get GETs path (like /api/v1/namespaces/default) and returns the decoded
// JSON body, a Status object for an error status, and the HTTP status. The
// error is for a request that got no answer or an answer that is not JSON;
// a 404 is not an error.
func (c *Cluster) Get(ctx context.Context, path string) (map[string]any, int, error) {
	status, body, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return nil, status, err
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, status, fmt.Errorf("kubetest: GET %s: %d, not JSON: %w", path, status, err)
	}
	return obj, status, nil
}

// Create POSTs obj, encoded as JSON, to the collection at path (like
// /api/v1/namespaces) and returns the created object. Any status but 200,
// 201 or 202 is an error.
func (c *Cluster) Create(ctx context.Context, path string, obj any) (map[string]any, error) {
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	status, resp, err := c.do(ctx, http.MethodPost, path, "application/json", body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK && status != http.StatusCreated && status != http.StatusAccepted {
		return nil, statusError(http.MethodPost, path, status, resp)
	}
	var created map[string]any
	if err := json.Unmarshal(resp, &created); err != nil {
		return nil, fmt.Errorf("kubetest: POST %s: %w", path, err)
	}
	return created, nil
}

// Patch applies a JSON merge patch (RFC 7386) to the object at path. Any
// status but 200 is an error.
func (c *Cluster) Patch(ctx context.Context, path, mergePatchJSON string) error {
	status, resp, err := c.do(ctx, http.MethodPatch, path, "application/merge-patch+json", []byte(mergePatchJSON))
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return statusError(http.MethodPatch, path, status, resp)
	}
	return nil
}

// Delete deletes the object at path (with the kind's default propagation).
// Any status but 200 or 202 is an error, 404 included.
func (c *Cluster) Delete(ctx context.Context, path string) error {
	status, resp, err := c.do(ctx, http.MethodDelete, path, "", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusAccepted {
		return statusError(http.MethodDelete, path, status, resp)
	}
	return nil
}

// List GETs the collection at path (like /api/v1/namespaces/ns/configmaps,
// or /apis/postgresql.cnpg.io/v1/clusters across namespaces) and returns
// its items. On any error, or a status but 200, it reports an error on the
// test given to Start (Errorf, so any goroutine may call it) and returns nil.
func (c *Cluster) List(ctx context.Context, path string) []map[string]any {
	c.tb.Helper()
	obj, status, err := c.Get(ctx, path)
	if err != nil {
		c.tb.Errorf("kubetest: list %s: %v", path, err)
		return nil
	}
	if status != http.StatusOK {
		c.tb.Errorf("kubetest: list %s: %v", path, statusError(http.MethodGet, path, status, mustJSON(obj)))
		return nil
	}
	raw, _ := obj["items"].([]any)
	items := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		if m, ok := it.(map[string]any); ok {
			items = append(items, m)
		}
	}
	return items
}

// Namespaces returns the names of the namespaces, sorted, terminating ones
// included (a deleted namespace is gone once the namespace controller has
// emptied it). It reports errors as List does.
func (c *Cluster) Namespaces(ctx context.Context) []string {
	c.tb.Helper()
	var names []string
	for _, ns := range c.List(ctx, "/api/v1/namespaces") {
		if md, ok := ns["metadata"].(map[string]any); ok {
			if name, ok := md["name"].(string); ok {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}

// do sends a request to kube-apiserver with the admin token.
func (c *Cluster) do(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("kubetest: %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("kubetest: %s %s: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

// get GETs url with client, with token as a bearer token unless empty.
func get(ctx context.Context, client *http.Client, url, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// statusError describes an error answer, with the message of its Status
// object when it has one.
func statusError(method, path string, status int, body []byte) error {
	var st struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &st) == nil && st.Message != "" {
		msg = st.Message
	}
	return fmt.Errorf("kubetest: %s %s: %d %s: %s", method, path, status, http.StatusText(status), msg)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
