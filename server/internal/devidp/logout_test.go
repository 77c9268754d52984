package devidp

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

func TestLogout(t *testing.T) {
	e := newTestServer(t, "")
	foreignKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := newSigningKey(foreignKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		query        func(idToken string) url.Values
		wantStatus   int
		wantLocation string
		wantHeading  string
		wantEnded    bool
	}{
		{
			name: "registered return address",
			query: func(idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {testPostLogout}, "state": {"s1"}}
			},
			wantStatus: http.StatusFound, wantLocation: testPostLogout + "?state=s1", wantEnded: true,
		},
		{
			name: "registered, with client_id",
			query: func(idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "client_id": {testClientID}, "post_logout_redirect_uri": {testPostLogout}}
			},
			wantStatus: http.StatusFound, wantLocation: testPostLogout, wantEnded: true,
		},
		{
			name: "unregistered return address",
			query: func(idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.test/"}}
			},
			wantStatus: http.StatusOK, wantHeading: "You are signed out", wantEnded: true,
		},
		{
			name: "client_id disagrees with the hint",
			query: func(idToken string) url.Values {
				return url.Values{"id_token_hint": {idToken}, "client_id": {"other"}, "post_logout_redirect_uri": {testPostLogout}}
			},
			wantStatus: http.StatusOK, wantHeading: "You are signed out", wantEnded: true,
		},
		{
			name: "no hint",
			query: func(string) url.Values {
				return url.Values{"post_logout_redirect_uri": {testPostLogout}}
			},
			wantStatus: http.StatusOK, wantHeading: "You are signed out",
		},
		{
			name: "hint signed by someone else",
			query: func(idToken string) url.Values {
				_, claims := e.verify(t, idToken)
				forged, _ := sign(foreign.signer, claims)
				return url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {testPostLogout}}
			},
			wantStatus: http.StatusBadRequest, wantHeading: "Sign-out request not valid",
		},
		{
			name: "hint is garbage",
			query: func(string) url.Values {
				return url.Values{"id_token_hint": {"a.b.c"}, "post_logout_redirect_uri": {testPostLogout}}
			},
			wantStatus: http.StatusBadRequest, wantHeading: "Sign-out request not valid",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tokens := e.login(t)
			e.clock.Advance(2 * time.Hour) // the hint has expired, which is fine
			resp := e.get(t, "/oidc/logout", tc.query(tokens.IDToken))
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != tc.wantLocation {
				t.Fatalf("got %d Location %q; want %d %q", resp.StatusCode, resp.Header.Get("Location"), tc.wantStatus, tc.wantLocation)
			}
			if tc.wantHeading != "" {
				if got := readPage(t, resp).texts("h1"); !slices.Equal(got, []string{tc.wantHeading}) {
					t.Errorf("headings = %q; want %q", got, tc.wantHeading)
				}
			}
			status, _, _ := e.token(t, refreshForm(tokens.RefreshToken))
			if ended := status != http.StatusOK; ended != tc.wantEnded {
				t.Errorf("session ended = %t (refresh status %d); want %t", ended, status, tc.wantEnded)
			}
		})
	}
}

func TestBackchannelLogout(t *testing.T) {
	received := make(chan string, 1)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form POST", http.StatusBadRequest)
			return
		}
		received <- r.PostFormValue("logout_token")
	}))
	t.Cleanup(rp.Close)
	e := newTestServer(t, "", func(c *Config) { c.Clients[0].BackchannelLogoutURI = rp.URL + "/auth/backchannel-logout" })

	tokens := e.login(t)
	_, id := e.verify(t, tokens.IDToken)
	resp := e.get(t, "/oidc/logout", url.Values{"id_token_hint": {tokens.IDToken}, "post_logout_redirect_uri": {testPostLogout}})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("logout status = %d; want 302", resp.StatusCode)
	}
	var raw string
	select {
	case raw = <-received: // delivered before the redirect
	default:
		t.Fatal("no logout token delivered before the redirect")
	}

	header, claims := e.verify(t, raw)
	if got := header.ExtraHeaders[jose.HeaderType]; got != "logout+jwt" {
		t.Errorf("typ = %v; want logout+jwt", got)
	}
	now := float64(e.clock.Now().Unix())
	delete(claims, "jti")
	want := map[string]any{
		"iss": e.idp.Issuer(), "aud": testClientID, "iat": now, "exp": now + 120,
		"sid": id["sid"], "sub": "usr_bob",
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("logout token claims mismatch (-want +got):\n%s", diff)
	}

	// A second logout of the same session sends nothing.
	e.get(t, "/oidc/logout", url.Values{"id_token_hint": {tokens.IDToken}})
	select {
	case <-received:
		t.Error("a second logout token was delivered for an ended session")
	default:
	}
}

func TestBackchannelLogoutFailureIsNotFatal(t *testing.T) {
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	t.Cleanup(rp.Close)
	e := newTestServer(t, "", func(c *Config) { c.Clients[0].BackchannelLogoutURI = rp.URL })
	tokens := e.login(t)
	resp := e.get(t, "/oidc/logout", url.Values{"id_token_hint": {tokens.IDToken}, "post_logout_redirect_uri": {testPostLogout}})
	if resp.StatusCode != http.StatusFound {
		t.Errorf("logout status = %d; want 302 despite the failed delivery", resp.StatusCode)
	}
}

func TestEndSession(t *testing.T) {
	e := newTestServer(t, "")
	tokens := e.login(t)
	_, id := e.verify(t, tokens.IDToken)
	sid, _ := id["sid"].(string)
	if !e.idp.EndSession(t.Context(), sid) {
		t.Fatalf("EndSession(%q) = false; want true", sid)
	}
	if e.idp.EndSession(t.Context(), sid) {
		t.Errorf("EndSession(%q) again = true; want false", sid)
	}
	if status, _, oerr := e.token(t, refreshForm(tokens.RefreshToken)); oerr.Error != "invalid_grant" {
		t.Errorf("refresh after EndSession: got %d %q; want invalid_grant", status, oerr.Error)
	}
}
