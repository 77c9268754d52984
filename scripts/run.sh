#!/usr/bin/env bash
# Builds the SPA and the server, then runs the server. With no configuration
# it runs the built-in identity provider and an in-memory session store.
# The Dockerfile performs the same steps (npm ci, npm run build, go build).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null || { echo "run.sh: Go 1.26 is required (https://go.dev/dl/)" >&2; exit 1; }
if command -v npm >/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  npm run build
else
  echo "run.sh: npm not found: serving the API with a placeholder page instead of the SPA" >&2
fi
go build -o bin/bff ./server/cmd/bff
exec ./bin/bff "$@"
