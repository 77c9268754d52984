package scalekit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// backchannelLogoutEvent is the member of a logout token's events claim that
// makes it one (OpenID Connect Back-Channel Logout 1.0 §2.4).
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// Logout tokens are accepted when iat is at most LogoutTokenSkew in the future
// and at most LogoutTokenMaxAge in the past, and exp is not more than
// LogoutTokenSkew in the past. A caller that rejects replayed jti
// values must remember each one for at least LogoutTokenMaxAge +
// LogoutTokenSkew (5 minutes): no token is accepted for longer than that.
const (
	LogoutTokenSkew   = 2 * time.Minute
	LogoutTokenMaxAge = 3 * time.Minute
)

// GetLogoutURL returns the environment's RP-initiated logout URL (its
// end_session_endpoint, else /oidc/logout) with id_token_hint,
// post_logout_redirect_uri and state when set. Without an ID token hint it
// adds client_id, so the environment can still check the redirect URI
// (OpenID Connect RP-Initiated Logout 1.0 §2). The URL carries the ID token:
// hand it to the browser only, never to a log.
func (c *OIDCClient) GetLogoutURL(opts LogoutURLOptions) (string, error) {
	p, err := c.provider(context.Background())
	if err != nil {
		return "", fmt.Errorf("logout URL: %w", err)
	}
	u, err := url.Parse(p.endSessionURL)
	if err != nil {
		return "", fmt.Errorf("scalekit: logout URL: %w", err)
	}
	q := u.Query()
	set := func(name, value string) {
		if value != "" {
			q.Set(name, value)
		}
	}
	set("id_token_hint", string(opts.IDTokenHint))
	set("post_logout_redirect_uri", opts.PostLogoutRedirectURI)
	set("state", opts.State)
	if opts.IDTokenHint == "" {
		q.Set("client_id", c.clientID)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// VerifyLogoutToken verifies a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.4, §2.6): RS256 signature by the environment's
// keys, the typ header logout+jwt, iss, aud containing the client id, iat
// (see LogoutTokenSkew), exp, an events claim whose backchannel-logout member
// is a JSON object, sub and/or sid, jti, and no nonce (so an ID token cannot
// pass as a logout token). Checking jti for replays is the caller's job. Any
// failure is ErrInvalidToken, except a key set that could not be fetched:
// ErrUnavailable.
//
// exp is required, as the final spec requires it (drafts before it had none).
//
// typ must be logout+jwt (or application/logout+jwt, any case: RFC 7515
// §4.1.9). §2.4 only says a logout token SHOULD be typed so, but a token
// without typ is refused too: the environment signs ID tokens, access tokens
// and other JWTs with the same keys, and explicit typing (RFC 8725 §3.11) is
// what keeps one kind from being replayed as another. Refusing typ "JWT"
// while accepting no typ at all would protect nothing. Scalekit's docs are
// silent on back-channel logout tokens; the built-in provider types them. A
// provider that sends untyped ones gets 400s here, and its logouts should
// come through webhooks instead.
func (c *OIDCClient) VerifyLogoutToken(ctx context.Context, rawToken string) (*LogoutTokenClaims, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify logout token: %w", err)
	}
	failures := p.keys.failures.Load()
	t, err := p.logoutTokens.Verify(ctx, rawToken)
	if err != nil {
		return nil, verifyError(p.keys, failures, "logout token", err)
	}
	var claims struct {
		SessionID string                     `json:"sid"`
		JTI       string                     `json:"jti"`
		Events    map[string]json.RawMessage `json:"events"`
		Nonce     json.RawMessage            `json:"nonce"` // any value, even null, is refused
	}
	var dates numericDates
	if err := t.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: logout token: claims: %w", ErrInvalidToken, err)
	}
	if err := t.Claims(&dates); err != nil {
		return nil, fmt.Errorf("%w: logout token: claims: %w", ErrInvalidToken, err)
	}
	invalid := func(reason string) error {
		return fmt.Errorf("%w: logout token: %s", ErrInvalidToken, reason)
	}
	now := seconds(c.now())
	switch event, ok := claims.Events[backchannelLogoutEvent]; {
	case !isLogoutTokenType(rawToken):
		return nil, invalid("the typ header is not logout+jwt")
	case !ok:
		return nil, invalid("no " + backchannelLogoutEvent + " event")
	case !bytes.HasPrefix(bytes.TrimSpace(event), []byte("{")):
		return nil, invalid("the backchannel-logout event is not a JSON object")
	case len(claims.Nonce) != 0:
		return nil, invalid("has a nonce claim")
	case t.Subject == "" && claims.SessionID == "":
		return nil, invalid("has neither sub nor sid")
	case claims.JTI == "":
		return nil, invalid("no jti")
	case dates.Iat == nil:
		return nil, invalid("no iat")
	case *dates.Iat > now+LogoutTokenSkew.Seconds():
		return nil, invalid("iat is in the future")
	case *dates.Iat < now-LogoutTokenMaxAge.Seconds():
		return nil, invalid("iat is too old")
	case dates.Exp == nil:
		return nil, invalid("no exp")
	case *dates.Exp < now-LogoutTokenSkew.Seconds():
		return nil, invalid("expired")
	case !dates.notBefore(c.now(), LogoutTokenSkew):
		return nil, invalid("not valid yet (nbf)")
	}
	return &LogoutTokenClaims{
		Subject:   t.Subject,
		SessionID: claims.SessionID,
		JTI:       claims.JTI,
		IssuedAt:  unixTime(*dates.Iat),
		ExpiresAt: unixTime(*dates.Exp),
	}, nil
}

// isLogoutTokenType reports whether a verified token's protected header says
// typ logout+jwt.
func isLogoutTokenType(rawToken string) bool {
	switch strings.ToLower(tokenType(rawToken)) {
	case "logout+jwt", "application/logout+jwt":
		return true
	}
	return false
}

// tokenType is the typ of a verified token's protected header, "" when it
// has none. The header is part of what the signature covers.
func tokenType(rawToken string) string {
	encoded, _, _ := strings.Cut(rawToken, ".")
	b, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return ""
	}
	var header struct {
		Typ string `json:"typ"`
	}
	if json.Unmarshal(b, &header) != nil {
		return ""
	}
	return header.Typ
}
