package devidp

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testInitiateLogin = "https://app.test/auth/login"

// newBrowserServer is newTestServer whose client keeps cookies, as a browser
// does, and whose app has an Initiate login URL.
func newBrowserServer(t *testing.T) *testEnv {
	t.Helper()
	e := newTestServer(t, "", func(c *Config) { c.Clients[0].InitiateLoginURI = testInitiateLogin })
	e.client.Jar, _ = cookiejar.New(nil)
	return e
}

// idTokenOf exchanges a code and returns the ID token's claims.
func (e *testEnv) idTokenOf(t *testing.T, code, verifier string) map[string]any {
	t.Helper()
	status, tokens, oerr := e.token(t, exchangeForm(code, verifier))
	if status != http.StatusOK {
		t.Fatalf("exchange status = %d (%v); want 200", status, oerr)
	}
	_, claims := e.verify(t, tokens.IDToken)
	return claims
}

func TestSilentSignIn(t *testing.T) {
	e := newBrowserServer(t)
	silent := func() url.Values {
		_, challenge := newPKCE()
		params := authParams(challenge)
		params.Set("prompt", "none")
		return redirectParams(t, e.get(t, "/oauth/authorize", params))
	}
	if q := silent(); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none without a provider session: %v; want login_required", q)
	}

	_, challenge := newPKCE()
	params := authParams(challenge)
	params.Set("organization_id", "org_globex")
	e.signIn(t, params, "Continue as Alice Admin (alice@acme.test)")
	idpURL, _ := url.Parse(e.srv.URL)
	if cookies := e.client.Jar.Cookies(idpURL); len(cookies) != 1 || cookies[0].Name != browserCookie {
		t.Fatalf("cookies after sign-in = %v; want the provider's %s", cookies, browserCookie)
	}

	verifier, challenge := newPKCE()
	params = authParams(challenge)
	params.Set("prompt", "none")
	q := redirectParams(t, e.get(t, "/oauth/authorize", params))
	if q.Get("code") == "" {
		t.Fatalf("prompt=none with a provider session: %v; want a code", q)
	}
	claims := e.idTokenOf(t, q.Get("code"), verifier)
	if claims["sub"] != "usr_alice" || claims["oid"] != "org_globex" {
		t.Errorf("silent sign-in ID token = sub %v oid %v; want usr_alice in org_globex", claims["sub"], claims["oid"])
	}

	// Ending the browser's provider session (as an administrator would) ends
	// silent sign-in too.
	sid, _ := claims["sid"].(string)
	e.idp.EndSession(context.Background(), sid)
	if q := silent(); q.Get("error") != "login_required" {
		t.Errorf("prompt=none after the provider session ended: %v; want login_required", q)
	}
}

func TestLogoutEndsTheBrowsersProviderSession(t *testing.T) {
	e := newBrowserServer(t)
	_, challenge := newPKCE()
	e.signIn(t, authParams(challenge), "Continue as Bob Member (bob@acme.test)")
	resp := e.get(t, "/oidc/logout", url.Values{"client_id": {testClientID}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout status = %d; want 200", resp.StatusCode)
	}
	_, challenge = newPKCE()
	params := authParams(challenge)
	params.Set("prompt", "none")
	if q := redirectParams(t, e.get(t, "/oauth/authorize", params)); q.Get("error") != "login_required" {
		t.Errorf("prompt=none after /oidc/logout: %v; want login_required", q)
	}
}

func TestSelectAccount(t *testing.T) {
	e := newBrowserServer(t)
	switchTo := func(org string) *http.Response {
		_, challenge := newPKCE()
		params := authParams(challenge)
		params.Set("prompt", "select_account")
		if org != "" {
			params.Set("organization_id", org)
		}
		return e.get(t, "/oauth/authorize", params)
	}
	// Not signed in here: sign in first.
	if got := readPage(t, switchTo("org_globex")).texts("h1"); !slices.Equal(got, []string{"Sign in to Scalekit (development)"}) {
		t.Fatalf("select_account without a provider session shows %q; want the login page", got)
	}
	_, challenge := newPKCE()
	params := authParams(challenge)
	params.Set("organization_id", "org_acme")
	e.signIn(t, params, "Continue as Alice Admin (alice@acme.test)")

	if q := redirectParams(t, switchTo("org_globex")); q.Get("code") == "" {
		t.Errorf("direct switch to a member organization: %v; want a code", q)
	}
	for _, org := range []string{"org_nowhere"} {
		if q := redirectParams(t, switchTo(org)); q.Get("error") != "invalid_organization_id" {
			t.Errorf("switch to %s: %v; want invalid_organization_id", org, q)
		}
	}
	picker := readPage(t, switchTo(""))
	if diff := cmp.Diff([]string{"Acme Inc", "Globex Corp", "Cancel"}, picker.texts("button")); diff != "" {
		t.Fatalf("organization picker buttons (-want +got):\n%s", diff)
	}
	if q := redirectParams(t, e.submit(t, picker, "Globex Corp", nil)); q.Get("code") == "" {
		t.Errorf("picking Globex Corp: %v; want a code", q)
	}
}

func TestSocialProvider(t *testing.T) {
	e := newTestServer(t, "")
	verifier, challenge := newPKCE()
	params := authParams(challenge)
	params.Set("provider", "google")
	params.Set("login_hint", "bob@acme.test")
	p := e.getPage(t, params)
	if diff := cmp.Diff([]string{"Continue with Google (simulated)"}, p.texts("h1")); diff != "" {
		t.Fatalf("headings (-want +got):\n%s", diff)
	}
	if got := p.inputValue("Email"); got != "bob@acme.test" {
		t.Errorf("Email = %q; want the login_hint", got)
	}
	q := redirectParams(t, e.submit(t, p, "Continue with Google (simulated)", nil))
	claims := e.idTokenOf(t, q.Get("code"), verifier)
	if claims["sub"] != "usr_bob" || !cmp.Equal(claims["amr"], []any{"google"}) {
		t.Errorf("ID token sub %v amr %v; want usr_bob through google", claims["sub"], claims["amr"])
	}

	params.Set("provider", "myspace")
	if q := redirectParams(t, e.get(t, "/oauth/authorize", params)); q.Get("error") != "invalid_request" {
		t.Errorf("provider=myspace: %v; want invalid_request", q)
	}
}

func TestIdpInitiatedLogin(t *testing.T) {
	e := newBrowserServer(t)
	resp := e.get(t, "/dev/idp-initiated-login", url.Values{
		"organization_id": {"org_globex"}, "login_hint": {"alice@acme.test"}, "relay_state": {"/reports"},
	})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Scheme+"://"+loc.Host+loc.Path != testInitiateLogin {
		t.Fatalf("status %d, Location %q; want 302 to the Initiate login URL", resp.StatusCode, loc)
	}
	_, claims := e.verify(t, loc.Query().Get("idp_initiated_login"))
	now := float64(e.clock.Now().Unix())
	want := map[string]any{
		"organization_id": "org_globex", "connection_id": "conn_globex_entra", "login_hint": "alice@acme.test",
		"relay_state": "/reports", "iss": e.idp.Issuer(), "iat": now, "nbf": now, "exp": now + 300,
	}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("idp_initiated_login claims (-want +got):\n%s", diff)
	}

	// The app's own login through that connection completes without a page:
	// the person is signed in at their identity provider.
	verifier, challenge := newPKCE()
	params := authParams(challenge)
	params.Set("connection_id", "conn_globex_entra")
	params.Set("login_hint", "alice@acme.test")
	q := redirectParams(t, e.get(t, "/oauth/authorize", params))
	id := e.idTokenOf(t, q.Get("code"), verifier)
	if id["sub"] != "usr_alice" || id["oid"] != "org_globex" || !cmp.Equal(id["amr"], []any{"conn_globex_entra"}) {
		t.Errorf("ID token sub %v oid %v amr %v; want usr_alice in org_globex through conn_globex_entra", id["sub"], id["oid"], id["amr"])
	}

	// Another connection has no one signed in: the hosted page asks.
	params.Set("connection_id", "conn_acme_okta")
	if got := readPage(t, e.get(t, "/oauth/authorize", params)).texts("h1"); !slices.Equal(got, []string{"Sign in to Scalekit (development)"}) {
		t.Errorf("a connection without a sign-in shows %q; want the login page", got)
	}
	params.Set("connection_id", "conn_nowhere")
	if q := redirectParams(t, e.get(t, "/oauth/authorize", params)); q.Get("error") != "invalid_connection_id" {
		t.Errorf("connection_id=conn_nowhere: %v; want invalid_connection_id", q)
	}
}

func TestIdpInitiatedLoginPages(t *testing.T) {
	e := newBrowserServer(t)
	p := readPage(t, e.get(t, "/dev/idp-initiated-login", nil))
	links := p.texts("a")
	if len(links) != 4 || links[0] != "Alice Admin (alice@acme.test) at Acme Inc, through Okta" {
		t.Errorf("links = %q; want one per member of each organization, Alice at Acme first", links)
	}
	for _, tc := range []struct {
		name   string
		query  url.Values
		status int
	}{
		{"unknown organization", url.Values{"organization_id": {"org_nowhere"}}, http.StatusBadRequest},
		{"unknown connection", url.Values{"connection_id": {"conn_nowhere"}}, http.StatusBadRequest},
		{"connection of another organization", url.Values{"organization_id": {"org_acme"}, "connection_id": {"conn_globex_entra"}}, http.StatusBadRequest},
		{"unknown client", url.Values{"client_id": {"evil"}, "organization_id": {"org_acme"}}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.get(t, "/dev/idp-initiated-login", tc.query)
			if resp.StatusCode != tc.status || resp.Header.Get("Location") != "" {
				t.Errorf("status %d, Location %q; want %d and no redirect", resp.StatusCode, resp.Header.Get("Location"), tc.status)
			}
		})
	}

	noURL := newTestServer(t, "")
	if resp := noURL.get(t, "/dev/idp-initiated-login", url.Values{"organization_id": {"org_acme"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a client without an Initiate login URL: status %d; want 400", resp.StatusCode)
	}
}

func TestInvitation(t *testing.T) {
	e := newBrowserServer(t)
	resp := e.get(t, "/dev/invite", url.Values{"email": {"Dana@Example.test"}, "organization_id": {"org_globex"}})
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Scheme+"://"+loc.Host+loc.Path != testInitiateLogin {
		t.Fatalf("status %d, Location %q; want 302 to the Initiate login URL", resp.StatusCode, loc)
	}
	invite := loc.Query()
	if invite.Get("invitation_token") == "" || invite.Get("organization_id") != "org_globex" || invite.Get("login_hint") != "dana@example.test" {
		t.Fatalf("invitation parameters = %v; want invitation_token, organization_id and login_hint", invite)
	}
	dana := e.idp.Users()[len(e.idp.Users())-1]
	if dana.Email != "dana@example.test" || dana.Memberships[0].Status != MembershipPendingInvite {
		t.Fatalf("invited user = %+v; want a pending member of org_globex", dana)
	}
	if _, member := dana.membership("org_globex"); member {
		t.Error("a pending invitation counts as membership; want it to count only once accepted")
	}

	// The app forwards the parameters to the authorize endpoint.
	verifier, challenge := newPKCE()
	params := authParams(challenge)
	for k := range invite {
		params.Set(k, invite.Get(k))
	}
	p := e.getPage(t, params)
	if diff := cmp.Diff([]string{"Join Globex Corp"}, p.texts("h1")); diff != "" {
		t.Fatalf("headings (-want +got):\n%s", diff)
	}
	q := redirectParams(t, e.submit(t, p, "Accept invitation", nil))
	claims := e.idTokenOf(t, q.Get("code"), verifier)
	if claims["sub"] != dana.ID || claims["oid"] != "org_globex" || claims["email_verified"] != true {
		t.Errorf("ID token sub %v oid %v verified %v; want Dana, verified, in org_globex", claims["sub"], claims["oid"], claims["email_verified"])
	}
	if u, _ := e.idp.user(dana.ID); u.Memberships[0].Status != MembershipActive {
		t.Errorf("membership after accepting = %+v; want ACTIVE", u.Memberships[0])
	}

	// An invitation is accepted once.
	again := e.getPage(t, params)
	if again.resp.StatusCode != http.StatusBadRequest || !slices.Contains(again.texts("p"), "This invitation is not valid any more. Sign in, or ask for a new invitation.") {
		t.Errorf("a spent invitation: status %d, text %q; want 400 and the login page with an explanation", again.resp.StatusCode, again.texts("p"))
	}
	if resp := e.get(t, "/dev/invite", url.Values{"email": {"alice@acme.test"}, "organization_id": {"org_acme"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("inviting a member: status %d; want 409", resp.StatusCode)
	}
	if resp := e.get(t, "/dev/invite", url.Values{"email": {"x@example.test"}, "organization_id": {"org_nowhere"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("inviting to an unknown organization: status %d; want 400", resp.StatusCode)
	}
}

func TestInvitationExpires(t *testing.T) {
	e := newBrowserServer(t)
	token, err := e.idp.Invite("erin@example.test", "org_acme")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(invitationTTL + time.Second)
	_, challenge := newPKCE()
	params := authParams(challenge)
	params.Set("invitation_token", token)
	if got := e.getPage(t, params).texts("h1"); !slices.Equal(got, []string{"Sign in to Scalekit (development)"}) {
		t.Errorf("an expired invitation shows %q; want the login page", got)
	}
}

func TestAPIShowsPendingInvitations(t *testing.T) {
	e := newTestServer(t, "")
	if _, err := e.idp.Invite("bob@acme.test", "org_globex"); err != nil {
		t.Fatal(err)
	}
	_, tokens, _ := e.token(t, clientCredentialsForm(testSecret))
	_, body := e.apiGet(t, "/api/v1/users/usr_bob", tokens.AccessToken)
	var statuses []string
	for _, m := range body["user"].(map[string]any)["memberships"].([]any) {
		m := m.(map[string]any)
		statuses = append(statuses, m["organization_id"].(string)+" "+m["membership_status"].(string))
	}
	if diff := cmp.Diff([]string{"org_acme ACTIVE", "org_globex PENDING_INVITE"}, statuses); diff != "" {
		t.Errorf("memberships (-want +got):\n%s", diff)
	}
}

// A browser has one provider session, as at Scalekit: signing in again as the
// same user, silently or to another organization, goes on in it; signing in
// as someone else ends it and starts another.
func TestOneProviderSessionPerBrowser(t *testing.T) {
	e := newBrowserServer(t)
	login := func(button string, edit func(url.Values)) map[string]any {
		t.Helper()
		verifier, challenge := newPKCE()
		params := authParams(challenge)
		if edit != nil {
			edit(params)
		}
		var code string
		if button == "" { // no page: the browser's session answers
			code = redirectParams(t, e.get(t, "/oauth/authorize", params)).Get("code")
		} else {
			code = e.signIn(t, params, button)
		}
		return e.idTokenOf(t, code, verifier)
	}
	alice := "Continue as Alice Admin (alice@acme.test)"
	first := login(alice, func(v url.Values) { v.Set("organization_id", "org_acme") })
	sid := first["sid"].(string)

	for name, claims := range map[string]map[string]any{
		"a second sign-in on the page": login(alice, func(v url.Values) { v.Set("organization_id", "org_acme") }),
		"a silent sign-in":             login("", func(v url.Values) { v.Set("prompt", "none") }),
		"a switch of organization": login("", func(v url.Values) {
			v.Set("prompt", "select_account")
			v.Set("organization_id", "org_globex")
		}),
	} {
		if claims["sid"] != sid {
			t.Errorf("%s: sid %v; want the browser's session %s", name, claims["sid"], sid)
		}
	}
	if claims := login("", func(v url.Values) { v.Set("prompt", "none") }); claims["oid"] != "org_globex" {
		t.Errorf("after the switch, the session is in %v; want org_globex", claims["oid"])
	}

	bob := login("Continue as Bob Member (bob@acme.test)", nil)
	if bob["sid"] == sid {
		t.Fatal("another user's sign-in went on in Alice's provider session")
	}
	if got, _ := e.idp.SessionStatus(sid); got == "active" {
		t.Errorf("Alice's provider session after Bob signed in in the same browser is %q; want it ended", got)
	}
}
