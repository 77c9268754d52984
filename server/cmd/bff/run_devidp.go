//go:build !nodevidp

package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/devidpconfig"
)

// startDevIDP builds the built-in identity provider that cfg.DevIDP
// describes, with this app as its client, and announces it loudly; nil when
// the server uses a Scalekit environment. A build with -tags nodevidp leaves
// the provider out (see run_nodevidp.go).
func startDevIDP(cfg config.Config, logger *slog.Logger, stdout io.Writer) (*devIDP, error) {
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
	return &devIDP{srv: srv, close: idp.Close}, nil
}
