package web

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/example/scalekit-bff/server/internal/session"
)

// requestID gives every request an id of ours, generated, in X-Request-Id
// on the request (for whatever reads it downstream) and on the response. A
// caller's X-Request-Id never becomes ours: anyone could give their requests
// another request's id in our logs. It goes to the request log as
// client_request_id, bounded and cleaned, for correlating with the caller.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if theirs := req.Header.Get(echo.HeaderXRequestID); theirs != "" {
				c.Set(clientRequestIDKey, cleanClientRequestID(theirs))
			}
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id := base64.RawURLEncoding.EncodeToString(b)
			req.Header.Set(echo.HeaderXRequestID, id)
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

const clientRequestIDKey = "client_request_id"

// cleanClientRequestID keeps at most 64 bytes of a caller's request id, each
// byte outside [A-Za-z0-9._-] replaced by "_".
func cleanClientRequestID(id string) string {
	b := []byte(id[:min(len(id), 64)])
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// requestLog logs one line per request with the route pattern, never the
// URI: the callback's ?code= is a credential. No cookies, headers or bodies.
func requestLog(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError:  true,
		LogStatus:    true,
		LogLatency:   true,
		LogMethod:    true,
		LogRoutePath: true,
		LogRequestID: true,
		LogRemoteIP:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			route := v.RoutePath
			if route == "" || route == "/*" {
				route = "(spa)"
			}
			attrs := []slog.Attr{
				slog.String("method", v.Method),
				slog.String("route", route),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID),
			}
			if theirs, ok := c.Get(clientRequestIDKey).(string); ok {
				attrs = append(attrs, slog.String("client_request_id", theirs))
			}
			attrs = append(attrs, slog.String("ip", v.RemoteIP))
			logger.LogAttrs(c.Request().Context(), slog.LevelInfo, "request", attrs...)
			return nil
		},
	})
}

// recoverPanics turns a panic into a 500 with a generic message; the stack
// goes to the log, never to the client.
func recoverPanics(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableErrorHandler: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			logger.Error("panic", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "err", err, "stack", string(stack))
			return err
		},
	})
}

// securityHeaders go on every response; the CSP allows no inline script, no
// framing, and forms that post only to us or the identity provider.
func securityHeaders(formOrigins string) echo.MiddlewareFunc {
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
		"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; " +
		"form-action 'self' " + formOrigins
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
			if isAPIPath(c.Request().URL.Path) {
				h.Set(echo.HeaderCacheControl, "no-store")
			}
			return next(c)
		}
	}
}

// hsts is added when the public origin is https.
func hsts() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			return next(c)
		}
	}
}

// loadSession loads the browser's session before the handler runs. A store
// failure is a clean 503 here, before any byte is written; handlers that
// change the session save it explicitly. (scs's LoadAndSave, wrapped with
// echo.WrapMiddleware, commits again after a handler that changed the session
// and returned an error, and sends two Set-Cookie headers.)
func loadSession(sessions *session.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var token string
			if ck, err := c.Cookie(sessions.CookieName()); err == nil {
				token = ck.Value
			}
			ctx, err := sessions.Load(c.Request().Context(), token)
			if err != nil {
				return err
			}
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// checkCSRF guards state-changing API calls. A custom header cannot be sent
// cross-origin without a CORS preflight, which we never approve, and
// Sec-Fetch-Site names a cross-site request outright (OWASP CSRF Prevention
// Cheat Sheet: custom request headers, Fetch Metadata).
func checkCSRF() echo.MiddlewareFunc { return csrfGuard(false) }

// checkCSRFEveryMethod is checkCSRF on GET, HEAD and OPTIONS too: for remote
// APIs and the routes a team adds, which are never pages, and whose GET we
// cannot promise changes nothing.
func checkCSRFEveryMethod() echo.MiddlewareFunc { return csrfGuard(true) }

func csrfGuard(everyMethod bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				if !everyMethod {
					return next(c)
				}
			}
			if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				return newError(codeCSRFFailed, nil)
			}
			if r.Header.Get("X-CSRF") != "1" {
				return &apiError{code: codeCSRFFailed, message: "The X-CSRF: 1 header is required."}
			}
			return next(c)
		}
	}
}

func errRateLimited(echo.Context) error {
	return newError(codeRateLimited, nil)
}
