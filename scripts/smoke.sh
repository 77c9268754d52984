#!/usr/bin/env bash
# Starts the server binary the way the README and docker-compose do (same
# binary, same variables, .env.example's values) and checks what a user sees
# first: /healthz 200, /readyz 200, /api/me and the demo API's route 401
# JSON, the SPA at /.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/bff ./server/cmd/bff

port="${SMOKE_PORT:-18180}"; idp=$((port + 1))
log="$(mktemp)"
env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
  $(grep -E '^[A-Z_]+=' .env.example | grep -vE '^(LISTEN_ADDR|APP_BASE_URL|DEV_IDP_ADDR|DEV_IDP_ISSUER|DEV_IDP_ALLOW_NON_LOOPBACK|REDIS_URL)=') \
  LISTEN_ADDR="127.0.0.1:$port" APP_BASE_URL="http://localhost:$port" \
  DEV_IDP_ADDR="127.0.0.1:$idp" REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}" \
  ./bin/bff >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
fail() { echo "smoke: $*" >&2; cat "$log" >&2; exit 1; }
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz did not answer 200"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz"); [ "$code" = 200 ] || fail "/readyz = $code"
body=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/api/me")
case "$body" in *'"error":"unauthenticated"'*' 401') ;; *) fail "/api/me = $body";; esac
body=$(curl -s -H 'X-CSRF: 1' -w ' %{http_code}' "http://127.0.0.1:$port/api/demo/hello")
case "$body" in *'"error":"unauthenticated"'*' 401') ;; *) fail "/api/demo/hello = $body";; esac
curl -fsS "http://127.0.0.1:$port/" | grep -q '<div id="root">' || fail "/ does not serve the SPA"
grep -q "DEVELOPMENT IDENTITY PROVIDER" "$log" || fail "no dev identity provider banner"
grep -q "DEMO API" "$log" || fail "no demo API banner"
echo "smoke: /healthz 200, /readyz 200, /api/me and /api/demo/hello 401 unauthenticated, SPA served"
