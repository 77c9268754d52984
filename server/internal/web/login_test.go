package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/devidp"
)

type meJSON struct {
	User struct {
		ID, Email, Name, GivenName, FamilyName, Picture string
		EmailVerified                                   bool
	}
	OrganizationID string
	Roles          []string
	Permissions    []string
	Session        struct {
		ID                   string
		CreatedAt, ExpiresAt time.Time
	}
}

func TestLoginThroughHostedPageToMe(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	if got := e.login(c, "usr_alice", "returnTo=/dashboard%3Ftab%3D2"); got != "/dashboard?tab=2" {
		t.Errorf("callback redirected to %q; want the returnTo /dashboard?tab=2", got)
	}
	r := e.get(c, "/api/me")
	wantStatus(t, r, http.StatusOK)
	var me meJSON
	r.json(t, &me)
	if me.User.ID != "usr_alice" || me.User.Email != "alice@acme.test" || !me.User.EmailVerified || me.OrganizationID != "org_acme" {
		t.Errorf("/api/me = %s; want alice in org_acme", r.body)
	}
	if diff := cmp.Diff([]string{"admin"}, me.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if len(me.Permissions) == 0 || me.Session.ID == "" || !me.Session.ExpiresAt.After(time.Now()) {
		t.Errorf("/api/me = %s; want permissions and a session that expires in the future", r.body)
	}
	ck := e.cookie(c)
	if ck == nil || ck.Name != "__Host-sid" {
		t.Fatalf("session cookie = %v; want __Host-sid", ck)
	}
	if me.Session.ID == ck.Value {
		t.Error("the session id in /api/me is the cookie value; want a public id")
	}

	r = e.get(c, "/api/session")
	var s struct {
		Authenticated bool
		User          struct{ ID string }
		ExpiresAt     time.Time
	}
	r.json(t, &s)
	if !s.Authenticated || s.User.ID != "usr_alice" || s.ExpiresAt.IsZero() {
		t.Errorf("/api/session = %s; want authenticated alice with expiresAt", r.body)
	}
}

// The SPA shows when a session ends however much it is used, and states the
// idle rule in words: both come from the API beside the idle deadline.
func TestSessionSaysWhenItEnds(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	before := time.Now()
	e.login(c, "usr_bob")

	type end struct {
		ExpiresAt, AbsoluteExpiresAt time.Time
		IdleTimeoutSeconds           int64
	}
	var me struct{ Session end }
	e.get(c, "/api/me").json(t, &me)
	var s end
	e.get(c, "/api/session").json(t, &s)

	idle, lifetime := e.cfg.SessionIdleTimeout, e.cfg.SessionLifetime
	for _, tc := range []struct {
		name string
		got  end
	}{{"/api/me session", me.Session}, {"/api/session", s}} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := tc.got.IdleTimeoutSeconds, int64(idle/time.Second); got != want {
				t.Errorf("idleTimeoutSeconds = %d; want %d", got, want)
			}
			if got := tc.got.AbsoluteExpiresAt; got.Before(before.Add(lifetime).Add(-time.Second)) || got.After(time.Now().Add(lifetime)) {
				t.Errorf("absoluteExpiresAt = %v; want sign-in + %v", got, lifetime)
			}
			if got := tc.got.ExpiresAt; got.Before(before.Add(idle).Add(-time.Second)) || got.After(time.Now().Add(idle)) {
				t.Errorf("expiresAt = %v; want last use + %v", got, idle)
			}
		})
	}
}

func TestLoginRenewsSessionToken(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	page := e.startLogin(c, "/auth/login")
	before := e.cookie(c)
	if before == nil {
		t.Fatal("no session cookie after /auth/login; want the pending login kept in a session")
	}
	r := e.get(c, e.choose(c, page, "usr_bob", ""))
	wantStatus(t, r, http.StatusFound)
	if n := len(r.Header.Values("Set-Cookie")); n != 1 {
		t.Errorf("callback sent %d Set-Cookie headers; want exactly 1", n)
	}
	after := e.cookie(c)
	if after == nil || after.Value == before.Value {
		t.Fatalf("cookie before login %q, after %v; want a new token (no fixation)", before.Value, after)
	}
	// The pre-login token must not be signed in.
	wantStatus(t, e.get(e.withCookie(before.Value), "/api/me"), http.StatusUnauthorized)
}

func TestCallbackReplayAndLoginCSRF(t *testing.T) {
	e := newTestServer(t)
	victim := e.browser()
	attacker := e.browser()
	callback := e.choose(attacker, e.startLogin(attacker, "/auth/login"), "usr_bob", "")

	// The attacker's callback URL opened in the victim's browser logs nobody in.
	r := e.get(victim, callback)
	if got := r.Header.Get("Location"); got != "/login-error?error=invalid_state" {
		t.Errorf("foreign callback redirected to %q; want /login-error?error=invalid_state", got)
	}
	wantStatus(t, e.get(victim, "/api/me"), http.StatusUnauthorized)

	// The rightful browser completes it once; a replay is refused.
	r = e.get(attacker, callback)
	if got := r.Header.Get("Location"); got != "/" {
		t.Fatalf("first callback redirected to %q; want /", got)
	}
	r = e.get(attacker, callback)
	if got := r.Header.Get("Location"); got != "/login-error?error=invalid_state" {
		t.Errorf("replayed callback redirected to %q; want invalid_state", got)
	}
	wantStatus(t, e.get(attacker, "/api/me"), http.StatusOK) // still signed in from the first
}

func TestSeveralTabsLogInAtOnce(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	tab1 := e.startLogin(c, "/auth/login?returnTo=/one")
	tab2 := e.startLogin(c, "/auth/login?returnTo=/two")
	cb2 := e.choose(c, tab2, "usr_bob", "")
	cb1 := e.choose(c, tab1, "usr_bob", "")
	if got := e.get(c, cb1).Header.Get("Location"); got != "/one" {
		t.Errorf("tab 1 landed on %q; want /one", got)
	}
	if got := e.get(c, cb2).Header.Get("Location"); got != "/two" {
		t.Errorf("tab 2 landed on %q; want /two", got)
	}
	wantStatus(t, e.get(c, "/api/me"), http.StatusOK)
}

func TestBadReturnToBecomesRoot(t *testing.T) {
	e := newTestServer(t)
	for _, bad := range []string{
		"//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)",
		"/%2F%2Fevil.example", "/%5Cevil.example", "%2F%2Fevil.example", "/\t/evil.example",
		"/auth/login", "evil", "/%0d%0aSet-Cookie:x=1",
	} {
		t.Run(bad, func(t *testing.T) {
			c := e.browser()
			got := e.login(c, "usr_bob", "returnTo="+url.QueryEscape(bad))
			if got != "/" {
				t.Errorf("returnTo=%q landed on %q; want /", bad, got)
			}
		})
	}
}

func TestProviderErrorCallbackReflectsNothing(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	page := e.startLogin(c, "/auth/login")
	_, form := hostedForm(t, page.body)
	q := url.Values{"state": {form.Get("state")}, "error": {"access_denied"}, "error_description": {`<script>alert(1)</script>`}}
	r := e.get(c, "/auth/callback?"+q.Encode())
	wantStatus(t, r, http.StatusFound)
	if got := r.Header.Get("Location"); got != "/login-error?error=access_denied" {
		t.Errorf("error callback redirected to %q; want /login-error?error=access_denied", got)
	}
	if strings.Contains(string(r.body), "script") {
		t.Errorf("error callback body reflects the description: %s", r.body)
	}
	q.Set("error", "<script>x</script>")
	r = e.get(c, "/auth/callback?"+q.Encode())
	if got := r.Header.Get("Location"); got != "/login-error?error=login_failed" {
		t.Errorf("unknown provider error redirected to %q; want login_failed", got)
	}
}

func TestFailedExchangeRedirectsToLoginError(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	callback := e.choose(c, e.startLogin(c, "/auth/login"), "usr_bob", "")
	u, _ := url.Parse(callback)
	q := u.Query()
	q.Set("code", "forged-code")
	r := e.get(c, "/auth/callback?"+q.Encode())
	if got := r.Header.Get("Location"); got != "/login-error?error=login_failed" {
		t.Errorf("forged code redirected to %q; want login_failed", got)
	}
	wantStatus(t, e.get(c, "/api/me"), http.StatusUnauthorized)
}

func TestLogout(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	e.login(c, "usr_alice")
	old := e.cookie(c).Value

	for _, h := range [][]string{nil, {"X-CSRF", "1", "Sec-Fetch-Site", "cross-site"}, {"X-CSRF", "yes"}} {
		r := e.do(c, http.MethodPost, "/auth/logout", nil, h...)
		wantStatus(t, r, http.StatusForbidden)
		if r.errorCode(t) != "csrf_failed" {
			t.Errorf("logout with %v: %s; want csrf_failed", h, r.body)
		}
	}
	wantStatus(t, e.get(c, "/api/me"), http.StatusOK) // refused logouts changed nothing

	r := e.do(c, http.MethodPost, "/auth/logout", nil, "X-CSRF", "1", "Sec-Fetch-Site", "same-origin")
	wantStatus(t, r, http.StatusOK)
	var body struct{ LogoutURL string }
	r.json(t, &body)
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("logout Cache-Control = %q; want no-store (the URL carries the ID token)", got)
	}
	// Pages the browser cached while signed in must not outlive the session.
	if got := r.Header.Get("Clear-Site-Data"); got != `"cache"` {
		t.Errorf("logout Clear-Site-Data = %q; want \"cache\"", got)
	}
	lu, err := url.Parse(body.LogoutURL)
	if err != nil || !strings.HasPrefix(body.LogoutURL, e.issuer+"/oidc/logout?") {
		t.Fatalf("logoutUrl = %q; want the environment's /oidc/logout", body.LogoutURL)
	}
	if lu.Query().Get("id_token_hint") == "" || lu.Query().Get("post_logout_redirect_uri") != e.app.URL+"/" {
		t.Errorf("logoutUrl query = %v; want id_token_hint and post_logout_redirect_uri %s/", lu.Query(), e.app.URL)
	}
	if ck := e.cookie(c); ck != nil {
		t.Errorf("cookie after logout = %v; want cleared", ck)
	}
	r = e.get(e.withCookie(old), "/api/me")
	wantStatus(t, r, http.StatusUnauthorized)

	// Idempotent for a visitor without a session.
	r = e.do(e.browser(), http.MethodPost, "/auth/logout", nil, "X-CSRF", "1")
	wantStatus(t, r, http.StatusOK)
	r.json(t, &body)
	if body.LogoutURL != "/" {
		t.Errorf("anonymous logoutUrl = %q; want /", body.LogoutURL)
	}

	// Following the logout URL ends the provider session and comes back.
	idp := e.browser()
	r = e.get(idp, lu.String())
	wantStatus(t, r, http.StatusFound)
	if got := r.Header.Get("Location"); !strings.HasPrefix(got, e.app.URL+"/") {
		t.Errorf("provider logout redirected to %q; want back to the app", got)
	}
}

func TestGarbageCookiesAre401(t *testing.T) {
	e := newTestServer(t)
	for _, v := range []string{
		"garbage", strings.Repeat("A", 43), strings.Repeat("z", 4000), "%00%01", "Zm9v.YmFy.YmF6",
		"\u00e9\u00e8\u00ea", `"quoted"`, "a;b=c",
	} {
		c := e.browser()
		u, _ := url.Parse(e.app.URL)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-sid", Value: v, Path: "/"}})
		req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/api/me", nil)
		req.Header.Set("Cookie", "__Host-sid="+v) // raw, even where the jar would refuse it
		resp, err := c.Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("cookie %.30q: /api/me = %d; want 401", v, resp.StatusCode)
		}
	}
}

func TestNoTokenReachesTheBrowser(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	e.login(c, "usr_alice")
	e.secretsMu.Lock()
	issued := len(e.secrets)
	e.secretsMu.Unlock()
	if issued < 4 {
		t.Fatalf("recorded %d codes and tokens from the provider; want the code and three tokens", issued)
	}
	for _, path := range []string{"/api/me", "/api/session", "/api/sessions", "/"} {
		r := e.get(c, path)
		assertNoJWT(t, path, r)
		if kind := e.leaked(string(r.body) + fmt.Sprint(r.Header)); kind != "" {
			t.Errorf("%s: the response carries a %s", path, kind)
		}
	}
	r := e.do(c, http.MethodPost, "/auth/logout", nil, "X-CSRF", "1")
	var body struct{ LogoutURL string }
	r.json(t, &body)
	u, _ := url.Parse(body.LogoutURL)
	q := u.Query()
	q.Del("id_token_hint") // the one sanctioned exception
	if jwtShaped.MatchString(q.Encode()) || jwtShaped.MatchString(u.Path) {
		t.Errorf("logout URL carries a token outside id_token_hint: %s", body.LogoutURL)
	}
	if kind := e.leaked(string(r.body)+fmt.Sprint(r.Header), u.Query().Get("id_token_hint")); kind != "" {
		t.Errorf("the logout response carries a %s besides the id_token_hint", kind)
	}
}

func assertNoJWT(t *testing.T, what string, r response) {
	t.Helper()
	if jwtShaped.Match(r.body) {
		t.Errorf("%s: body carries a JWT: %s", what, r.body)
	}
	for name, vals := range r.Header {
		for _, v := range vals {
			if jwtShaped.MatchString(v) {
				t.Errorf("%s: header %s carries a JWT", what, name)
			}
		}
	}
}

// TestIssuerWithPath: any standards-compliant OpenID Provider can stand in for
// Scalekit, including one whose issuer has a path (Dex's /dex, Keycloak's
// /realms/x): the server finds its endpoints by discovery.
func TestIssuerWithPath(t *testing.T) {
	e := newTestServer(t, withIDP(func(c *devidp.Config) { c.Issuer += "/dex" }))
	if !strings.HasSuffix(e.issuer, "/dex") {
		t.Fatalf("issuer = %q; want a path", e.issuer)
	}
	c := e.browser()
	e.login(c, "usr_bob")
	wantStatus(t, e.get(c, "/api/me"), http.StatusOK)
	wantStatus(t, e.get(c, "/readyz"), http.StatusOK)
}
