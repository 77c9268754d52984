package web

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// loginErrorCodes are the LoginErrorCode enum of openapi.json: every code
// /login-error may be sent must be one of them (the SPA has a message for each).
func loginErrorCodes(t testing.TB) []string {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas struct {
				LoginErrorCode struct{ Enum []string }
			}
		}
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas.LoginErrorCode.Enum
}

// wantLoginError checks that r sends the browser to /login-error with code.
func wantLoginError(t testing.TB, r response, code string) {
	t.Helper()
	if got, want := r.Header.Get("Location"), "/login-error?error="+code; r.StatusCode != http.StatusFound || got != want {
		t.Errorf("%s = %d to %q; want 302 to %q", r.Request.URL.Path, r.StatusCode, got, want)
	}
	if !slices.Contains(loginErrorCodes(t), code) {
		t.Errorf("login error code %q is not in openapi.json's LoginErrorCode", code)
	}
}

// follow requests u and follows redirects through the app's /auth/ routes and
// the provider, as a browser would; it returns the first answer that leaves
// them (a page, or a redirect into the app).
func (e *testEnv) follow(c *http.Client, u string) response {
	e.t.Helper()
	for range 10 {
		r := e.get(c, u)
		loc := r.Header.Get("Location")
		if r.StatusCode != http.StatusFound || !(strings.HasPrefix(loc, e.issuer+"/") || strings.HasPrefix(loc, e.app.URL+"/auth/")) {
			return r
		}
		u = loc
	}
	e.t.Fatalf("more than 10 redirects from %s", u)
	return response{}
}

// authorizeQuery starts a login at path and returns the authorize request's
// query.
func (e *testEnv) authorizeQuery(c *http.Client, path string) url.Values {
	e.t.Helper()
	r := e.get(c, path)
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusFound || !strings.HasPrefix(loc, e.issuer+"/oauth/authorize?") {
		e.t.Fatalf("%s = %d to %q; want a redirect to the authorize endpoint", path, r.StatusCode, loc)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

type meOrganizations struct {
	User struct {
		ID, Email, ExternalID string
		EmailVerified         bool
	}
	Organization  *struct{ ID, Name, ExternalID string }
	Organizations []struct{ ID, Name string }
	Roles         []string
}

func (e *testEnv) me(c *http.Client) meOrganizations {
	e.t.Helper()
	r := e.get(c, "/api/me")
	wantStatus(e.t, r, http.StatusOK)
	var me meOrganizations
	r.json(e.t, &me)
	return me
}

func (m meOrganizations) organization() string {
	if m.Organization == nil {
		return "<none>"
	}
	return m.Organization.ID + " " + m.Organization.Name
}

func TestIdpInitiatedLogin(t *testing.T) {
	e := newTestServer(t)
	start := e.issuer + "/dev/idp-initiated-login?" + url.Values{
		"organization_id": {"org_globex"}, "login_hint": {"alice@acme.test"}, "relay_state": {"/reports?q=1"},
	}.Encode()

	t.Run("at the Initiate login URL", func(t *testing.T) {
		c := e.browser()
		r := e.get(c, start)
		if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, e.app.URL+"/auth/login?idp_initiated_login=") {
			t.Fatalf("the provider sent the browser to %q; want the Initiate login URL", loc)
		}
		q := e.authorizeQuery(c, r.Header.Get("Location"))
		want := map[string]string{"organization_id": "org_globex", "connection_id": "conn_globex_entra", "login_hint": "alice@acme.test"}
		for k, v := range want {
			if q.Get(k) != v {
				t.Errorf("authorize %s = %q; want %q (from the token)", k, q.Get(k), v)
			}
		}
		if got := e.follow(c, start).Header.Get("Location"); got != "/reports?q=1" {
			t.Fatalf("IdP-initiated login landed on %q; want the relay_state /reports?q=1", got)
		}
		me := e.me(c)
		if me.User.ID != "usr_alice" || me.organization() != "org_globex Globex Corp" {
			t.Errorf("/api/me = %s in %s; want usr_alice in Globex Corp", me.User.ID, me.organization())
		}
	})

	t.Run("at the redirect URI", func(t *testing.T) {
		c := e.browser()
		token := e.idpInitiatedToken(c, start)
		q := e.authorizeQuery(c, "/auth/callback?idp_initiated_login="+url.QueryEscape(token))
		if q.Get("organization_id") != "org_globex" || q.Get("connection_id") != "conn_globex_entra" {
			t.Errorf("authorize query = %v; want the token's organization and connection", q)
		}
	})
}

// idpInitiatedToken runs the provider's simulation and returns the token it
// sends to the Initiate login URL.
func (e *testEnv) idpInitiatedToken(c *http.Client, start string) string {
	e.t.Helper()
	loc, err := url.Parse(e.get(c, start).Header.Get("Location"))
	if err != nil || loc.Query().Get("idp_initiated_login") == "" {
		e.t.Fatalf("the provider's simulation sent no idp_initiated_login: %v", loc)
	}
	return loc.Query().Get("idp_initiated_login")
}

func TestIdpInitiatedLoginRefusals(t *testing.T) {
	e := newTestServer(t)
	now := time.Now()
	claims := func(changes map[string]any) map[string]any {
		c := map[string]any{
			"organization_id": "org_acme", "connection_id": "conn_acme_okta", "login_hint": "bob@acme.test",
			"iss": e.issuer, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		}
		for k, v := range changes {
			c[k] = v
		}
		return c
	}
	sign := func(c map[string]any) string {
		token, err := e.idp.SignJWT(c)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	valid := sign(claims(nil))
	foreign, err := jwtSignedWithForeignKey(claims(nil))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims(nil))
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "org_acme", "org_globex", 1))) + "." + parts[2]
	for _, tc := range []struct{ name, token string }{
		{"expired", sign(claims(map[string]any{"iat": now.Add(-8 * time.Minute).Unix(), "exp": now.Add(-2 * time.Minute).Unix()}))},
		{"issued too long ago", sign(claims(map[string]any{"iat": now.Add(-11 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}))},
		{"not valid yet", sign(claims(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()}))},
		{"bad signature", tampered},
		{"signed by another key", foreign},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."},
		{"foreign issuer", sign(claims(map[string]any{"iss": "https://evil.example"}))},
		{"for another client", sign(claims(map[string]any{"aud": []string{"another-app"}}))},
		{"garbage", "not-a-token"},
		{"empty", ""},
		{"huge", strings.Repeat("a", 10_000)},
	} {
		for _, path := range []string{"/auth/login", "/auth/callback"} {
			t.Run(tc.name+" at "+path, func(t *testing.T) {
				c := e.browser()
				wantLoginError(t, e.get(c, path+"?idp_initiated_login="+url.QueryEscape(tc.token)), "invalid_idp_initiated_login")
				if ck := e.cookie(c); ck != nil {
					t.Errorf("a refused idp_initiated_login started a login (cookie %s)", ck.Name)
				}
			})
		}
	}
	t.Run("a valid one is accepted", func(t *testing.T) {
		e.authorizeQuery(e.browser(), "/auth/login?idp_initiated_login="+valid)
	})
}

func TestIdpInitiatedRelayStateFollowsReturnToRules(t *testing.T) {
	e := newTestServer(t)
	for _, relay := range []string{
		"https://evil.example/", "//evil.example", "/\\evil.example", "/%2F%2Fevil.example",
		"javascript:alert(1)", "/auth/logout", "/auth/login?returnTo=//evil.example", "",
	} {
		t.Run(relay, func(t *testing.T) {
			c := e.browser()
			start := e.issuer + "/dev/idp-initiated-login?" + url.Values{
				"organization_id": {"org_acme"}, "login_hint": {"bob@acme.test"}, "relay_state": {relay},
			}.Encode()
			if got := e.follow(c, start).Header.Get("Location"); got != "/" {
				t.Errorf("relay_state %q landed on %q; want /", relay, got)
			}
			wantStatus(t, e.get(c, "/api/me"), http.StatusOK)
		})
	}
}

func TestInitiateLoginForwardsParameters(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()

	t.Run("what the BFF does not own passes untouched", func(t *testing.T) {
		q := e.authorizeQuery(c, "/auth/login?"+url.Values{
			"invitation_token": {"inv-123 &x=y"}, "ui_locales": {"fr"}, "organization_id": {"org_acme"},
			"login_hint": {"dana@example.test"}, "provider": {"google"}, "domain": {"acme.test"}, "returnTo": {"/x"},
		}.Encode())
		for k, v := range map[string]string{
			"invitation_token": "inv-123 &x=y", "ui_locales": "fr", "organization_id": "org_acme",
			"login_hint": "dana@example.test", "provider": "google", "domain": "acme.test",
		} {
			if q.Get(k) != v {
				t.Errorf("authorize %s = %q; want %q", k, q.Get(k), v)
			}
		}
		if q.Has("returnTo") {
			t.Errorf("returnTo was forwarded: %v", q)
		}
	})

	t.Run("domain_hint is sent as domain too", func(t *testing.T) {
		q := e.authorizeQuery(c, "/auth/login?domain_hint=acme.test&domain=evil.example")
		if q.Get("domain_hint") != "acme.test" || q.Get("domain") != "acme.test" {
			t.Errorf("authorize domain_hint %q, domain %q; want acme.test for both", q.Get("domain_hint"), q.Get("domain"))
		}
	})

	t.Run("what the BFF owns is its own", func(t *testing.T) {
		attack := url.Values{
			"client_id": {"evil"}, "redirect_uri": {"https://evil.example/cb"}, "response_type": {"token"},
			"scope": {"admin"}, "state": {"attacker-state"}, "nonce": {"attacker-nonce"},
			"code_challenge": {"attacker-challenge"}, "code_challenge_method": {"plain"},
			"response_mode": {"form_post"}, "request": {"x"}, "request_uri": {"https://evil.example/r"},
		}
		q := e.authorizeQuery(c, "/auth/login?"+attack.Encode())
		if q.Get("client_id") != "bff-test" || q.Get("redirect_uri") != e.app.URL+"/auth/callback" ||
			q.Get("response_type") != "code" || q.Get("scope") != "openid profile email offline_access" ||
			q.Get("code_challenge_method") != "S256" {
			t.Errorf("authorize query = %v; want the BFF's own values", q)
		}
		for _, name := range []string{"state", "nonce", "code_challenge"} {
			if q.Get(name) == attack.Get(name) || len(q[name]) != 1 {
				t.Errorf("authorize %s = %q; want one value of the BFF's own", name, q[name])
			}
		}
		for _, name := range []string{"response_mode", "request", "request_uri"} {
			if q.Has(name) {
				t.Errorf("authorize has %s=%q; want it never sent", name, q.Get(name))
			}
		}
	})

	t.Run("prompt", func(t *testing.T) {
		for prompt, want := range map[string]string{"login": "login", "create": "create", "select_account": "select_account", "none": "none", "consent": ""} {
			if got := e.authorizeQuery(c, "/auth/login?prompt="+prompt).Get("prompt"); got != want {
				t.Errorf("prompt=%s: authorize prompt = %q; want %q", prompt, got, want)
			}
		}
		if got := e.authorizeQuery(c, "/auth/signup?prompt=none").Get("prompt"); got != "create" {
			t.Errorf("/auth/signup?prompt=none: authorize prompt = %q; want create", got)
		}
	})
}

func TestInitiateLoginCaps(t *testing.T) {
	e := newTestServer(t)
	params := func(n, size int) string {
		q := url.Values{}
		for i := range n {
			q.Set(fmt.Sprintf("p%02d", i), strings.Repeat("v", size))
		}
		return q.Encode()
	}
	for _, tc := range []struct {
		name  string
		query string
		ok    bool
	}{
		{"20 parameters", params(20, 10), true},
		{"21 parameters", params(21, 1), false},
		{"2 KB in all", params(2, 1021), true}, // 2 × (3 + 1021) = 2048
		{"over 2 KB", params(2, 1022), false},
		{"a repeated parameter", "ui_locales=fr&ui_locales=de", false},
		{"a control character", "ui_locales=fr%0D%0ASet-Cookie:x", false},
		{"invalid UTF-8", "login_hint=%ff", false},
		{"an odd name", "%3Cscript%3E=1", false},
		{"own parameters do not count", params(20, 10) + "&" + url.Values{"returnTo": {"/" + strings.Repeat("r", 2000)}, "state": {"s"}, "client_id": {"x"}}.Encode(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.browser()
			r := e.get(c, "/auth/login?"+tc.query)
			if tc.ok {
				if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, e.issuer+"/oauth/authorize?") {
					t.Errorf("/auth/login?%.60s… = %q; want the authorize endpoint", tc.query, loc)
				}
				return
			}
			wantLoginError(t, r, "bad_request")
		})
	}
}

func TestInitiateLoginErrors(t *testing.T) {
	e := newTestServer(t)
	for providerErr, want := range map[string]string{
		"access_denied":             "access_denied",
		"invalid_organization_id":   "not_a_member",
		"server_error":              "login_failed",
		"<script>alert(1)</script>": "login_failed",
	} {
		t.Run(providerErr, func(t *testing.T) {
			r := e.get(e.browser(), "/auth/login?"+url.Values{"error": {providerErr}, "error_description": {"<b>boom</b>"}, "idp_initiated_login": {"x"}}.Encode())
			wantLoginError(t, r, want)
			if strings.Contains(string(r.body), "boom") || strings.Contains(string(r.body), "script") {
				t.Errorf("the error page reflects the request: %s", r.body)
			}
		})
	}
}

func TestSilentSignIn(t *testing.T) {
	e := newTestServer(t)

	t.Run("not signed in at the provider", func(t *testing.T) {
		c := e.browser()
		r := e.follow(c, "/auth/login?prompt=none&returnTo=/dashboard%3Ftab%3D2")
		if got := r.Header.Get("Location"); got != "/dashboard?tab=2" {
			t.Fatalf("silent sign-in without a provider session landed on %q; want /dashboard?tab=2", got)
		}
		wantStatus(t, e.get(c, "/api/me"), http.StatusUnauthorized)
	})

	t.Run("signed in at the provider", func(t *testing.T) {
		c := e.browser()
		e.login(c, "usr_alice")
		// A new session here (another tab's sign-out, an expiry), but the
		// provider still knows the browser.
		u, _ := url.Parse(e.app.URL)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: e.sessions.CookieName(), Value: "", Path: "/", MaxAge: -1}})
		wantStatus(t, e.get(c, "/api/me"), http.StatusUnauthorized)
		if got := e.follow(c, "/auth/login?prompt=none&returnTo=/sessions").Header.Get("Location"); got != "/sessions" {
			t.Fatalf("silent sign-in landed on %q; want /sessions", got)
		}
		if me := e.me(c); me.User.ID != "usr_alice" || me.organization() != "org_acme Acme Inc" {
			t.Errorf("/api/me = %s in %s; want usr_alice in Acme Inc", me.User.ID, me.organization())
		}
	})

	// Every answer that means "the person must interact" lands signed out;
	// the same answers to a login that was not silent are errors.
	for _, providerErr := range []string{"login_required", "interaction_required", "consent_required", "account_selection_required"} {
		for _, silent := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, silent %t", providerErr, silent), func(t *testing.T) {
				c := e.browser()
				path := "/auth/login?returnTo=/sessions"
				if silent {
					path += "&prompt=none"
				}
				state := e.authorizeQuery(c, path).Get("state")
				r := e.get(c, "/auth/callback?"+url.Values{"state": {state}, "error": {providerErr}}.Encode())
				if !silent {
					wantLoginError(t, r, "login_failed")
					return
				}
				if got := r.Header.Get("Location"); got != "/sessions" {
					t.Errorf("silent sign-in answered %s landed on %q; want /sessions", providerErr, got)
				}
			})
		}
	}
}

func TestOrganizationsInMe(t *testing.T) {
	e := newTestServer(t)
	alice := e.browser()
	e.login(alice, "usr_alice")
	me := e.me(alice)
	if me.User.ExternalID != "crm-user-0007" || me.Organization == nil || *me.Organization != (struct{ ID, Name, ExternalID string }{"org_acme", "Acme Inc", "crm-acme-0042"}) {
		t.Errorf("/api/me user.externalId %q, organization %+v; want crm-user-0007 and Acme Inc (crm-acme-0042)", me.User.ExternalID, me.Organization)
	}
	want := []struct{ ID, Name string }{{"org_acme", "Acme Inc"}, {"org_globex", "Globex Corp"}}
	if diff := cmp.Diff(want, me.Organizations); diff != "" {
		t.Errorf("/api/me organizations (-want +got):\n%s", diff)
	}

	bob := e.browser()
	e.login(bob, "usr_bob")
	if me := e.me(bob); me.User.ExternalID != "" || me.organization() != "org_acme Acme Inc" || len(me.Organizations) != 1 {
		t.Errorf("/api/me for bob: externalId %q, organization %s, organizations %v; want no external id and Acme Inc only",
			me.User.ExternalID, me.organization(), me.Organizations)
	}

	t.Run("the REST API is down", func(t *testing.T) {
		e.apiIsDown.Store(true)
		defer e.apiIsDown.Store(false)
		c := e.browser()
		e.login(c, "usr_carol")
		me := e.me(c)
		if me.organization() != "org_globex org_globex" || me.Organizations == nil || len(me.Organizations) != 0 {
			t.Errorf("/api/me with the REST API down: organization %s, organizations %v; want the id as name and []", me.organization(), me.Organizations)
		}
		if !strings.Contains(e.logs.String(), "could not read the user's organizations") {
			t.Error("no warning logged for the failed directory lookup")
		}
	})
}

func TestOrganizationSwitch(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	e.login(c, "usr_alice")
	if me := e.me(c); me.organization() != "org_acme Acme Inc" || !slices.Equal(me.Roles, []string{"admin"}) {
		t.Fatalf("/api/me = %s with roles %v; want Acme Inc as admin", me.organization(), me.Roles)
	}

	t.Run("directly", func(t *testing.T) {
		r := e.follow(c, "/auth/login?organization_id=org_globex&prompt=select_account&returnTo=/dashboard")
		if got := r.Header.Get("Location"); got != "/dashboard" {
			t.Fatalf("switch landed on %q; want /dashboard, with no page on the way", got)
		}
		me := e.me(c)
		if me.organization() != "org_globex Globex Corp" || !slices.Equal(me.Roles, []string{"member"}) || me.Organization.ExternalID != "" {
			t.Errorf("/api/me after the switch = %s %+v, roles %v; want Globex Corp (no external id) as member", me.organization(), me.Organization, me.Roles)
		}
	})

	t.Run("through the picker", func(t *testing.T) {
		page := e.follow(c, "/auth/login?prompt=select_account&returnTo=/sessions")
		if page.StatusCode != http.StatusOK || !strings.Contains(string(page.body), "Choose an organization") {
			t.Fatalf("select_account = %d %.200s; want the organization picker", page.StatusCode, page.body)
		}
		action, form := hostedForm(t, page.body)
		form.Set("action", "organization")
		form.Set("user", "usr_alice") // hostedForm leaves the user out
		form.Set("organization", "org_acme")
		r := e.post(c, absolute(page.Request.URL, action), form)
		if got := e.follow(c, r.Header.Get("Location")).Header.Get("Location"); got != "/sessions" {
			t.Fatalf("picking Acme Inc landed on %q; want /sessions", got)
		}
		if me := e.me(c); me.organization() != "org_acme Acme Inc" {
			t.Errorf("/api/me after picking = %s; want Acme Inc", me.organization())
		}
	})
}

func TestRefusedMembership(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	e.login(c, "usr_bob")
	for _, org := range []string{"org_globex", "org_nowhere"} {
		t.Run(org, func(t *testing.T) {
			r := e.follow(c, "/auth/login?prompt=select_account&organization_id="+org)
			wantLoginError(t, r, "not_a_member")
			if me := e.me(c); me.User.ID != "usr_bob" || me.organization() != "org_acme Acme Inc" {
				t.Errorf("after the refused switch /api/me = %s in %s; want bob still in Acme Inc", me.User.ID, me.organization())
			}
		})
	}
}

func TestInvitation(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	invite := e.issuer + "/dev/invite?" + url.Values{"email": {"dana@example.test"}, "organization_id": {"org_globex"}}.Encode()
	page := e.follow(c, invite)
	if page.StatusCode != http.StatusOK || !strings.Contains(string(page.body), "Join Globex Corp") {
		t.Fatalf("the invitation link shows %d %.300s; want the invitation page (its parameters forwarded)", page.StatusCode, page.body)
	}
	action, form := hostedForm(t, page.body)
	if form.Get("invitation_token") == "" {
		t.Fatalf("the invitation page carries no invitation_token: %v", form)
	}
	form.Set("action", "accept_invitation")
	r := e.post(c, absolute(page.Request.URL, action), form)
	if got := e.follow(c, r.Header.Get("Location")).Header.Get("Location"); got != "/" {
		t.Fatalf("accepting the invitation landed on %q; want /", got)
	}
	me := e.me(c)
	if me.User.Email != "dana@example.test" || !me.User.EmailVerified || me.organization() != "org_globex Globex Corp" {
		t.Errorf("/api/me = %s (verified %t) in %s; want dana, verified, in Globex Corp", me.User.Email, me.User.EmailVerified, me.organization())
	}
}

// TestCustomIssuer: an environment behind a custom domain names another
// issuer than the URL the app is configured with (SCALEKIT_ISSUER); every
// token, the idp_initiated_login included, must carry that issuer.
func TestCustomIssuer(t *testing.T) {
	e := newTestServer(t, withIssuerHost("auth.custom.test"))
	if !strings.HasPrefix(e.issuer, "http://auth.custom.test:") || e.cfg.ScalekitEnvironmentURL == e.issuer {
		t.Fatalf("issuer %q, environment URL %q; want a custom host that differs", e.issuer, e.cfg.ScalekitEnvironmentURL)
	}
	c := e.browser()
	start := e.issuer + "/dev/idp-initiated-login?organization_id=org_acme&login_hint=bob@acme.test&relay_state=/sessions"
	if got := e.follow(c, start).Header.Get("Location"); got != "/sessions" {
		t.Fatalf("IdP-initiated login landed on %q; want /sessions", got)
	}
	if me := e.me(c); me.User.ID != "usr_bob" {
		t.Errorf("/api/me user = %q; want usr_bob", me.User.ID)
	}

	// A token naming the environment URL as its issuer is foreign here.
	now := time.Now()
	token, err := e.idp.SignJWT(map[string]any{
		"organization_id": "org_acme", "iss": e.cfg.ScalekitEnvironmentURL,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantLoginError(t, e.get(e.browser(), "/auth/login?idp_initiated_login="+token), "invalid_idp_initiated_login")
}

// FuzzAuthorizeOptions: whatever query reaches the Initiate login URL, what
// is forwarded stays within the caps and never names a parameter the BFF
// owns; GetAuthorizationURL refuses the rest.
func FuzzAuthorizeOptions(f *testing.F) {
	for _, s := range []string{
		"invitation_token=x&organization_id=org_1", "state=x&client_id=y&redirect_uri=z", "a=1&a=2",
		"domain_hint=a&domain=b", "prompt=none", "%zz", "returnTo=//evil", strings.Repeat("p=1&", 30),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // Echo reads what it can; the handler sees parsed values only
		}
		opts, err := authorizeOptions(q, "")
		if err != nil {
			return
		}
		count, size := 0, 0
		for name, values := range opts.Extra {
			if ownParameters[name] {
				t.Fatalf("authorizeOptions(%q) forwards the BFF's own %s", raw, name)
			}
			count += len(values)
			size += len(name) + len(values[0])
		}
		if count > maxForwardedParameters || size > maxForwardedBytes {
			t.Fatalf("authorizeOptions(%q) forwards %d parameters, %d bytes; want at most %d and %d", raw, count, size, maxForwardedParameters, maxForwardedBytes)
		}
		if opts.Prompt != "" && !slices.Contains(prompts, opts.Prompt) {
			t.Fatalf("authorizeOptions(%q) prompt = %q; want one of %v", raw, opts.Prompt, prompts)
		}
	})
}
