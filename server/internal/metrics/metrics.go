// Package metrics defines the BFF's Prometheus metrics on a registry of its
// own, passed to the packages that record them. Every method works on a nil
// *Metrics and does nothing, so with METRICS_ADDR unset no request pays for
// them. Label values are bounded: route patterns, status classes, reasons
// and outcomes from fixed lists, remote API prefixes from the configuration;
// never a user, a session, a path with ids or a key.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Reasons a session ends (bff_sessions_ended_total's reason label).
const (
	EndLogout         = "logout"          // the user signed out here
	EndRevoked        = "revoked"         // signed out from another of the user's devices
	EndIdle           = "idle"            // found past its idle timeout at a request
	EndLifetime       = "lifetime"        // found past its lifetime at a request
	EndRefreshRefused = "refresh_refused" // the provider refused its refresh token
	EndBackchannel    = "backchannel"     // an OpenID back-channel logout
	EndWebhook        = "webhook"         // a Scalekit webhook event
)

// Outcomes of an access-token refresh (bff_token_refreshes_total).
const (
	RefreshOK      = "ok"      // this instance spent the refresh token and saved new tokens
	RefreshRefused = "refused" // the provider refused it: the session ends
	RefreshOutage  = "outage"  // no usable answer; the session stays
	RefreshJoined  = "joined"  // another instance (or an earlier lock holder) had refreshed it
)

// Metrics records the BFF's metrics. The zero of a *Metrics, nil, records
// nothing.
type Metrics struct {
	registry *prometheus.Registry

	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	sessionsStart  prometheus.Counter
	sessionsEnded  *prometheus.CounterVec
	refreshes      *prometheus.CounterVec
	redisDuration  *prometheus.HistogramVec
	redisErrors    *prometheus.CounterVec
	rateLimited    *prometheus.CounterVec
	webhookEvents  *prometheus.CounterVec
	backchannel    prometheus.Counter
	remoteRequests *prometheus.CounterVec
	remoteDuration *prometheus.HistogramVec
}

// New registers the BFF's metrics, and the Go runtime and process
// collectors, on a new registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{registry: reg}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_http_requests_total",
		Help: "HTTP requests served, by method, route pattern and status class.",
	}, []string{"method", "route", "status_class"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bff_http_request_duration_seconds",
		Help:    "Time to serve an HTTP request, by method, route pattern and status class.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route", "status_class"})
	m.sessionsStart = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bff_sessions_started_total",
		Help: "Sessions signed in.",
	})
	m.sessionsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_sessions_ended_total",
		Help: "Sessions ended, by reason. Sessions Redis expires unseen are not counted.",
	}, []string{"reason"})
	m.refreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_token_refreshes_total",
		Help: "Access-token refreshes, by outcome: ok, refused, outage, joined (another instance's).",
	}, []string{"outcome"})
	m.redisDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bff_redis_command_duration_seconds",
		Help:    "Time of a Redis command, by command.",
		Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"command"})
	m.redisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_redis_errors_total",
		Help: "Redis commands that failed (connection, timeout or error reply), by command.",
	}, []string{"command"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_rate_limited_requests_total",
		Help: "Requests refused by the rate limit, by route pattern.",
	}, []string{"route"})
	m.webhookEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_webhook_events_total",
		Help: "Verified Scalekit webhook events, by type (other for types the BFF ignores) and outcome (handled, duplicate).",
	}, []string{"type", "outcome"})
	m.backchannel = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bff_backchannel_logouts_total",
		Help: "Verified OpenID back-channel logout tokens acted on.",
	})
	m.remoteRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bff_remote_api_requests_total",
		Help: "Calls to remote APIs (REMOTE_APIS), by API prefix and upstream status class (error: no answer).",
	}, []string{"api", "status_class"})
	m.remoteDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bff_remote_api_request_duration_seconds",
		Help:    "Time to a remote API's response headers, by API prefix.",
		Buckets: prometheus.DefBuckets,
	}, []string{"api"})
	for _, c := range []prometheus.Collector{m.httpRequests, m.httpDuration, m.sessionsStart, m.sessionsEnded, m.refreshes,
		m.redisDuration, m.redisErrors, m.rateLimited, m.webhookEvents, m.backchannel, m.remoteRequests, m.remoteDuration} {
		f(c)
	}
	// Series that alerts watch exist from the start, at zero, so that a
	// rate() over them is defined before the first event.
	for _, r := range []string{EndLogout, EndRevoked, EndIdle, EndLifetime, EndRefreshRefused, EndBackchannel, EndWebhook} {
		m.sessionsEnded.WithLabelValues(r)
	}
	for _, o := range []string{RefreshOK, RefreshRefused, RefreshOutage, RefreshJoined} {
		m.refreshes.WithLabelValues(o)
	}
	return m
}

// Registry is where the metrics are registered, for the /metrics handler.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Request records one HTTP request served.
func (m *Metrics) Request(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	class := StatusClass(status)
	m.httpRequests.WithLabelValues(method, route, class).Inc()
	m.httpDuration.WithLabelValues(method, route, class).Observe(d.Seconds())
}

// SessionStarted records a sign-in.
func (m *Metrics) SessionStarted() {
	if m == nil {
		return
	}
	m.sessionsStart.Inc()
}

// SessionsEnded records n sessions ended for reason (one of the End
// constants).
func (m *Metrics) SessionsEnded(reason string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.sessionsEnded.WithLabelValues(reason).Add(float64(n))
}

// Refresh records a refresh's outcome (one of the Refresh constants).
func (m *Metrics) Refresh(outcome string) {
	if m == nil {
		return
	}
	m.refreshes.WithLabelValues(outcome).Inc()
}

// RedisCommand records one Redis command; failed is true when it returned
// an error.
func (m *Metrics) RedisCommand(command string, d time.Duration, failed bool) {
	if m == nil {
		return
	}
	m.redisDuration.WithLabelValues(command).Observe(d.Seconds())
	if failed {
		m.redisErrors.WithLabelValues(command).Inc()
	}
}

// RateLimited records a request refused by the rate limit.
func (m *Metrics) RateLimited(route string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(route).Inc()
}

// WebhookEvent records a verified webhook event; eventType must be bounded
// by the caller (a known type, or "other").
func (m *Metrics) WebhookEvent(eventType string, duplicate bool) {
	if m == nil {
		return
	}
	outcome := "handled"
	if duplicate {
		outcome = "duplicate"
	}
	m.webhookEvents.WithLabelValues(eventType, outcome).Inc()
}

// BackchannelLogout records a back-channel logout token acted on.
func (m *Metrics) BackchannelLogout() {
	if m == nil {
		return
	}
	m.backchannel.Inc()
}

// RemoteAPICall records a call to the remote API at prefix api; status 0
// means no answer.
func (m *Metrics) RemoteAPICall(api string, status int, d time.Duration) {
	if m == nil {
		return
	}
	class := "error"
	if status > 0 {
		class = StatusClass(status)
	}
	m.remoteRequests.WithLabelValues(api, class).Inc()
	m.remoteDuration.WithLabelValues(api).Observe(d.Seconds())
}

// StatusClass is "2xx" for 200 to 299, and so on.
func StatusClass(status int) string {
	if status >= 100 && status < 600 {
		return strconv.Itoa(status/100) + "xx"
	}
	return "other"
}
