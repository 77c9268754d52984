package scalekit_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/devidp"
	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// TestAgainstDevIDP runs the client against the development provider the
// way the BFF does: authorize, the hosted page, code exchange, access token,
// refresh, a refused replay, RP-initiated and back-channel logout.
func TestAgainstDevIDP(t *testing.T) {
	const (
		redirectURI   = "http://app.test/auth/callback"
		postLogoutURI = "http://app.test/"
	)
	logoutTokens := make(chan string, 8)
	backchannel := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case logoutTokens <- r.PostFormValue("logout_token"):
		default:
		}
	}))
	t.Cleanup(backchannel.Close)

	srv := httptest.NewUnstartedServer(nil)
	idp, err := devidp.New(devidp.Config{
		Issuer: "http://" + srv.Listener.Addr().String() + "/env",
		Clients: []devidp.Client{{
			ID: testClientID, Secret: testClientSecret,
			RedirectURIs:           []string{redirectURI},
			PostLogoutRedirectURIs: []string{postLogoutURI},
			BackchannelLogoutURI:   backchannel.URL,
		}},
		SigningKey: keyA().priv,
	})
	if err != nil {
		t.Fatalf("devidp.New: %v", err)
	}
	srv.Config.Handler = idp
	srv.Start()
	t.Cleanup(srv.Close)

	logs := &syncBuffer{}
	c, err := scalekit.New(context.Background(), scalekit.Config{
		EnvironmentURL: idp.Issuer(), ClientID: testClientID, ClientSecret: testClientSecret,
		Logger: newLogger(logs),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { checkNoSecrets(t, "logs", logs.String()) })
	ctx := context.Background()

	// Log in as Bob, member of one organization.
	auth := signInAtDevIDP(t, c, redirectURI, "usr_bob")
	if auth.User.ID != "usr_bob" || auth.User.Email != "bob@acme.test" || auth.User.OrganizationID != "org_acme" || auth.User.SessionID == "" {
		t.Errorf("User = %+v; want usr_bob, bob@acme.test, org_acme, a sid", auth.User)
	}
	wantClaims := &scalekit.AccessTokenClaims{
		Subject: "usr_bob", SessionID: auth.User.SessionID, OrganizationID: "org_acme",
		Roles: []string{"member"}, Permissions: []string{"org:read"},
		ExternalOrganizationID: "crm-acme-0042", // xoid; Bob has no external id (xuid)
	}
	ignoreScopeAndExpiry := cmp.FilterPath(func(p cmp.Path) bool {
		name := p.Last().String()
		return name == ".Scope" || name == ".ExpiresAt"
	}, cmp.Ignore())
	if diff := cmp.Diff(wantClaims, auth.Claims, ignoreScopeAndExpiry); diff != "" {
		t.Errorf("AuthenticateWithCode Claims (-want +got):\n%s", diff)
	}
	if auth.RefreshToken == "" {
		t.Fatalf("no refresh token; want one (offline_access is a default scope)")
	}

	// The access token validates on its own.
	claims, err := c.ValidateAccessToken(ctx, auth.AccessToken)
	if err != nil {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	if diff := cmp.Diff(wantClaims, claims, ignoreScopeAndExpiry); diff != "" {
		t.Errorf("ValidateAccessToken (-want +got):\n%s", diff)
	}

	// Refresh rotates; the spent refresh token is refused.
	refreshed, err := c.RefreshAccessToken(ctx, auth.RefreshToken)
	if err != nil {
		t.Fatalf("RefreshAccessToken: %v", err)
	}
	if refreshed.RefreshToken == "" || refreshed.RefreshToken == auth.RefreshToken {
		t.Errorf("RefreshAccessToken did not rotate the refresh token")
	}
	if refreshed.Claims == nil || refreshed.Claims.Subject != "usr_bob" {
		t.Errorf("RefreshAccessToken Claims = %+v; want sub usr_bob", refreshed.Claims)
	}
	_, err = c.RefreshAccessToken(ctx, auth.RefreshToken)
	if refusal, ok := errors.AsType[*scalekit.RefusedError](err); !ok || refusal.Code != "invalid_grant" {
		t.Errorf("RefreshAccessToken(spent) = %v; want a RefusedError invalid_grant", err)
	}
	if errors.Is(err, scalekit.ErrUnavailable) {
		t.Errorf("RefreshAccessToken(spent) = %v; want no ErrUnavailable", err)
	}
	if got := idp.GrantCounts(); got["authorization_code"] != 1 || got["refresh_token"] != 1 || got["refresh_token_refused"] != 1 {
		t.Errorf("GrantCounts = %v; want one code, one refresh, one refused refresh", got)
	}

	// A second login, then RP-initiated logout: the browser comes back with
	// the state, and the environment tells us over the back channel.
	auth = signInAtDevIDP(t, c, redirectURI, "usr_bob")
	logoutURL, err := c.GetLogoutURL(scalekit.LogoutURLOptions{IDTokenHint: auth.IDToken, PostLogoutRedirectURI: postLogoutURI, State: "bye"})
	if err != nil {
		t.Fatalf("GetLogoutURL: %v", err)
	}
	resp := browse(t, http.MethodGet, logoutURL, nil)
	if got, want := resp.Header.Get("Location"), postLogoutURI+"?state=bye"; resp.StatusCode != http.StatusFound || got != want {
		t.Errorf("logout answered %d to %q; want 302 to %q", resp.StatusCode, got, want)
	}
	// The first session's revocation may have been reported too: wait for
	// this one's.
	deadline := time.After(10 * time.Second)
	for {
		var raw string
		select {
		case raw = <-logoutTokens:
		case <-deadline:
			t.Fatalf("no back-channel logout token for sid %s within 10s", auth.User.SessionID)
		}
		lt, err := c.VerifyLogoutToken(ctx, raw)
		if err != nil {
			t.Fatalf("VerifyLogoutToken(devidp's token) = %v; want nil", err)
		}
		if lt.SessionID != auth.User.SessionID {
			continue
		}
		if lt.Subject != "usr_bob" || lt.JTI == "" {
			t.Errorf("VerifyLogoutToken = %+v; want sub usr_bob and a jti", lt)
		}
		return
	}
}

// signInAtDevIDP starts a login, picks the user on the hosted page, follows
// the redirect and exchanges the code.
func signInAtDevIDP(t *testing.T, c *scalekit.OIDCClient, redirectURI, userID string) *scalekit.AuthenticationResponse {
	t.Helper()
	state, nonce, verifier := scalekit.RandomString(), scalekit.RandomString(), scalekit.NewPKCEVerifier()
	authURL, err := c.GetAuthorizationURL(redirectURI, scalekit.AuthorizationURLOptions{
		State: state, Nonce: nonce, CodeChallenge: scalekit.S256Challenge(verifier),
	})
	if err != nil {
		t.Fatalf("GetAuthorizationURL: %v", err)
	}

	page := browse(t, http.MethodGet, authURL, nil)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET authorize = %d; want 200", page.StatusCode)
	}
	action, form := userForm(t, page.body)
	form.Set("user", userID)
	target, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	target, err = target.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	resp := browse(t, http.MethodPost, target.String(), form)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("POST login = %d to %q; want a 302", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("callback has state match %t, code %t, error %q; want the state and a code", q.Get("state") == state, q.Get("code") != "", q.Get("error"))
	}

	auth, err := c.AuthenticateWithCode(context.Background(), q.Get("code"), redirectURI, scalekit.AuthenticationOptions{CodeVerifier: verifier, Nonce: nonce})
	if err != nil {
		t.Fatalf("AuthenticateWithCode: %v", err)
	}
	return auth
}

var (
	usersFormRE = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)" class="users">(.*?)</form>`)
	hiddenRE    = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// userForm returns the action and fields of the hosted page's test-user form.
func userForm(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := usersFormRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no test-user form on the hosted page:\n%s", page)
	}
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(m[2], -1) {
		form.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), form
}

type browserResponse struct {
	*http.Response
	body string
}

// browse makes one request without following redirects, as a browser's
// single navigation step.
func browse(t *testing.T, method, target string, form url.Values) browserResponse {
	t.Helper()
	var req *http.Request
	var err error
	if form != nil {
		req, err = http.NewRequest(method, target, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(method, target, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	resp, err := client.Do(req)
	if ue, ok := errors.AsType[*url.Error](err); ok {
		t.Fatalf("%s: %v", method, ue.Err) // not the URL: it may carry a token
	} else if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return browserResponse{resp, string(b)}
}
