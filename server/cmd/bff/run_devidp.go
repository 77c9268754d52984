//go:build !nodevidp

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/demoapi"
	"github.com/example/scalekit-bff/server/internal/devidpconfig"
)

// startDevIDP builds the built-in identity provider that cfg.DevIDP
// describes, with this app as its client, and announces it loudly; nil when
// the server uses a Scalekit environment. Without REMOTE_APIS it also starts
// the demo API and routes /api/demo to it. A build with -tags nodevidp
// leaves both out (see run_nodevidp.go).
func startDevIDP(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer) (*devIDP, error) {
	if cfg.DevIDP == nil {
		return nil, nil
	}
	d := *cfg.DevIDP
	idp, err := devidpconfig.New(d, d.Issuer, logger.With("component", "devidp"))
	if err != nil {
		return nil, fmt.Errorf("development identity provider: %w", err)
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
	srv := &http.Server{Addr: d.Addr, Handler: idp, ReadHeaderTimeout: 10 * time.Second}
	dev := &devIDP{srv: srv, close: idp.Close}
	if len(cfg.RemoteAPIs) == 0 {
		demoURL, stopDemo, err := startDemoAPI(ctx, idp.Issuer(), d.ClientID, logger, stdout)
		if err != nil {
			idp.Close()
			return nil, err
		}
		dev.close = func() { stopDemo(); idp.Close() }
		dev.remoteAPIs = []config.RemoteAPI{{Prefix: "/api/demo", Upstream: demoURL}}
	}
	return dev, nil
}

// startDemoAPI serves the demo API in-process on a free loopback port, for
// the zero-config run to route /api/demo to, and returns its URL and how to
// stop it. It accepts the built-in provider's access tokens for clientID.
func startDemoAPI(ctx context.Context, issuer, clientID string, logger *slog.Logger, stdout io.Writer) (*url.URL, func(), error) {
	api, err := demoapi.New(ctx, demoapi.Config{Issuer: issuer, Audience: clientID, Logger: logger.With("component", "demoapi")})
	if err != nil {
		return nil, nil, fmt.Errorf("demo API: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("demo API: %w", err)
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	u := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	fmt.Fprint(stdout, banner("DEMO API",
		"REMOTE_APIS is not set: the SPA calls a demo API through the BFF at /api/demo",
		"(GET /api/demo/hello, /api/demo/events), served in-process at "+u.String()+".",
		"It accepts only a valid access token; set REMOTE_APIS to route your own APIs."))
	logger.Info("demo API running", "url", u.String(), "prefix", "/api/demo")
	return u, func() { shutdown(srv) }, nil
}
