// Package logctx carries a request's identity in its context to every log
// line written while serving it, in any package: the web layer puts the
// request id in the context once, package code logs with the slog *Context
// methods, and the handler made by NewHandler adds the id (and, while
// tracing, the trace and span ids) to each record. No call site adds them by
// hand, so none can forget.
package logctx

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

type requestIDKey struct{}

// withID is context.WithValue with the id unboxed: one allocation a request,
// not two.
type withID struct {
	context.Context
	id string
}

func (c *withID) Value(key any) any {
	if key == (requestIDKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return &withID{ctx, id}
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*withID); ok {
		return c.id
	}
	return ""
}

// NewHandler wraps h so that every record logged with a context carrying a
// request id (WithRequestID) or a recording span gets request_id, trace_id
// and span_id attributes. A record that names its request_id itself (the
// request log line) keeps its own and gets no second one.
func NewHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(handler); ok {
		return h
	}
	return handler{h}
}

type handler struct{ next slog.Handler }

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.next.WithAttrs(as)} }

func (h handler) WithGroup(name string) slog.Handler { return handler{h.next.WithGroup(name)} }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil {
		return h.next.Handle(ctx, r)
	}
	if id := RequestID(ctx); id != "" && !hasAttr(r, "request_id") {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
