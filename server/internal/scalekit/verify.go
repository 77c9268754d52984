package scalekit

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
)

// verifyIDToken verifies an ID token and returns its user. A nil nonce means
// none is expected (a refreshed ID token); otherwise a nonce in the token must
// equal *nonce.
func (c *OIDCClient) verifyIDToken(ctx context.Context, p *provider, raw, accessToken string, nonce *string) (*User, error) {
	failures := p.keys.failures.Load()
	idt, err := p.idTokens.Verify(ctx, raw)
	if err != nil {
		return nil, verifyError(p.keys, failures, "id token", err)
	}
	if nonce != nil && idt.Nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(*nonce)) != 1 {
		return nil, fmt.Errorf("%w: id token: nonce does not match this login", ErrInvalidToken)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, fmt.Errorf("%w: id token: at_hash: %w", ErrInvalidToken, err)
		}
	}
	var claims struct {
		User
		AuthorizedParty string `json:"azp"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: id token: claims: %w", ErrInvalidToken, err)
	}
	if err := checkNotBefore(idt, "id token", c.now()); err != nil {
		return nil, err
	}
	// With several audiences, azp must name us (OpenID Connect Core §3.1.3.7).
	if len(idt.Audience) > 1 && claims.AuthorizedParty != c.clientID {
		return nil, fmt.Errorf("%w: id token: azp %q is not this client", ErrInvalidToken, claims.AuthorizedParty)
	}
	if claims.User.ID == "" {
		return nil, fmt.Errorf("%w: id token: no sub", ErrInvalidToken)
	}
	return &claims.User, nil
}

// ValidateAccessToken verifies an access token signed by the environment
// (RS256, iss, exp) and returns its claims. It does not check aud: Scalekit
// does not document an access token's audience to be this client's id, and
// the BFF validates only tokens it received from the token endpoint itself.
// Any failure is ErrInvalidToken.
func (c *OIDCClient) ValidateAccessToken(ctx context.Context, accessToken Token) (*AccessTokenClaims, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, fmt.Errorf("validate access token: %w", err)
	}
	return c.validateAccessToken(ctx, p, string(accessToken))
}

func (c *OIDCClient) validateAccessToken(ctx context.Context, p *provider, raw string) (*AccessTokenClaims, error) {
	failures := p.keys.failures.Load()
	t, err := p.accessTokens.Verify(ctx, raw)
	if err != nil {
		return nil, verifyError(p.keys, failures, "access token", err)
	}
	var claims AccessTokenClaims
	if err := t.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: access token: claims: %w", ErrInvalidToken, err)
	}
	if err := checkNotBefore(t, "access token", c.now()); err != nil {
		return nil, err
	}
	claims.ExpiresAt = t.Expiry
	return &claims, nil
}

// accessTokenClaims returns nil for an opaque access token. One that looks
// like a JWT (three dot-separated parts) must verify: a JWT access token that
// the environment did not sign is an error, not "no roles".
func (c *OIDCClient) accessTokenClaims(ctx context.Context, p *provider, raw string) (*AccessTokenClaims, error) {
	if strings.Count(raw, ".") != 2 {
		return nil, nil
	}
	return c.validateAccessToken(ctx, p, raw)
}
