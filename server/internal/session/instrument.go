package session

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/tracing"
)

// instrumentPool makes every connection the pool dials record its commands'
// time and errors (with metrics) and make a span per command called with a
// context inside a trace (with a tracer provider). Without either the pool
// is left as it is: no request pays for what nobody reads. Commands are
// named, never their keys, which contain session tokens.
func instrumentPool(pool *redis.Pool, m *metrics.Metrics, tp trace.TracerProvider) {
	if m == nil && tp == nil || pool.DialContext == nil {
		return
	}
	var tracer trace.Tracer
	if tp != nil {
		tracer = tp.Tracer(tracing.ScopeName)
	}
	dial := pool.DialContext
	pool.DialContext = func(ctx context.Context) (redis.Conn, error) {
		start := time.Now()
		c, err := dial(ctx)
		m.RedisCommand(connectCommand, time.Since(start), err != nil)
		if err != nil {
			return nil, err
		}
		return &instrumentedConn{Conn: c, metrics: m, tracer: tracer}, nil
	}
}

// connectCommand is the command label of a new connection's dial (and its
// AUTH and SELECT): a Redis that is down fails there, before any command.
const connectCommand = "(connect)"

// instrumentedConn measures Do, DoContext and DoWithTimeout, and keeps the
// optional interfaces of the connection it wraps (redis.ConnWithContext,
// redis.ConnWithTimeout), which the pool and the session cache use. Commands queued with Send are
// measured as the Do (usually EXEC) that flushes and reads them.
type instrumentedConn struct {
	redis.Conn
	metrics *metrics.Metrics
	tracer  trace.Tracer // nil: no spans
}

func (c *instrumentedConn) Do(cmd string, args ...any) (any, error) {
	start := time.Now()
	reply, err := c.Conn.Do(cmd, args...)
	c.record(cmd, start, err)
	return reply, err
}

func (c *instrumentedConn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	if c.tracer != nil && cmd != "" && trace.SpanContextFromContext(ctx).IsValid() {
		name := commandName(cmd)
		var span trace.Span
		ctx, span = c.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(semconv.DBSystemNameRedis, semconv.DBOperationName(name)))
		defer span.End()
		start := time.Now()
		reply, err := redis.DoContext(c.Conn, ctx, cmd, args...)
		c.record(cmd, start, err)
		if failed(err) {
			span.SetStatus(codes.Error, "redis command failed")
		}
		return reply, err
	}
	start := time.Now()
	reply, err := redis.DoContext(c.Conn, ctx, cmd, args...)
	c.record(cmd, start, err)
	return reply, err
}

func (c *instrumentedConn) DoWithTimeout(timeout time.Duration, cmd string, args ...any) (any, error) {
	start := time.Now()
	reply, err := redis.DoWithTimeout(c.Conn, timeout, cmd, args...)
	c.record(cmd, start, err)
	return reply, err
}

// ReceiveContext and ReceiveWithTimeout pass through: the session cache's
// invalidation connections wait on them for as long as they are up.
func (c *instrumentedConn) ReceiveContext(ctx context.Context) (any, error) {
	return redis.ReceiveContext(c.Conn, ctx)
}

func (c *instrumentedConn) ReceiveWithTimeout(timeout time.Duration) (any, error) {
	return redis.ReceiveWithTimeout(c.Conn, timeout)
}

func (c *instrumentedConn) record(cmd string, start time.Time, err error) {
	if cmd == "" {
		return // only flushes what Send queued
	}
	c.metrics.RedisCommand(commandName(cmd), time.Since(start), failed(err))
}

// failed: a NOSCRIPT answer is redigo's Script finding the script not yet
// loaded, which it then sends in full; no error for an alert to see.
func failed(err error) bool {
	if err == nil || errors.Is(err, redis.ErrNil) {
		return false
	}
	re, ok := errors.AsType[redis.Error](err)
	return !ok || !strings.HasPrefix(string(re), "NOSCRIPT")
}

// commandName bounds the label: our commands, upper case, and "other" for a
// name that is not a plain word.
func commandName(cmd string) string {
	if len(cmd) > 20 || strings.ContainsFunc(cmd, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }) {
		return "other"
	}
	return strings.ToUpper(cmd)
}
