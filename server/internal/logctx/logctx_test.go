package logctx_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/logctx"
)

func TestHandlerAddsTheRequestsIDs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(logctx.NewHandler(slog.NewTextHandler(&buf, nil))).With("component", "x")
	ctx := logctx.WithRequestID(context.Background(), "req1")
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled,
	})

	logger.InfoContext(ctx, "plain")
	logger.InfoContext(ctx, "own id", "request_id", "req1")
	logger.InfoContext(trace.ContextWithSpanContext(ctx, sc), "traced")
	logger.InfoContext(context.Background(), "outside")
	logger.Info("no context")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"msg=plain component=x request_id=req1",
		"msg=\"own id\" component=x request_id=req1",
		"msg=traced component=x request_id=req1 trace_id=" + sc.TraceID().String() + " span_id=" + sc.SpanID().String(),
		"msg=outside component=x",
		"msg=\"no context\" component=x",
	}
	if len(lines) != len(want) {
		t.Fatalf("logged %q; want %d lines", lines, len(want))
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d = %q; want it to end with %q", i, lines[i], w)
		}
	}
}

func TestNewHandlerWrapsOnce(t *testing.T) {
	h := logctx.NewHandler(slog.DiscardHandler)
	if logctx.NewHandler(h) != h {
		t.Error("wrapping a wrapped handler again would log each id twice")
	}
}
