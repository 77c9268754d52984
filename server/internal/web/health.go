package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// healthzBody is what c.JSON wrote for {"status": "ok"}, encoded once:
// encoding it on every probe was a tenth of the route's cost.
var healthzBody = []byte(`{"status":"ok"}` + "\n")

func handleHealthz() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSONBlob(http.StatusOK, healthzBody)
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
