package web

import (
	"encoding/base64"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/logctx"
	"github.com/example/scalekit-bff/server/internal/session"
)

// requestID gives every request an id of ours, generated, in X-Request-Id
// on the request (for whatever reads it downstream) and on the response. A
// caller's X-Request-Id never becomes ours: anyone could give their requests
// another request's id in our logs. It goes to the request log as
// client_request_id, bounded and cleaned, for correlating with the caller.
//
// The id is 96 random bits from math/rand/v2, whose generator is ChaCha8
// seeded by the system per thread: unpredictable and unique enough for
// correlating logs (an id is no credential), without the system call that
// crypto/rand made on every request.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if theirs := req.Header[echo.HeaderXRequestID]; len(theirs) > 0 && theirs[0] != "" {
				c.Set(clientRequestIDKey, cleanClientRequestID(theirs[0]))
			}
			var b [12]byte
			binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
			binary.LittleEndian.PutUint32(b[8:], rand.Uint32())
			id := []string{base64.RawURLEncoding.EncodeToString(b[:])}
			// Direct assignment of a canonical key is Header.Set without its
			// canonicalisation; the slice is never changed in place.
			req.Header[echo.HeaderXRequestID] = id
			c.Response().Header()[echo.HeaderXRequestID] = id
			// In the context too, for every line logged while serving the
			// request, in any package (see logctx).
			c.SetRequest(req.WithContext(logctx.WithRequestID(req.Context(), id[0])))
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
// An error is rendered here by the error handler, so the line has the status
// sent; it is still returned, for the middleware further out. With an
// accessLog (WithAccessLog) the line is formatted by hand, else by logger.
func requestLog(logger *slog.Logger, fast *accessLog) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req := c.Request()
			if !logger.Enabled(req.Context(), slog.LevelInfo) {
				return err
			}
			line := accessLine{
				method: req.Method,
				route:  c.Path(),
				status: c.Response().Status,
				ip:     c.RealIP(),
			}
			now := time.Now()
			line.latency = now.Sub(start)
			if line.route == "" || line.route == "/*" {
				line.route = "(spa)"
			}
			if v := req.Header[echo.HeaderXRequestID]; len(v) > 0 {
				line.requestID = v[0]
			}
			line.clientRequestID, _ = c.Get(clientRequestIDKey).(string)
			if fast != nil {
				if sc := trace.SpanContextFromContext(req.Context()); sc.IsValid() {
					line.traceID, line.spanID = sc.TraceID().String(), sc.SpanID().String()
				}
				fast.write(now, line)
				return err
			}
			attrs := make([]slog.Attr, 0, 7)
			attrs = append(attrs,
				slog.String("method", line.method),
				slog.String("route", line.route),
				slog.Int("status", line.status),
				slog.Duration("latency", line.latency),
				slog.String("request_id", line.requestID),
			)
			if line.clientRequestID != "" {
				attrs = append(attrs, slog.String("client_request_id", line.clientRequestID))
			}
			attrs = append(attrs, slog.String("ip", line.ip))
			logger.LogAttrs(req.Context(), slog.LevelInfo, "request", attrs...)
			return err
		}
	}
}

// recoverPanics turns a panic into a 500 with a generic message; the stack
// goes to the log, never to the client.
func recoverPanics(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableErrorHandler: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			logger.ErrorContext(c.Request().Context(), "panic", "err", err, "stack", string(stack))
			return err
		},
	})
}

// securityHeaders go on every response. Pages get a CSP that allows no
// inline script, no framing, and forms that post only to us or the identity
// provider. JSON responses (API routes and the machine endpoints, as
// wantsJSON decides) get the smaller, stricter set that the OWASP REST
// Security Cheat Sheet ("Security Headers") gives for APIs: a CSP that loads
// nothing (a JSON body opened as a document runs nothing), no framing,
// nosniff, no-store. The document-only policies (COOP, Permissions-Policy,
// Referrer-Policy) do nothing there: the referrer of every request our pages
// make is already governed by the page's own no-referrer. Fewer, shorter
// headers are also measurably cheaper on the hottest routes.
func securityHeaders(formOrigins string) echo.MiddlewareFunc {
	pageCSP := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
		"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; " +
		"form-action 'self' " + formOrigins
	page := presetHeaders(
		"Content-Security-Policy", pageCSP,
		"X-Content-Type-Options", "nosniff",
		"Referrer-Policy", "no-referrer",
		"X-Frame-Options", "DENY",
		"Cross-Origin-Opener-Policy", "same-origin",
		"Permissions-Policy", "camera=(), microphone=(), geolocation=()",
	)
	api := presetHeaders(
		"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options", "nosniff",
		"X-Frame-Options", "DENY",
		echo.HeaderCacheControl, "no-store",
	)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if wantsJSON(c) {
				api(c.Response().Header())
			} else {
				page(c.Response().Header())
			}
			return next(c)
		}
	}
}

// bodyLimit refuses request bodies over 64 KB (413). A request without a
// body (http.NoBody: every GET, as net/http reads it) has nothing to limit
// and skips the wrapping reader; remote API routes have a limit of their own
// (REMOTE_API_BODY_LIMIT).
func bodyLimit(remoteRoutes map[string]bool) echo.MiddlewareFunc {
	return middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit: "64K",
		Skipper: func(c echo.Context) bool {
			return c.Request().Body == http.NoBody || remoteRoutes[c.Path()]
		},
	})
}

// hsts is added when the public origin is https.
func hsts() echo.MiddlewareFunc {
	set := presetHeaders("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			set(c.Response().Header())
			return next(c)
		}
	}
}

// presetHeaders returns a function that sets the given name, value pairs as
// Header.Set does, without canonicalising the names or allocating a value
// per response on every request: the names are canonicalised here, and the
// value slices are shared by all responses. That is safe because nothing
// changes a header value in place: Set replaces the slice, and Add appends
// to a slice whose capacity is its length, which copies it.
func presetHeaders(pairs ...string) func(http.Header) {
	type header struct {
		name  string
		value []string
	}
	var headers []header
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i+1]
		headers = append(headers, header{http.CanonicalHeaderKey(pairs[i]), []string{v}[:1:1]})
	}
	return func(h http.Header) {
		for _, p := range headers {
			h[p.name] = p.value
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
