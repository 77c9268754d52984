package scalekit_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

func TestValidateAccessToken(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	valid := op.accessClaims("usr_123")

	got, err := c.ValidateAccessToken(context.Background(), scalekit.Token(op.sign(keyA(), valid)))
	if err != nil {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	want := &scalekit.AccessTokenClaims{
		Subject: "usr_123", SessionID: "ses_1", OrganizationID: "org_1",
		Roles: []string{"admin"}, Permissions: []string{"read", "write"},
		Scope: "openid profile email offline_access", ExpiresAt: op.clock.Now().Add(5 * time.Minute),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidateAccessToken (-want +got):\n%s", diff)
	}

	with := func(k string, v any) map[string]any {
		return withChanges(op.accessClaims("usr_123"), map[string]any{k: v})
	}
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"expired", op.sign(keyA(), with("exp", op.clock.Now().Add(-time.Second).Unix()))},
		{"no exp", op.sign(keyA(), with("exp", nil))},
		{"nbf ahead", op.sign(keyA(), with("nbf", op.clock.Now().Add(time.Hour).Unix()))},
		{"nbf MaxInt64", op.sign(keyA(), with("nbf", int64(math.MaxInt64)))},
		{"nbf where time.Unix wraps", op.sign(keyA(), with("nbf", int64(math.MaxInt64-1e9)))},
		{"nbf beyond int64", op.sign(keyA(), with("nbf", 1e19))},
		{"another issuer", op.sign(keyA(), with("iss", "https://evil.example"))},
		{"unknown key", op.sign(keyX(), valid)},
		{"alg none", unsignedJWT(t, keyA().kid, valid)},
		{"HS256 with the public key as secret", hmacWithPublicKey(t, valid)},
		{"roles of the wrong type", op.sign(keyA(), with("roles", "admin"))},
		{"garbage", "a.b.c"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.ValidateAccessToken(context.Background(), scalekit.Token(tc.token))
			if !errors.Is(err, scalekit.ErrInvalidToken) {
				t.Errorf("ValidateAccessToken = %+v, %v; want ErrInvalidToken", got, err)
			}
		})
	}
}

func TestValidateAccessTokenNeedsNoAudience(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	claims := op.accessClaims("usr_123")
	delete(claims, "aud")
	if _, err := c.ValidateAccessToken(context.Background(), scalekit.Token(op.sign(keyA(), claims))); err != nil {
		t.Errorf("ValidateAccessToken(no aud) = %v; want nil", err)
	}
}
