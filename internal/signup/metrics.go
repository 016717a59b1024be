package signup

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsNamespace prefixes every metric the service exports.
const metricsNamespace = "tenantfleet_signup"

// riverJobStates are the states of a River job, reported even when no job
// is in them so that a dashboard's series do not come and go.
var riverJobStates = []string{"available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled"}

// Metrics is the service's Prometheus instrumentation, on a registry of its
// own: engine operations and errors and running jobs (reported by the
// worker), tenants and River jobs by state (read from the store at scrape
// time), HTTP requests and authentication failures (reported by the API),
// and the Go runtime and process.
type Metrics struct {
	registry *prometheus.Registry

	operationDuration *prometheus.HistogramVec
	engineErrors      *prometheus.CounterVec
	jobsRunning       prometheus.Gauge

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	authFailures *prometheus.CounterVec

	rolloutTenants *prometheus.CounterVec
	driftCheck     prometheus.Histogram
}

// NewMetrics builds the metrics and registers them, with a collector that
// counts store's tenants and jobs at each scrape (none when store is nil).
func NewMetrics(store *Store) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		operationDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace,
			Name:      "operation_duration_seconds",
			Help:      "Duration of engine operations (up, destroy, ...) by operation and result.",
			// Engine operations take from seconds to the better part of an hour.
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 2400, 3600},
		}, []string{"operation", "result"}),
		engineErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "engine_errors_total",
			Help:      "Engine errors by operation and kind (transient, concurrent update, permanent, ...).",
		}, []string{"operation", "kind"}),
		jobsRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace,
			Name:      "jobs_running",
			Help:      "Jobs this replica is working on now.",
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "http_requests_total",
			Help:      "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace,
			Name:      "http_request_duration_seconds",
			Help:      "HTTP request durations by route pattern (event streams included: they last until settled).",
			Buckets:   prometheus.DefBuckets,
		}, []string{"route"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "auth_failures_total",
			Help:      "Requests refused for their authentication, by reason.",
		}, []string{"reason"}),
		rolloutTenants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace,
			Name:      "rollout_tenants_total",
			Help:      "Tenants a rollout finished with, by result (succeeded, failed, skipped).",
		}, []string{"result"}),
		driftCheck: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace,
			Name:      "drift_check_duration_seconds",
			Help:      "Duration of drift checks (sweeps) of the fleet, from start to the last tenant's result.",
			Buckets:   []float64{10, 30, 60, 120, 300, 600, 1200, 3600, 7200},
		}),
	}
	m.registry.MustRegister(
		m.operationDuration, m.engineErrors, m.jobsRunning,
		m.httpRequests, m.httpDuration, m.authFailures, m.rolloutTenants, m.driftCheck,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if store != nil {
		m.registry.MustRegister(&storeCollector{store: store})
	}
	return m
}

// Registry returns the registry holding the service's metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// OperationDone records an engine operation (op: up, destroy, ...) that
// ended with result (succeeded, failed, cancelled, ...) after d.
func (m *Metrics) OperationDone(op, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.operationDuration.WithLabelValues(op, result).Observe(d.Seconds())
}

// EngineError counts an engine error of kind during operation op.
func (m *Metrics) EngineError(op, kind string) {
	if m == nil {
		return
	}
	m.engineErrors.WithLabelValues(op, kind).Inc()
}

// JobStarted counts a job this replica started working on.
func (m *Metrics) JobStarted() {
	if m == nil {
		return
	}
	m.jobsRunning.Inc()
}

// JobEnded counts a job this replica stopped working on.
func (m *Metrics) JobEnded() {
	if m == nil {
		return
	}
	m.jobsRunning.Dec()
}

// request records an HTTP request served by route (a mux pattern, or
// "unmatched") with status code.
func (m *Metrics) request(route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// authFailure counts a request refused for its authentication.
func (m *Metrics) authFailure(reason string) {
	if m == nil {
		return
	}
	m.authFailures.WithLabelValues(reason).Inc()
}

// handler serves the registry in the Prometheus exposition format. A
// failing store query drops its metrics from the scrape, not the scrape.
func (m *Metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      promLogger{log},
		Registry:      m.registry,
	})
}

// promLogger adapts slog to promhttp's Logger.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Error("serve metrics", "error", strings.TrimSpace(fmt.Sprintln(v...)))
}

// storeCollector reads tenants and River jobs by state at scrape time.
type storeCollector struct{ store *Store }

var (
	tenantsDesc = prometheus.NewDesc(metricsNamespace+"_tenants", "Tenants by state.", []string{"state"}, nil)
	jobsDesc    = prometheus.NewDesc(metricsNamespace+"_jobs", "River jobs by state, across all replicas.", []string{"state"}, nil)
	driftDesc   = prometheus.NewDesc(metricsNamespace+"_tenant_drift", "Tenants (not deleted) by what the last drift check found: "+
		"unchecked, in_sync, drifted or error.", []string{"status"}, nil)
	rolloutsDesc = prometheus.NewDesc(metricsNamespace+"_rollouts", "Rollouts by state.", []string{"state"}, nil)
)

// rolloutTenant counts a tenant a rollout finished with result.
func (m *Metrics) rolloutTenant(result string) {
	if m == nil {
		return
	}
	m.rolloutTenants.WithLabelValues(result).Inc()
}

// driftCheckDone records a finished drift check's duration.
func (m *Metrics) driftCheckDone(c DriftCheck) {
	if m == nil || c.FinishedAt == nil {
		return
	}
	m.driftCheck.Observe(c.FinishedAt.Sub(c.StartedAt).Seconds())
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tenantsDesc
	ch <- jobsDesc
	ch <- driftDesc
	ch <- rolloutsDesc
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if counts, err := c.store.CountByState(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(tenantsDesc, err)
	} else {
		for _, st := range States() {
			ch <- prometheus.MustNewConstMetric(tenantsDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
	}

	if counts, err := c.store.CountDrift(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(driftDesc, err)
	} else {
		for _, st := range sortedKeys(counts) {
			ch <- prometheus.MustNewConstMetric(driftDesc, prometheus.GaugeValue, float64(counts[st]), st)
		}
	}

	if counts, err := c.store.CountRollouts(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(rolloutsDesc, err)
	} else {
		for _, st := range []RolloutState{RolloutPlanning, RolloutPlanned, RolloutRolling, RolloutPaused, RolloutHalted, RolloutSucceeded, RolloutCancelled} {
			ch <- prometheus.MustNewConstMetric(rolloutsDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
	}

	if counts, err := c.jobCounts(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
	} else {
		for _, st := range sortedKeys(counts) {
			ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(counts[st]), st)
		}
	}
}

func (c *storeCollector) jobCounts(ctx context.Context) (map[string]int, error) {
	rows, err := c.store.DB.QueryContext(ctx, `SELECT state, count(*) FROM river_job GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }() // rows.Err, below, reports a failed read
	counts := map[string]int{}
	for _, st := range riverJobStates {
		counts[st] = 0
	}
	for rows.Next() {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		counts[st] = n
	}
	return counts, rows.Err()
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
