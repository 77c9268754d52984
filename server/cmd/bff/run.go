package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/logctx"
	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
	"github.com/example/scalekit-bff/server/internal/spa"
	"github.com/example/scalekit-bff/server/internal/tracing"
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

	tp, stopTracing, err := startTracing(ctx, getenv, logger)
	if err != nil {
		return err
	}
	defer stopTracing() // last: after the servers, so their spans are flushed

	idp, err := startDevIDP(ctx, cfg, logger, logs)
	if err != nil {
		return err
	}
	var idpErr chan error
	if idp != nil {
		idpErr = make(chan error, 1)
		go func() { idpErr <- idp.srv.ListenAndServe() }()
		defer idp.close() // after the listener: its webhook retries stop
		defer shutdown(idp.srv)
	}

	auth, err := scalekit.New(ctx, scalekit.Config{
		EnvironmentURL: cfg.ScalekitEnvironmentURL, Issuer: cfg.ScalekitIssuer,
		ClientID: cfg.ScalekitClientID, ClientSecret: cfg.ScalekitClientSecret, Logger: logger, Tracing: tp,
	})
	if err != nil {
		return fmt.Errorf("scalekit client: %w", err)
	}

	var m *metrics.Metrics // nil, and nothing recorded, without METRICS_ADDR
	if cfg.MetricsAddr != "" {
		m = metrics.New()
	}
	sessions, closeStore, err := newSessions(cfg, logger, logs, m, tp)
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

	// The request line skips slog's generic path (see WithAccessLog); it goes
	// to the same buffer, in the same format, as newLogger's handler.
	serverOpts := []web.Option{web.WithAccessLog(logs, cfg.Production()), web.WithMetrics(m), web.WithTracing(tp)}
	if idp != nil {
		serverOpts = append(serverOpts, web.WithRemoteAPIs(idp.remoteAPIs...))
	}
	app := spa.New()
	if !app.Built() {
		logger.Warn("the SPA is not built; / shows a placeholder (run npm ci && npm run build)")
	}

	srv := &http.Server{
		Handler:           web.NewServer(logger, cfg, sessions, auth, app, serverOpts...),
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
	if m != nil {
		msrv, err := serveMetrics(cfg.MetricsAddr, m, logger)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer shutdown(msrv)
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

// startTracing starts OpenTelemetry tracing when the OTEL_* variables name an
// OTLP endpoint; otherwise tp is nil and nothing is traced. stop flushes the
// spans still buffered, waiting at most 5 seconds.
func startTracing(ctx context.Context, getenv func(string) string, logger *slog.Logger) (tp trace.TracerProvider, stop func(), err error) {
	if !tracing.Enabled(getenv) {
		return nil, func() {}, nil
	}
	sdk, err := tracing.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	logger.Info("tracing on: spans go to the OTLP endpoint of the OTEL_* variables")
	return sdk, func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := sdk.Shutdown(ctx); err != nil {
			logger.Warn("could not flush the last spans", "err", err)
		}
	}, nil
}

// serveMetrics serves /metrics on a listener of its own (METRICS_ADDR).
func serveMetrics(addr string, m *metrics.Metrics, logger *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: cannot listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{Registry: m.Registry()}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	return srv, nil
}

func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// newLogger writes JSON in production and text otherwise; every line logged
// while serving a request carries its request id (logctx).
func newLogger(cfg config.Config, logs *logBuffer) *slog.Logger {
	if cfg.Production() {
		return slog.New(logctx.NewHandler(flushOnWarn{slog.NewJSONHandler(logs, nil), logs}))
	}
	return slog.New(logctx.NewHandler(flushOnWarn{slog.NewTextHandler(logs, nil), logs}))
}

func newSessions(cfg config.Config, logger *slog.Logger, stdout io.Writer, m *metrics.Metrics, tp trace.TracerProvider) (*session.Manager, func(), error) {
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
		Logger:  logger,
		Metrics: m,
		Tracing: tp,
	}
	if !cfg.Redis() {
		fmt.Fprint(stdout, banner("IN-MEMORY SESSION STORE",
			"REDIS_URL is not set: sessions live in this process only.",
			"They vanish on restart and are not shared between instances.",
			"Set REDIS_URL=redis://127.0.0.1:6379/0 to keep them in Redis."))
		logger.Warn("using the in-memory session store; set REDIS_URL for Redis")
		return session.NewMemory(opts), func() {}, nil
	}
	pool, failover, err := newPool(cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	opts.Failover = failover
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

// newPool connects to Redis: through the sentinels when
// REDIS_SENTINEL_ADDRS is set, else at REDIS_URL.
func newPool(cfg config.Config, logger *slog.Logger) (*redis.Pool, *session.Failover, error) {
	if cfg.RedisSentinelAddrs == nil {
		pool, err := session.NewPool(cfg.RedisURL, session.PoolOptions{})
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		return pool, nil, nil
	}
	pool, failover, err := session.NewSentinelPool(cfg.RedisURL, session.Sentinel{
		Addrs: cfg.RedisSentinelAddrs, Master: cfg.RedisSentinelMaster, Password: cfg.RedisSentinelPassword,
	}, session.PoolOptions{Logger: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_SENTINEL_ADDRS: %w", err)
	}
	logger.Info("Redis through Sentinel", "sentinels", len(cfg.RedisSentinelAddrs), "master", cfg.RedisSentinelMaster)
	return pool, failover, nil
}

// devIDP is the built-in identity provider, run beside the server when
// SCALEKIT_ENVIRONMENT_URL is unset (see startDevIDP).
type devIDP struct {
	srv   *http.Server // not yet listening
	close func()       // ends its background deliveries, once srv has stopped
	// remoteAPIs route /api/demo to the demo API when REMOTE_APIS is unset.
	remoteAPIs []config.RemoteAPI
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
