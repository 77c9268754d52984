#!/usr/bin/env bash
# Measures the server against plain Echo on this machine, in one run:
#   floor     GET / of server/cmd/benchfloor (Echo answering "hello", no middleware)
#   healthz   GET /healthz of the server (the whole middleware stack, nothing else)
#   me        GET /api/me of a signed-in session (the default configuration:
#             Redis store, session cache on, idle timeout on, request log at info)
# in interleaved rounds of wrk, and prints for each round and target the
# requests per second, the ratio to the floor of the same round, p50 and p99
# latency, the server's CPU time per request (/proc/<pid>/stat) and the Redis
# commands per request (INFO commandstats of a private redis-server).
#
# Not part of scripts/test.sh: timings belong in a benchmark, never in a test.
#
#   scripts/bench.sh                       3 rounds of 10 s, 32 connections
#   BENCH_ROUNDS=5 BENCH_DURATION=20s scripts/bench.sh
#
# Ports: BENCH_PORT (default 18660) and the three after it.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${BENCH_ROUNDS:-3}"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-2}"
port="${BENCH_PORT:-18660}"
floor_port=$port app_port=$((port + 1)) idp_port=$((port + 2)) redis_port=$((port + 3))

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench: installing wrk (Debian's package)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "bench: wrk is missing: apt-get install wrk" >&2
    exit 1
  fi
fi
for tool in redis-server redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench: building the server and the floor" >&2
go build -o "$work/bff" ./server/cmd/bff
go build -o "$work/floor" ./server/cmd/benchfloor

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" &
pids+=($!)
"$work/floor" "127.0.0.1:$floor_port" 2>"$work/floor.log" &
floor_pid=$!; pids+=($floor_pid)
env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
  LISTEN_ADDR="127.0.0.1:$app_port" APP_BASE_URL="http://127.0.0.1:$app_port" COOKIE_SECURE=false \
  DEV_IDP_ADDR="127.0.0.1:$idp_port" REDIS_URL="redis://127.0.0.1:$redis_port/0" \
  "$work/bff" >"$work/bff.log" 2>&1 &
bff_pid=$!; pids+=($bff_pid)

wait_for() {
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: $1 did not answer" >&2; cat "$work/bff.log" >&2; exit 1
}
wait_for "http://127.0.0.1:$floor_port/"
wait_for "http://127.0.0.1:$app_port/readyz"

# Sign usr_bob in through the built-in provider's hosted page, as a browser
# would: /auth/login → authorize → the page's form → the callback.
jar="$work/cookies"
authorize=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$app_port/auth/login")
page=$(curl -s -c "$jar" -b "$jar" "$authorize")
unescape() { sed -e 's/&#34;/"/g; s/&#39;/'"'"'/g; s/&#43;/+/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'; }
action=$(grep -o '<form method="post" action="[^"]*"' <<<"$page" | head -1 | sed 's/.*action="//; s/"$//' | unescape)
form=(--data-urlencode "action=user" --data-urlencode "user=usr_bob")
declare -A seen=([action]=1 [user]=1) # the page has a form per user, with the same fields
while IFS= read -r input; do
  name=$(sed 's/.*name="\([^"]*\)".*/\1/' <<<"$input")
  value=$(sed 's/.*value="\([^"]*\)".*/\1/' <<<"$input" | unescape)
  [ -n "${seen[$name]:-}" ] || form+=(--data-urlencode "$name=$value")
  seen[$name]=1
done < <(grep -o '<input type="hidden" name="[^"]*" value="[^"]*">' <<<"$page")
case "$action" in http*) ;; *) action="http://127.0.0.1:$idp_port$action" ;; esac
callback=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "${form[@]}" "$action")
[ -n "$callback" ] || { echo "bench: the hosted login page did not redirect to the callback" >&2; exit 1; }
curl -s -c "$jar" -b "$jar" -o /dev/null "$callback"
sid=$(awk '$6 == "sid" { print $7 }' "$jar")
[ -n "$sid" ] || { echo "bench: signing in failed" >&2; cat "$work/bff.log" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sid=$sid" "http://127.0.0.1:$app_port/api/me")
[ "$code" = 200 ] || { echo "bench: /api/me = $code after signing in" >&2; exit 1; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
redis_calls() {
  redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' |
    awk -F'[=,]' '/^cmdstat_/ { n += $2 } END { print n + 0 }'
}
ticks_per_second=$(getconf CLK_TCK)

# run TARGET PID URL [wrk args...]: one wrk run, one result line.
run() {
  local name=$1 pid=$2 url=$3; shift 3
  local cpu0 cpu1 calls0 calls1 out
  cpu0=$(cpu_ticks "$pid"); calls0=$(redis_calls)
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" "$url")
  cpu1=$(cpu_ticks "$pid"); calls1=$(redis_calls)
  awk -v name="$name" -v cpu=$((cpu1 - cpu0)) -v calls=$((calls1 - calls0 - 1)) -v hz="$ticks_per_second" '
    /requests in/ { requests = $1 }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = $2 }
    /^ +99%/ { p99 = $2 }
    /Non-2xx/ { bad = $NF }
    END { printf "%s %s %s %s %.1f %.4f %s\n", name, rps, p50, p99, cpu * 1e6 / hz / requests, calls / requests, bad + 0 }
  ' <<<"$out"
}

echo "bench: $rounds rounds of $duration per target, $connections connections, $threads wrk threads, $(nproc) cores" >&2
results="$work/results"
for r in $(seq 1 "$rounds"); do
  run floor "$floor_pid" "http://127.0.0.1:$floor_port/" | sed "s/^/$r /" >>"$results"
  run healthz "$bff_pid" "http://127.0.0.1:$app_port/healthz" | sed "s/^/$r /" >>"$results"
  run me "$bff_pid" "http://127.0.0.1:$app_port/api/me" -H "Cookie: sid=$sid" | sed "s/^/$r /" >>"$results"
done

awk '
  { round = $1; name = $2; rps[round, name] = $3; line[NR] = $0 }
  END {
    printf "%-5s %-8s %10s %8s %9s %9s %12s %12s %6s\n", "round", "target", "req/s", "x floor", "p50", "p99", "cpu us/req", "redis/req", "non2xx"
    for (i = 1; i <= NR; i++) {
      split(line[i], f, " ")
      ratio = f[3] / rps[f[1], "floor"]
      sum[f[2]] += ratio; n[f[2]]++
      printf "%-5s %-8s %10.0f %8.2f %9s %9s %12s %12s %6s\n", f[1], f[2], f[3], ratio, f[4], f[5], f[6], f[7], f[8]
    }
    printf "mean ratio to the floor: healthz %.2fx (goal >= 0.85x), me %.2fx (goal >= 0.45x)\n", sum["healthz"] / n["healthz"], sum["me"] / n["me"]
  }
' "$results"
echo "Redis commands of the whole run, by name:"
redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ { printf "  %s %s", substr($1, 9), $3 } END { print "" }'
if grep -q "session cache off" "$work/bff.log"; then
  echo "the server logged that its session cache went off:"
  grep "session cache" "$work/bff.log"
fi
