package scalekit_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// login returns a refresh token from a code exchange.
func login(t *testing.T, c *scalekit.OIDCClient, op *testOP) scalekit.Token {
	t.Helper()
	got, err := exchange(t, c, op, op.sign(keyA(), op.idClaims("n")), "n")
	if err != nil {
		t.Fatalf("AuthenticateWithCode: %v", err)
	}
	return got.RefreshToken
}

func TestRefreshAccessTokenRotates(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	ctx := context.Background()
	first := login(t, c, op)

	got, err := c.RefreshAccessToken(ctx, first)
	if err != nil {
		t.Fatalf("RefreshAccessToken: %v", err)
	}
	if got.RefreshToken == "" || got.RefreshToken == first {
		t.Errorf("RefreshToken rotated = %t; want a new one", got.RefreshToken != "" && got.RefreshToken != first)
	}
	if got.AccessToken == "" || got.Claims == nil || got.Claims.Subject != "usr_123" {
		t.Errorf("AccessToken set %t, Claims %+v; want a token with sub usr_123", got.AccessToken != "", got.Claims)
	}
	if got.IDToken != "" || got.User != nil {
		t.Errorf("IDToken set %t, User %+v; want neither (the provider sent none)", got.IDToken != "", got.User)
	}
	wantForm := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {string(first)},
		"client_id":     {testClientID},
		"client_secret": {testClientSecret},
	}
	if diff := cmp.Diff(wantForm, op.tokenForms[1]); diff != "" {
		t.Errorf("refresh request form (-want +got):\n%s", diff)
	}
	if op.tokenAuthz[1] != "" {
		t.Errorf("refresh request Authorization header = %q; want none", op.tokenAuthz[1])
	}

	// The rotated token works once more; the spent one is refused.
	if _, err := c.RefreshAccessToken(ctx, got.RefreshToken); err != nil {
		t.Fatalf("RefreshAccessToken(rotated) = %v; want nil", err)
	}
	_, err = c.RefreshAccessToken(ctx, first)
	checkKind(t, err, false, &scalekit.RefusedError{Code: "invalid_grant", Description: "test provider says invalid_grant", Status: 400})
	if n := op.hitCount(docTokenPath); n != 4 {
		t.Errorf("token endpoint requests = %d; want 4 (exchange and three refreshes)", n)
	}
}

func TestRefreshAccessTokenWithoutRotation(t *testing.T) {
	op := newTestOP(t, opOptions{})
	op.noRotation = true
	c := newTestClient(t, op)
	rt := login(t, c, op)
	got, err := c.RefreshAccessToken(context.Background(), rt)
	if err != nil {
		t.Fatalf("RefreshAccessToken: %v", err)
	}
	if got.RefreshToken != "" {
		t.Errorf("RefreshToken is set; want empty when the provider returned none (the caller keeps its own)")
	}
}

func TestRefreshAccessTokenIDToken(t *testing.T) {
	tests := []struct {
		name      string
		claims    func(op *testOP) map[string]any
		wantValid bool
	}{
		{"without nonce", func(op *testOP) map[string]any {
			c := op.idClaims("")
			delete(c, "nonce")
			return c
		}, true},
		{"with the login's nonce", func(op *testOP) map[string]any { return op.idClaims("n") }, true},
		{"wrong aud", func(op *testOP) map[string]any {
			c := op.idClaims("")
			c["aud"] = "someone-else"
			return c
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t, opOptions{})
			op.refreshID = func(string) string { return op.sign(keyA(), tc.claims(op)) }
			c := newTestClient(t, op)
			rt := login(t, c, op)
			got, err := c.RefreshAccessToken(context.Background(), rt)
			if !tc.wantValid {
				if !errors.Is(err, scalekit.ErrInvalidToken) {
					t.Errorf("RefreshAccessToken = %v; want ErrInvalidToken", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("RefreshAccessToken: %v", err)
			}
			if got.IDToken == "" || got.User == nil || got.User.ID != "usr_123" {
				t.Errorf("IDToken set %t, User %+v; want both, for usr_123", got.IDToken != "", got.User)
			}
		})
	}
}

func TestRefreshAccessTokenProviderDown(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	rt := login(t, c, op)
	op.set(func(op *testOP) { op.down = true })
	_, err := c.RefreshAccessToken(context.Background(), rt)
	checkKind(t, err, true, nil)
}
