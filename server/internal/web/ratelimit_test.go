package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"

	"github.com/example/scalekit-bff/server/internal/redistest"
	"github.com/example/scalekit-bff/server/internal/session"
)

// A burst and no refill to speak of (one request an hour), so a count of
// allowed requests does not depend on how fast the test runs.
var tightLimit = session.Limit{Rate: 1.0 / 3600, Burst: 6}

// hit posts an empty back-channel logout: a limited route that answers 400
// at once when it lets the request through, without touching Redis.
func (e *testEnv) hit(base, clientIP string) int {
	e.t.Helper()
	r := e.do(e.browser(), http.MethodPost, base+"/auth/backchannel-logout", nil, "X-Forwarded-For", clientIP)
	if r.StatusCode != http.StatusBadRequest && r.StatusCode != http.StatusTooManyRequests {
		e.t.Fatalf("POST /auth/backchannel-logout = %d %s; want 400 or 429", r.StatusCode, r.body)
	}
	if r.StatusCode == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
		e.t.Error("429 without Retry-After")
	}
	return r.StatusCode
}

// allowed counts how many of n requests, alternating between the instances,
// got through.
func (e *testEnv) allowed(n int, clientIP string, instances ...string) int {
	e.t.Helper()
	got := 0
	for i := range n {
		if e.hit(instances[i%len(instances)], clientIP) != http.StatusTooManyRequests {
			got++
		}
	}
	return got
}

// With several instances, a client gets the limit once, not once per
// instance: the buckets are in Redis.
func TestRateLimitIsSharedByInstances(t *testing.T) {
	e := newTestServer(t, withRateLimit(tightLimit), withEnv("TRUSTED_PROXIES", "127.0.0.1"))
	a, b := e.app.URL, e.secondInstance()

	if got := e.allowed(20, "203.0.113.7", a, b); got != tightLimit.Burst {
		t.Errorf("two instances let %d of 20 requests through; want the one limit of %d", got, tightLimit.Burst)
	}
	if got := e.allowed(1, "203.0.113.8", b); got != 1 {
		t.Errorf("another client was limited too: %d of 1 allowed", got)
	}

	keys := e.db.Keys(t, "rate:*")
	if len(keys) != 2 {
		t.Fatalf("rate-limit keys = %v; want one per client, under the session key prefix", keys)
	}
	conn := e.db.Pool.Get()
	defer conn.Close()
	for _, k := range keys {
		if ttl, err := redis.Int64(conn.Do("PTTL", k)); err != nil || ttl <= 0 {
			t.Errorf("PTTL %s = %d, %v; want a TTL, so idle buckets leave Redis", k, ttl, err)
		}
	}
}

// An IPv6 client usually holds a whole /64: one bucket for all of it, or
// each address would get a limit of its own.
func TestRateLimitGroupsIPv6By64(t *testing.T) {
	e := newTestServer(t, withRateLimit(tightLimit), withEnv("TRUSTED_PROXIES", "127.0.0.1"))
	got := 0
	for i := range 20 {
		ip := "2001:db8:1:2:" + strings.Repeat("f", i%4+1) + "::" + string(rune('1'+i%9))
		if e.hit(e.app.URL, ip) != http.StatusTooManyRequests {
			got++
		}
	}
	if got != tightLimit.Burst {
		t.Errorf("20 addresses of one /64 got %d requests through; want %d in all", got, tightLimit.Burst)
	}
	if got := e.allowed(1, "2001:db8:1:3::1", e.app.URL); got != 1 {
		t.Errorf("the next /64 was limited too: %d of 1 allowed", got)
	}
	if got := e.allowed(tightLimit.Burst+1, "::ffff:198.51.100.4", e.app.URL); got != tightLimit.Burst {
		t.Errorf("an IPv4-mapped client got %d through; want %d (its own IPv4 bucket)", got, tightLimit.Burst)
	}
}

// When Redis is down, each instance limits on its own (never no limit), and
// says so once per outage, not once per request.
func TestRateLimitFallsBackToThisInstanceWhenRedisIsDown(t *testing.T) {
	redisSrv := redistest.Start(t)
	e := newTestServer(t, withRedisURL(redisSrv.URL), withRateLimit(tightLimit), withEnv("TRUSTED_PROXIES", "127.0.0.1"))

	redisSrv.Stop()
	if got := e.allowed(20, "203.0.113.7", e.app.URL); got != tightLimit.Burst {
		t.Errorf("with Redis down, %d of 20 requests got through; want this instance's limit of %d", got, tightLimit.Burst)
	}
	if n := strings.Count(e.logs.String(), "rate limits are per instance"); n != 1 {
		t.Errorf("outage logged %d times; want once", n)
	}

	redisSrv.Restart() // empty: the shared bucket starts full again
	if got := e.allowed(1, "203.0.113.7", e.app.URL); got != 1 {
		t.Errorf("after Redis came back, %d of 1 allowed; want the shared bucket", got)
	}
	if n := strings.Count(e.logs.String(), "rate limits are shared again"); n != 1 {
		t.Errorf("recovery logged %d times; want once", n)
	}
	redisSrv.Stop()
	e.allowed(3, "203.0.113.9", e.app.URL)
	if n := strings.Count(e.logs.String(), "rate limits are per instance"); n != 2 {
		t.Errorf("two outages logged %d times; want twice", n)
	}
}

func TestRateLimitKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::ffff", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := rateLimitKey(tc.ip); got != tc.want {
			t.Errorf("rateLimitKey(%q) = %q; want %q", tc.ip, got, tc.want)
		}
	}
}
