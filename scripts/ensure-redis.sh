#!/usr/bin/env bash
# Makes sure a Redis answers at REDIS_URL's host and port, starting a local
# redis-server (nothing kept on disk) when none does.
set -euo pipefail
url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%:*}"; port="${hostport##*:}"
[ "$host" = "$port" ] && port=6379

ping() { command -v redis-cli >/dev/null && redis-cli -h "$host" -p "$port" ping 2>/dev/null | grep -q PONG; }

if ping; then echo "Redis answers at $host:$port"; exit 0; fi
case "$host" in 127.0.0.1|localhost) ;; *) echo "ensure-redis: Redis at $host:$port does not answer" >&2; exit 1;; esac
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "ensure-redis: no Redis answers and redis-server is not installed" >&2; exit 1
  fi
fi
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --dir "${TMPDIR:-/tmp}" --logfile "${TMPDIR:-/tmp}/redis-$port.log"
for _ in $(seq 1 50); do ping && { echo "started redis-server on $port"; exit 0; }; sleep 0.1; done
echo "ensure-redis: redis-server did not start" >&2; exit 1
