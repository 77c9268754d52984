// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// variables and gives the BFF's packages what they need to take part: a
// client transport that makes a span per call and propagates W3C trace
// context, and a propagator for incoming requests. Tracing is off unless an
// OTLP endpoint is configured; then nothing here is called on a request.
//
// No span attribute ever holds a token, a cookie, a code, a query string or
// a Redis key (keys contain session tokens): callers name routes, commands
// and hosts only.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName names the BFF's tracers.
const ScopeName = "github.com/example/scalekit-bff"

// Propagator is W3C trace context, the only format read from requests and
// written to upstreams.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Enabled reports whether the OTEL_* variables ask for traces: an OTLP
// endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none turns them off.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") ||
		strings.EqualFold(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")), "none") {
		return false
	}
	return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" ||
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
}

// Start builds a tracer provider that batches spans to the OTLP HTTP
// endpoint the process's OTEL_* variables name (the SDK reads them: endpoint,
// headers, timeout, compression, sampler, service name and resource
// attributes). The service name defaults to scalekit-bff. Shutdown flushes
// what is still buffered.
func Start(ctx context.Context, opts ...otlptracehttp.Option) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(semconv.ServiceName("scalekit-bff")),
		resource.Default(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		res = resource.Default()
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// Transport wraps next so that each call is a client span, named for the
// peer ("scalekit POST", "remote API GET"), carrying the method, the
// server's host and the status, and sends W3C trace context upstream. The
// URL's path and query are not recorded: a query may carry anything.
func Transport(next http.RoundTripper, tp trace.TracerProvider, peer string) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{next: next, tracer: tp.Tracer(ScopeName), peer: peer}
}

type transport struct {
	next   http.RoundTripper
	tracer trace.Tracer
	peer   string
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := t.tracer.Start(r.Context(), t.peer+" "+r.Method,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.ServerAddress(r.URL.Hostname()),
			attribute.String("bff.peer", t.peer),
		))
	defer span.End()
	// A RoundTripper must not change the request it was given.
	out := r.Clone(ctx)
	Propagator.Inject(ctx, propagation.HeaderCarrier(out.Header))
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		span.SetStatus(codes.Error, "no response")
		return nil, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	if resp.StatusCode >= 500 {
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	return resp, nil
}

// Client returns a copy of hc whose transport traces every call (Transport).
func Client(hc *http.Client, tp trace.TracerProvider, peer string) *http.Client {
	c := *hc
	c.Transport = Transport(hc.Transport, tp, peer)
	return &c
}
