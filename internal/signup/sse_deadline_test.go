package signup

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestEventStreamOutlivesTheReadTimeout: serve bounds reading a request
// (ReadTimeout); a stream must keep going long after that.
//
//nolint:paralleltest // newTestServer sets TENANTFLEET_LOCAL_* with t.Setenv (localtest.Images).
func TestEventStreamOutlivesTheReadTimeout(t *testing.T) {
	ts := newTestServer(t)
	if r := ts.do(request{method: "POST", path: "/v1/tenants", body: `{"id":"acme"}`}); r.status != 202 {
		t.Fatalf("signup = %d %s", r.status, r.body)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ts.svc.Handler(), ReadTimeout: 300 * time.Millisecond}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() }) // the test is over: only the listener's release matters

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ln.Addr().String()+"/v1/tenants/acme/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // closing ends the stream; nothing to report
	r := bufio.NewReader(resp.Body)
	if evs, ended := readEvents(t, r, 1); len(evs) != 1 || ended {
		t.Fatalf("first event: %v ended=%v", evs, ended)
	}
	time.Sleep(time.Second) // well past the read timeout
	if err := ts.svc.Store().AddEvents(ctx, []Event{{TenantID: "acme", At: time.Now(), Type: EventOperation,
		Data: json.RawMessage(`{"operation":"up","phase":"started"}`)}}); err != nil {
		t.Fatal(err)
	}
	ts.svc.notify()
	if evs, ended := readEvents(t, r, 1); len(evs) != 1 || ended || evs[0].event != EventOperation {
		t.Fatalf("the stream did not outlive the read timeout: %v ended=%v", evs, ended)
	}
}
