package localcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Client calls the runtime of a data directory over its unix socket.
type Client struct {
	dataDir string
	socket  string
	http    *http.Client
}

var _ API = (*Client)(nil)

// NewClient returns a client of the runtime serving dataDir. It does not
// connect until called; calls fail with ErrNotRunning when no runtime
// answers.
func NewClient(dataDir string) *Client {
	socket := SocketPath(dataDir)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &Client{
		dataDir: dataDir,
		socket:  socket,
		http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "unix", socket)
			},
			MaxIdleConns:    4,
			IdleConnTimeout: 30 * time.Second,
		}},
	}
}

// do sends a request and decodes a 2xx answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("localcloud: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://localcloud"+path, body)
	if err != nil {
		return fmt.Errorf("localcloud: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return fmt.Errorf("localcloud: %w (nothing answers on %s)", ErrNotRunning, c.socket)
		}
		return fmt.Errorf("localcloud: %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read-only: a close error loses nothing
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return fmt.Errorf("localcloud: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		apiErr := &APIError{Status: resp.StatusCode}
		var eb errorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
			apiErr.Message = eb.Error
		} else {
			apiErr.Message = http.StatusText(resp.StatusCode)
		}
		return fmt.Errorf("localcloud: %s %s: %w", method, path, apiErr)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("localcloud: %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

func resourcePath(kind, name string) string {
	return "/v1/" + kind + "/" + url.PathEscape(name)
}

// Status reports the runtime.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Shutdown asks the runtime to stop and waits until it has: its socket no
// longer answers and the data directory's lock is free. It returns an error
// wrapping ErrNotRunning when no runtime answers in the first place.
func (c *Client) Shutdown(ctx context.Context) error {
	if err := c.do(ctx, http.MethodPost, "/v1/shutdown", nil, nil); err != nil {
		return err
	}
	l := layout{dataDir: c.dataDir}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := c.Status(ctx)
		if errors.Is(err, ErrNotRunning) && lockFree(l) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("localcloud: wait for the runtime of %s to stop: %w", c.dataDir, ctx.Err())
		case <-tick.C:
		}
	}
}

// PutDatabase creates the database spec.Name or converges it to spec.
func (c *Client) PutDatabase(ctx context.Context, spec DatabaseSpec) (Database, error) {
	var out Database
	err := c.do(ctx, http.MethodPut, resourcePath("databases", spec.Name), spec, &out)
	return out, err
}

// GetDatabase returns the database name; the error wraps ErrNotFound when it is absent.
func (c *Client) GetDatabase(ctx context.Context, name string) (Database, error) {
	var out Database
	err := c.do(ctx, http.MethodGet, resourcePath("databases", name), nil, &out)
	return out, err
}

// DeleteDatabase deletes the database name; an absent one is not an error.
func (c *Client) DeleteDatabase(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, resourcePath("databases", name), nil, nil)
}

// PutQueue creates the queue spec.Name or converges it to spec.
func (c *Client) PutQueue(ctx context.Context, spec QueueSpec) (Queue, error) {
	var out Queue
	err := c.do(ctx, http.MethodPut, resourcePath("queues", spec.Name), spec, &out)
	return out, err
}

// GetQueue returns the queue name; the error wraps ErrNotFound when it is absent.
func (c *Client) GetQueue(ctx context.Context, name string) (Queue, error) {
	var out Queue
	err := c.do(ctx, http.MethodGet, resourcePath("queues", name), nil, &out)
	return out, err
}

// DeleteQueue deletes the queue name.
func (c *Client) DeleteQueue(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, resourcePath("queues", name), nil, nil)
}

// PutTopic creates the topic spec.Name or converges it to spec.
func (c *Client) PutTopic(ctx context.Context, spec TopicSpec) (Topic, error) {
	var out Topic
	err := c.do(ctx, http.MethodPut, resourcePath("topics", spec.Name), spec, &out)
	return out, err
}

// GetTopic returns the topic name; the error wraps ErrNotFound when it is absent.
func (c *Client) GetTopic(ctx context.Context, name string) (Topic, error) {
	var out Topic
	err := c.do(ctx, http.MethodGet, resourcePath("topics", name), nil, &out)
	return out, err
}

// DeleteTopic deletes the topic name.
func (c *Client) DeleteTopic(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, resourcePath("topics", name), nil, nil)
}

// PutSubscription creates the subscription spec.Name or converges it to spec.
func (c *Client) PutSubscription(ctx context.Context, spec SubscriptionSpec) (Subscription, error) {
	var out Subscription
	err := c.do(ctx, http.MethodPut, resourcePath("subscriptions", spec.Name), spec, &out)
	return out, err
}

// GetSubscription returns the subscription name; the error wraps ErrNotFound when it is absent.
func (c *Client) GetSubscription(ctx context.Context, name string) (Subscription, error) {
	var out Subscription
	err := c.do(ctx, http.MethodGet, resourcePath("subscriptions", name), nil, &out)
	return out, err
}

// DeleteSubscription deletes the subscription name.
func (c *Client) DeleteSubscription(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, resourcePath("subscriptions", name), nil, nil)
}

// PutProcess creates the process spec.Name or converges it to spec.
func (c *Client) PutProcess(ctx context.Context, spec ProcessSpec) (Process, error) {
	var out Process
	err := c.do(ctx, http.MethodPut, resourcePath("processes", spec.Name), spec, &out)
	return out, err
}

// GetProcess returns the process name; the error wraps ErrNotFound when it is absent.
func (c *Client) GetProcess(ctx context.Context, name string) (Process, error) {
	var out Process
	err := c.do(ctx, http.MethodGet, resourcePath("processes", name), nil, &out)
	return out, err
}

// DeleteProcess deletes the process name.
func (c *Client) DeleteProcess(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, resourcePath("processes", name), nil, nil)
}
