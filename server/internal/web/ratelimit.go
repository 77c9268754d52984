package web

import (
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"

	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/session"
)

// defaultRateLimit is per client: generous for people, a wall for scripts.
var defaultRateLimit = session.Limit{Rate: 20, Burst: 60}

// rateLimiter bounds, per client, the routes that start work at the provider
// or in the store for anyone who asks: login, sign-up, callback, back-channel
// logout and webhooks. The buckets are in the session store (a GCRA in
// Redis, see session.Manager.Allow), shared by every instance. When the store
// does not answer, each instance falls back to its own token bucket with the
// same limit (Echo's, golang.org/x/time/rate): never to no limit. The API
// proper is behind a session already.
type rateLimiter struct {
	sessions *session.Manager
	rate     session.Limit
	local    *middleware.RateLimiterMemoryStore
	logger   *slog.Logger
	metrics  *metrics.Metrics
	// perInstance is set while the store is down, so an outage is logged
	// once when it starts and once when it ends, not on every request.
	perInstance atomic.Bool
}

func newRateLimiter(logger *slog.Logger, sessions *session.Manager, limit session.Limit, m *metrics.Metrics) *rateLimiter {
	return &rateLimiter{
		sessions: sessions, rate: limit, logger: logger, metrics: m,
		local: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
			Rate: rate.Limit(limit.Rate), Burst: limit.Burst, ExpiresIn: 3 * time.Minute,
		}),
	}
}

// limit answers a request over the limit with deny, and a Retry-After.
func (l *rateLimiter) limit(deny func(c echo.Context) error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ok, retryAfter := l.allow(c)
			if !ok {
				l.metrics.RateLimited(c.Path())
				c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(retryAfter.Seconds())))))
				return deny(c)
			}
			return next(c)
		}
	}
}

func (l *rateLimiter) allow(c echo.Context) (bool, time.Duration) {
	ctx := c.Request().Context()
	key := rateLimitKey(c.RealIP())
	ok, retryAfter, err := l.sessions.Allow(ctx, key, l.rate)
	if err == nil {
		if l.perInstance.CompareAndSwap(true, false) {
			l.logger.InfoContext(ctx, "rate limits are shared again: the session store answers")
		}
		return ok, retryAfter
	}
	if ctx.Err() != nil {
		return false, 0 // the client left; not an outage
	}
	if l.perInstance.CompareAndSwap(false, true) {
		l.logger.WarnContext(ctx, "rate limits are per instance until the session store answers", "err", err)
	}
	ok, _ = l.local.Allow(key)
	return ok, time.Second
}

// rateLimitKey is the bucket of a client IP: the address for IPv4, and the
// /64 for IPv6, which is what one subscriber or host usually holds; a bucket
// per IPv6 address would give one client billions of limits.
func rateLimitKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	prefix, _ := addr.Prefix(64)
	return prefix.String()
}
