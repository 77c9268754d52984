#!/usr/bin/env bash
# Starts what the Docker image and docker-compose.yml run, the way they run
# it: the server built with -tags nodevidp (as the Dockerfile builds it) and
# the built-in identity provider on its own (cmd/devidp, the devidp service),
# both with .env.example's values on ports of their own. Checks that the
# server carries no provider and refuses to start without an environment,
# then what a user sees first: /healthz 200, /readyz 200, /api/me 401 JSON,
# the SPA at /, and a sign-in that the provider accepts.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${SMOKE_PORT:-18180}"; idp=$((port + 1))
dir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "smoke: $*" >&2; for log in "$dir"/*.log; do [ -f "$log" ] && { echo "--- $log" >&2; cat "$log" >&2; }; done; exit 1; }

go build -tags nodevidp -o "$dir/bff" ./server/cmd/bff
go build -o "$dir/devidp" ./server/cmd/devidp

# The image's binary: no provider in it, and no start without an environment.
if go list -deps -tags nodevidp ./server/cmd/bff | grep -q '/internal/devidp'; then
  fail "go list -deps -tags nodevidp ./server/cmd/bff names a devidp package"
fi
if go tool nm "$dir/bff" | grep -q '/internal/devidp'; then
  fail "the -tags nodevidp binary contains devidp symbols"
fi
status=0
env -i PATH="$PATH" HOME="${HOME:-/tmp}" LISTEN_ADDR="127.0.0.1:$port" timeout 20 "$dir/bff" >"$dir/refusal.log" 2>&1 || status=$?
[ "$status" = 1 ] || fail "the -tags nodevidp binary without SCALEKIT_ENVIRONMENT_URL exited $status; want 1"
grep -q 'SCALEKIT_ENVIRONMENT_URL: want your Scalekit environment URL' "$dir/refusal.log" || fail "the refusal does not name SCALEKIT_ENVIRONMENT_URL"

# .env.example's values, with its ports moved and its listeners on loopback.
settings() {
  grep -E '^[A-Z_]+=' .env.example | grep -vE '^(COMPOSE_PROFILES|REDIS_URL)=' |
    sed -e "s/8080/$port/g; s/8081/$idp/g; s/0\.0\.0\.0/127.0.0.1/g"
}
# shellcheck disable=SC2046 # one word per setting, as env_file passes them
env -i PATH="$PATH" HOME="${HOME:-/tmp}" $(settings) "$dir/devidp" >"$dir/devidp.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$idp/.well-known/openid-configuration" >/dev/null 2>&1 && break; sleep 0.1; done
# shellcheck disable=SC2046
env -i PATH="$PATH" HOME="${HOME:-/tmp}" $(settings) REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}" \
  "$dir/bff" >"$dir/bff.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz did not answer 200"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz"); [ "$code" = 200 ] || fail "/readyz = $code"
body=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/api/me")
case "$body" in *'"error":"unauthenticated"'*' 401') ;; *) fail "/api/me = $body";; esac
curl -fsS "http://127.0.0.1:$port/" | grep -q '<div id="root">' || fail "/ does not serve the SPA"
authorize=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$port/auth/login")
case "$authorize" in "http://localhost:$idp/oauth/authorize?"*) ;; *) fail "/auth/login redirects to $authorize";; esac
code=$(curl -s -o /dev/null -w '%{http_code}' "$authorize"); [ "$code" = 200 ] || fail "the provider answered the app's authorize request with $code"
if grep -q "DEVELOPMENT IDENTITY PROVIDER" "$dir/bff.log"; then fail "the -tags nodevidp server announced a built-in provider"; fi
echo "smoke: -tags nodevidp server without a provider (refuses to start without an environment); with cmd/devidp:" \
  "/healthz 200, /readyz 200, /api/me 401 unauthenticated, SPA served, sign-in page 200"
