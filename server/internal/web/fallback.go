package web

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

// isAPIPath reports whether p is under /api, where answers are JSON.
func isAPIPath(p string) bool { return p == "/api" || strings.HasPrefix(p, "/api/") }

// handleSPA serves the app for every path that is not a route, except under
// /api/, where an unknown path is a JSON 404 rather than index.html.
func handleSPA(spa http.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		if isAPIPath(c.Request().URL.Path) {
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
		if !isAPIPath(p) {
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
