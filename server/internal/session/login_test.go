package session

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/example/scalekit-bff/server/internal/redistest"
)

// A visitor who only starts logins must not hold a key for the idle timeout:
// anyone can start logins, so an anonymous session lives exactly as long as
// its newest pending login, in Redis and in the cookie. Signing in gives the
// normal idle timeout and lifetime.
func TestAnonymousSessionExpiresWithItsPendingLogins(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := NewRedis(db.Pool, Options{
		IdleTimeout: 30 * time.Minute, Lifetime: 24 * time.Hour, PendingLoginTTL: 10 * time.Minute,
		CookieSecure: true, KeyPrefix: db.Prefix, Now: clk.Now,
	})
	pttl := func(token string) time.Duration {
		t.Helper()
		conn := db.Pool.Get()
		defer conn.Close()
		ms, err := redis.Int64(conn.Do("PTTL", db.Prefix+"session:"+storeKey(token)))
		if err != nil || ms < 0 {
			t.Fatalf("PTTL = %d, %v; want a key with a TTL", ms, err)
		}
		return time.Duration(ms) * time.Millisecond
	}
	cookieMaxAge := func(w *httptest.ResponseRecorder) time.Duration {
		t.Helper()
		cookies := w.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("Set-Cookie = %v; want one cookie", w.Result().Header.Values("Set-Cookie"))
		}
		return time.Duration(cookies[0].MaxAge) * time.Second
	}
	within := func(what string, got, lo, hi time.Duration) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s = %v; want between %v and %v", what, got, lo, hi)
		}
	}

	w := httptest.NewRecorder()
	if err := m.StartLogin(load(t, m, ""), w, "state-1", PendingLogin{ReturnTo: "/"}); err != nil {
		t.Fatal(err)
	}
	token := cookieValue(t, w, m.CookieName())
	within("PTTL after the first login", pttl(token), 9*time.Minute, 10*time.Minute)
	within("cookie Max-Age after the first login", cookieMaxAge(w), 9*time.Minute, 10*time.Minute+time.Second)

	// A second login five minutes later keeps the session for its own ten
	// minutes, and says so in the cookie.
	clk.Advance(5 * time.Minute)
	w = httptest.NewRecorder()
	if err := m.StartLogin(load(t, m, token), w, "state-2", PendingLogin{ReturnTo: "/"}); err != nil {
		t.Fatal(err)
	}
	if got := cookieValue(t, w, m.CookieName()); got != token {
		t.Errorf("second login's cookie = %q; want the same token %q", got, token)
	}
	within("PTTL after the second login", pttl(token), 14*time.Minute, 15*time.Minute)
	within("cookie Max-Age after the second login", cookieMaxAge(w), 14*time.Minute, 15*time.Minute+time.Second)

	// Taking a pending login never extends the anonymous session.
	if _, ok, err := m.TakePendingLogin(load(t, m, token), "state-1"); !ok || err != nil {
		t.Fatalf("TakePendingLogin(state-1) = %v, %v; want found", ok, err)
	}
	within("PTTL after a callback", pttl(token), 14*time.Minute, 15*time.Minute)

	// Signing in gets the idle timeout in Redis and the lifetime in the cookie.
	w = httptest.NewRecorder()
	if err := m.SignIn(load(t, m, token), w, testRecord("usr_1", "ses_1")); err != nil {
		t.Fatal(err)
	}
	signedIn := cookieValue(t, w, m.CookieName())
	within("PTTL after sign-in", pttl(signedIn), 29*time.Minute, 30*time.Minute)
	within("cookie Max-Age after sign-in", cookieMaxAge(w), 23*time.Hour, 24*time.Hour+time.Second)
}

// A signed-in user who starts another login (another organization) keeps
// the session's lifetime: only anonymous sessions are cut short.
func TestStartLoginKeepsASignedInSessionsLifetime(t *testing.T) {
	db := redistest.New(t)
	m := NewRedis(db.Pool, Options{IdleTimeout: 30 * time.Minute, Lifetime: 24 * time.Hour, CookieSecure: true, KeyPrefix: db.Prefix})
	token := signIn(t, m, testRecord("usr_1", "ses_1"))
	ctx := load(t, m, token)
	before := m.Deadline(ctx)
	if err := m.StartLogin(ctx, httptest.NewRecorder(), "state-1", PendingLogin{ReturnTo: "/"}); err != nil {
		t.Fatal(err)
	}
	after := load(t, m, token)
	if _, err := m.Current(after); err != nil {
		t.Fatalf("Current() after StartLogin = %v; want still signed in", err)
	}
	if d := m.scs.Deadline(after); d.Before(before) {
		t.Errorf("deadline after StartLogin = %v; want the signed-in lifetime (at least %v)", d, before)
	}
}
