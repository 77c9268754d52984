package web

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// errorCode is one of docs/DESIGN.md's error codes: the "error" of a JSON
// error answer, or what a failed login carries to /login-error?error=<code>.
type errorCode string

const (
	codeUnauthenticated             errorCode = "unauthenticated"
	codeCSRFFailed                  errorCode = "csrf_failed"
	codeForbidden                   errorCode = "forbidden"
	codeNotFound                    errorCode = "not_found"
	codeBadRequest                  errorCode = "bad_request"
	codeMethodNotAllowed            errorCode = "method_not_allowed"
	codePayloadTooLarge             errorCode = "payload_too_large"
	codeRateLimited                 errorCode = "rate_limited"
	codeInternal                    errorCode = "internal"
	codeUpstreamUnavailable         errorCode = "upstream_unavailable"
	codeSessionStoreUnavailable     errorCode = "session_store_unavailable"
	codeIdentityProviderUnavailable errorCode = "identity_provider_unavailable"

	// Codes of failed logins only: a person meets them on /login-error.
	codeAccessDenied             errorCode = "access_denied"
	codeNotAMember               errorCode = "not_a_member"
	codeInvalidState             errorCode = "invalid_state"
	codeInvalidIdpInitiatedLogin errorCode = "invalid_idp_initiated_login"
	codeLoginFailed              errorCode = "login_failed"
)

// codeUse says where a code may appear.
type codeUse uint8

const (
	inAPI       codeUse = 1 << iota // a JSON error answer (openapi.json's ErrorCode)
	onLoginPage                     // /login-error?error=<code> (openapi.json's LoginErrorCode)
)

// codes is the one table of what each code means: the status and message of
// an answer that carries it (a login-only code is never answered, so it has
// neither), and where it may appear. A test holds it equal to docs/DESIGN.md's
// list and openapi.json's enums.
var codes = map[errorCode]struct {
	status  int
	message string // written for a person; an apiError may say more
	use     codeUse
}{
	codeUnauthenticated:             {http.StatusUnauthorized, "You are not signed in.", inAPI},
	codeCSRFFailed:                  {http.StatusForbidden, "Cross-site requests are not allowed.", inAPI},
	codeForbidden:                   {http.StatusForbidden, "You may not do this.", inAPI},
	codeNotFound:                    {http.StatusNotFound, "There is nothing here.", inAPI},
	codeBadRequest:                  {http.StatusBadRequest, "The request is malformed.", inAPI | onLoginPage},
	codeMethodNotAllowed:            {http.StatusMethodNotAllowed, "This method is not allowed here.", inAPI},
	codePayloadTooLarge:             {http.StatusRequestEntityTooLarge, "The request body is too large.", inAPI},
	codeRateLimited:                 {http.StatusTooManyRequests, "Too many requests. Please slow down.", inAPI | onLoginPage},
	codeInternal:                    {http.StatusInternalServerError, "Something went wrong on our side. Please try again.", inAPI},
	codeUpstreamUnavailable:         {http.StatusBadGateway, "The service behind this API is unavailable. Please try again in a moment.", inAPI},
	codeSessionStoreUnavailable:     {http.StatusServiceUnavailable, "The session store is unavailable. Please try again in a moment.", inAPI | onLoginPage},
	codeIdentityProviderUnavailable: {http.StatusServiceUnavailable, "The sign-in service is unavailable. Please try again in a moment.", inAPI | onLoginPage},

	codeAccessDenied:             {use: onLoginPage},
	codeNotAMember:               {use: onLoginPage},
	codeInvalidState:             {use: onLoginPage},
	codeInvalidIdpInitiatedLogin: {use: onLoginPage},
	codeLoginFailed:              {use: onLoginPage},
}

// apiError is an error with its code. message, when set, says more than the
// code's own message and is sent; cause is logged with the request id and
// never sent.
type apiError struct {
	code    errorCode
	message string
	cause   error
}

// newError is an error answered with code and the code's message.
func newError(code errorCode, cause error) *apiError {
	return &apiError{code: code, cause: cause}
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %v", e.code, e.cause)
	}
	return string(e.code)
}

func (e *apiError) Unwrap() error { return e.cause }

func (e *apiError) status() int { return codes[e.code].status }

func (e *apiError) text() string {
	if e.message != "" {
		return e.message
	}
	return codes[e.code].message
}

func errBadRequest(message string) *apiError {
	return &apiError{code: codeBadRequest, message: message}
}

func errNotFound(message string) *apiError {
	return &apiError{code: codeNotFound, message: message}
}

// errorBody is the one JSON error shape of docs/DESIGN.md.
type errorBody struct {
	Error   errorCode `json:"error"`
	Message string    `json:"message"`
}

// echoCodes are the codes of the HTTP errors Echo and its middleware return.
var echoCodes = map[int]errorCode{
	http.StatusNotFound:              codeNotFound,
	http.StatusMethodNotAllowed:      codeMethodNotAllowed,
	http.StatusRequestEntityTooLarge: codePayloadTooLarge,
	http.StatusTooManyRequests:       codeRateLimited,
	http.StatusForbidden:             codeForbidden,
	http.StatusUnauthorized:          codeUnauthenticated,
	http.StatusBadRequest:            codeBadRequest,
}

// classify maps any error to its apiError: our own, the error kinds of the
// lower packages, and Echo's HTTP errors. Everything else is internal (500),
// whose cause is logged and never sent.
func classify(err error) *apiError {
	if ae, ok := errors.AsType[*apiError](err); ok {
		return ae
	}
	switch {
	case errors.Is(err, session.ErrStoreUnavailable):
		return newError(codeSessionStoreUnavailable, err)
	case errors.Is(err, session.ErrNoSession):
		return newError(codeUnauthenticated, err)
	case errors.Is(err, session.ErrProviderUnavailable), errors.Is(err, scalekit.ErrUnavailable):
		return newError(codeIdentityProviderUnavailable, err)
	}
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		if code, ok := echoCodes[he.Code]; ok {
			return newError(code, err)
		}
	}
	return newError(codeInternal, err)
}

// errorHandler renders every error: JSON for API clients, a small page for
// people. A committed response is left alone.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae := classify(err)
		if codes[ae.code].use&inAPI == 0 {
			ae = newError(codeInternal, err) // a login code belongs on /login-error, never in an answer
		}
		ctx := c.Request().Context()
		log := logger.With("route", c.Path())
		switch {
		case ae.status() >= 500:
			log.ErrorContext(ctx, "request failed", "code", ae.code, "err", ae.cause)
		case ae.status() != http.StatusNotFound && ae.status() != http.StatusUnauthorized:
			log.WarnContext(ctx, "request refused", "code", ae.code, "err", ae.cause)
		}
		if ae.status() == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", "5")
		}
		var werr error
		switch {
		case c.Request().Method == http.MethodHead:
			werr = c.NoContent(ae.status())
		case wantsJSON(c):
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			werr = c.JSON(ae.status(), errorBody{Error: ae.code, Message: ae.text()})
		default:
			werr = renderErrorPage(c, ae)
		}
		if werr != nil {
			log.WarnContext(ctx, "could not write error response", "err", werr)
		}
	}
}

// wantsJSON: API routes and the machine endpoints answer JSON; pages that a
// person opens get HTML.
func wantsJSON(c echo.Context) bool {
	p := c.Request().URL.Path
	if isAPIPath(p) {
		return true
	}
	for _, prefix := range []string{"/auth/logout", "/auth/backchannel-logout", "/webhooks/", "/healthz", "/readyz"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1><p>{{.Message}}</p><p><a href="/">Back to the start page</a></p></main></body></html>
`))

func renderErrorPage(c echo.Context, ae *apiError) error {
	title := http.StatusText(ae.status())
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	c.Response().WriteHeader(ae.status())
	return errorPage.Execute(c.Response(), struct{ Title, Message string }{title, ae.text()})
}
