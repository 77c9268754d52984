package scalekit_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

func TestAuthenticateWithCode(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	code, verifier := op.newCode(op.sign(keyA(), op.idClaims("n-1")))

	got, err := c.AuthenticateWithCode(context.Background(), code, testRedirectURI, scalekit.AuthenticationOptions{CodeVerifier: verifier, Nonce: "n-1"})
	if err != nil {
		t.Fatalf("AuthenticateWithCode: %v", err)
	}

	wantUser := scalekit.User{
		ID: "usr_123", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace",
		GivenName: "Ada", FamilyName: "Lovelace", Picture: "https://example.com/ada.png",
		OrganizationID: "org_1", SessionID: "ses_1",
	}
	if diff := cmp.Diff(wantUser, got.User); diff != "" {
		t.Errorf("User (-want +got):\n%s", diff)
	}
	if got.TokenResponse.User == nil || *got.TokenResponse.User != wantUser {
		t.Errorf("TokenResponse.User = %+v; want %+v", got.TokenResponse.User, wantUser)
	}
	wantClaims := &scalekit.AccessTokenClaims{
		Subject: "usr_123", SessionID: "ses_1", OrganizationID: "org_1",
		Roles: []string{"admin"}, Permissions: []string{"read", "write"},
		Scope: "openid profile email offline_access", ExpiresAt: op.clock.Now().Add(5 * time.Minute),
	}
	if diff := cmp.Diff(wantClaims, got.Claims); diff != "" {
		t.Errorf("Claims (-want +got):\n%s", diff)
	}
	if got.AccessToken == "" || got.RefreshToken == "" || got.IDToken == "" {
		t.Errorf("tokens: access %t, refresh %t, ID %t; want all set", got.AccessToken != "", got.RefreshToken != "", got.IDToken != "")
	}
	// expires_in is relative to the real clock (x/oauth2 reads time.Now).
	if d := time.Until(got.ExpiresAt); d < 4*time.Minute || d > 5*time.Minute {
		t.Errorf("ExpiresAt is %v from now; want about 5m", d)
	}

	// One request, client_secret_post, with the verifier and redirect URI.
	if n := op.hitCount(docTokenPath); n != 1 {
		t.Fatalf("token endpoint requests = %d; want 1", n)
	}
	wantForm := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"code_verifier": {verifier},
		"redirect_uri":  {testRedirectURI},
		"client_id":     {testClientID},
		"client_secret": {testClientSecret},
	}
	if diff := cmp.Diff(wantForm, op.tokenForms[0]); diff != "" {
		t.Errorf("token request form (-want +got):\n%s", diff)
	}
	if op.tokenAuthz[0] != "" {
		t.Errorf("token request Authorization header = %q; want none (client_secret_post)", op.tokenAuthz[0])
	}
}

func TestAuthenticateWithCodeAcceptsIDTokenWithoutNonce(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	claims := op.idClaims("")
	delete(claims, "nonce")
	if _, err := exchange(t, c, op, op.sign(keyA(), claims), "n-1"); err != nil {
		t.Errorf("AuthenticateWithCode(no nonce in ID token) = %v; want nil", err)
	}
}

func TestAuthenticateWithCodeOpaqueAccessToken(t *testing.T) {
	op := newTestOP(t, opOptions{})
	op.opaqueAT = true
	c := newTestClient(t, op)
	got, err := exchange(t, c, op, op.sign(keyA(), op.idClaims("n")), "n")
	if err != nil {
		t.Fatalf("AuthenticateWithCode: %v", err)
	}
	if got.Claims != nil {
		t.Errorf("Claims = %+v; want nil for an opaque access token", got.Claims)
	}
	if got.ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt is zero; want it from expires_in")
	}
}

func TestAuthenticateWithCodeRejectsBadIDTokens(t *testing.T) {
	tests := []struct {
		name    string
		idToken func(t *testing.T, op *testOP) string
	}{
		{"wrong aud", func(t *testing.T, op *testOP) string {
			c := op.idClaims("n")
			c["aud"] = "someone-else"
			return op.sign(keyA(), c)
		}},
		{"several audiences without azp", func(t *testing.T, op *testOP) string {
			c := op.idClaims("n")
			c["aud"] = []string{testClientID, "someone-else"}
			return op.sign(keyA(), c)
		}},
		{"wrong iss", func(t *testing.T, op *testOP) string {
			c := op.idClaims("n")
			c["iss"] = "https://evil.example"
			return op.sign(keyA(), c)
		}},
		{"wrong nonce", func(t *testing.T, op *testOP) string {
			return op.sign(keyA(), op.idClaims("another login's nonce"))
		}},
		{"expired", func(t *testing.T, op *testOP) string {
			c := op.idClaims("n")
			c["exp"] = op.clock.Now().Add(-time.Minute).Unix()
			return op.sign(keyA(), c)
		}},
		{"no exp", func(t *testing.T, op *testOP) string {
			c := op.idClaims("n")
			delete(c, "exp")
			return op.sign(keyA(), c)
		}},
		{"nbf MaxInt64", func(t *testing.T, op *testOP) string {
			c := op.idClaims("n")
			c["nbf"] = int64(math.MaxInt64)
			return op.sign(keyA(), c)
		}},
		{"nbf where time.Unix wraps", func(t *testing.T, op *testOP) string {
			c := op.idClaims("n")
			c["nbf"] = int64(math.MaxInt64 - 1e9)
			return op.sign(keyA(), c)
		}},
		{"no sub", func(t *testing.T, op *testOP) string {
			c := op.idClaims("n")
			delete(c, "sub")
			return op.sign(keyA(), c)
		}},
		{"at_hash does not match the access token", func(t *testing.T, op *testOP) string {
			c := op.idClaims("n")
			c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA"
			return op.sign(keyA(), c)
		}},
		{"unknown kid", func(t *testing.T, op *testOP) string {
			return op.sign(keyX(), op.idClaims("n"))
		}},
		{"known kid, another key's signature", func(t *testing.T, op *testOP) string {
			return op.sign(testKey{keyA().kid, keyX().priv}, op.idClaims("n"))
		}},
		{"alg none", func(t *testing.T, op *testOP) string {
			return unsignedJWT(t, keyA().kid, op.idClaims("n"))
		}},
		{"HS256 with the public key as secret", func(t *testing.T, op *testOP) string {
			return hmacWithPublicKey(t, op.idClaims("n"))
		}},
		{"not a JWT", func(t *testing.T, op *testOP) string {
			return "not-a-jwt"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t, opOptions{})
			c := newTestClient(t, op)
			idToken := tc.idToken(t, op)
			got, err := exchange(t, c, op, idToken, "n")
			if !errors.Is(err, scalekit.ErrInvalidToken) {
				t.Fatalf("AuthenticateWithCode = %+v, %v; want ErrInvalidToken", got, err)
			}
			t.Logf("AuthenticateWithCode: %v", err)
			if n := op.hitCount(docTokenPath); n != 1 {
				t.Errorf("token endpoint requests = %d; want 1", n)
			}
			checkNoSecrets(t, "error", err.Error())
		})
	}
}

func TestAuthenticateWithCodeUnknownKidRefetchesOnce(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	if err := c.Ready(context.Background()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	op.clock.Advance(scalekit.JWKSRefetchInterval)
	before := op.keyHits()

	_, err := exchange(t, c, op, op.sign(keyX(), op.idClaims("n")), "n")
	if !errors.Is(err, scalekit.ErrInvalidToken) {
		t.Fatalf("AuthenticateWithCode(unknown kid) = %v; want ErrInvalidToken", err)
	}
	if got := op.keyHits() - before; got != 1 {
		t.Errorf("key set fetches for an unknown kid = %d; want 1 (a refetch, then still unknown)", got)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	type kind int
	const (
		unavailable kind = iota
		refused
	)
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		want        kind
		wantRefusal *scalekit.RefusedError
	}{
		{
			name:        "invalid_grant",
			handler:     func(w http.ResponseWriter, _ *http.Request) { oauthError(w, http.StatusBadRequest, "invalid_grant") },
			want:        refused,
			wantRefusal: &scalekit.RefusedError{Code: "invalid_grant", Description: "test provider says invalid_grant", Status: 400},
		},
		{
			name:        "invalid_client with 401 is not retried with basic auth",
			handler:     func(w http.ResponseWriter, _ *http.Request) { oauthError(w, http.StatusUnauthorized, "invalid_client") },
			want:        refused,
			wantRefusal: &scalekit.RefusedError{Code: "invalid_client", Description: "test provider says invalid_client", Status: 401},
		},
		{
			name:        "OAuth error with 200",
			handler:     func(w http.ResponseWriter, _ *http.Request) { oauthError(w, http.StatusOK, "invalid_grant") },
			want:        refused,
			wantRefusal: &scalekit.RefusedError{Code: "invalid_grant", Description: "test provider says invalid_grant", Status: 200},
		},
		{
			name: "503 with an OAuth error",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
			},
			want: unavailable,
		},
		{
			name:    "500 HTML",
			handler: htmlAnswer(http.StatusInternalServerError),
			want:    unavailable,
		},
		{
			name:    "502 empty",
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) },
			want:    unavailable,
		},
		{
			name:    "429",
			handler: func(w http.ResponseWriter, _ *http.Request) { oauthError(w, http.StatusTooManyRequests, "slow_down") },
			want:    unavailable,
		},
		{
			name:    "403 HTML from a proxy",
			handler: htmlAnswer(http.StatusForbidden),
			want:    unavailable,
		},
		{
			name:    "200 garbage",
			handler: htmlAnswer(http.StatusOK),
			want:    unavailable,
		},
		{
			name: "200 without an access token",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusOK, map[string]string{"token_type": "Bearer"})
			},
			want: unavailable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t, opOptions{})
			op.tokenHandler = tc.handler
			c := newTestClient(t, op)
			_, err := exchange(t, c, op, op.sign(keyA(), op.idClaims("n")), "n")
			checkKind(t, err, tc.want == unavailable, tc.wantRefusal)
			if n := op.hitCount(docTokenPath); n != 1 {
				t.Errorf("token endpoint requests = %d; want 1", n)
			}
		})
	}
}

func htmlAnswer(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprint(w, "<html><body>Something went wrong</body></html>")
	}
}

// checkKind checks that err is ErrUnavailable (and not a refusal), or the
// refusal want.
func checkKind(t *testing.T, err error, wantUnavailable bool, want *scalekit.RefusedError) {
	t.Helper()
	refusal, isRefusal := errors.AsType[*scalekit.RefusedError](err)
	switch {
	case err == nil:
		t.Fatalf("err = nil; want an error")
	case wantUnavailable:
		if !errors.Is(err, scalekit.ErrUnavailable) || isRefusal || errors.Is(err, scalekit.ErrInvalidToken) {
			t.Errorf("err = %v; want only ErrUnavailable", err)
		}
	default:
		if errors.Is(err, scalekit.ErrUnavailable) {
			t.Errorf("err = %v; want no ErrUnavailable", err)
		}
		if diff := cmp.Diff(want, refusal, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("RefusedError (-want +got):\n%s", diff)
		}
	}
	checkNoSecrets(t, "error", err.Error())
}

func TestTokenEndpointUnreachable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		op := newTestOP(t, opOptions{})
		op.docTokenURL = closedURL(t) + "/oauth/token"
		c := newTestClient(t, op)
		_, err := exchange(t, c, op, op.sign(keyA(), op.idClaims("n")), "n")
		checkKind(t, err, true, nil)
	})
	t.Run("timeout", func(t *testing.T) {
		op := newTestOP(t, opOptions{})
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		op.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
		c := newTestClient(t, op, func(cfg *scalekit.Config) {
			cfg.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}
		})
		_, err := exchange(t, c, op, op.sign(keyA(), op.idClaims("n")), "n")
		checkKind(t, err, true, nil)
	})
	t.Run("context deadline", func(t *testing.T) {
		op := newTestOP(t, opOptions{})
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		op.tokenHandler = func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
		c := newTestClient(t, op)
		if err := c.Ready(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		code, verifier := op.newCode(op.sign(keyA(), op.idClaims("n")))
		_, err := c.AuthenticateWithCode(ctx, code, testRedirectURI, scalekit.AuthenticationOptions{CodeVerifier: verifier, Nonce: "n"})
		checkKind(t, err, true, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v; want it to wrap context.DeadlineExceeded too", err)
		}
	})
}
