package web

import (
	"slices"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// Option adds to the server NewServer builds.
type Option func(*serverOptions)

type serverOptions struct {
	routes     []func(e *echo.Echo)
	remoteAPIs []config.RemoteAPI
	accessLog  *accessLog
	metrics    *metrics.Metrics
	tracing    trace.TracerProvider
}

// WithRoutes lets add register routes of the product's own, beside the BFF's.
// Put API routes under /api/ (their errors are then JSON) and guard them with
// RequireSession:
//
//	web.WithRoutes(func(e *echo.Echo) {
//		e.GET("/api/greeting", handleGreeting, web.RequireSession(sessions))
//	})
func WithRoutes(add func(e *echo.Echo)) Option {
	return func(o *serverOptions) { o.routes = append(o.routes, add) }
}

// WithRemoteAPIs adds remote APIs to those of REMOTE_APIS (the zero-config
// run's demo API, whose address is known only once it listens).
func WithRemoteAPIs(apis ...config.RemoteAPI) Option {
	return func(o *serverOptions) { o.remoteAPIs = append(o.remoteAPIs, apis...) }
}

// User is the signed-in user of a request that passed RequireSession.
type User struct {
	ID, Email, Name string
	OrganizationID  string
	Roles           []string
	Permissions     []string
	// AccessToken is valid for at least TOKEN_REFRESH_SKEW: send it to the
	// product's APIs as "Authorization: Bearer " + string(AccessToken). It
	// logs as REDACTED; never send it to the browser.
	AccessToken scalekit.Token
}

const userKey = "bff.user"

// RequireSession guards a route: the CSRF check on every method (X-CSRF: 1,
// and no Sec-Fetch-Site: cross-site), then a signed-in session whose access
// token is refreshed first when it is due (once, however many requests need
// it), then the handler, which reads the user with CurrentUser. Without a
// session the answer is 401 unauthenticated and the handler does not run.
func RequireSession(sessions *session.Manager) echo.MiddlewareFunc {
	csrf, load := checkCSRFEveryMethod(), loadSession(sessions)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		signedIn := func(c echo.Context) error {
			rec, err := sessions.Fresh(c.Request().Context())
			if err != nil {
				return err // 401 or 503, decided in errors.go
			}
			c.Set(userKey, User{
				ID: rec.User.ID, Email: rec.User.Email, Name: rec.User.Name,
				OrganizationID: rec.OrganizationID,
				Roles:          slices.Clone(rec.Roles), Permissions: slices.Clone(rec.Permissions),
				AccessToken: rec.AccessToken,
			})
			return next(c)
		}
		return csrf(load(signedIn))
	}
}

// CurrentUser returns the user RequireSession found; ok is false on a route
// without it.
func CurrentUser(c echo.Context) (u User, ok bool) {
	u, ok = c.Get(userKey).(User)
	return u, ok
}
