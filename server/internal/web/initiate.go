package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// /auth/login is the app's Initiate login URL: Scalekit sends browsers there
// with parameters of its own (scalekit-inc/developer-docs,
// src/content/docs/guides/dashboard/intitate-login-endpoint.mdx): an
// idp_initiated_login token, an error, or the parameters of an invitation, a
// password reset or an email verification, which "your application must
// forward to Scalekit's authorization endpoint". The docs never name the
// latter, so every parameter the BFF does not own is forwarded.

// ownParameters are the BFF's own: it sets them on the authorize request
// itself (or, like request and response_mode, never sends them) or reads them
// here. They are never forwarded.
var ownParameters = map[string]bool{
	"client_id": true, "redirect_uri": true, "response_type": true, "scope": true,
	"state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true,
	"returnTo": true, "response_mode": true, "request": true, "request_uri": true,
	"idp_initiated_login": true, "error": true, "error_description": true,
}

// Caps on the forwarded parameters: what a sign-in needs is a handful of
// short values, and the authorize URL must stay well inside every browser's
// and proxy's URL limit.
const (
	maxForwardedParameters = 20
	maxForwardedBytes      = 2048
)

// parameterName is the shape of a forwarded parameter's name.
var parameterName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// prompts are the prompt values forwarded (Scalekit's implement-login.mdx
// documents login, create and select_account; none is a silent sign-in).
var prompts = []string{"login", "create", "select_account", "none"}

// errBadLoginRequest marks a login request refused for its parameters.
var errBadLoginRequest = errors.New("bad login request")

// authorizeOptions turns the query of /auth/login into the authorize
// request's options: the parameters that have fields go there, every other
// one that the BFF does not own goes into Extra. prompt, when not empty,
// replaces the query's (sign-up is prompt=create). A repeated, oddly named
// or oddly valued parameter, or more than the caps allow, is an error.
func authorizeOptions(q url.Values, prompt string) (scalekit.AuthorizationURLOptions, error) {
	var opts scalekit.AuthorizationURLOptions
	count, size := 0, 0
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if ownParameters[name] {
			continue
		}
		values := q[name]
		count += len(values)
		for _, v := range values {
			size += len(name) + len(v)
		}
		switch {
		case count > maxForwardedParameters:
			return opts, fmt.Errorf("%w: more than %d parameters to forward", errBadLoginRequest, maxForwardedParameters)
		case size > maxForwardedBytes:
			return opts, fmt.Errorf("%w: more than %d bytes of parameters to forward", errBadLoginRequest, maxForwardedBytes)
		case !parameterName.MatchString(name):
			return opts, fmt.Errorf("%w: a parameter name is not a plain word", errBadLoginRequest)
		case len(values) != 1:
			return opts, fmt.Errorf("%w: parameter %s sent more than once", errBadLoginRequest, name)
		case !plainValue(values[0]):
			return opts, fmt.Errorf("%w: parameter %s has control characters or is not UTF-8", errBadLoginRequest, name)
		}
		v := values[0]
		switch name {
		case "organization_id":
			opts.OrganizationID = v
		case "connection_id":
			opts.ConnectionID = v
		case "login_hint":
			opts.LoginHint = v
		case "domain_hint":
			opts.DomainHint = v // sent as domain too, as the SDKs do
		case "provider":
			opts.Provider = v
		case "prompt":
			if slices.Contains(prompts, v) {
				opts.Prompt = v
			}
		default:
			if opts.Extra == nil {
				opts.Extra = url.Values{}
			}
			opts.Extra.Set(name, v)
		}
	}
	if opts.DomainHint != "" {
		opts.Extra.Del("domain") // domain_hint decides; it is sent as domain too
	}
	if prompt != "" {
		opts.Prompt = prompt
	}
	return opts, nil
}

// plainValue refuses control characters and invalid UTF-8 in what is
// forwarded or taken from a token.
func plainValue(v string) bool {
	if !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// maxIdpInitiatedLogin bounds the token read from the query: a JWT with a
// handful of short claims is well under it.
const maxIdpInitiatedLogin = 8 << 10

// startIdpInitiatedLogin answers an idp_initiated_login token: a sign-in
// that began at the customer's identity provider. A valid token starts the
// app's own login with its connection, organization and login hint, and
// lands on its relay_state when that passes the returnTo rules (else /).
// A bad one goes to /login-error?error=invalid_idp_initiated_login.
func startIdpInitiatedLogin(c echo.Context, logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client, token string) error {
	if len(token) > maxIdpInitiatedLogin {
		return loginError(c, logger, newError(codeInvalidIdpInitiatedLogin, errors.New("idp_initiated_login is too long")))
	}
	claims, err := auth.GetIdpInitiatedLoginClaims(c.Request().Context(), token)
	switch {
	case errors.Is(err, scalekit.ErrUnavailable):
		return loginError(c, logger, err)
	case err != nil:
		return loginError(c, logger, newError(codeInvalidIdpInitiatedLogin, err))
	}
	for _, v := range []string{claims.OrganizationID, claims.ConnectionID, claims.LoginHint} {
		if !plainValue(v) || len(v) > 256 {
			return loginError(c, logger, newError(codeInvalidIdpInitiatedLogin, errors.New("idp_initiated_login has an odd claim value")))
		}
	}
	logger.InfoContext(c.Request().Context(), "IdP-initiated login", "org", claims.OrganizationID, "connection", claims.ConnectionID)
	opts := scalekit.AuthorizationURLOptions{
		OrganizationID: claims.OrganizationID,
		ConnectionID:   claims.ConnectionID,
		LoginHint:      claims.LoginHint,
	}
	return startLogin(c, logger, cfg, sessions, auth, opts, safeReturnTo(claims.RelayState))
}

// Provider errors a person may meet, mapped to our /login-error codes. An
// error not listed is login_failed: nothing the provider sent is reflected.
var providerErrorCodes = map[string]errorCode{
	"access_denied": codeAccessDenied,
	// Scalekit documents no error for "not a member of the requested
	// organization" (only invalid_organization_id, for an organization it
	// cannot use); the built-in provider answers invalid_organization_id for
	// both, so that the answer does not tell whether an organization exists.
	"invalid_organization_id": codeNotAMember,
}

func providerErrorCode(providerErr string) errorCode {
	if code, ok := providerErrorCodes[providerErr]; ok {
		return code
	}
	return codeLoginFailed
}

// silentSignInErrors are the answers to prompt=none that mean "the person
// must interact" (OpenID Connect Core §3.1.2.6), not that something failed.
var silentSignInErrors = map[string]bool{
	"login_required": true, "interaction_required": true,
	"consent_required": true, "account_selection_required": true,
}
