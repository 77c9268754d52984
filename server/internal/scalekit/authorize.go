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

// ownParameters are the authorize parameters this client sets itself (or, for
// the last three, never sends: a request object or another response mode
// would change what the callback receives). Extra may not name them.
var ownParameters = map[string]bool{
	"client_id": true, "redirect_uri": true, "response_type": true, "scope": true,
	"state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true,
	"response_mode": true, "request": true, "request_uri": true,
}

// fieldParameters have a field in AuthorizationURLOptions. "domain" is not
// one: it is DomainHint's twin, and may come in Extra when DomainHint is empty.
var fieldParameters = map[string]bool{
	"organization_id": true, "connection_id": true, "login_hint": true,
	"domain_hint": true, "provider": true, "prompt": true,
}

// GetAuthorizationURL returns the URL of the environment's hosted login page.
// State, Nonce and CodeChallenge are required: every login uses PKCE (S256)
// and a nonce. "openid" is added to Scopes when missing. Extra may not name a
// parameter that the client sets or that has a field. It fails with
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
	set := map[string]bool{}
	for _, o := range []struct{ name, value string }{
		{"organization_id", opts.OrganizationID},
		{"connection_id", opts.ConnectionID},
		{"login_hint", opts.LoginHint},
		{"domain_hint", opts.DomainHint},
		{"domain", opts.DomainHint},
		{"provider", opts.Provider},
		{"prompt", opts.Prompt},
	} {
		if o.value != "" {
			params = append(params, oauth2.SetAuthURLParam(o.name, o.value))
			set[o.name] = true
		}
	}
	for name, values := range opts.Extra {
		switch {
		case ownParameters[name]:
			return "", fmt.Errorf("scalekit: authorization URL: Extra may not set %q, which the client sets itself", name)
		case fieldParameters[name] || set[name]:
			return "", fmt.Errorf("scalekit: authorization URL: Extra may not set %q: use its field", name)
		case len(values) != 1:
			// RFC 6749 §3.1: a parameter appears at most once.
			return "", fmt.Errorf("scalekit: authorization URL: Extra has %d values for %q; want one", len(values), name)
		}
		params = append(params, oauth2.SetAuthURLParam(name, values[0]))
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
