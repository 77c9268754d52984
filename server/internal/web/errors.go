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

// apiError is an error with its docs/DESIGN.md code. message is written for a
// person and sent; cause is logged with the request id and never sent.
type apiError struct {
	status  int
	code    string
	message string
	cause   error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %v", e.code, e.cause)
	}
	return e.code
}

func (e *apiError) Unwrap() error { return e.cause }

func errBadRequest(message string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", message: message}
}

func errNotFound(message string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found", message: message}
}

// errorBody is the one JSON error shape of docs/DESIGN.md.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// classify maps any error to its apiError: our own, the error kinds of the
// lower packages, and Echo's HTTP errors. Everything else is a 500 whose
// cause is logged and never sent.
func classify(err error) *apiError {
	if ae, ok := errors.AsType[*apiError](err); ok {
		return ae
	}
	switch {
	case errors.Is(err, session.ErrStoreUnavailable):
		return &apiError{http.StatusServiceUnavailable, "session_store_unavailable", "The session store is unavailable. Please try again in a moment.", err}
	case errors.Is(err, session.ErrNoSession):
		return &apiError{http.StatusUnauthorized, "unauthenticated", "You are not signed in.", err}
	case errors.Is(err, session.ErrProviderUnavailable), errors.Is(err, scalekit.ErrUnavailable):
		return &apiError{http.StatusServiceUnavailable, "identity_provider_unavailable", "The sign-in service is unavailable. Please try again in a moment.", err}
	}
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		switch he.Code {
		case http.StatusNotFound:
			return &apiError{he.Code, "not_found", "There is nothing here.", err}
		case http.StatusMethodNotAllowed:
			return &apiError{he.Code, "method_not_allowed", "This method is not allowed here.", err}
		case http.StatusRequestEntityTooLarge:
			return &apiError{he.Code, "payload_too_large", "The request body is too large.", err}
		case http.StatusTooManyRequests:
			return &apiError{he.Code, "rate_limited", "Too many requests. Please slow down.", err}
		case http.StatusForbidden:
			return &apiError{he.Code, "forbidden", "You may not do this.", err}
		case http.StatusUnauthorized:
			return &apiError{he.Code, "unauthenticated", "You are not signed in.", err}
		case http.StatusBadRequest:
			return &apiError{he.Code, "bad_request", "The request is malformed.", err}
		case http.StatusServiceUnavailable:
			return &apiError{he.Code, "internal", "The service is unavailable.", err}
		}
	}
	return &apiError{http.StatusInternalServerError, "internal", "Something went wrong on our side. Please try again.", err}
}

// errorHandler renders every error: JSON for API clients, a small page for
// people. A committed response is left alone.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae := classify(err)
		log := logger.With("request_id", c.Response().Header().Get(echo.HeaderXRequestID), "route", c.Path())
		switch {
		case ae.status >= 500:
			log.Error("request failed", "code", ae.code, "err", ae.cause)
		case ae.status != http.StatusNotFound && ae.status != http.StatusUnauthorized:
			log.Warn("request refused", "code", ae.code, "err", ae.cause)
		}
		if ae.status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", "5")
		}
		var werr error
		switch {
		case c.Request().Method == http.MethodHead:
			werr = c.NoContent(ae.status)
		case wantsJSON(c):
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			werr = c.JSON(ae.status, errorBody{Error: ae.code, Message: ae.message})
		default:
			werr = renderErrorPage(c, ae)
		}
		if werr != nil {
			log.Warn("could not write error response", "err", werr)
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
	title := http.StatusText(ae.status)
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	c.Response().WriteHeader(ae.status)
	return errorPage.Execute(c.Response(), struct{ Title, Message string }{title, ae.message})
}
