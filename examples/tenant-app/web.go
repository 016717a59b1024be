package main

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tenantfleet/tenantfleet/queue"
)

// appInfo is what the page shows at its top and GET /api/info returns: what
// a platform engineer checks after a fleet change. Release is APP_RELEASE,
// empty when not set; Env the variables APP_SHOW_ENV names.
type appInfo struct {
	TenantID string     `json:"tenant"`
	Cloud    string     `json:"cloud"`
	Stack    string     `json:"stack"`
	Image    string     `json:"image"`
	Release  string     `json:"release"`
	Workload string     `json:"workload"`
	Env      []shownVar `json:"env"`
}

// webApp serves the tenant's pages. queue is nil when the queue client could
// not be opened (enqueue then answers 503 with queueErr).
type webApp struct {
	info     appInfo
	store    Store
	queue    queue.Sender
	queueErr error
	log      *slog.Logger
}

const (
	pageEvents   = 20
	apiEvents    = 100
	maxBodyBytes = 256 << 10 // SQS's limit; the largest the clouds agree on
	dbTimeout    = 3 * time.Second
)

func (a *webApp) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("GET /{$}", a.index)
	mux.HandleFunc("GET /api/info", a.apiInfo)
	mux.HandleFunc("GET /api/events", a.events)
	mux.HandleFunc("POST /api/enqueue", a.enqueue)
	return mux
}

// healthz is liveness: the process is up. It never depends on the database,
// so a database blip does not get healthy tasks replaced.
func (a *webApp) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "ok\n")
}

// readyz is readiness: 503 while the database does not answer a ping.
func (a *webApp) readyz(w http.ResponseWriter, r *http.Request) {
	if err := a.ping(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"database": "error: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"database": "ok"})
}

func (a *webApp) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dbTimeout)
	defer cancel()
	return a.store.Ping(ctx)
}

var indexTemplate = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Info.TenantID}} · tenantfleet</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.body, td.attrs { font-family: ui-monospace, monospace; white-space: pre-wrap; max-width: 40rem; overflow-wrap: anywhere; }
.ok { color: #070; } .err { color: #a00; }
</style>
</head>
<body>
<h1>Tenant {{.Info.TenantID}}</h1>
<dl>
<dt>Cloud</dt><dd>{{.Info.Cloud}}</dd>
<dt>Stack</dt><dd>{{.Info.Stack}}</dd>
<dt>Image</dt><dd><code>{{.Info.Image}}</code></dd>
<dt>Release</dt><dd>{{or .Info.Release "not set"}}</dd>
{{range .Info.Env}}<dt><code>{{.Name}}</code></dt><dd>{{if .Value}}<code>{{.Value}}</code>{{else}}not set{{end}}</dd>
{{end}}
<dt>Database</dt><dd>{{if .DBError}}<span class="err">error: {{.DBError}}</span>{{else}}<span class="ok">ping ok</span>{{end}}</dd>
</dl>
<h2>Events received{{if not .DBError}}: {{.Count}}{{end}}</h2>
{{if .Events}}<p>The last {{len .Events}}, newest first.</p>
<table>
<tr><th>id</th><th>received</th><th>subject</th><th>body</th><th>attributes</th></tr>
{{range .Events}}<tr><td>{{.ID}}</td><td>{{.ReceivedAt.UTC.Format "2006-01-02 15:04:05Z"}}</td><td>{{.Subject}}</td><td class="body">{{.Body}}</td><td class="attrs">{{printf "%s" .Attributes}}</td></tr>
{{end}}</table>
{{else}}<p>None yet.</p>{{end}}
<p>Send one: <code>curl -d 'hello' http://HOST/api/enqueue</code> (add <code>-H 'Tenantfleet-Fail: always'</code> to see it dead-lettered).</p>
</body>
</html>
`))

type indexData struct {
	Info    appInfo
	DBError string
	Count   int64
	Events  []Event
}

func (a *webApp) index(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), dbTimeout)
	defer cancel()
	d := indexData{Info: a.info}
	err := a.store.Ping(ctx)
	if err == nil {
		d.Count, err = a.store.Count(ctx)
	}
	if err == nil {
		d.Events, err = a.store.Recent(ctx, pageEvents)
	}
	if err != nil {
		d.DBError = err.Error()
		d.Events = nil
	}
	for i := range d.Events {
		d.Events[i].Body = truncate(d.Events[i].Body, 2000)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	if err := indexTemplate.Execute(w, d); err != nil {
		a.log.Warn("rendering page", "err", err)
	}
}

// apiInfo answers with the app's identity from its environment. It never
// touches the database, so it answers while the database is down.
func (a *webApp) apiInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.info)
}

func (a *webApp) events(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), dbTimeout)
	defer cancel()
	evs, err := a.store.Recent(ctx, apiEvents)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database: " + err.Error()})
		return
	}
	if evs == nil {
		evs = []Event{}
	}
	writeJSON(w, http.StatusOK, evs)
}

// enqueue publishes the request body to the tenant's own queue. A
// Tenantfleet-Fail request header, or ?fail=always, is passed on as the
// message header the worker refuses.
func (a *webApp) enqueue(w http.ResponseWriter, r *http.Request) {
	if a.queue == nil {
		msg := "no queue client"
		if a.queueErr != nil {
			msg = "no queue client: " + a.queueErr.Error()
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": msg})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "message larger than 256 KiB"})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading body: " + err.Error()})
		return
	}
	if len(body) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "empty body: the body is the message"})
		return
	}
	attrs := map[string]string{}
	if v := r.Header.Get(failHeader); v != "" {
		attrs[failHeader] = v
	}
	if v := r.URL.Query().Get("fail"); v != "" {
		attrs[failHeader] = v
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id, err := a.queue.Send(ctx, queue.Outgoing{Body: body, Attributes: attrs})
	if err != nil {
		a.log.Warn("enqueue failed", "err", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "sending: " + err.Error()})
		return
	}
	a.log.Info("enqueued", "id", id)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…" // drops a rune cut in half
}
