package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/session"
)

// BenchmarkMe measures GET /api/me through the real middleware stack and a
// real Redis, with allocations, for comparison across changes with benchstat.
// It also reports its cost as a ratio to one Redis GET of the same session
// measured in the same run ("x-redis-get"): with the session cache on, a hot
// session reads nothing from Redis, so the whole request should cost less
// than that one round trip.
func BenchmarkMe(b *testing.B) {
	e := newTestServer(b, withBinaryAccessLog())
	c := e.browser()
	e.login(c, "usr_alice")
	cookie := e.cookie(c)
	handler := e.app.Config.Handler

	conn := e.db.Pool.Get()
	defer conn.Close()
	key := e.db.Keys(b, "session:*")[0]
	redisGet := nsPerOp(func() {
		if _, err := redis.Bytes(conn.Do("GET", key)); err != nil {
			b.Fatal(err)
		}
	})

	b.ReportAllocs()
	for b.Loop() {
		serveMe(b, handler, cookie)
	}
	b.StopTimer()
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/redisGet, "x-redis-get")
}

// BenchmarkRefreshCheck reports what the refresh check adds to /api/me when
// no refresh is due: the same request with and without a refresher set,
// measured in the same run ("x-without-check" near 1.0 means unmeasurable).
func BenchmarkRefreshCheck(b *testing.B) {
	e := newTestServer(b)
	c := e.browser()
	e.login(c, "usr_alice")
	cookie := e.cookie(c)
	run := func(b *testing.B, handler http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			serveMe(b, handler, cookie)
		}
	}
	withCheck := e.app.Config.Handler
	withoutCheck, sessions := e.newInstance(discardLogger())
	sessions.SetRefresher(nil, session.RefreshOptions{})
	baseline := nsPerOp(func() { serveMe(b, withoutCheck, cookie) })
	run(b, withCheck)
	b.StopTimer()
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/baseline, "x-without-check")
}

// nsPerOp times a baseline in the same run as the benchmark it is compared
// with. (testing.Benchmark cannot be nested in a benchmark: it deadlocks.)
func nsPerOp(f func()) float64 {
	const n = 2000
	for range 200 { // warm up connections and caches
		f()
	}
	start := time.Now()
	for range n {
		f()
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

func serveMe(b *testing.B, handler http.Handler, cookie *http.Cookie) {
	req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	req.AddCookie(cookie)
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("/api/me = %d %s", w.Code, w.Body)
	}
}

// BenchmarkHealthz measures GET /healthz through the whole middleware stack
// and reports it as a ratio to a plain Echo handler measured in the same run
// ("x-plain-echo"): what the middleware costs.
func BenchmarkHealthz(b *testing.B) {
	e := newTestServer(b, withBinaryAccessLog())
	handler := e.app.Config.Handler
	plain := echo.New()
	plain.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })
	serve := func(h http.Handler, path string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			b.Fatalf("%s = %d", path, w.Code)
		}
	}
	baseline := nsPerOp(func() { serve(plain, "/") })
	b.ReportAllocs()
	for b.Loop() {
		serve(handler, "/healthz")
	}
	b.StopTimer()
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/baseline, "x-plain-echo")
}

// withBinaryAccessLog logs requests as cmd/bff does (WithAccessLog), to a
// writer that keeps nothing.
func withBinaryAccessLog() envOption {
	return withServerOption(func(*session.Manager) Option { return WithAccessLog(io.Discard, false) })
}
