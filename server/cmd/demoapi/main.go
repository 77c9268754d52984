// Command demoapi runs the demo API on its own: a tiny product API that
// accepts only valid access tokens of one environment. Point the BFF at it
// with REMOTE_APIS=/api/demo=http://127.0.0.1:8082. (The zero-config server
// runs the same API in-process; this command is for a server that talks to a
// real Scalekit environment or to a standalone built-in provider.)
//
// Environment: SCALEKIT_ENVIRONMENT_URL (required; its /keys sign the
// tokens), SCALEKIT_ISSUER (default the environment URL), SCALEKIT_CLIENT_ID
// (required: the audience of the tokens, the BFF's client id) and
// DEMO_API_ADDR (default 127.0.0.1:8082). It stops gracefully on SIGINT or
// SIGTERM.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/demoapi"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demoapi:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.LoadDemoAPI(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	api, err := demoapi.New(ctx, demoapi.Config{Issuer: cfg.Issuer, KeysURL: cfg.KeysURL, Audience: cfg.Audience, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("DEMO_API_ADDR: cannot listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("demo API listening", "url", "http://"+ln.Addr().String(), "issuer", cfg.Issuer, "audience", cfg.Audience)
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
