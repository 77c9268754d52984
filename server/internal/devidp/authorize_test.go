package devidp

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

func TestCodeFlow(t *testing.T) {
	e := newTestServer(t, "")
	verifier, challenge := newPKCE()
	params := authParams(challenge)
	params.Set("organization_id", "org_acme") // Alice has two; TestOrganizationChooser shows the choice
	code := e.signIn(t, params, "Continue as Alice Admin (alice@acme.test)")

	status, tokens, oerr := e.token(t, exchangeForm(code, verifier))
	if status != http.StatusOK {
		t.Fatalf("exchange status = %d (%v); want 200", status, oerr)
	}
	if tokens.TokenType != "Bearer" || tokens.ExpiresIn != 300 || tokens.RefreshToken == "" || tokens.Scope != "openid profile email offline_access" {
		t.Errorf("token response = type %q expires_in %d refresh %t scope %q; want Bearer, 300, a refresh token, all scopes",
			tokens.TokenType, tokens.ExpiresIn, tokens.RefreshToken != "", tokens.Scope)
	}

	now := float64(e.clock.Now().Unix())
	_, access := e.verify(t, tokens.AccessToken)
	sid, _ := access["sid"].(string)
	if !strings.HasPrefix(sid, "ses_") {
		t.Fatalf("access token sid = %q; want ses_…", sid)
	}
	wantAccess := map[string]any{
		"iss": e.idp.Issuer(), "sub": "usr_alice", "aud": []any{testClientID}, "client_id": testClientID,
		"sid": sid, "oid": "org_acme", "roles": []any{"admin"},
		"permissions": []any{"members:manage", "org:read", "org:write"},
		"scope":       "openid profile email offline_access", "iat": now, "nbf": now, "exp": now + 300,
		"xoid": "crm-acme-0042", "xuid": "crm-user-0007",
	}
	delete(access, "jti")
	if diff := cmp.Diff(wantAccess, access); diff != "" {
		t.Errorf("access token claims mismatch (-want +got):\n%s", diff)
	}

	_, id := e.verify(t, tokens.IDToken)
	// at_hash: the left half of the access token's SHA-256 (OpenID Connect Core §3.1.3.6).
	sum := sha256.Sum256([]byte(tokens.AccessToken))
	wantID := map[string]any{
		"iss": e.idp.Issuer(), "sub": "usr_alice", "aud": []any{testClientID}, "azp": testClientID, "client_id": testClientID,
		"amr": []any{"otp"}, "at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]), "sid": sid, "oid": "org_acme",
		"iat": now, "exp": now + 3600, "auth_time": now, "nonce": testNonce,
		"email": "alice@acme.test", "email_verified": true,
		"name": "Alice Admin", "given_name": "Alice", "family_name": "Admin",
	}
	if diff := cmp.Diff(wantID, id); diff != "" {
		t.Errorf("ID token claims mismatch (-want +got):\n%s", diff)
	}
}

func TestLoginPage(t *testing.T) {
	e := newTestServer(t, "")
	_, challenge := newPKCE()
	params := authParams(challenge)
	params.Set("login_hint", "dave@example.test")
	p := e.getPage(t, params)

	if p.resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d; want 200", p.resp.StatusCode)
	}
	if diff := cmp.Diff([]string{"Sign in to Scalekit (development)"}, p.texts("h1")); diff != "" {
		t.Errorf("headings mismatch (-want +got):\n%s", diff)
	}
	wantButtons := []string{
		"Continue as Alice Admin (alice@acme.test)",
		"Continue as Bob Member (bob@acme.test)",
		"Continue as Carol Unverified (carol@globex.test)",
		"Continue", "Cancel",
	}
	if diff := cmp.Diff(wantButtons, p.texts("button")); diff != "" {
		t.Errorf("buttons mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Create an account", "Simulate sign-in from your company's identity provider"}, p.texts("a")); diff != "" {
		t.Errorf("links mismatch (-want +got):\n%s", diff)
	}
	if _, ok := p.labels()["Email"]; !ok {
		t.Errorf("labels = %v; want Email", p.labels())
	}
	if got := p.inputValue("Email"); got != "dave@example.test" {
		t.Errorf("Email field = %q; want the login_hint", got)
	}
	if got := p.texts("a"); !slices.Contains(got, "Create an account") {
		t.Errorf("links = %q; want Create an account", got)
	}
	if n := len(find(p.doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "style" || attr(n, "style") != "" })); n != 0 {
		t.Errorf("page has %d inline scripts or styles; want none", n)
	}
	wantHeaders := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' https://app.test; frame-ancestors 'none'; base-uri 'none'",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
	}
	for k, want := range wantHeaders {
		if got := p.resp.Header.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	e := newTestServer(t, "")
	_, challenge := newPKCE()
	tests := []struct {
		name   string
		change func(url.Values)
		want   string // error in the redirect; "" means a 400 page and no redirect
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "evil") }, ""},
		{"no client", func(v url.Values) { v.Del("client_id") }, ""},
		{"unregistered redirect_uri", func(v url.Values) { v.Set("redirect_uri", "https://evil.test/cb") }, ""},
		{"redirect_uri with extra path", func(v url.Values) { v.Set("redirect_uri", testRedirect+"/x") }, ""},
		{"no redirect_uri", func(v url.Values) { v.Del("redirect_uri") }, ""},
		{"two redirect_uris", func(v url.Values) { v.Add("redirect_uri", "https://evil.test/cb") }, ""},
		{"implicit flow", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
		{"no openid scope", func(v url.Values) { v.Set("scope", "profile") }, "invalid_scope"},
		{"no PKCE", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "invalid_request"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"no PKCE method", func(v url.Values) { v.Del("code_challenge_method") }, "invalid_request"},
		{"short challenge", func(v url.Values) { v.Set("code_challenge", "abc") }, "invalid_request"},
		{"repeated state", func(v url.Values) { v.Add("state", "other") }, "invalid_request"},
		{"prompt none", func(v url.Values) { v.Set("prompt", "none") }, "login_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := authParams(challenge)
			tc.change(params)
			resp := e.get(t, "/oauth/authorize", params)
			if tc.want == "" {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("status = %d, Location %q; want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
				}
				if got := readPage(t, resp).texts("h1"); !slices.Equal(got, []string{"Sign-in request not valid"}) {
					t.Errorf("headings = %q; want Sign-in request not valid", got)
				}
				return
			}
			q := redirectParams(t, resp)
			if q.Get("error") != tc.want || q.Get("error_description") == "" || q.Get("state") != params.Get("state") || q.Get("code") != "" {
				t.Errorf("callback query = %v; want error %q with a description and the state", q, tc.want)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	e := newTestServer(t, "")
	_, challenge := newPKCE()
	for _, prompt := range []string{"", "create"} {
		t.Run("prompt="+prompt, func(t *testing.T) {
			params := authParams(challenge)
			params.Set("prompt", prompt)
			q := redirectParams(t, e.submit(t, e.getPage(t, params), "Cancel", nil))
			want := url.Values{"error": {"access_denied"}, "error_description": {"The user denied the request"}, "state": {testState}}
			if diff := cmp.Diff(want, q); diff != "" {
				t.Errorf("callback query mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrganizationChooser(t *testing.T) {
	e := newTestServer(t, "")
	verifier, challenge := newPKCE()
	chooser := readPage(t, e.submit(t, e.getPage(t, authParams(challenge)), "Continue as Alice Admin (alice@acme.test)", nil))
	if diff := cmp.Diff([]string{"Choose an organization"}, chooser.texts("h1")); diff != "" {
		t.Fatalf("headings mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Acme Inc", "Globex Corp", "Cancel"}, chooser.texts("button")); diff != "" {
		t.Fatalf("buttons mismatch (-want +got):\n%s", diff)
	}
	q := redirectParams(t, e.submit(t, chooser, "Globex Corp", nil))
	_, tokens, _ := e.token(t, exchangeForm(q.Get("code"), verifier))
	_, claims := e.verify(t, tokens.AccessToken)
	got := []any{claims["oid"], claims["roles"], claims["permissions"]}
	if diff := cmp.Diff([]any{"org_globex", []any{"member"}, []any{"org:read"}}, got); diff != "" {
		t.Errorf("oid, roles, permissions mismatch (-want +got):\n%s", diff)
	}
}

func TestOrganizationID(t *testing.T) {
	e := newTestServer(t, "")
	tests := []struct {
		user, org string
		wantError string
	}{
		{"Continue as Alice Admin (alice@acme.test)", "org_globex", ""},
		{"Continue as Bob Member (bob@acme.test)", "org_acme", ""},
		{"Continue as Bob Member (bob@acme.test)", "org_globex", "invalid_organization_id"},
		{"Continue as Bob Member (bob@acme.test)", "org_nowhere", "invalid_organization_id"},
	}
	for _, tc := range tests {
		t.Run(tc.user+" "+tc.org, func(t *testing.T) {
			verifier, challenge := newPKCE()
			params := authParams(challenge)
			params.Set("organization_id", tc.org)
			params.Set("prompt", "select_account")
			q := redirectParams(t, e.submit(t, e.getPage(t, params), tc.user, nil))
			if q.Get("error") != tc.wantError || q.Get("state") != testState {
				t.Fatalf("callback query = %v; want error %q and the state", q, tc.wantError)
			}
			if tc.wantError != "" {
				return
			}
			_, tokens, _ := e.token(t, exchangeForm(q.Get("code"), verifier))
			if _, claims := e.verify(t, tokens.IDToken); claims["oid"] != tc.org {
				t.Errorf("ID token oid = %v; want %q", claims["oid"], tc.org)
			}
		})
	}
}

func TestSignUp(t *testing.T) {
	e := newTestServer(t, "")
	verifier, challenge := newPKCE()
	params := authParams(challenge)
	params.Set("prompt", "create")
	p := e.getPage(t, params)
	if diff := cmp.Diff([]string{"Create your account"}, p.texts("h1")); diff != "" {
		t.Fatalf("headings mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Create account", "Cancel"}, p.texts("button")); diff != "" {
		t.Errorf("buttons mismatch (-want +got):\n%s", diff)
	}

	taken := readPage(t, e.submit(t, p, "Create account", map[string]string{"Name": "Alice Again", "Email": "Alice@Acme.test"}))
	if taken.resp.StatusCode != http.StatusBadRequest || !slices.Contains(taken.texts("p"), "An account with this email already exists. Sign in instead.") {
		t.Errorf("sign-up with a taken email: status %d, text %q; want 400 and an explanation", taken.resp.StatusCode, taken.texts("p"))
	}

	q := redirectParams(t, e.submit(t, p, "Create account", map[string]string{"Name": " Dave  Dev ", "Email": "Dave@Example.test"}))
	_, tokens, _ := e.token(t, exchangeForm(q.Get("code"), verifier))
	_, claims := e.verify(t, tokens.IDToken)
	users := e.idp.Users()
	dave := users[len(users)-1]
	want := User{
		ID: dave.ID, Email: "dave@example.test", EmailVerified: true, Name: "Dave Dev", GivenName: "Dave", FamilyName: "Dev",
		Memberships: []Membership{{OrganizationID: "org_acme", OrganizationName: "Acme Inc", Roles: []string{"member"}, Status: MembershipActive}},
	}
	if diff := cmp.Diff(want, dave); diff != "" || len(users) != 4 || !strings.HasPrefix(dave.ID, "usr_") {
		t.Errorf("new user mismatch (-want +got):\n%s (users: %d)", diff, len(users))
	}
	if claims["sub"] != dave.ID || claims["email"] != "dave@example.test" || claims["name"] != "Dave Dev" {
		t.Errorf("ID token claims = %v; want the new user", claims)
	}
}

func TestEmailLogin(t *testing.T) {
	e := newTestServer(t, "")
	tests := []struct {
		email, wantSub string
		wantStatus     int
	}{
		{"  BOB@acme.test ", "usr_bob", http.StatusFound},
		{"erin@example.test", "", http.StatusFound}, // a new user
		{"not an email", "", http.StatusBadRequest},
		{"Erin <erin@example.test>", "", http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.email, func(t *testing.T) {
			verifier, challenge := newPKCE()
			resp := e.submit(t, e.getPage(t, authParams(challenge)), "Continue", map[string]string{"Email": tc.email})
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d; want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus != http.StatusFound {
				return
			}
			_, tokens, _ := e.token(t, exchangeForm(redirectParams(t, resp).Get("code"), verifier))
			_, claims := e.verify(t, tokens.IDToken)
			if sub, _ := claims["sub"].(string); (tc.wantSub != "" && sub != tc.wantSub) || !strings.HasPrefix(sub, "usr_") {
				t.Errorf("sub = %q; want %q (or a new usr_ id)", sub, tc.wantSub)
			}
		})
	}
	if n := len(e.idp.Users()); n != 4 {
		t.Errorf("len(Users()) = %d; want 4 (seeded + erin, once)", n)
	}
}

// FuzzHostedPages sends what a hostile browser controls to the pages: no
// input may cause a 5xx, and a redirect goes only to the registered URI.
func FuzzHostedPages(f *testing.F) {
	_, challenge := newPKCE()
	valid := authParams(challenge)
	f.Add("GET", "/oauth/authorize", valid.Encode(), "")
	f.Add("POST", "/oauth/authorize", "", valid.Encode()+"&action=user&user=usr_alice")
	f.Add("POST", "/oauth/authorize", "", valid.Encode()+"&action=organization&user=usr_alice&organization=org_evil")
	f.Add("POST", "/oauth/authorize", "", valid.Encode()+"&action=signup&name=%00&email=%40")
	f.Add("POST", "/oauth/authorize", "", "client_id=app&redirect_uri=https%3A%2F%2Fevil.test%2F&action=cancel")
	f.Add("GET", "/oidc/logout", "id_token_hint=a.b.c&post_logout_redirect_uri=https://evil.test/", "")
	f.Add("GET", "/oidc/logout", "id_token_hint=eyJhbGciOiJub25lIn0.e30.&client_id=app", "")
	f.Add("POST", "/oidc/logout", "", "%zz")
	idp, err := New(Config{
		Issuer:     "http://127.0.0.1:8081",
		Clients:    []Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}, PostLogoutRedirectURIs: []string{testPostLogout}}},
		SigningKey: testKey(),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if method != "GET" && method != "POST" || (path != "/oauth/authorize" && path != "/oidc/logout") {
			return
		}
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		idp.ServeHTTP(rec, req)
		loc := rec.Header().Get("Location")
		if rec.Code >= 500 {
			t.Errorf("%s %s?%q body %q: got %d; want no 5xx", method, path, query, body, rec.Code)
		}
		if loc != "" && !strings.HasPrefix(loc, testRedirect+"?") && !strings.HasPrefix(loc, testPostLogout) {
			t.Errorf("%s %s?%q body %q: redirected to %q; want a registered URI", method, path, query, body, loc)
		}
	})
}
