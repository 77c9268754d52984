package devidp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTokenErrors(t *testing.T) {
	e := newTestServer(t, "")
	// newCode signs in as Bob and returns a fresh code and its verifier.
	newCode := func(t *testing.T) (string, string) {
		verifier, challenge := newPKCE()
		return e.signIn(t, authParams(challenge), "Continue as Bob Member (bob@acme.test)"), verifier
	}
	tests := []struct {
		name       string
		form       func(t *testing.T) url.Values
		rawBody    string // sent instead of form when set
		basic      []string
		method     string
		wantStatus int
		wantError  string
	}{
		{name: "wrong verifier", form: func(t *testing.T) url.Values {
			code, _ := newCode(t)
			return exchangeForm(code, randomToken())
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "verifier too short", form: func(t *testing.T) url.Values {
			code, _ := newCode(t)
			return exchangeForm(code, "short")
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "no verifier", form: func(t *testing.T) url.Values {
			code, _ := newCode(t)
			f := exchangeForm(code, "")
			f.Del("code_verifier")
			return f
		}, wantStatus: 400, wantError: "invalid_request"},
		{name: "expired code", form: func(t *testing.T) url.Values {
			code, verifier := newCode(t)
			e.clock.Advance(time.Minute)
			return exchangeForm(code, verifier)
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "wrong redirect_uri", form: func(t *testing.T) url.Values {
			code, verifier := newCode(t)
			f := exchangeForm(code, verifier)
			f.Set("redirect_uri", "https://app.test/other")
			return f
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "unknown code", form: func(*testing.T) url.Values {
			return exchangeForm(randomToken(), randomToken())
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "unknown refresh token", form: func(*testing.T) url.Values {
			return refreshForm(randomToken())
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "no refresh token", form: func(*testing.T) url.Values {
			return refreshForm("")
		}, wantStatus: 400, wantError: "invalid_request"},
		{name: "unknown client", form: func(t *testing.T) url.Values {
			f := refreshForm(randomToken())
			f.Set("client_id", "evil")
			return f
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong secret", form: func(t *testing.T) url.Values {
			code, verifier := newCode(t)
			f := exchangeForm(code, verifier)
			f.Set("client_secret", "guess")
			return f
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "no client authentication", form: func(t *testing.T) url.Values {
			f := refreshForm(randomToken())
			f.Del("client_id")
			f.Del("client_secret")
			return f
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong basic secret", form: func(t *testing.T) url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}
		}, basic: []string{testClientID, "guess"}, wantStatus: 401, wantError: "invalid_client"},
		{name: "basic and post at once", form: func(t *testing.T) url.Values {
			return refreshForm("x")
		}, basic: []string{testClientID, testSecret}, wantStatus: 400, wantError: "invalid_request"},
		{name: "unsupported grant", form: func(*testing.T) url.Values {
			return url.Values{"grant_type": {"password"}, "username": {"alice"}, "client_id": {testClientID}, "client_secret": {testSecret}}
		}, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "no grant", form: func(*testing.T) url.Values {
			return url.Values{"client_id": {testClientID}, "client_secret": {testSecret}}
		}, wantStatus: 400, wantError: "invalid_request"},
		{name: "repeated parameter", form: func(*testing.T) url.Values {
			f := refreshForm("x")
			f.Add("refresh_token", "y")
			return f
		}, wantStatus: 400, wantError: "invalid_request"},
		{name: "malformed form", rawBody: "grant_type=refresh_token&client_id=%zz", wantStatus: 400, wantError: "invalid_request"},
		{name: "GET", method: http.MethodGet, wantStatus: 405, wantError: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.rawBody
			if tc.form != nil {
				body = tc.form(t).Encode()
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, e.idp.Issuer()+"/oauth/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.basic != nil {
				req.SetBasicAuth(tc.basic[0], tc.basic[1])
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			status, _, oerr := decodeTokenAnswer(t, resp)
			if status != tc.wantStatus || oerr.Error != tc.wantError {
				t.Errorf("got %d %q (%s); want %d %q", status, oerr.Error, oerr.Description, tc.wantStatus, tc.wantError)
			}
			if tc.basic != nil && status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 to Basic authentication without WWW-Authenticate")
			}
		})
	}
}

func TestBasicAuthentication(t *testing.T) {
	e := newTestServer(t, "", func(c *Config) { c.Clients[0].Secret = "s&cret/+" })
	verifier, challenge := newPKCE()
	code := e.signIn(t, authParams(challenge), "Continue as Bob Member (bob@acme.test)")
	f := exchangeForm(code, verifier)
	f.Del("client_id")
	f.Del("client_secret")
	req, _ := http.NewRequest(http.MethodPost, e.idp.Issuer()+"/oauth/token", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(testClientID), url.QueryEscape("s&cret/+"))
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if status, _, oerr := decodeTokenAnswer(t, resp); status != http.StatusOK {
		t.Errorf("exchange with Basic: got %d %v; want 200", status, oerr)
	}
}

func TestReusedCodeRevokesItsTokens(t *testing.T) {
	e := newTestServer(t, "")
	verifier, challenge := newPKCE()
	code := e.signIn(t, authParams(challenge), "Continue as Bob Member (bob@acme.test)")
	status, first, _ := e.token(t, exchangeForm(code, verifier))
	if status != http.StatusOK {
		t.Fatalf("first exchange status = %d; want 200", status)
	}
	if status, _, oerr := e.token(t, exchangeForm(code, verifier)); status != 400 || oerr.Error != "invalid_grant" {
		t.Errorf("second exchange: got %d %q; want 400 invalid_grant", status, oerr.Error)
	}
	if status, _, oerr := e.token(t, refreshForm(first.RefreshToken)); status != 400 || oerr.Error != "invalid_grant" {
		t.Errorf("refresh after code reuse: got %d %q; want 400 invalid_grant", status, oerr.Error)
	}
}

func TestRefreshRotation(t *testing.T) {
	e := newTestServer(t, "")
	first := e.login(t)
	_, firstID := e.verify(t, first.IDToken)
	e.clock.Advance(10 * time.Minute)

	status, second, _ := e.token(t, refreshForm(first.RefreshToken))
	if status != http.StatusOK {
		t.Fatalf("refresh status = %d; want 200", status)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh token did not rotate")
	}
	_, id := e.verify(t, second.IDToken)
	_, access := e.verify(t, second.AccessToken)
	now := float64(e.clock.Now().Unix())
	got := map[string]any{"sid": id["sid"], "access sid": access["sid"], "nonce": id["nonce"], "auth_time": id["auth_time"], "exp": access["exp"]}
	want := map[string]any{"sid": firstID["sid"], "access sid": firstID["sid"], "nonce": nil, "auth_time": firstID["auth_time"], "exp": now + 300}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refreshed tokens mismatch (-want +got):\n%s", diff)
	}

	_, third, _ := e.token(t, refreshForm(second.RefreshToken))
	// Replaying the first token revokes the family, the newest token too.
	for _, tc := range []struct{ name, token string }{{"replayed", first.RefreshToken}, {"newest", third.RefreshToken}} {
		if status, _, oerr := e.token(t, refreshForm(tc.token)); status != 400 || oerr.Error != "invalid_grant" {
			t.Errorf("%s refresh token: got %d %q; want 400 invalid_grant", tc.name, status, oerr.Error)
		}
	}
	// Other sessions live on.
	if status, _, _ := e.token(t, refreshForm(e.login(t).RefreshToken)); status != http.StatusOK {
		t.Errorf("another session's refresh: got %d; want 200", status)
	}
}

func TestRefreshExpiry(t *testing.T) {
	e := newTestServer(t, "", func(c *Config) { c.RefreshTokenTTL = time.Hour })
	tokens := e.login(t)
	e.clock.Advance(59 * time.Minute)
	_, tokens, _ = e.token(t, refreshForm(tokens.RefreshToken)) // rotation renews the lifetime
	e.clock.Advance(59 * time.Minute)
	status, tokens, _ := e.token(t, refreshForm(tokens.RefreshToken))
	if status != http.StatusOK {
		t.Fatalf("refresh within the lifetime: got %d; want 200", status)
	}
	e.clock.Advance(time.Hour)
	if status, _, oerr := e.token(t, refreshForm(tokens.RefreshToken)); status != 400 || oerr.Error != "invalid_grant" {
		t.Errorf("expired refresh token: got %d %q; want 400 invalid_grant", status, oerr.Error)
	}
}

func TestRefreshScope(t *testing.T) {
	e := newTestServer(t, "")
	tokens := e.login(t)
	f := refreshForm(tokens.RefreshToken)
	f.Set("scope", "openid admin")
	if status, _, oerr := e.token(t, f); status != 400 || oerr.Error != "invalid_scope" {
		t.Errorf("wider scope: got %d %q; want 400 invalid_scope", status, oerr.Error)
	}
	f.Set("scope", "openid")
	status, narrow, _ := e.token(t, f) // the refused request did not spend the token
	if status != http.StatusOK || narrow.Scope != "openid" || narrow.RefreshToken == "" {
		t.Errorf("narrower scope: got %d scope %q; want 200, scope openid and a refresh token", status, narrow.Scope)
	}
}

func TestNoRefreshTokenWithoutOfflineAccess(t *testing.T) {
	e := newTestServer(t, "")
	verifier, challenge := newPKCE()
	params := authParams(challenge)
	params.Set("scope", "openid email unknown")
	code := e.signIn(t, params, "Continue as Bob Member (bob@acme.test)")
	_, tokens, _ := e.token(t, exchangeForm(code, verifier))
	if tokens.RefreshToken != "" || tokens.Scope != "openid email" {
		t.Errorf("got refresh token %t, scope %q; want none and %q", tokens.RefreshToken != "", tokens.Scope, "openid email")
	}
}

func TestSetRoles(t *testing.T) {
	e := newTestServer(t, "")
	tokens := e.login(t) // Bob, member of org_acme
	if err := e.idp.SetRoles("usr_bob", "org_acme", []string{"admin", "member"}); err != nil {
		t.Fatalf("SetRoles() = %v; want nil", err)
	}
	_, tokens, _ = e.token(t, refreshForm(tokens.RefreshToken))
	_, claims := e.verify(t, tokens.AccessToken)
	got := []any{claims["roles"], claims["permissions"]}
	if diff := cmp.Diff([]any{[]any{"admin", "member"}, []any{"members:manage", "org:read", "org:write"}}, got); diff != "" {
		t.Errorf("roles, permissions after SetRoles mismatch (-want +got):\n%s", diff)
	}

	for _, tc := range []struct{ user, org, role string }{
		{"usr_nobody", "org_acme", "admin"}, {"usr_bob", "org_nowhere", "admin"}, {"usr_bob", "org_acme", "owner"},
	} {
		if err := e.idp.SetRoles(tc.user, tc.org, []string{tc.role}); err == nil {
			t.Errorf("SetRoles(%q, %q, [%q]) = nil; want an error", tc.user, tc.org, tc.role)
		}
	}
	if err := e.idp.SetRoles("usr_bob", "org_globex", []string{"member"}); err != nil {
		t.Errorf("SetRoles(usr_bob, org_globex) = %v; want nil (adds the membership)", err)
	}
	if got := e.idp.Users()[1].Memberships; len(got) != 2 {
		t.Errorf("Bob's memberships = %v; want 2", got)
	}
}

// garbageTokenRequests are hostile or broken token requests; none may cause
// a 5xx. FuzzToken starts from them.
var garbageTokenRequests = []struct{ contentType, body, authorization string }{
	{"application/x-www-form-urlencoded", "", ""},
	{"application/x-www-form-urlencoded", "%", ""},
	{"application/x-www-form-urlencoded", "grant_type=authorization_code&code=&client_id=app&client_secret=app-secret", ""},
	{"application/x-www-form-urlencoded", "grant_type=authorization_code&code=x&redirect_uri=y&code_verifier=z&client_id=app&client_secret=app-secret", ""},
	{"application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=%00%ff&client_id=app&client_secret=app-secret", ""},
	{"application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=x&client_id=app&client_secret=app-secret&scope=%20%20", ""},
	{"application/x-www-form-urlencoded", "grant_type=" + strings.Repeat("a", 70000), ""},
	{"application/x-www-form-urlencoded", "client_id=app&client_id=app", ""},
	{"application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=x", "Basic %%%"},
	{"application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=x", "Basic YXBwOiUl"}, // app:%%
	{"application/x-www-form-urlencoded", "grant_type=refresh_token", "Bearer x"},
	{"application/json", `{"grant_type":"refresh_token"}`, ""},
	{"multipart/form-data; boundary=x", "--x\r\n", ""},
	{"text/plain", "\x00\x01\x02", ""},
	{"", "grant_type=refresh_token", ""},
}

func TestTokenGarbage(t *testing.T) {
	e := newTestServer(t, "")
	for _, tc := range garbageTokenRequests {
		req, _ := http.NewRequest(http.MethodPost, e.idp.Issuer()+"/oauth/token", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.contentType)
		req.Header.Set("Authorization", tc.authorization)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		status, _, oerr := decodeTokenAnswer(t, resp)
		resp.Body.Close()
		if status < 400 || status >= 500 {
			t.Errorf("POST %.60q (%s): got %d %q; want a 4xx", tc.body, tc.contentType, status, oerr.Error)
		}
	}
}

func FuzzToken(f *testing.F) {
	for _, tc := range garbageTokenRequests {
		f.Add(tc.contentType, tc.body, tc.authorization)
	}
	idp, err := New(Config{
		Issuer:     "http://127.0.0.1:8081",
		Clients:    []Client{{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}}},
		SigningKey: testKey(),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, contentType, body, authorization string) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", authorization)
		rec := httptest.NewRecorder()
		idp.ServeHTTP(rec, req)
		var answer oauthErrorBody
		if rec.Code < 400 || rec.Code >= 500 || json.Unmarshal(rec.Body.Bytes(), &answer) != nil || answer.Error == "" {
			t.Errorf("POST %q (%q, %q): got %d %s; want a 4xx with an OAuth error", body, contentType, authorization, rec.Code, rec.Body)
		}
	})
}

func TestConcurrentRefreshOneWins(t *testing.T) {
	e := newTestServer(t, "")
	tokens := e.login(t)
	const n = 20
	statuses := make(chan int, n)
	for range n {
		go func() {
			resp, err := e.client.PostForm(e.idp.Issuer()+"/oauth/token", refreshForm(tokens.RefreshToken))
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	got := map[int]int{}
	for range n {
		got[<-statuses]++
	}
	// One refresh wins; the rest are replays, which revoke the family.
	if diff := cmp.Diff(map[int]int{200: 1, 400: n - 1}, got); diff != "" {
		t.Errorf("statuses mismatch (-want +got):\n%s", diff)
	}
	if c := e.idp.GrantCounts(); c["refresh_token"] != 1 || c["refresh_token_refused"] != n-1 {
		t.Errorf("GrantCounts() = %v; want 1 refresh_token and %d refused", c, n-1)
	}
}
