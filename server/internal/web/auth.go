package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// handleLogin starts a login (or, with prompt "create", a sign-up): it keeps
// state, nonce and PKCE verifier in this browser's session and sends the
// browser to the hosted login page.
func handleLogin(logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client, prompt string) echo.HandlerFunc {
	return func(c echo.Context) error {
		opts := scalekit.AuthorizationURLOptions{
			OrganizationID: hint(c, "organization_id"),
			ConnectionID:   hint(c, "connection_id"),
			LoginHint:      hint(c, "login_hint"),
			DomainHint:     hint(c, "domain_hint"),
			Prompt:         prompt,
		}
		if prompt == "" {
			switch p := c.QueryParam("prompt"); p {
			case "login", "select_account":
				opts.Prompt = p
			}
		}
		state, nonce, verifier := scalekit.RandomString(), scalekit.RandomString(), scalekit.NewPKCEVerifier()
		opts.State, opts.Nonce, opts.CodeChallenge = state, nonce, scalekit.S256Challenge(verifier)

		target, err := auth.GetAuthorizationURL(cfg.RedirectURL(), opts)
		if err != nil {
			return loginError(c, logger, "identity_provider_unavailable", err)
		}
		pending := session.PendingLogin{Nonce: nonce, CodeVerifier: verifier, ReturnTo: safeReturnTo(c.QueryParam("returnTo"))}
		if err := sessions.StartLogin(c.Request().Context(), c.Response(), state, pending); err != nil {
			return loginError(c, logger, "session_store_unavailable", err)
		}
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return c.Redirect(http.StatusFound, target)
	}
}

// hint reads an optional pass-through parameter; anything long or odd is
// dropped rather than forwarded.
func hint(c echo.Context, name string) string {
	v := c.QueryParam(name)
	if len(v) > 256 || !utf8.ValidString(v) {
		return ""
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return ""
		}
	}
	return v
}

// handleCallback finishes a login. The state must be one of this browser's
// pending logins (a callback opened in another browser logs nobody in), and
// is spent before the code is.
func handleCallback(logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		pending, ok, err := sessions.TakePendingLogin(ctx, c.QueryParam("state"))
		if err != nil {
			return loginError(c, logger, "session_store_unavailable", err)
		}
		if providerErr := c.QueryParam("error"); providerErr != "" {
			code := "login_failed"
			if providerErr == "access_denied" {
				code = "access_denied"
			}
			logger.Warn("provider returned an error to the callback", "provider_error", truncate(providerErr, 64), "known_state", ok)
			return c.Redirect(http.StatusFound, "/login-error?error="+code)
		}
		if !ok {
			return loginError(c, logger, "invalid_state", errors.New("state is not a pending login of this browser"))
		}
		resp, err := auth.AuthenticateWithCode(ctx, c.QueryParam("code"), cfg.RedirectURL(),
			scalekit.AuthenticationOptions{CodeVerifier: pending.CodeVerifier, Nonce: pending.Nonce})
		if errors.Is(err, scalekit.ErrUnavailable) {
			return loginError(c, logger, "identity_provider_unavailable", err)
		}
		if err != nil {
			return loginError(c, logger, "login_failed", err)
		}
		rec := newRecord(resp, c.Request().UserAgent(), c.RealIP())
		if err := sessions.SignIn(ctx, c.Response(), rec); err != nil {
			return loginError(c, logger, "session_store_unavailable", err)
		}
		logger.Info("login", "sub", rec.User.ID, "sid", rec.User.SessionID, "org", rec.OrganizationID)
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return c.Redirect(http.StatusFound, pending.ReturnTo)
	}
}

func newRecord(resp *scalekit.AuthenticationResponse, userAgent, ip string) session.Record {
	rec := session.Record{
		User:                  resp.User,
		OrganizationID:        resp.User.OrganizationID,
		AccessToken:           resp.AccessToken,
		RefreshToken:          resp.RefreshToken,
		IDToken:               resp.IDToken,
		AccessTokenExpiresAt:  resp.ExpiresAt,
		RefreshTokenExpiresAt: resp.RefreshTokenExpiresAt,
		UserAgent:             truncate(userAgent, 256),
		IP:                    ip,
	}
	if cl := resp.Claims; cl != nil {
		rec.Roles, rec.Permissions = cl.Roles, cl.Permissions
		if cl.OrganizationID != "" {
			rec.OrganizationID = cl.OrganizationID
		}
		if rec.User.SessionID == "" {
			rec.User.SessionID = cl.SessionID
		}
	}
	return rec
}

// redirectErrorsToLoginError turns any error on a route a person opens (the
// session store down, a rate limit) into the login-error page, as the
// handlers themselves do: people get pages, not JSON.
func redirectErrorsToLoginError(logger *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err == nil || c.Response().Committed {
				return err
			}
			code := classify(err).code
			switch code {
			case "session_store_unavailable", "identity_provider_unavailable", "rate_limited":
			default:
				code = "login_failed"
			}
			return loginError(c, logger, code, err)
		}
	}
}

// loginError sends a person to the SPA's error page with a code of ours;
// nothing from the request is reflected. The cause goes to the log.
func loginError(c echo.Context, logger *slog.Logger, code string, cause error) error {
	logger.Warn("login failed", "code", code, "err", cause, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Redirect(http.StatusFound, "/login-error?error="+url.QueryEscape(code))
}

type logoutResponse struct {
	LogoutURL string `json:"logoutUrl"`
}

// handleLogout ends the session here and returns the environment's logout
// URL, which the SPA opens as a top-level navigation to end the Scalekit
// session too (a server-side call would not).
func handleLogout(logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store") // the URL carries the ID token
		c.Response().Header().Set("Clear-Site-Data", `"cache"`)        // pages cached while signed in
		logoutURL := "/"
		if rec, err := sessions.Current(ctx); err == nil {
			u, err := auth.GetLogoutURL(scalekit.LogoutURLOptions{
				IDTokenHint:           rec.IDToken,
				PostLogoutRedirectURI: cfg.BaseURL.String() + "/",
			})
			if err != nil {
				logger.Warn("no logout URL; ending the local session only", "err", err)
			} else {
				logoutURL = u
			}
			logger.Info("logout", "sub", rec.User.ID, "sid", rec.User.SessionID)
		}
		if err := sessions.SignOut(ctx, c.Response()); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, logoutResponse{LogoutURL: logoutURL})
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
