package web

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// addRoutes is every route of docs/DESIGN.md on one screen.
func addRoutes(e *echo.Echo, logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client, spa http.Handler, limit session.Limit, o serverOptions) {
	m := o.metrics
	e.GET("/healthz", handleHealthz())
	e.GET("/readyz", handleReadyz(sessions, auth))

	withSession := loadSession(sessions)
	limiter := newRateLimiter(logger, sessions, limit, m) // per client, shared by instances
	limited := limiter.limit(errRateLimited)
	// Routes a person opens get the login-error page for every failure.
	person := redirectErrorsToLoginError(logger)
	personLimited := limiter.limit(func(c echo.Context) error {
		return loginError(c, logger, errRateLimited(c))
	})
	e.GET("/auth/login", handleLogin(logger, cfg, sessions, auth, ""), person, personLimited, withSession)
	e.GET("/auth/signup", handleLogin(logger, cfg, sessions, auth, "create"), person, personLimited, withSession)
	e.GET("/auth/callback", handleCallback(logger, cfg, sessions, auth), person, personLimited, withSession)
	e.POST("/auth/logout", handleLogout(logger, cfg, sessions, auth), checkCSRF(), withSession)
	e.POST("/auth/backchannel-logout", handleBackchannelLogout(logger, sessions, auth, m), limited)
	e.POST("/webhooks/scalekit", handleWebhook(logger, cfg, sessions, m), limited)

	// Route-level middleware, not e.Group("/api", ...): a group with middleware
	// registers a catch-all that turns every 405 into a 404.
	api := func(method, path string, h echo.HandlerFunc) {
		e.Add(method, "/api"+path, h, checkCSRF(), withSession)
	}
	api(http.MethodGet, "/me", handleMe(sessions))
	api(http.MethodGet, "/session", handleSession(sessions))
	api(http.MethodGet, "/sessions", handleListSessions(sessions))
	api(http.MethodDelete, "/sessions", handleRevokeOtherSessions(sessions))
	api(http.MethodDelete, "/sessions/:id", handleRevokeSession(sessions))
	e.GET("/api/openapi.json", handleOpenAPI())
	// REMOTE_APIS: the product's APIs, with the user's access token.
	addRemoteAPIs(e, logger, cfg, sessions, m, o.tracing)
	// The product's own routes (WithRoutes), before the fallbacks below.
	for _, add := range o.routes {
		add(e)
	}

	e.GET("/*", handleSPA(spa))
	e.HEAD("/*", handleSPA(spa))
	// Other methods on paths that are no route: a 404 under /api/, as for GET,
	// and a 405 elsewhere (and on an API route that has other methods).
	apiRoutes := apiRoutePatterns(e)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		e.Add(m, "/*", handleNoRoute(apiRoutes))
	}
}
