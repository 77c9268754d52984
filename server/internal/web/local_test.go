package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/demoapi"
	"github.com/example/scalekit-bff/server/internal/devidp"
	"github.com/example/scalekit-bff/server/internal/session"
)

// A route of the product's own, registered as the README shows: it gets the
// user and a fresh access token, which the demo API accepts.
func TestLocalRouteGetsTheUserAndAFreshToken(t *testing.T) {
	clk := &offsetClock{}
	billing := newUpstream(t) // the product API the route calls with the token
	var calls atomic.Int32
	e := newTestServer(t,
		withIDP(func(c *devidp.Config) {
			c.Now, c.AccessTokenTTL = clk.Now, 5*time.Minute
			c.AccessTokenClaims = map[string]string{"given_name": "user.given_name"}
		}),
		withServerOption(func(sessions *session.Manager) Option {
			return WithRoutes(func(e *echo.Echo) {
				e.GET("/api/greeting", func(c echo.Context) error {
					calls.Add(1)
					user, _ := CurrentUser(c) // signed in, with a fresh access token
					req, _ := http.NewRequestWithContext(c.Request().Context(), http.MethodGet, billing.URL+"/hello", nil)
					req.Header.Set("Authorization", "Bearer "+string(user.AccessToken))
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return err
					}
					defer resp.Body.Close()
					var hello demoapi.Hello
					if err := json.NewDecoder(resp.Body).Decode(&hello); err != nil {
						return err
					}
					return c.JSON(http.StatusOK, map[string]any{"email": user.Email, "org": user.OrganizationID, "roles": user.Roles, "upstream": hello.Message})
				}, RequireSession(sessions))
			})
		}))
	api, err := demoapi.New(t.Context(), demoapi.Config{Issuer: e.issuer, Audience: "bff-test", Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	billing.answer(api.ServeHTTP)

	c := e.browser()
	r := e.get(c, "/api/greeting", "X-CSRF", "1")
	wantStatus(t, r, http.StatusUnauthorized)
	if code := r.errorCode(t); code != "unauthenticated" {
		t.Errorf("signed out: %s; want unauthenticated", code)
	}
	loginNearExpiry(e, clk, c, "usr_alice")
	r = e.get(c, "/api/greeting")
	wantStatus(t, r, http.StatusForbidden)
	if code := r.errorCode(t); code != "csrf_failed" {
		t.Errorf("without X-CSRF: %s; want csrf_failed", code)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the handler ran %d times before a signed-in call with X-CSRF; want 0", n)
	}

	before := e.idp.GrantCounts()["refresh_token"]
	r = e.get(c, "/api/greeting", "X-CSRF", "1")
	wantStatus(t, r, http.StatusOK)
	var got struct {
		Email, Org, Upstream string
		Roles                []string
	}
	r.json(t, &got)
	if got.Email != "alice@acme.test" || got.Org != "org_acme" || strings.Join(got.Roles, ",") != "admin" || got.Upstream != "Hello from the demo API, Alice" {
		t.Errorf("GET /api/greeting = %+v; want Alice of org_acme, an admin, greeted by the API", got)
	}
	if n := e.idp.GrantCounts()["refresh_token"] - before; n != 1 {
		t.Errorf("refreshes = %d; want 1: the token was due", n)
	}
}

// The BFF's own /api/ routes are the ones config refuses to let REMOTE_APIS
// shadow.
func TestReservedAPIPathsCoverTheBFFsRoutes(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(discardLogger(), cfg, session.NewMemory(session.Options{}), nil, http.NotFoundHandler())
	reserved := config.ReservedAPIPaths()
	for _, r := range srv.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		covered := false
		for _, p := range reserved {
			covered = covered || r.Path == p || strings.HasPrefix(r.Path, p+"/")
		}
		if !covered {
			t.Errorf("route %s %s is not in config.ReservedAPIPaths() %v", r.Method, r.Path, reserved)
		}
	}
}
