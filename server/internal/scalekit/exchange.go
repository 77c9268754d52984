package scalekit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"
)

// AuthenticateWithCode exchanges an authorization code at the token endpoint
// (client_secret_post, with the PKCE verifier) in exactly one request, then
// verifies the ID token: RS256 signature by the environment's keys, iss, aud,
// exp, at_hash when present, and the nonce whenever the token carries one (a
// token without a nonce is accepted: Scalekit does not document echoing it;
// PKCE already binds the code to this browser's login).
//
// Errors: ErrUnavailable (network, timeout, 5xx), *RefusedError (an OAuth
// error answer such as invalid_grant), ErrInvalidToken (verification).
func (c *OIDCClient) AuthenticateWithCode(ctx context.Context, code, redirectURI string, opts AuthenticationOptions) (*AuthenticationResponse, error) {
	if code == "" {
		return nil, errors.New("scalekit: exchange code: empty code")
	}
	if opts.CodeVerifier == "" {
		return nil, errors.New("scalekit: exchange code: empty PKCE code verifier")
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	tok, err := c.oauth2Config(p, redirectURI, nil).Exchange(c.oauth2Context(ctx), code, oauth2.VerifierOption(opts.CodeVerifier))
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", tokenError(err))
	}
	rawIDToken, _ := tok.Extra("id_token").(string)
	if rawIDToken == "" {
		return nil, fmt.Errorf("exchange code: %w: no id_token in the token response (is the openid scope requested?)", ErrInvalidToken)
	}
	user, err := c.verifyIDToken(ctx, p, rawIDToken, tok.AccessToken, &opts.Nonce)
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	tr, err := c.newTokenResponse(ctx, p, tok, rawIDToken, user)
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	return &AuthenticationResponse{TokenResponse: *tr, User: *user}, nil
}

// RefreshAccessToken spends a refresh token (grant_type=refresh_token,
// client_secret_post) in exactly one request.
//
// The response's RefreshToken is the one the environment returned, or empty
// when it returned none: the caller then keeps the one it has. (x/oauth2
// would copy the spent token into the response; we do not, so a caller can
// tell "rotated" from "not rotated".) An ID token in the response is verified
// like the one from the code exchange, except that no nonce is expected; the
// caller should check that User.ID is still the session's subject.
//
// Errors: as AuthenticateWithCode. A reused or revoked refresh token is a
// *RefusedError with Code "invalid_grant". When the provider answered but
// its tokens failed verification, the error comes with a response holding
// only the rotated refresh token, for the caller to keep.
func (c *OIDCClient) RefreshAccessToken(ctx context.Context, refreshToken Token) (*TokenResponse, error) {
	if refreshToken == "" {
		return nil, errors.New("scalekit: refresh: empty refresh token")
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	// A token source around a token with no access token refreshes at once.
	src := c.oauth2Config(p, "", nil).TokenSource(c.oauth2Context(ctx), &oauth2.Token{RefreshToken: string(refreshToken)})
	tok, err := src.Token()
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", tokenError(err))
	}
	if tok.RefreshToken == string(refreshToken) {
		tok.RefreshToken = ""
	}
	// The provider has spent the old refresh token by now. If its answer
	// fails verification, the new refresh token is still the only one that
	// works: it comes back, alone, with the error.
	spentOnly := func(err error) (*TokenResponse, error) {
		var partial *TokenResponse
		if tok.RefreshToken != "" {
			partial = &TokenResponse{RefreshToken: Token(tok.RefreshToken)}
		}
		return partial, fmt.Errorf("refresh: %w", err)
	}
	var user *User
	rawIDToken, _ := tok.Extra("id_token").(string)
	if rawIDToken != "" {
		if user, err = c.verifyIDToken(ctx, p, rawIDToken, tok.AccessToken, nil); err != nil {
			return spentOnly(err)
		}
	}
	tr, err := c.newTokenResponse(ctx, p, tok, rawIDToken, user)
	if err != nil {
		return spentOnly(err)
	}
	return tr, nil
}

func (c *OIDCClient) newTokenResponse(ctx context.Context, p *provider, tok *oauth2.Token, rawIDToken string, user *User) (*TokenResponse, error) {
	claims, err := c.accessTokenClaims(ctx, p, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	// The earlier of expires_in and the JWT's own exp: expires_in is counted
	// from when the answer arrived, exp is what the resource servers check.
	expiresAt := tok.Expiry
	if claims != nil && !claims.ExpiresAt.IsZero() && (expiresAt.IsZero() || claims.ExpiresAt.Before(expiresAt)) {
		expiresAt = claims.ExpiresAt
	}
	var refreshExpiresAt time.Time
	if tok.RefreshToken != "" {
		if secs := extraSeconds(tok, "refresh_expires_in", "refresh_token_expires_in"); secs > 0 {
			refreshExpiresAt = c.now().Add(time.Duration(secs) * time.Second)
		}
	}
	return &TokenResponse{
		RefreshTokenExpiresAt: refreshExpiresAt,
		AccessToken:           Token(tok.AccessToken),
		RefreshToken:          Token(tok.RefreshToken),
		IDToken:               Token(rawIDToken),
		ExpiresAt:             expiresAt,
		User:                  user,
		Claims:                claims,
	}, nil
}

// tokenError gives an error from the token endpoint its kind:
//
//   - an OAuth error answer (RFC 6749 §5.2) with a 4xx status (or, off-spec,
//     2xx) is a definitive *RefusedError, except 429, which is ErrUnavailable;
//   - a 5xx, with or without an OAuth error body, is ErrUnavailable;
//   - a 4xx without an OAuth error body (a proxy's page, say) is not a
//     definitive refusal by the environment: ErrUnavailable;
//   - network errors, timeouts and unparseable 2xx answers are ErrUnavailable.
//
// oauth2.RetrieveError is not wrapped: its message quotes the response body.
func tokenError(err error) error {
	re, ok := errors.AsType[*oauth2.RetrieveError](err)
	if !ok {
		return fmt.Errorf("%w: token endpoint: %w", ErrUnavailable, err)
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	switch {
	case status >= 500 || status == http.StatusTooManyRequests:
		return fmt.Errorf("%w: token endpoint answered %d", ErrUnavailable, status)
	case re.ErrorCode == "":
		return fmt.Errorf("%w: token endpoint answered %d without an OAuth error", ErrUnavailable, status)
	default:
		return &RefusedError{Code: re.ErrorCode, Description: re.ErrorDescription, Status: status}
	}
}

// extraSeconds reads a lifetime in seconds from the token response's extra
// fields: a JSON number, or a string in a form-encoded answer.
func extraSeconds(tok *oauth2.Token, names ...string) int64 {
	for _, name := range names {
		switch v := tok.Extra(name).(type) {
		case float64:
			return int64(v)
		case string:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return 0
}
