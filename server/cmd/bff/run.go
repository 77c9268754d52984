package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/devidp"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
	"github.com/example/scalekit-bff/server/internal/spa"
	"github.com/example/scalekit-bff/server/internal/web"
)

// run starts the server and blocks until ctx ends, then shuts down gracefully.
// A configuration error is returned before anything starts.
func run(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	// The banners go through the log buffer too, so they keep their place
	// among the log lines.
	logs := newLogBuffer(stdout)
	flushCtx, stopFlushing := context.WithCancel(context.WithoutCancel(ctx))
	flushed := make(chan struct{})
	go func() { logs.run(flushCtx); close(flushed) }()
	defer func() { stopFlushing(); <-flushed }()
	logger := newLogger(cfg, logs)

	envURL, clientID, clientSecret := cfg.ScalekitEnvironmentURL, cfg.ScalekitClientID, cfg.ScalekitClientSecret
	var idpErr chan error
	if cfg.UseDevIDP() {
		if cfg.ScalekitWebhookSecret == "" {
			// The built-in provider signs its webhooks with a secret it shares
			// with this app only; it lives as long as the process.
			cfg.ScalekitWebhookSecret = newWebhookSecret()
		}
		var idp *http.Server
		var provider *devidp.Server
		idp, provider, envURL, clientID, clientSecret, err = startDevIDP(cfg, getenv, logger, logs)
		if err != nil {
			return err
		}
		idpErr = make(chan error, 1)
		go func() { idpErr <- idp.ListenAndServe() }()
		defer provider.Close() // after the listener: its webhook retries stop
		defer shutdown(idp)
		// From here on the built-in provider is the environment (the CSP's
		// form-action names its origin, for one).
		cfg.ScalekitEnvironmentURL = envURL
	}

	auth, err := scalekit.New(ctx, scalekit.Config{EnvironmentURL: envURL, Issuer: cfg.ScalekitIssuer, ClientID: clientID, ClientSecret: clientSecret, Logger: logger})
	if err != nil {
		return fmt.Errorf("scalekit client: %w", err)
	}

	sessions, closeStore, err := newSessions(cfg, logger, logs)
	if err != nil {
		return err
	}
	defer closeStore()
	sessions.SetRefresher(auth, session.RefreshOptions{Skew: cfg.TokenRefreshSkew})
	// Devices signed out here are revoked at Scalekit by a worker that lives
	// as long as the server (and stops before the store closes). The session
	// cache serves only while its Redis invalidation connections are up, which
	// RunCache keeps up (it does nothing without a cache).
	sessions.SetRevoker(auth, session.RevokeOptions{})
	workerCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	workers.Go(func() { sessions.RunRevocations(workerCtx) })
	workers.Go(func() { sessions.RunCache(workerCtx) })
	defer func() { stopWorkers(); workers.Wait() }()
	// Organization names and the organizations to switch to come from the
	// environment's REST API at sign-in and refresh (Scalekit's tokens carry
	// neither).
	sessions.SetDirectory(auth, 0)

	app := spa.New()
	if !app.Built() {
		logger.Warn("the SPA is not built; / shows a placeholder (run npm ci && npm run build)")
	}

	srv := &http.Server{
		Handler:           web.NewServer(logger, cfg, sessions, auth, app),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: cannot listen on %s: %w", cfg.ListenAddr, err)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "url", cfg.BaseURL.String(), "env", cfg.Env)
	fmt.Fprintf(logs, "\n  BFF ready at %s\n\n", cfg.BaseURL)
	logs.Flush()
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
	case err := <-srvErr:
		return err
	case err := <-idpErr:
		return fmt.Errorf("development identity provider: %w", err)
	}
	logger.Info("shutting down")
	shutdown(srv)
	return nil
}

func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

func newLogger(cfg config.Config, logs *logBuffer) *slog.Logger {
	if cfg.Production() {
		return slog.New(flushOnWarn{slog.NewJSONHandler(logs, nil), logs})
	}
	return slog.New(flushOnWarn{slog.NewTextHandler(logs, nil), logs})
}

func newSessions(cfg config.Config, logger *slog.Logger, stdout io.Writer) (*session.Manager, func(), error) {
	opts := session.Options{
		IdleTimeout:  cfg.SessionIdleTimeout,
		Lifetime:     cfg.SessionLifetime,
		CookieSecure: cfg.CookieSecure,
		KeyPrefix:    cfg.RedisKeyPrefix,
		Cache: session.CacheOptions{
			Off:        !cfg.SessionCache,
			MaxEntries: cfg.SessionCacheMaxEntries,
			MaxAge:     cfg.SessionCacheMaxAge,
		},
		Logger: logger,
	}
	if cfg.RedisURL == "" {
		fmt.Fprint(stdout, banner("IN-MEMORY SESSION STORE",
			"REDIS_URL is not set: sessions live in this process only.",
			"They vanish on restart and are not shared between instances.",
			"Set REDIS_URL=redis://127.0.0.1:6379/0 to keep them in Redis."))
		logger.Warn("using the in-memory session store; set REDIS_URL for Redis")
		return session.NewMemory(opts), func() {}, nil
	}
	pool, err := session.NewPool(cfg.RedisURL, session.PoolOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// Redis may be down now: the server starts anyway, /readyz says so, and
	// requests recover by themselves when it comes back.
	pingCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sessions := session.NewRedis(pool, opts)
	if err := sessions.Ping(pingCtx); err != nil {
		logger.Error("Redis does not answer yet; requests with a session get 503 until it does", "err", err)
	}
	return sessions, func() { _ = pool.Close() }, nil
}

// startDevIDP builds the built-in identity provider with this app registered
// as its client, and returns its server (not yet listening), the provider,
// and how to reach it. The provider sends its webhooks to this app
// (DEV_IDP_WEBHOOK_URL, default APP_BASE_URL/webhooks/scalekit), signed with
// the app's webhook secret.
func startDevIDP(cfg config.Config, getenv func(string) string, logger *slog.Logger, stdout io.Writer) (*http.Server, *devidp.Server, string, string, string, error) {
	if cfg.Production() {
		return nil, nil, "", "", "", errors.New("SCALEKIT_ENVIRONMENT_URL: required when APP_ENV=production")
	}
	opts, err := devidp.OptionsFromEnv(func(k string) string {
		switch k {
		case "SCALEKIT_WEBHOOK_SECRET":
			return cfg.ScalekitWebhookSecret
		case "APP_BASE_URL":
			return cfg.BaseURL.String()
		}
		return getenv(k)
	})
	if err != nil {
		return nil, nil, "", "", "", fmt.Errorf("configuration:\n%w", err)
	}
	base := cfg.BaseURL.String()
	client := &opts.Config.Clients[0]
	client.RedirectURIs = []string{cfg.RedirectURL()}
	client.PostLogoutRedirectURIs = []string{base + "/"}
	if getenv("DEV_IDP_BACKCHANNEL_LOGOUT_URI") == "" {
		client.BackchannelLogoutURI = base + "/auth/backchannel-logout"
	}
	if getenv("DEV_IDP_INITIATE_LOGIN_URL") == "" {
		client.InitiateLoginURI = base + "/auth/login"
	}
	opts.Config.Logger = logger.With("component", "devidp")
	if err := devidp.CheckAddr(opts.Addr, opts.AllowNonLoopback); err != nil {
		return nil, nil, "", "", "", fmt.Errorf("DEV_IDP_ADDR: %w", err)
	}
	idp, err := devidp.New(opts.Config)
	if err != nil {
		return nil, nil, "", "", "", fmt.Errorf("development identity provider: %w", err)
	}
	var users []string
	for _, u := range idp.Users() {
		users = append(users, fmt.Sprintf("%s (%s)", u.Email, u.Name))
	}
	fmt.Fprint(stdout, banner("DEVELOPMENT IDENTITY PROVIDER",
		"SCALEKIT_ENVIRONMENT_URL is not set: a built-in, Scalekit-compatible",
		"identity provider runs in this process at "+idp.Issuer(),
		"Test users: "+strings.Join(users, ", "),
		"Admin page (end sessions, change roles, remove members): "+idp.Issuer()+"/dev/admin",
		"Never use it in production; set SCALEKIT_ENVIRONMENT_URL, _CLIENT_ID, _CLIENT_SECRET."))
	logger.Warn("development identity provider running", "issuer", idp.Issuer())
	srv := &http.Server{Addr: opts.Addr, Handler: idp, ReadHeaderTimeout: 10 * time.Second}
	return srv, idp, idp.Issuer(), client.ID, client.Secret, nil
}

// newWebhookSecret returns a Standard Webhooks secret: whsec_ and 32 random
// bytes in base64.
func newWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails; see crypto/rand.Read
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

func banner(title string, lines ...string) string {
	var b strings.Builder
	bar := strings.Repeat("=", 78)
	fmt.Fprintf(&b, "\n%s\n  %s\n", bar, title)
	for _, l := range lines {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(&b, "%s\n\n", bar)
	return b.String()
}
