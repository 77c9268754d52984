package web

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type listedJSON struct {
	ID, UserAgent, IP     string
	CreatedAt, LastSeenAt time.Time
	Current               bool
}

func (e *testEnv) listSessions(c *http.Client) []listedJSON {
	e.t.Helper()
	r := e.get(c, "/api/sessions")
	wantStatus(e.t, r, http.StatusOK)
	var out []listedJSON
	r.json(e.t, &out)
	return out
}

func TestListAndRevokeSessions(t *testing.T) {
	e := newTestServer(t)
	laptop, phone := e.browser(), e.browser()
	e.login(laptop, "usr_alice")
	e.login(phone, "usr_alice")
	stranger := e.browser()
	e.login(stranger, "usr_bob")

	listed := e.listSessions(laptop)
	if len(listed) != 2 {
		t.Fatalf("sessions = %+v; want 2", listed)
	}
	var current, other listedJSON
	for _, s := range listed {
		if s.Current {
			current = s
		} else {
			other = s
		}
	}
	if current.ID == "" || other.ID == "" || current.ID == other.ID {
		t.Fatalf("sessions = %+v; want exactly one current", listed)
	}
	if current.ID == e.cookie(laptop).Value || other.ID == e.cookie(phone).Value {
		t.Error("a listed id equals a cookie value; want public ids")
	}
	if current.IP == "" || current.UserAgent == "" || current.CreatedAt.IsZero() {
		t.Errorf("current session = %+v; want ip, user agent and times", current)
	}

	// CSRF first, then ownership.
	wantStatus(t, e.do(laptop, http.MethodDelete, "/api/sessions/"+other.ID, nil), http.StatusForbidden)
	bobs := e.listSessions(stranger)[0].ID
	r := e.do(laptop, http.MethodDelete, "/api/sessions/"+bobs, nil, "X-CSRF", "1")
	wantStatus(t, r, http.StatusNotFound)
	wantStatus(t, e.get(stranger, "/api/me"), http.StatusOK)

	r = e.do(laptop, http.MethodDelete, "/api/sessions/"+other.ID, nil, "X-CSRF", "1")
	wantStatus(t, r, http.StatusNoContent)
	wantStatus(t, e.get(phone, "/api/me"), http.StatusUnauthorized) // revocation is immediate
	if got := e.listSessions(laptop); len(got) != 1 || !got[0].Current {
		t.Errorf("sessions after revoking the phone = %+v; want only the current one", got)
	}
}

func TestRevokeAllOtherSessions(t *testing.T) {
	e := newTestServer(t)
	devices := []*http.Client{e.browser(), e.browser(), e.browser()}
	for _, d := range devices {
		e.login(d, "usr_alice")
	}
	r := e.do(devices[0], http.MethodDelete, "/api/sessions", nil, "X-CSRF", "1")
	wantStatus(t, r, http.StatusOK)
	var body struct{ Revoked int }
	r.json(t, &body)
	if body.Revoked != 2 {
		t.Errorf("revoked = %d; want 2", body.Revoked)
	}
	wantStatus(t, e.get(devices[0], "/api/me"), http.StatusOK)
	for _, d := range devices[1:] {
		wantStatus(t, e.get(d, "/api/me"), http.StatusUnauthorized)
	}
}

func TestIndexGoneAfterLogout(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	e.login(c, "usr_alice")
	if keys := e.db.Keys(t, "user:*"); len(keys) != 1 {
		t.Fatalf("user index keys = %v; want 1", keys)
	}
	wantStatus(t, e.do(c, http.MethodPost, "/auth/logout", nil, "X-CSRF", "1"), http.StatusOK)
	for _, pattern := range []string{"session:*", "user:*", "sid:*"} {
		if keys := e.db.Keys(t, pattern); len(keys) != 0 {
			t.Errorf("%s keys after logout = %v; want none (session and both indexes gone)", pattern, keys)
		}
	}
}

func (e *testEnv) otherSessionID(c *http.Client) string {
	e.t.Helper()
	for _, s := range e.listSessions(c) {
		if !s.Current {
			return s.ID
		}
	}
	e.t.Fatal("no other session listed")
	return ""
}

func (e *testEnv) providerStatus(sid string) string {
	status, _ := e.idp.SessionStatus(sid)
	return status
}

// Signing out another device revokes its Scalekit session too, so it cannot
// continue it; this device's Scalekit session stays.
func TestSignOutOtherDeviceRevokesItAtTheProvider(t *testing.T) {
	e := newTestServer(t)
	laptop, phone, tablet := e.browser(), e.browser(), e.browser()
	for _, c := range []*http.Client{laptop, phone, tablet} {
		e.login(c, "usr_alice")
	}
	laptopSID, phoneSID, tabletSID := providerSessionOf(t, e, laptop), providerSessionOf(t, e, phone), providerSessionOf(t, e, tablet)

	wantStatus(t, e.do(laptop, http.MethodDelete, "/api/sessions/"+e.listSessionsOf(laptop, phone), nil, "X-CSRF", "1"), http.StatusNoContent)
	eventually(t, "the phone's session is revoked at the provider", func() bool { return e.providerStatus(phoneSID) == "revoked" })
	if got := e.providerStatus(tabletSID); got != "active" {
		t.Errorf("tablet's provider session = %q; want active until signed out", got)
	}

	wantStatus(t, e.do(laptop, http.MethodDelete, "/api/sessions", nil, "X-CSRF", "1"), http.StatusOK)
	eventually(t, "the tablet's session is revoked at the provider", func() bool { return e.providerStatus(tabletSID) == "revoked" })
	if got := e.providerStatus(laptopSID); got != "active" {
		t.Errorf("this device's provider session = %q; want active", got)
	}
	if got := e.idp.GrantCounts()["api POST /api/v1/users/{user_id}/sessions/revoke"]; got != 0 {
		t.Errorf("user-wide revocations = %d; want none (it would end this device too)", got)
	}
	wantStatus(t, e.get(laptop, "/api/me"), http.StatusOK)
}

// listSessionsOf returns, from c's sessions page, the public id of other's
// session.
func (e *testEnv) listSessionsOf(c, other *http.Client) string {
	e.t.Helper()
	rec := e.storedRecord(other)
	for _, s := range e.listSessions(c) {
		if s.ID == rec.PublicID {
			return s.ID
		}
	}
	e.t.Fatal("the other device is not listed")
	return ""
}

// Sign-out never waits for the provider: the DELETE answers while the
// provider's API holds every request, and the revocation follows.
func TestSignOutDoesNotWaitForTheProvider(t *testing.T) {
	e := newTestServer(t)
	laptop, phone := e.browser(), e.browser()
	e.login(laptop, "usr_alice")
	e.login(phone, "usr_alice")
	phoneSID := providerSessionOf(t, e, phone)
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // never leave the provider holding a request
	e.revokeGate.Store(&gate)

	wantStatus(t, e.do(laptop, http.MethodDelete, "/api/sessions/"+e.otherSessionID(laptop), nil, "X-CSRF", "1"), http.StatusNoContent)
	wantStatus(t, e.get(phone, "/api/me"), http.StatusUnauthorized)
	eventually(t, "the revocation reaches the provider", func() bool { return e.revokeCalls.Load() > 0 })
	if got := e.providerStatus(phoneSID); got != "active" {
		t.Fatalf("provider session while its API is held = %q; want active", got)
	}
	release()
	eventually(t, "the phone's session is revoked at the provider", func() bool { return e.providerStatus(phoneSID) == "revoked" })
}

// An outage of the provider's API fails no sign-out; the revocation is
// retried until the API answers.
func TestRevocationRetriedAfterAnOutage(t *testing.T) {
	e := newTestServer(t)
	laptop, phone := e.browser(), e.browser()
	e.login(laptop, "usr_alice")
	e.login(phone, "usr_alice")
	phoneSID := providerSessionOf(t, e, phone)
	e.revokeOutage.Store(2) // down for two attempts, then up

	wantStatus(t, e.do(laptop, http.MethodDelete, "/api/sessions", nil, "X-CSRF", "1"), http.StatusOK)
	wantStatus(t, e.get(phone, "/api/me"), http.StatusUnauthorized)
	eventually(t, "the phone's session is revoked at the provider", func() bool { return e.providerStatus(phoneSID) == "revoked" })
	if got := e.revokeCalls.Load(); got != 3 {
		t.Errorf("API calls = %d; want 3 (two failed, one revoked)", got)
	}
	if got := strings.Count(e.logs.String(), "will retry"); got != 2 || strings.Contains(e.logs.String(), "giving up") {
		t.Errorf("logs: want two retries and no give-up:\n%s", e.logs)
	}
}
