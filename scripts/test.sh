#!/usr/bin/env bash
# Installs what the tests need and runs every test: Go (gofmt, vet,
# staticcheck; unit and integration tests against a real Redis, with the race
# detector; also the Docker image's -tags nodevidp build), the frontend
# checks, a start-up smoke test of the Docker image's binaries, and the
# Playwright end-to-end suite in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step() { printf '\n==> %s\n' "$*"; }

step "Redis at $REDIS_URL"
scripts/ensure-redis.sh

# The outage, failover and Sentinel tests start their own redis-server
# processes (primaries, replicas, and sentinels with redis-server --sentinel),
# also when the shared Redis above is elsewhere.
step "redis-server for the tests' own Redis processes"
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "test.sh: redis-server is missing: install Debian's redis-server package" >&2
    exit 1
  fi
fi
redis-server --version

step "Chromium at $CHROMIUM_PATH"
if [ ! -x "$CHROMIUM_PATH" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test.sh: Chromium is missing at $CHROMIUM_PATH: install Debian's chromium package or set CHROMIUM_PATH" >&2
    exit 1
  fi
fi
"$CHROMIUM_PATH" --version

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error

step "Frontend: types, unit tests, API types, build, bundle budget"
npm run test:frontend

step "Go: gofmt, vet, staticcheck (pinned in go.mod), tests (race detector, real Redis), each build"
unformatted="$(gofmt -l server)"
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt -l lists files to format (run gofmt -w server):" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./server/...
go tool staticcheck ./server/...
go test -race -count=1 ./server/...
# The Docker image's build leaves the built-in identity provider out.
go build -tags nodevidp ./server/...
go vet -tags nodevidp ./server/...
go tool staticcheck -tags nodevidp ./server/cmd/bff
go test -race -count=1 -tags nodevidp ./server/cmd/bff

step "Start-up smoke test of the Docker image's binaries (-tags nodevidp server, cmd/devidp)"
scripts/smoke.sh

step "End-to-end: Playwright in headless Chromium"
npm run test:e2e
