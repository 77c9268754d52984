package scalekit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// IdpInitiatedLoginClaims are the verified claims of an idp_initiated_login
// token: the sign-in the customer's identity provider started, which the app
// turns into a login of its own (GetAuthorizationURL with these values).
type IdpInitiatedLoginClaims struct {
	OrganizationID string
	ConnectionID   string
	LoginHint      string
	// RelayState is where the identity provider asks the app to land. It is
	// signed by the environment but chosen by whoever configured the
	// identity provider: pass it through the app's own return-path rules.
	RelayState string
	IssuedAt   time.Time
	ExpiresAt  time.Time
}

// An idp_initiated_login token is accepted from IdpInitiatedLoginLeeway
// before its nbf until IdpInitiatedLoginLeeway after its exp, and only while
// its iat is at most IdpInitiatedLoginMaxAge old (and at most the leeway in
// the future). Scalekit's example token lives five minutes.
const (
	IdpInitiatedLoginLeeway = time.Minute
	IdpInitiatedLoginMaxAge = 10 * time.Minute
)

// otherTokenClaims are claims that the environment's other JWTs, signed with
// the same keys, always carry (ID and access tokens: sub; logout tokens:
// events, with sub or sid) and that an idp_initiated_login token has not:
// the documented example, and the Go SDK's test token, carry only
// organization_id, connection_id, login_hint, exp, nbf, iat and iss, typed
// JWT (src/content/docs/sso/guides/idp-init-sso.mdx; scalekit-sdk-go's
// GetIdpInitiatedLoginClaims test).
var otherTokenClaims = []string{"sub", "sid", "nonce", "events"}

// GetIdpInitiatedLoginClaims verifies an idp_initiated_login token, which
// Scalekit sends to the app (at its Initiate login URL or its redirect URI)
// when a person starts at their identity provider's dashboard
// (scalekit-inc/developer-docs, src/content/docs/sso/guides/idp-init-sso.mdx;
// the Go SDK's method of the same name).
//
// It checks more than the SDK, which verifies only the signature and an
// optional exp: RS256 signature by the environment's keys (alg none and HS256
// are refused), iss equal to the expected issuer, exp (required) and nbf with
// IdpInitiatedLoginLeeway, iat (required; see IdpInitiatedLoginMaxAge), and
// at least one of organization_id, connection_id and login_hint; a token of
// another kind (see otherTokenClaims; a typ other than JWT) is refused. aud is
// checked only when present, when it must name this client: the documented
// example token has none. Any failure is ErrInvalidToken, except a key set
// that could not be fetched: ErrUnavailable.
func (c *OIDCClient) GetIdpInitiatedLoginClaims(ctx context.Context, token string) (*IdpInitiatedLoginClaims, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify idp_initiated_login: %w", err)
	}
	failures := p.keys.failures.Load()
	t, err := p.idpInitiatedLogins.Verify(ctx, token)
	if err != nil {
		return nil, verifyError(p.keys, failures, "idp_initiated_login", err)
	}
	var claims struct {
		OrganizationID string `json:"organization_id"`
		ConnectionID   string `json:"connection_id"`
		LoginHint      string `json:"login_hint"`
		RelayState     string `json:"relay_state"`
	}
	var dates numericDates
	var all map[string]json.RawMessage
	for _, v := range []any{&claims, &dates, &all} {
		if err := t.Claims(v); err != nil {
			return nil, fmt.Errorf("%w: idp_initiated_login: claims: %w", ErrInvalidToken, err)
		}
	}
	invalid := func(reason string) error {
		return fmt.Errorf("%w: idp_initiated_login: %s", ErrInvalidToken, reason)
	}
	now, leeway := seconds(c.now()), IdpInitiatedLoginLeeway.Seconds()
	switch typ := strings.ToLower(tokenType(token)); {
	case typ != "" && typ != "jwt":
		return nil, invalid("typed " + typ + ", another kind of token")
	case slices.ContainsFunc(otherTokenClaims, func(name string) bool { _, ok := all[name]; return ok }):
		// An ID, access or logout token that names an organization
		// (a custom access-token claim may be called organization_id).
		return nil, invalid("has a claim of another kind of token (sub, sid, nonce, events)")
	case len(t.Audience) > 0 && !slices.Contains(t.Audience, c.clientID):
		return nil, invalid("aud does not name this client")
	case dates.Exp == nil:
		return nil, invalid("no exp")
	case now > *dates.Exp+leeway:
		return nil, invalid("expired")
	case !dates.notBefore(c.now(), IdpInitiatedLoginLeeway):
		return nil, invalid("not valid yet (nbf)")
	case dates.Iat == nil:
		return nil, invalid("no iat")
	case *dates.Iat > now+leeway:
		return nil, invalid("iat is in the future")
	case now-*dates.Iat > IdpInitiatedLoginMaxAge.Seconds():
		return nil, invalid("iat is too old")
	case claims.OrganizationID == "" && claims.ConnectionID == "" && claims.LoginHint == "":
		return nil, invalid("names no organization, connection or user")
	}
	return &IdpInitiatedLoginClaims{
		OrganizationID: claims.OrganizationID,
		ConnectionID:   claims.ConnectionID,
		LoginHint:      claims.LoginHint,
		RelayState:     claims.RelayState,
		IssuedAt:       unixTime(*dates.Iat),
		ExpiresAt:      unixTime(*dates.Exp),
	}, nil
}
