package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/session"
)

const testWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestHealthz(t *testing.T) {
	e := newTestServer(t)
	r := e.get(e.browser(), "/healthz")
	wantStatus(t, r, http.StatusOK)
}

func TestAnonymousAPI(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	r := e.get(c, "/api/me")
	wantStatus(t, r, http.StatusUnauthorized)
	if got := r.errorCode(t); got != "unauthenticated" {
		t.Errorf("/api/me error = %q; want unauthenticated", got)
	}
	r = e.get(c, "/api/session")
	wantStatus(t, r, http.StatusOK)
	if strings.TrimSpace(string(r.body)) != `{"authenticated":false}` {
		t.Errorf("/api/session = %s; want {\"authenticated\":false}", r.body)
	}
	if len(r.Cookies()) != 0 {
		t.Errorf("anonymous /api/session set cookies %v; want none", r.Cookies())
	}
}

func TestAPIErrorsAreJSON(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	tests := []struct {
		method, path string
		header       []string
		body         string
		status       int
		code         string
	}{
		{"GET", "/api/nope", nil, "", 404, "not_found"},
		{"POST", "/api/nope", []string{"X-CSRF", "1"}, "", 404, "not_found"},
		{"PATCH", "/api/sessions/abc", []string{"X-CSRF", "1"}, "", 405, "method_not_allowed"},
		{"GET", "/api/", nil, "", 404, "not_found"},
		{"POST", "/api/me", []string{"X-CSRF", "1"}, "", 405, "method_not_allowed"},
		{"PUT", "/api/session", []string{"X-CSRF", "1"}, "", 405, "method_not_allowed"},
		{"POST", "/auth/logout", nil, "", 403, "csrf_failed"},
		{"POST", "/auth/logout", []string{"X-CSRF", "1", "Sec-Fetch-Site", "cross-site"}, "", 403, "csrf_failed"},
		{"DELETE", "/api/sessions", nil, "", 403, "csrf_failed"},
		{"DELETE", "/api/sessions", []string{"X-CSRF", "1"}, "", 401, "unauthenticated"},
		{"POST", "/auth/logout", []string{"X-CSRF", "1"}, strings.Repeat("x", 70<<10), 413, "payload_too_large"},
		{"POST", "/auth/backchannel-logout", nil, "", 400, "bad_request"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := e.do(c, tc.method, tc.path, strings.NewReader(tc.body), tc.header...)
			if r.StatusCode != tc.status {
				t.Fatalf("%s %s = %d %s; want %d", tc.method, tc.path, r.StatusCode, r.body, tc.status)
			}
			if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Errorf("Content-Type = %q; want JSON", got)
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("error = %q; want %q", got, tc.code)
			}
		})
	}
}

func TestSPAServing(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	for _, path := range []string{"/", "/dashboard", "/sessions?x=1", "/login-error?error=%3Cscript%3E"} {
		r := e.get(c, path)
		wantStatus(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), "<div id=root>") {
			t.Errorf("GET %s body = %q; want index.html", path, r.body)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s Cache-Control = %q; want no-cache", path, got)
		}
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP = %q; want script-src 'self', no unsafe-inline, frame-ancestors 'none'", csp)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s = %q; want %q", h, got, want)
			}
		}
	}
	r := e.get(c, "/assets/app-abc.js")
	wantStatus(t, r, http.StatusOK)
	if got := r.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("asset Cache-Control = %q; want a long immutable cache", got)
	}
	wantStatus(t, e.get(c, "/assets/missing-123.js"), http.StatusNotFound)
}

// A caller's X-Request-Id never becomes ours: it would let anyone write the
// id of another request into our log lines. It is logged, bounded and
// cleaned, as client_request_id.
func TestRequestIDIsAlwaysOurs(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	tests := []struct{ sent, logged string }{
		{"abc-123", "abc-123"},
		{strings.Repeat("a", 200), strings.Repeat("a", 64)},
		{`x" request_id=forged level=ERROR`, "x__request_id_forged_level_ERROR"},
		{"café", "caf__"},
	}
	for _, tc := range tests {
		r := e.get(c, "/healthz", "X-Request-Id", tc.sent)
		ours := r.Header.Get("X-Request-Id")
		if ours == "" || ours == tc.sent || len(ours) > 64 {
			t.Errorf("X-Request-Id sent %q, answered %q; want a fresh id of ours", tc.sent, ours)
		}
		want := "request_id=" + ours + " client_request_id=" + tc.logged
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("logs lack %q", want)
		}
	}
	if strings.Contains(e.logs.String(), "request_id=forged") {
		t.Error("a caller wrote a request_id into our logs")
	}
}

// Every line logged while serving a request carries its request id, in any
// package, with no call site adding it: here the session package's
// revocation line and the web layer's login line.
func TestLogLinesCarryTheRequestID(t *testing.T) {
	e := newTestServer(t)
	laptop, phone := e.browser(), e.browser()
	e.login(laptop, "usr_alice")
	e.login(phone, "usr_alice")
	var other string
	for _, s := range e.listSessions(laptop) {
		if !s.Current {
			other = s.ID
		}
	}
	r := e.do(laptop, http.MethodDelete, "/api/sessions/"+other, nil, "X-CSRF", "1")
	wantStatus(t, r, http.StatusNoContent)
	revoked := logLines(e.logs.String(), `msg="session revoked"`)
	if want := "request_id=" + r.Header.Get("X-Request-Id"); len(revoked) != 1 || !strings.Contains(revoked[0], want) {
		t.Errorf("revocation lines %q; want one with %s", revoked, want)
	}

	// The login line and the callback's request line share one id.
	logins := logLines(e.logs.String(), "msg=login sub=")
	callbacks := logLines(e.logs.String(), "route=/auth/callback")
	if len(logins) != 2 || len(callbacks) != 2 {
		t.Fatalf("login lines %q, callback request lines %q; want two of each", logins, callbacks)
	}
	for i := range logins {
		id := regexp.MustCompile(`request_id=(\S+)`).FindStringSubmatch(callbacks[i])
		if id == nil || !strings.Contains(logins[i], id[0]) {
			t.Errorf("login line %q lacks the callback's request id (%q)", logins[i], callbacks[i])
		}
	}
	// The request line names its id once, not again from the context.
	for _, line := range logLines(e.logs.String(), " request_id=") {
		if strings.Count(line, " request_id=") != 1 {
			t.Errorf("log line %q names its request id twice", line)
		}
	}
}

// A product that builds the server with a logger of its own still gets the
// request id on the server's lines.
func TestLogLinesCarryTheRequestIDWithAnyLogger(t *testing.T) {
	var logs syncBuffer
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(slog.New(slog.NewTextHandler(&logs, nil)), cfg, session.NewMemory(session.Options{}), nil, http.NotFoundHandler())
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/auth/logout", nil)) // no X-CSRF: refused
	if w.Code != http.StatusForbidden {
		t.Fatalf("POST /auth/logout without X-CSRF = %d; want 403", w.Code)
	}
	refused := logLines(logs.String(), `msg="request refused"`)
	if want := "request_id=" + w.Header().Get("X-Request-Id"); len(refused) != 1 || !strings.Contains(refused[0], want) {
		t.Errorf("refusal lines %q; want one with %s", refused, want)
	}
}

func logLines(logs, substr string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

func TestLoginIsRateLimited(t *testing.T) {
	// The product's burst, but no refill during the test: at 20 a second one
	// request comes back every 50 ms, which a loaded machine can take between
	// the last login and the back-channel call.
	e := newTestServer(t, withRateLimit(session.Limit{Rate: 1.0 / 3600, Burst: 60}))
	c := e.browser()
	var last response
	for range 100 { // far above the burst of 60
		if last = e.get(c, "/auth/login"); last.Header.Get("Location") == "/login-error?error=rate_limited" {
			break
		}
	}
	// A person is sent to the login-error page; a machine gets JSON.
	if got := last.Header.Get("Location"); got != "/login-error?error=rate_limited" {
		t.Fatalf("/auth/login after the burst redirected to %q; want /login-error?error=rate_limited", got)
	}
	r := e.do(c, http.MethodPost, "/auth/backchannel-logout", nil)
	if r.StatusCode != http.StatusTooManyRequests || r.errorCode(t) != "rate_limited" {
		t.Errorf("backchannel after the burst = %d %s; want 429 rate_limited JSON", r.StatusCode, r.body)
	}
}
