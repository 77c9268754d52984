package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// handleLogin serves the Initiate login URL (GET /auth/login) and, with
// prompt "create", /auth/signup. In order: an error that the environment
// sends goes to /login-error; an idp_initiated_login token starts the login
// it asks for; anything else starts a login with the query's parameters
// forwarded (see authorizeOptions).
func handleLogin(logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client, prompt string) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := c.QueryParams()
		if q.Has("error") {
			return loginError(c, logger, newError(providerErrorCode(q.Get("error")),
				fmt.Errorf("the environment sent the Initiate login URL the error %q", truncate(q.Get("error"), 64))))
		}
		if q.Has("idp_initiated_login") {
			return startIdpInitiatedLogin(c, logger, cfg, sessions, auth, q.Get("idp_initiated_login"))
		}
		opts, err := authorizeOptions(q, prompt)
		if err != nil {
			return loginError(c, logger, newError(codeBadRequest, err))
		}
		return startLogin(c, logger, cfg, sessions, auth, opts, safeReturnTo(q.Get("returnTo")))
	}
}

// startLogin keeps state, nonce and PKCE verifier in this browser's session
// and sends the browser to the hosted login page. A prompt=none login is
// remembered as silent (see handleCallback).
func startLogin(c echo.Context, logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client, opts scalekit.AuthorizationURLOptions, returnTo string) error {
	state, nonce, verifier := scalekit.RandomString(), scalekit.RandomString(), scalekit.NewPKCEVerifier()
	opts.State, opts.Nonce, opts.CodeChallenge = state, nonce, scalekit.S256Challenge(verifier)

	target, err := auth.GetAuthorizationURL(cfg.RedirectURL(), opts)
	switch {
	case errors.Is(err, scalekit.ErrUnavailable):
		return loginError(c, logger, err)
	case err != nil:
		return loginError(c, logger, newError(codeBadRequest, err))
	}
	pending := session.PendingLogin{Nonce: nonce, CodeVerifier: verifier, ReturnTo: returnTo, Silent: opts.Prompt == "none"}
	if err := sessions.StartLogin(c.Request().Context(), c.Response(), state, pending); err != nil {
		return loginError(c, logger, err)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Redirect(http.StatusFound, target)
}

// handleCallback finishes a login. The state must be one of this browser's
// pending logins (a callback opened in another browser logs nobody in), and
// is spent before the code is. An idp_initiated_login without a state is
// handled as at the Initiate login URL: Scalekit's guide delivers it here.
func handleCallback(logger *slog.Logger, cfg config.Config, sessions *session.Manager, auth scalekit.Client) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		q := c.QueryParams()
		if q.Get("state") == "" && q.Has("idp_initiated_login") {
			return startIdpInitiatedLogin(c, logger, cfg, sessions, auth, q.Get("idp_initiated_login"))
		}
		pending, ok, err := sessions.TakePendingLogin(ctx, q.Get("state"))
		if err != nil {
			return loginError(c, logger, err)
		}
		if providerErr := q.Get("error"); providerErr != "" {
			if ok && pending.Silent && silentSignInErrors[providerErr] {
				// Not signed in at the provider: the silent sign-in simply did
				// not happen.
				c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
				return c.Redirect(http.StatusFound, pending.ReturnTo)
			}
			logger.WarnContext(ctx, "provider returned an error to the callback", "provider_error", truncate(providerErr, 64), "known_state", ok)
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			return c.Redirect(http.StatusFound, loginErrorURL(providerErrorCode(providerErr)))
		}
		if !ok {
			return loginError(c, logger, newError(codeInvalidState, errors.New("state is not a pending login of this browser")))
		}
		resp, err := auth.AuthenticateWithCode(ctx, c.QueryParam("code"), cfg.RedirectURL(),
			scalekit.AuthenticationOptions{CodeVerifier: pending.CodeVerifier, Nonce: pending.Nonce})
		if err != nil {
			return loginError(c, logger, err) // identity_provider_unavailable, else login_failed
		}
		rec := session.NewRecord(resp, truncate(c.Request().UserAgent(), 256), c.RealIP())
		if err := sessions.SignIn(ctx, c.Response(), rec); err != nil {
			return loginError(c, logger, err)
		}
		logger.InfoContext(ctx, "login", "sub", rec.User.ID, "sid", rec.User.SessionID, "org", rec.OrganizationID)
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return c.Redirect(http.StatusFound, pending.ReturnTo)
	}
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
			return loginError(c, logger, err)
		}
	}
}

// loginError sends a person to the SPA's error page with err's code, as an
// API answer would carry it (classify), when that page knows the code, and
// login_failed otherwise; nothing from the request is reflected. err goes to
// the log.
func loginError(c echo.Context, logger *slog.Logger, err error) error {
	code := classify(err).code
	if codes[code].use&onLoginPage == 0 {
		code = codeLoginFailed
	}
	logger.WarnContext(c.Request().Context(), "login failed", "code", code, "err", err)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Redirect(http.StatusFound, loginErrorURL(code))
}

func loginErrorURL(code errorCode) string {
	return "/login-error?error=" + url.QueryEscape(string(code))
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
				logger.WarnContext(ctx, "no logout URL; ending the local session only", "err", err)
			} else {
				logoutURL = u
			}
			logger.InfoContext(ctx, "logout", "sub", rec.User.ID, "sid", rec.User.SessionID)
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
