package web

import (
	"net/http"
	"testing"

	"github.com/example/scalekit-bff/server/internal/redistest"
)

func TestRedisOutageIs503NotSignOut(t *testing.T) {
	redisSrv := redistest.Start(t)
	e := newTestServer(t, withRedisURL(redisSrv.URL))
	c := e.browser()
	e.login(c, "usr_alice")
	wantStatus(t, e.get(c, "/readyz"), http.StatusOK)

	redisSrv.Stop()
	r := e.get(c, "/readyz")
	wantStatus(t, r, http.StatusServiceUnavailable)
	var ready readiness
	r.json(t, &ready)
	if ready.Checks["session_store"] != "unavailable" || ready.Checks["identity_provider"] != "ok" {
		t.Errorf("/readyz = %s; want session_store unavailable, identity_provider ok", r.body)
	}
	for _, path := range []string{"/api/me", "/api/session", "/api/sessions"} {
		r := e.get(c, path)
		wantStatus(t, r, http.StatusServiceUnavailable)
		if code := r.errorCode(t); code != "session_store_unavailable" {
			t.Errorf("%s during outage: %s; want session_store_unavailable, never a sign-out", path, code)
		}
	}
	// A visitor without a cookie does not need the store.
	wantStatus(t, e.get(e.browser(), "/api/session"), http.StatusOK)
	wantStatus(t, e.get(e.browser(), "/api/me"), http.StatusUnauthorized)
	// A login that cannot be saved is told so, in words for a person, with or
	// without a cookie.
	for _, tc := range []struct {
		b    *http.Client
		path string
	}{{e.browser(), "/auth/login"}, {c, "/auth/login"}, {c, "/auth/callback?state=x&code=y"}} {
		if got := e.get(tc.b, tc.path).Header.Get("Location"); got != "/login-error?error=session_store_unavailable" {
			t.Errorf("%s during outage redirected to %q; want the login-error page", tc.path, got)
		}
	}

	redisSrv.Restart() // an empty Redis: the server recovers by itself
	wantStatus(t, e.get(c, "/readyz"), http.StatusOK)
	wantStatus(t, e.get(c, "/api/me"), http.StatusUnauthorized)
	e.login(c, "usr_alice")
	wantStatus(t, e.get(c, "/api/me"), http.StatusOK)
}

func TestReadyzWithProviderDown(t *testing.T) {
	e := newTestServer(t)
	e.idpSrv.Close()
	r := e.get(e.browser(), "/readyz")
	wantStatus(t, r, http.StatusServiceUnavailable)
	var ready readiness
	r.json(t, &ready)
	if ready.Checks["identity_provider"] != "unavailable" || ready.Checks["session_store"] != "ok" {
		t.Errorf("/readyz = %s; want identity_provider unavailable", r.body)
	}
}
