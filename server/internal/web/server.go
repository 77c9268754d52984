// Package web is the BFF's HTTP surface: Echo wiring, the routes of
// docs/DESIGN.md, and the mapping of errors to its JSON error shape.
package web

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/logctx"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// NewServer wires the routes and middleware around the given dependencies.
// Middleware order, outer to inner: request id, panic recovery, tracing (with
// WithTracing), metrics (with WithMetrics), request log, security headers,
// body limit; then per group the session and the CSRF check.
// Options add to it, such as the product's own routes (WithRoutes).
func NewServer(logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client, spa http.Handler, opts ...Option) *echo.Echo {
	return newServer(logger, cfg, sessions, auth, spa, defaultRateLimit, opts...)
}

// newServer is NewServer with the login and machine routes' rate limit
// (defaultRateLimit) as a parameter, so tests can make it small.
func newServer(logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client, spa http.Handler, limit session.Limit, opts ...Option) *echo.Echo {
	var o serverOptions
	for _, opt := range opts {
		opt(&o)
	}
	// Lines logged here carry the request id however the caller built the
	// logger (run's already does; wrapping twice is a no-op).
	logger = slog.New(logctx.NewHandler(logger.Handler()))
	// The server's own copy: options add remote APIs without touching the
	// caller's configuration.
	cfg.RemoteAPIs = slices.Concat(cfg.RemoteAPIs, o.remoteAPIs)
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(logger)
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)

	stack := []echo.MiddlewareFunc{requestID(), recoverPanics(logger)}
	if o.tracing != nil {
		stack = append(stack, traceRequests(o.tracing))
	}
	if o.metrics != nil {
		stack = append(stack, measure(o.metrics))
	}
	stack = append(stack, requestLog(logger, o.accessLog), securityHeaders(formOrigin(cfg)))
	if cfg.BaseURL.Scheme == "https" {
		stack = append(stack, hsts())
	}
	// Remote APIs have a limit of their own (REMOTE_API_BODY_LIMIT).
	remote := map[string]bool{}
	for _, api := range cfg.RemoteAPIs {
		for _, path := range remoteAPIRoutes(api) {
			remote[path] = true
		}
	}
	stack = append(stack, bodyLimit(remote))
	e.Use(composedOnce(stack...))

	addRoutes(e, logger, cfg, sessions, auth, spa, limit, o)
	return e
}

// composedOnce is the middleware ms, outer to inner, composed once. Echo
// wraps each request's handler in its e.Use middleware on every request,
// which allocates one closure per middleware per request; composed here
// around c.Handler() (the route's handler with its route middleware, which
// Echo finds before it applies e.Use middleware, and which is the next
// handler it would pass), the stack is built once. It must therefore be the
// only e.Use middleware, with no e.Pre middleware.
func composedOnce(ms ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	h := func(c echo.Context) error { return c.Handler()(c) }
	for i := len(ms) - 1; i >= 0; i-- {
		h = ms[i](h)
	}
	return func(echo.HandlerFunc) echo.HandlerFunc { return h }
}

// ipExtractor finds the client IP. Trusting X-Forwarded-For is opt-in
// (without an extractor Echo believes whatever the client sends), and only
// for the configured proxies: Echo's defaults would also trust every
// loopback, link-local and private peer, which lets anyone on those networks
// choose their IP. Echo reads the header from the right, through trusted
// peers only, and stops at the first address it cannot parse.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// formOrigin is the environment's origin: the hosted login page is a form
// navigation away from us, which CSP's form-action must allow.
func formOrigin(cfg config.Config) string {
	u, err := url.Parse(cfg.ScalekitEnvironmentURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
