package web

import (
	"net/http"
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
