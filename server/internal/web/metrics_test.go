package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/example/scalekit-bff/server/internal/devidp"
	"github.com/example/scalekit-bff/server/internal/redistest"
	"github.com/example/scalekit-bff/server/internal/session"
)

// scrape reads the metrics as Prometheus would, in its text format.
func (e *testEnv) scrape() string {
	e.t.Helper()
	reg := e.metrics.Registry()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// After a sign-in, a refresh and a sign-out, the metrics show each, by route
// pattern and status class, with Redis's commands and the Go runtime's and
// process's series; no label holds a cookie, token or path with an id.
func TestMetricsAfterSignInAndRefresh(t *testing.T) {
	clk := &offsetClock{}
	e := newTestServer(t, withMetrics(), withIDP(func(c *devidp.Config) {
		c.Now = clk.Now
		c.AccessTokenTTL = 5 * time.Minute
	}))
	c := e.browser()
	loginNearExpiry(e, clk, c, "usr_alice")
	cookie := e.cookie(c).Value
	wantStatus(t, e.get(c, "/api/me"), http.StatusOK) // refreshes
	var other string
	laptop := e.browser()
	e.login(laptop, "usr_alice")
	for _, s := range e.listSessions(laptop) {
		if !s.Current {
			other = s.ID
		}
	}
	wantStatus(t, e.do(laptop, http.MethodDelete, "/api/sessions/"+other, nil, "X-CSRF", "1"), http.StatusNoContent)
	wantStatus(t, e.do(laptop, http.MethodPost, "/auth/logout", nil, "X-CSRF", "1"), http.StatusOK)
	wantStatus(t, e.get(laptop, "/no/such/page"), http.StatusOK) // the SPA
	wantStatus(t, e.do(laptop, http.MethodPut, "/no/such/page", nil), http.StatusMethodNotAllowed)

	// The instrumented connections keep what the session cache needs.
	eventually(t, "the session cache to come on", func() bool { return strings.Contains(e.logs.String(), "session cache on") })
	if logs := e.logs.String(); strings.Contains(logs, "session cache off") {
		t.Errorf("the session cache went off with metrics:\n%s", lines(logs, "time="))
	}

	got := e.scrape()
	for _, want := range []string{
		"bff_sessions_started_total 2",
		`bff_token_refreshes_total{outcome="ok"} 1`,
		`bff_token_refreshes_total{outcome="refused"} 0`,
		`bff_sessions_ended_total{reason="revoked"} 1`,
		`bff_sessions_ended_total{reason="logout"} 1`,
		`bff_sessions_ended_total{reason="idle"} 0`,
		`bff_http_requests_total{method="GET",route="/auth/callback",status_class="3xx"} 2`,
		`bff_http_requests_total{method="GET",route="/api/me",status_class="2xx"} 1`,
		`bff_http_requests_total{method="DELETE",route="/api/sessions/:id",status_class="2xx"} 1`,
		`bff_http_requests_total{method="GET",route="(spa)",status_class="2xx"} 1`,
		`bff_http_requests_total{method="PUT",route="(unmatched)",status_class="4xx"} 1`,
		`bff_http_request_duration_seconds_count{method="GET",route="/api/me",status_class="2xx"} 1`,
		`bff_http_request_duration_seconds_bucket{method="GET",route="/api/me",status_class="2xx",le="+Inf"} 1`,
		`bff_redis_command_duration_seconds_count{command="EXEC"}`,
		`bff_redis_command_duration_seconds_count{command="EVALSHA"}`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(got, "bff_redis_errors_total") {
		t.Errorf("Redis errors counted with Redis up:\n%s", lines(got, "bff_redis_errors_total"))
	}
	if strings.Contains(got, cookie) || strings.Contains(got, other) || strings.Contains(got, "/no/such") {
		t.Error("a cookie, a session id or a path reached the metrics")
	}
	if kind := e.leaked(got); kind != "" {
		t.Errorf("a %s reached the metrics", kind)
	}
}

// Requests over the rate limit are counted by route pattern.
func TestMetricsCountRateLimitedRequests(t *testing.T) {
	e := newTestServer(t, withMetrics(), withRateLimit(session.Limit{Rate: 1.0 / 3600, Burst: 2}))
	c := e.browser()
	for range 3 {
		e.get(c, "/auth/login")
	}
	if got := e.scrape(); !strings.Contains(got, `bff_rate_limited_requests_total{route="/auth/login"} 1`) {
		t.Errorf("metrics lack one rate-limited /auth/login:\n%s", lines(got, "bff_rate_limited"))
	}
}

// A Redis that stops answering shows in bff_redis_errors_total.
func TestMetricsCountRedisErrors(t *testing.T) {
	redisSrv := redistest.Start(t)
	e := newTestServer(t, withMetrics(), withRedisURL(redisSrv.URL))
	c := e.browser()
	e.login(c, "usr_alice")
	if got := e.scrape(); strings.Contains(got, "bff_redis_errors_total") || !strings.Contains(got, `bff_redis_command_duration_seconds_count{command="(connect)"}`) {
		t.Fatalf("with Redis up, want connections and no errors:\n%s", lines(got, "bff_redis"))
	}
	redisSrv.Stop()
	wantStatus(t, e.get(c, "/readyz"), http.StatusServiceUnavailable)
	if got := e.scrape(); !strings.Contains(got, "bff_redis_errors_total{") {
		t.Errorf("with Redis down, metrics lack bff_redis_errors_total:\n%s", lines(got, "bff_redis"))
	}
}

// A refresh the provider refuses ends the session, and says so in both
// series.
func TestMetricsCountRefusedRefreshes(t *testing.T) {
	clk := &offsetClock{}
	e := newTestServer(t, withMetrics(), withIDP(func(c *devidp.Config) {
		c.Now = clk.Now
		c.AccessTokenTTL = 5 * time.Minute
		c.Clients[0].BackchannelLogoutURI = "" // the refusal alone ends the session
	}))
	c := e.browser()
	loginNearExpiry(e, clk, c, "usr_bob")
	if !e.idp.EndSession(t.Context(), providerSessionOf(t, e, c)) {
		t.Fatal("EndSession found no provider session")
	}
	wantStatus(t, e.get(c, "/api/me"), http.StatusUnauthorized)
	got := e.scrape()
	for _, want := range []string{`bff_token_refreshes_total{outcome="refused"} 1`, `bff_sessions_ended_total{reason="refresh_refused"} 1`} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %q:\n%s", want, lines(got, "bff_"))
		}
	}
}

// A back-channel logout is counted, with the sessions it ended.
func TestMetricsCountBackchannelLogouts(t *testing.T) {
	e := newTestServer(t, withMetrics())
	c := e.browser()
	e.login(c, "usr_alice")
	if !e.idp.EndSession(t.Context(), providerSessionOf(t, e, c)) {
		t.Fatal("EndSession found no provider session")
	}
	wantStatus(t, e.get(c, "/api/me"), http.StatusUnauthorized)
	got := e.scrape()
	for _, want := range []string{"bff_backchannel_logouts_total 1", `bff_sessions_ended_total{reason="backchannel"} 1`} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %q:\n%s", want, lines(got, "bff_"))
		}
	}
}

// A webhook is counted by type and outcome, with the sessions it ended.
func TestMetricsCountWebhookEvents(t *testing.T) {
	e := newTestServer(t, withMetrics())
	c := e.browser()
	e.login(c, "usr_alice")
	body := fixture(t, "user.logout.json", "ses_102701193356116233", providerSessionOf(t, e, c))
	wantAck(t, e.webhook(body, withWebhookID("msg_1")))
	wantAck(t, e.webhook(body, withWebhookID("msg_1")))
	got := e.scrape()
	for _, want := range []string{
		`bff_webhook_events_total{outcome="handled",type="user.logout"} 1`,
		`bff_webhook_events_total{outcome="duplicate",type="user.logout"} 1`,
		`bff_sessions_ended_total{reason="webhook"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %q:\n%s", want, lines(got, "bff_"))
		}
	}
}

// Remote API calls are counted by prefix and upstream status class; one
// that no upstream answers, as "error".
func TestMetricsCountRemoteAPICalls(t *testing.T) {
	e, orders, _ := remoteEnv(t, "/api/down=http://127.0.0.1:9", withMetrics())
	orders.answer(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusNotFound) })
	c := e.browser()
	e.login(c, "usr_alice")
	wantStatus(t, e.get(c, "/api/orders/ord_1", "X-CSRF", "1"), http.StatusNotFound)
	wantStatus(t, e.get(c, "/api/down/x", "X-CSRF", "1"), http.StatusBadGateway)
	got := e.scrape()
	for _, want := range []string{
		`bff_remote_api_requests_total{api="/api/orders",status_class="4xx"} 1`,
		`bff_remote_api_requests_total{api="/api/down",status_class="error"} 1`,
		`bff_remote_api_request_duration_seconds_count{api="/api/orders"} 1`,
		`bff_http_requests_total{method="GET",route="/api/orders/*",status_class="4xx"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %q:\n%s", want, lines(got, "bff_"))
		}
	}
}

func lines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
