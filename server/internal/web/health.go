package web

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// handleSPA serves the app for every path that is not a route, except under
// /api/, where an unknown path is a JSON 404 rather than index.html.
func handleSPA(spa http.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Request().URL.Path; p == "/api" || strings.HasPrefix(p, "/api/") {
			return errNotFound("There is no such API route.")
		}
		spa.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// handleNoRoute answers a method on a path that has no route for it.
func handleNoRoute(apiRoutes []*regexp.Regexp) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		if p != "/api" && !strings.HasPrefix(p, "/api/") {
			return echo.ErrMethodNotAllowed
		}
		for _, r := range apiRoutes {
			if r.MatchString(p) {
				return echo.ErrMethodNotAllowed
			}
		}
		return errNotFound("There is no such API route.")
	}
}

// apiRoutePatterns turns the registered /api/ routes into regular expressions.
func apiRoutePatterns(e *echo.Echo) []*regexp.Regexp {
	param := regexp.MustCompile(`:[^/]+`)
	var out []*regexp.Regexp
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Path, "/api/") && !strings.Contains(r.Path, "*") {
			out = append(out, regexp.MustCompile("^"+param.ReplaceAllString(regexp.QuoteMeta(r.Path), "[^/]+")+"$"))
		}
	}
	return out
}

func handleHealthz() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// handleReadyz answers 200 when Redis answers and the provider's keys are
// loaded, else 503 naming what failed. Causes are logged by the caller's
// monitoring, not sent: the names are enough to act on.
func handleReadyz(sessions *session.Manager, auth scalekit.Client) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
		defer cancel()
		r := readiness{Status: "ok", Checks: map[string]string{"session_store": "ok", "identity_provider": "ok"}}
		if err := sessions.Ping(ctx); err != nil {
			r.Status, r.Checks["session_store"] = "unavailable", "unavailable"
		}
		if err := auth.Ready(ctx); err != nil {
			r.Status, r.Checks["identity_provider"] = "unavailable", "unavailable"
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		if r.Status != "ok" {
			return c.JSON(http.StatusServiceUnavailable, r)
		}
		return c.JSON(http.StatusOK, r)
	}
}
