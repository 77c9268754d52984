package scalekit_test

import (
	"context"
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

func TestGetLogoutURL(t *testing.T) {
	tests := []struct {
		name     string
		op       opOptions
		opts     scalekit.LogoutURLOptions
		wantPath string
		want     url.Values
	}{
		{
			name:     "end_session_endpoint from discovery",
			opts:     scalekit.LogoutURLOptions{IDTokenHint: "id.token.hint", PostLogoutRedirectURI: "https://app.example/", State: "st"},
			wantPath: docLogoutPath,
			want: url.Values{
				"id_token_hint":            {"id.token.hint"},
				"post_logout_redirect_uri": {"https://app.example/"},
				"state":                    {"st"},
			},
		},
		{
			name:     "no discovery: Scalekit's fixed path",
			op:       opOptions{prefix: "/env", noDiscovery: true},
			opts:     scalekit.LogoutURLOptions{IDTokenHint: "id.token.hint", PostLogoutRedirectURI: "https://app.example/"},
			wantPath: "/oidc/logout",
			want: url.Values{
				"id_token_hint":            {"id.token.hint"},
				"post_logout_redirect_uri": {"https://app.example/"},
			},
		},
		{
			name:     "no ID token: client_id instead",
			opts:     scalekit.LogoutURLOptions{PostLogoutRedirectURI: "https://app.example/"},
			wantPath: docLogoutPath,
			want: url.Values{
				"client_id":                {testClientID},
				"post_logout_redirect_uri": {"https://app.example/"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t, tc.op)
			c := newTestClient(t, op)
			got, err := c.GetLogoutURL(tc.opts)
			if err != nil {
				t.Fatalf("GetLogoutURL: %v", err)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if base, want := strings.TrimSuffix(got, "?"+u.RawQuery), op.issuer+tc.wantPath; base != want {
				t.Errorf("GetLogoutURL endpoint = %q; want %q", base, want)
			}
			if diff := cmp.Diff(tc.want, u.Query()); diff != "" {
				t.Errorf("GetLogoutURL query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyLogoutToken(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	now := op.clock.Now()

	valid := op.logoutClaims()
	got, err := c.VerifyLogoutToken(context.Background(), op.signLogout(keyA(), valid))
	if err != nil {
		t.Fatalf("VerifyLogoutToken(valid) = %v; want nil", err)
	}
	want := &scalekit.LogoutTokenClaims{
		Subject: "usr_123", SessionID: "ses_1", JTI: valid["jti"].(string),
		IssuedAt: now, ExpiresAt: now.Add(2 * time.Minute),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VerifyLogoutToken (-want +got):\n%s", diff)
	}

	// edit returns valid claims with changes; a nil value deletes the claim.
	edit := func(changes map[string]any) map[string]any { return withChanges(op.logoutClaims(), changes) }
	event := map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
	tests := []struct {
		name      string
		token     string
		wantValid bool
	}{
		{"sid only", op.signLogout(keyA(), edit(map[string]any{"sub": nil})), true},
		{"sub only", op.signLogout(keyA(), edit(map[string]any{"sid": nil})), true},
		{"iat a minute ahead (clock skew)", op.signLogout(keyA(), edit(map[string]any{"iat": now.Add(time.Minute).Unix()})), true},
		{"aud list with us", op.signLogout(keyA(), edit(map[string]any{"aud": []string{"other", testClientID}})), true},

		{"bad signature", op.signLogout(testKey{keyA().kid, keyX().priv}, valid), false},
		{"unknown key", op.signLogout(keyX(), valid), false},
		{"alg none", unsignedJWT(t, keyA().kid, valid), false},
		{"HS256 with the public key as secret", hmacWithPublicKey(t, valid), false},
		{"wrong aud", op.signLogout(keyA(), edit(map[string]any{"aud": "someone-else"})), false},
		{"wrong iss", op.signLogout(keyA(), edit(map[string]any{"iss": "https://evil.example"})), false},
		{"missing events", op.signLogout(keyA(), edit(map[string]any{"events": nil})), false},
		{"other event only", op.signLogout(keyA(), edit(map[string]any{"events": map[string]any{"urn:other": map[string]any{}}})), false},
		{"event is not an object", op.signLogout(keyA(), edit(map[string]any{"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": true}})), false},
		{"events is not an object", op.signLogout(keyA(), edit(map[string]any{"events": []string{"http://schemas.openid.net/event/backchannel-logout"}})), false},
		{"has a nonce", op.signLogout(keyA(), edit(map[string]any{"nonce": "n"})), false},
		{"an ID token", op.sign(keyA(), op.idClaims("n")), false},
		{"an ID token typed as a logout token", op.signLogout(keyA(), op.idClaims("n")), false},
		// typ (§2.4): exactly logout+jwt, or with the application/ prefix that
		// RFC 7515 §4.1.9 lets a sender add; any case.
		{"typ application/logout+jwt", op.signTyped(keyA(), "application/logout+jwt", valid), true},
		{"typ in another case", op.signTyped(keyA(), "Logout+JWT", valid), true},
		{"typ JWT", op.signTyped(keyA(), "JWT", valid), false},
		{"typ at+jwt", op.signTyped(keyA(), "at+jwt", valid), false},
		{"typ logout+jwt with junk", op.signTyped(keyA(), "logout+jwt; x", valid), false},
		{"no typ", op.signTyped(keyA(), "", valid), false},
		// exp is required by the final spec (§2.4).
		{"no exp", op.signLogout(keyA(), edit(map[string]any{"exp": nil})), false},
		{"no sid and no sub", op.signLogout(keyA(), edit(map[string]any{"sid": nil, "sub": nil})), false},
		{"missing jti", op.signLogout(keyA(), edit(map[string]any{"jti": nil})), false},
		{"missing iat", op.signLogout(keyA(), edit(map[string]any{"iat": nil})), false},
		{"iat far in the future", op.signLogout(keyA(), edit(map[string]any{"iat": now.Add(time.Hour).Unix()})), false},
		{"iat too old", op.signLogout(keyA(), edit(map[string]any{"iat": now.Add(-time.Hour).Unix(), "exp": nil})), false},
		{"expired", op.signLogout(keyA(), edit(map[string]any{"exp": now.Add(-time.Hour).Unix()})), false},
		{"nbf ahead", op.signLogout(keyA(), edit(map[string]any{"nbf": now.Add(time.Hour).Unix()})), false},
		{"nbf MaxInt64", op.signLogout(keyA(), edit(map[string]any{"nbf": int64(math.MaxInt64)})), false},
		{"nbf where time.Unix wraps", op.signLogout(keyA(), edit(map[string]any{"nbf": int64(math.MaxInt64 - 1e9)})), false},
		{"iat MaxInt64", op.signLogout(keyA(), edit(map[string]any{"iat": int64(math.MaxInt64)})), false},
		{"exp MinInt64", op.signLogout(keyA(), edit(map[string]any{"exp": int64(math.MinInt64)})), false},
		{"garbage", "not a token", false},
		{"with the event", op.signLogout(keyA(), edit(map[string]any{"events": event})), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.VerifyLogoutToken(context.Background(), tc.token)
			switch {
			case tc.wantValid && err != nil:
				t.Errorf("VerifyLogoutToken = %v; want nil", err)
			case !tc.wantValid && !errors.Is(err, scalekit.ErrInvalidToken):
				t.Errorf("VerifyLogoutToken = %+v, %v; want ErrInvalidToken", got, err)
			case !tc.wantValid:
				t.Logf("VerifyLogoutToken: %v", err)
				checkNoSecrets(t, "error", err.Error())
			}
		})
	}
}

// A key set that cannot be fetched is the provider's outage, not a bad
// token: the caller answers 503 and the provider retries.
func TestVerifyLogoutTokenWithKeysUnavailable(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	if _, err := c.VerifyLogoutToken(context.Background(), op.signLogout(keyA(), op.logoutClaims())); err != nil {
		t.Fatalf("VerifyLogoutToken(valid) = %v", err) // discovery and keys loaded
	}
	op.clock.Advance(time.Minute) // past the key set's refetch floor
	op.set(func(op *testOP) { op.down = true })
	_, err := c.VerifyLogoutToken(context.Background(), op.signLogout(keyB(), op.logoutClaims())) // an unknown kid needs a fetch
	if !errors.Is(err, scalekit.ErrUnavailable) || errors.Is(err, scalekit.ErrInvalidToken) {
		t.Errorf("VerifyLogoutToken with the key set unavailable = %v; want ErrUnavailable", err)
	}
	op.set(func(op *testOP) { op.down = false })
	op.clock.Advance(scalekit.JWKSRefetchInterval) // a failed fetch is not retried sooner
	if _, err := c.VerifyLogoutToken(context.Background(), op.signLogout(keyX(), op.logoutClaims())); !errors.Is(err, scalekit.ErrInvalidToken) {
		t.Errorf("VerifyLogoutToken(unpublished key) with the provider up = %v; want ErrInvalidToken", err)
	}
}
