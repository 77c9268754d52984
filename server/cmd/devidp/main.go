// Command devidp runs the development identity provider on its own, for
// docker-compose and the end-to-end tests. It is configured by the DEV_IDP_*
// variables that config.LoadDevIDP reads, refuses to start when
// APP_ENV=production, listens only on loopback unless
// DEV_IDP_ALLOW_NON_LOOPBACK=true, and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
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
	"github.com/example/scalekit-bff/server/internal/devidp"
	"github.com/example/scalekit-bff/server/internal/devidpconfig"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devidp:", err)
		os.Exit(1)
	}
}

const usage = `Usage: devidp

Runs the development identity provider (never in production). Environment:
  DEV_IDP_ADDR                       listen address (default 127.0.0.1:8081)
  DEV_IDP_ALLOW_NON_LOOPBACK         "true" to listen on a non-loopback address
  DEV_IDP_ISSUER                     issuer URL (default http://<addr>)
  DEV_IDP_ACCESS_TOKEN_TTL           default 5m
  DEV_IDP_ID_TOKEN_TTL               default 1h
  DEV_IDP_REFRESH_TOKEN_TTL          default 720h
  DEV_IDP_CLIENT_ID                  default dev-client
  DEV_IDP_CLIENT_SECRET              default dev-secret
  DEV_IDP_REDIRECT_URIS              comma-separated (default http://localhost:8080/auth/callback)
  DEV_IDP_POST_LOGOUT_REDIRECT_URIS  comma-separated (default http://localhost:8080/)
  DEV_IDP_BACKCHANNEL_LOGOUT_URI     where to POST logout tokens (default none)
  DEV_IDP_INITIATE_LOGIN_URL         the app's Initiate login URL (default /auth/login at the first redirect URI's origin)
  DEV_IDP_WEBHOOK_URL                where to send Scalekit-shaped webhooks
                                     (default APP_BASE_URL/webhooks/scalekit when
                                     SCALEKIT_WEBHOOK_SECRET is set; else none)
  SCALEKIT_WEBHOOK_SECRET            the app's whsec_ secret, to sign them
  APP_BASE_URL                       the app's origin, for the default above
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("devidp", flag.ContinueOnError)
	flags.SetOutput(stdout)
	flags.Usage = func() { fmt.Fprint(stdout, usage) }
	if err := flags.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; configure with DEV_IDP_* variables (see -h)", flags.Args())
	}
	d, err := config.LoadDevIDP(getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", d.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	// The listener's own address, which matters for port 0.
	idp, err := devidpconfig.New(d, d.IssuerAt(ln.Addr().String()), logger)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, idp.Banner())
	return serve(ctx, logger, ln, idp)
}

// serve runs the provider until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, logger *slog.Logger, ln net.Listener, idp *devidp.Server) error {
	srv := &http.Server{
		Handler:           idp,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("development identity provider listening", "addr", ln.Addr().String(), "issuer", idp.Issuer())
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	idp.Close() // webhook retries stop; a delivery under way finishes
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	logger.Info("development identity provider stopped")
	return nil
}
