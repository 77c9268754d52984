package web

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// handleBackchannelLogout is an OpenID Connect Back-Channel Logout 1.0
// receiver: a verified logout token ends the sessions of its sid, or all of
// its sub when it names no sid. A token is accepted once (its jti).
func handleBackchannelLogout(logger *slog.Logger, sessions *session.Manager, auth scalekit.Client) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		ctx := c.Request().Context()
		raw := c.Request().PostFormValue("logout_token") // the body only, never the query
		if raw == "" {
			return errBadRequest("The logout_token form field is required.")
		}
		claims, err := auth.VerifyLogoutToken(ctx, raw)
		if errors.Is(err, scalekit.ErrUnavailable) {
			return err
		}
		if err != nil {
			return &apiError{status: http.StatusBadRequest, code: "bad_request", message: "The logout token is invalid.", cause: err}
		}
		// Remember the jti for as long as the verifier would accept the token.
		ttl := max(time.Until(claims.ExpiresAt), scalekit.LogoutTokenMaxAge+scalekit.LogoutTokenSkew)
		first, err := sessions.Once(ctx, "jti:"+claims.JTI, ttl)
		if err != nil {
			return err
		}
		if !first {
			return errBadRequest("The logout token was already used.")
		}
		var n int
		if claims.SessionID != "" {
			n, err = sessions.EndProviderSession(ctx, claims.SessionID)
		} else {
			n, err = sessions.EndUser(ctx, claims.Subject)
		}
		if err != nil {
			// Not done: the provider's retry of this token must not be a replay.
			sessions.Forget(ctx, "jti:"+claims.JTI)
			return err
		}
		logger.Info("back-channel logout", "sub", claims.Subject, "sid", claims.SessionID, "ended", n)
		return c.NoContent(http.StatusOK)
	}
}
