// Command bff runs the backend-for-frontend: the SPA, the login flow and the
// session API. With no SCALEKIT_ENVIRONMENT_URL it also runs the built-in
// development identity provider (built with -tags nodevidp, as in the Docker
// image, it has none and refuses to start), and with no REDIS_URL an
// in-memory store.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
