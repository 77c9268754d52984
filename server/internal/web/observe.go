package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/tracing"
)

// WithMetrics records the server's requests, rate limits, webhook and
// back-channel events and remote API calls in m (METRICS_ADDR). Without it
// the server records nothing and adds no work to a request.
func WithMetrics(m *metrics.Metrics) Option {
	return func(o *serverOptions) { o.metrics = m }
}

// WithTracing makes a server span of every request, named by its method and
// route pattern, continuing a W3C trace context the request carries, and
// sends trace context to remote APIs. Without it (OTEL_* unset) the server
// makes no span and adds no work to a request.
func WithTracing(tp trace.TracerProvider) Option {
	return func(o *serverOptions) { o.tracing = tp }
}

// traceRequests starts each request's server span. Its attributes are the
// method, the route pattern and the status: never the URL, whose query may
// be a credential (the callback's code).
func traceRequests(tp trace.TracerProvider) echo.MiddlewareFunc {
	tracer := tp.Tracer(tracing.ScopeName)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			method, route := methodLabel(req.Method), routeLabel(c)
			ctx := tracing.Propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			ctx, span := tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(route)))
			defer span.End() // a panic too
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			status := c.Response().Status
			if err != nil && !c.Response().Committed {
				status = http.StatusInternalServerError
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= 500 {
				span.SetStatus(otelcodes.Error, http.StatusText(status))
			}
			return err
		}
	}
}

// measure records each request's method, route pattern, status class and
// time. A panic's response is written further out, as a 500.
func measure(m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil && !c.Response().Committed {
				status = http.StatusInternalServerError
			}
			m.Request(methodLabel(c.Request().Method), routeLabel(c), status, time.Since(start))
			return err
		}
	}
}

// routeLabel is the request's route pattern: "(spa)" for the SPA's
// fallback, "(unmatched)" for a path or method no route has. Never the
// path, which has ids in it.
func routeLabel(c echo.Context) string {
	switch p := c.Path(); p {
	case "/*":
		if m := c.Request().Method; m == http.MethodGet || m == http.MethodHead {
			return "(spa)"
		}
		return "(unmatched)"
	case "":
		return "(unmatched)"
	default:
		return p
	}
}

// methodLabel bounds the method label: a client may send any token.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// meteredTransport records each call to one remote API: its upstream status
// class (or "error" when none answered) and the time to its headers.
type meteredTransport struct {
	next    http.RoundTripper
	metrics *metrics.Metrics
	api     string // the API's prefix, from the configuration
}

func (t meteredTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.metrics.RemoteAPICall(t.api, status, time.Since(start))
	return resp, err
}
