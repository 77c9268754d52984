package scalekit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/oauth2"
)

// defaultScopes are requested when AuthorizationURLOptions.Scopes is empty.
// offline_access is what makes Scalekit issue a refresh token.
var defaultScopes = []string{"openid", "profile", "email", "offline_access"}

// GetAuthorizationURL returns the URL of the environment's hosted login page.
// State, Nonce and CodeChallenge are required: every login uses PKCE (S256)
// and a nonce. "openid" is added to Scopes when missing. It fails with
// ErrUnavailable when the endpoints are not known yet and the environment
// cannot be reached to discover them.
func (c *OIDCClient) GetAuthorizationURL(redirectURI string, opts AuthorizationURLOptions) (string, error) {
	switch {
	case redirectURI == "":
		return "", errors.New("scalekit: authorization URL: empty redirect URI")
	case opts.State == "":
		return "", errors.New("scalekit: authorization URL: empty state")
	case opts.Nonce == "":
		return "", errors.New("scalekit: authorization URL: empty nonce")
	case opts.CodeChallenge == "":
		return "", errors.New("scalekit: authorization URL: empty PKCE code challenge")
	}
	// The SDK's signature has no context; the discovery timeout bounds this.
	p, err := c.provider(context.Background())
	if err != nil {
		return "", fmt.Errorf("authorization URL: %w", err)
	}

	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = defaultScopes
	}
	if !slices.Contains(scopes, "openid") {
		scopes = append([]string{"openid"}, scopes...)
	}
	params := []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("nonce", opts.Nonce),
		oauth2.SetAuthURLParam("code_challenge", opts.CodeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"),
	}
	for _, o := range []struct{ name, value string }{
		{"organization_id", opts.OrganizationID},
		{"connection_id", opts.ConnectionID},
		{"login_hint", opts.LoginHint},
		{"domain_hint", opts.DomainHint},
		{"provider", opts.Provider},
		{"prompt", opts.Prompt},
	} {
		if o.value != "" {
			params = append(params, oauth2.SetAuthURLParam(o.name, o.value))
		}
	}
	// AuthCodeURL adds response_type=code, client_id, redirect_uri, scope and state.
	return c.oauth2Config(p, redirectURI, scopes).AuthCodeURL(opts.State, params...), nil
}

// NewPKCEVerifier returns a new PKCE code verifier (RFC 7636 §4.1): 32 random
// bytes, base64url-encoded. Keep it server-side; send S256Challenge(verifier).
func NewPKCEVerifier() string { return oauth2.GenerateVerifier() }

// S256Challenge returns the S256 code challenge of a PKCE verifier.
func S256Challenge(verifier string) string { return oauth2.S256ChallengeFromVerifier(verifier) }

// RandomString returns 32 random bytes, base64url-encoded without padding:
// suitable for state and nonce values.
func RandomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand.Read panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}
