//go:build nodevidp

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/example/scalekit-bff/server/internal/config"
)

// startDevIDP refuses to start without a Scalekit environment: a build with
// -tags nodevidp, such as the Docker image's, leaves the built-in identity
// provider out, so that no production binary carries test users who sign in
// without a password.
func startDevIDP(_ context.Context, cfg config.Config, _ *slog.Logger, _ io.Writer) (*devIDP, error) {
	if cfg.DevIDP == nil {
		return nil, nil
	}
	return nil, errors.New("configuration:\nSCALEKIT_ENVIRONMENT_URL: want your Scalekit environment URL, got nothing " +
		"(this server is built without the built-in identity provider, -tags nodevidp; set SCALEKIT_ENVIRONMENT_URL, SCALEKIT_CLIENT_ID and SCALEKIT_CLIENT_SECRET)")
}
