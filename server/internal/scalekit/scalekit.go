// Package scalekit talks to a Scalekit environment (or any standards-compliant
// OpenID Provider) through a small interface shaped like the Full Stack Auth
// methods of Scalekit's Go SDK, so that an adapter over the official SDK can
// replace the implementation in one file.
//
// The implementation uses golang.org/x/oauth2 and github.com/coreos/go-oidc/v3,
// and verifies more than the SDK does: signature, iss, aud and exp of every ID
// token, PKCE on every code exchange, and the nonce whenever the ID token
// carries one.
package scalekit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Client is what the BFF needs from a Scalekit environment.
type Client interface {
	// GetAuthorizationURL returns the URL of the hosted login page.
	GetAuthorizationURL(redirectURI string, opts AuthorizationURLOptions) (string, error)
	// AuthenticateWithCode exchanges an authorization code (with its PKCE
	// verifier) and verifies the ID token it returns.
	AuthenticateWithCode(ctx context.Context, code, redirectURI string, opts AuthenticationOptions) (*AuthenticationResponse, error)
	// ValidateAccessToken verifies an access token and returns its claims.
	ValidateAccessToken(ctx context.Context, accessToken Token) (*AccessTokenClaims, error)
	// RefreshAccessToken spends a refresh token. Refresh tokens rotate: the
	// response carries the one to use next time.
	RefreshAccessToken(ctx context.Context, refreshToken Token) (*TokenResponse, error)
	// GetIdpInitiatedLoginClaims verifies the idp_initiated_login token that
	// Scalekit sends when a sign-in starts at the customer's identity provider
	// and returns what the app needs to start its own login.
	GetIdpInitiatedLoginClaims(ctx context.Context, token string) (*IdpInitiatedLoginClaims, error)
	// GetLogoutURL returns the RP-initiated logout URL for a top-level navigation.
	GetLogoutURL(opts LogoutURLOptions) (string, error)
	// VerifyLogoutToken verifies an OpenID Connect Back-Channel Logout token.
	VerifyLogoutToken(ctx context.Context, rawToken string) (*LogoutTokenClaims, error)
	// Ready reports whether the provider's signing keys are loaded (for /readyz).
	Ready(ctx context.Context) error

	// The environment's REST API, authenticated as this app (a
	// client-credentials token, cached).

	// GetUser reads a user and their organization memberships.
	GetUser(ctx context.Context, userID string) (*DirectoryUser, error)
	// GetOrganization reads an organization.
	GetOrganization(ctx context.Context, organizationID string) (*Organization, error)
	// RevokeSession ends one Scalekit session (ses_…) by its id.
	RevokeSession(ctx context.Context, sessionID string) error
}

// Token is an OAuth token or JWT. It never prints itself: String and
// LogValue return "REDACTED", so a token passed to a logger or a format verb by
// mistake does not leak. Use string(t) where the raw value is needed.
type Token string

func (Token) String() string               { return "REDACTED" }
func (Token) LogValue() slog.Value         { return slog.StringValue("REDACTED") }
func (t Token) GoString() string           { return t.String() }
func (t Token) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("REDACTED")) }

// AuthorizationURLOptions are the parameters of an authorize request.
type AuthorizationURLOptions struct {
	Scopes         []string // default: openid profile email offline_access
	State          string
	Nonce          string
	CodeChallenge  string // S256 challenge of the PKCE verifier
	OrganizationID string
	ConnectionID   string
	LoginHint      string
	// DomainHint is sent as both domain_hint and domain, as Scalekit's SDKs
	// do (Scalekit's authorization-url page documents domain).
	DomainHint string
	// Provider is a social connection: google, microsoft, github, gitlab,
	// linkedin or salesforce.
	Provider string
	// Prompt is "login", "create" (sign-up), "select_account" (the
	// organization picker) or "none" (a silent sign-in).
	Prompt string
	// Extra are further parameters for the authorize request, such as those
	// Scalekit appends to the Initiate login URL for an invitation. They may
	// not name a parameter that the client sets itself or that has a field
	// above: GetAuthorizationURL refuses such a request.
	Extra url.Values
}

// AuthenticationOptions carries what the callback must prove.
type AuthenticationOptions struct {
	CodeVerifier string
	Nonce        string // checked whenever the ID token carries a nonce
}

// User is the person an ID token describes.
type User struct {
	ID             string `json:"sub"`
	Email          string `json:"email"`
	EmailVerified  bool   `json:"email_verified"`
	Name           string `json:"name"`
	GivenName      string `json:"given_name"`
	FamilyName     string `json:"family_name"`
	Picture        string `json:"picture"`
	OrganizationID string `json:"oid"`
	SessionID      string `json:"sid"` // Scalekit's session id, ses_…
}

// AccessTokenClaims are the claims of a Scalekit access token.
type AccessTokenClaims struct {
	Subject        string   `json:"sub"`
	SessionID      string   `json:"sid"`
	OrganizationID string   `json:"oid"`
	Roles          []string `json:"roles"`
	Permissions    []string `json:"permissions"`
	Scope          string   `json:"scope"`
	// ExternalOrganizationID (xoid) and ExternalUserID (xuid) are the
	// customer's own ids for the organization and the user, when set at
	// Scalekit.
	ExternalOrganizationID string    `json:"xoid"`
	ExternalUserID         string    `json:"xuid"`
	ExpiresAt              time.Time `json:"-"`
}

// TokenResponse is the result of a token request.
type TokenResponse struct {
	AccessToken  Token
	RefreshToken Token // empty when the provider did not rotate it
	IDToken      Token // empty when the provider sent none
	ExpiresAt    time.Time
	// RefreshTokenExpiresAt is when the refresh token expires, when the
	// provider says so (refresh_expires_in or refresh_token_expires_in, as
	// Keycloak and others send); zero when it does not.
	RefreshTokenExpiresAt time.Time
	// User is set when an ID token came back (always on a code exchange).
	User *User
	// Claims are the access token's verified claims when it is a JWT signed by
	// the environment's keys; nil for an opaque access token.
	Claims *AccessTokenClaims
}

// AuthenticationResponse is the result of AuthenticateWithCode.
type AuthenticationResponse struct {
	TokenResponse
	// User is the ID token's user; TokenResponse.User holds a copy of it.
	User User
}

// LogoutURLOptions are the parameters of RP-initiated logout.
type LogoutURLOptions struct {
	IDTokenHint           Token
	PostLogoutRedirectURI string
	State                 string
}

// LogoutTokenClaims are the verified claims of a back-channel logout token.
type LogoutTokenClaims struct {
	Subject   string // may be empty when SessionID is set
	SessionID string // may be empty when Subject is set
	JTI       string // for the caller's replay check
	IssuedAt  time.Time
	ExpiresAt time.Time // zero when the token has no exp
}

// ErrUnavailable means the provider could not be reached, timed out or
// answered 5xx: the caller should retry later and must not end the session.
var ErrUnavailable = errors.New("scalekit: identity provider unavailable")

// ErrInvalidToken means a token failed verification (signature, iss, aud,
// exp, nonce, alg, or shape).
var ErrInvalidToken = errors.New("scalekit: invalid token")

// RefusedError is a definitive OAuth error answer (RFC 6749 §5.2), such as
// invalid_grant: retrying with the same input will not help.
type RefusedError struct {
	Code        string
	Description string
	Status      int
}

func (e *RefusedError) Error() string {
	if e.Description == "" {
		return fmt.Sprintf("scalekit: provider refused: %s", e.Code)
	}
	return fmt.Sprintf("scalekit: provider refused: %s: %s", e.Code, e.Description)
}
