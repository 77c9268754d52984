package web

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// handleBackchannelLogout is an OpenID Connect Back-Channel Logout 1.0
// receiver: a verified logout token ends the sessions of its sid (only those
// of its sub, when it names both), or all of its sub when it names no sid. A
// token is accepted once (its jti).
func handleBackchannelLogout(logger *slog.Logger, sessions *session.Manager, auth scalekit.Client, m *metrics.Metrics) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		ctx := c.Request().Context()
		raw, err := logoutTokenFrom(c)
		if err != nil {
			return err
		}
		claims, err := auth.VerifyLogoutToken(ctx, raw)
		if errors.Is(err, scalekit.ErrUnavailable) {
			return err
		}
		if err != nil {
			return &apiError{code: codeBadRequest, message: "The logout token is invalid.", cause: err}
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
			n, err = sessions.EndProviderSessionOf(ctx, claims.SessionID, claims.Subject)
		} else {
			n, err = sessions.EndUser(ctx, claims.Subject)
		}
		if err != nil {
			// Not done: the provider's retry of this token must not be a replay.
			sessions.Forget(ctx, "jti:"+claims.JTI)
			return err
		}
		m.BackchannelLogout()
		m.SessionsEnded(metrics.EndBackchannel, n)
		logger.InfoContext(ctx, "back-channel logout", "sub", claims.Subject, "sid", claims.SessionID, "ended", n)
		return c.NoContent(http.StatusOK)
	}
}

// logoutTokenFrom reads logout_token from the form-encoded body, never from
// the query. The body is read whatever its type, so one over the body limit
// is a 413 even when it comes chunked, with no length to refuse it by
// (Request.PostFormValue would hide that error behind an empty value).
func logoutTokenFrom(c echo.Context) (string, error) {
	body, err := io.ReadAll(c.Request().Body)
	if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
		return "", err
	}
	if err != nil {
		return "", errBadRequest("The request body could not be read.")
	}
	mediaType, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	form, err := url.ParseQuery(string(body))
	if mediaType != echo.MIMEApplicationForm || err != nil || form.Get("logout_token") == "" {
		return "", errBadRequest("The logout_token form field is required.")
	}
	return form.Get("logout_token"), nil
}
