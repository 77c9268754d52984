package web

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/example/scalekit-bff/server/internal/tracing"
)

// collector is a stub OTLP/HTTP trace receiver that keeps what it receives.
type collector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	srv   *httptest.Server
}

func newCollector(t *testing.T) *collector {
	col := &collector{}
	col.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want POST /v1/traces in protobuf", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		col.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				col.spans = append(col.spans, ss.Spans...)
			}
		}
		col.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(col.srv.Close)
	return col
}

func (col *collector) received() []*tracepb.Span {
	col.mu.Lock()
	defer col.mu.Unlock()
	return slices.Clone(col.spans)
}

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return anyString(kv.Value)
		}
	}
	return ""
}

func anyString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	}
	return v.String()
}

// A sign-in is traced: the callback's server span, named by its route
// pattern, has child spans for the Redis commands and the call to the
// identity provider, the provider receives the trace context, and the
// request's log lines carry the trace id. No span holds a code, token,
// cookie or Redis key.
func TestSignInIsTraced(t *testing.T) {
	col := newCollector(t)
	tp, err := tracing.Start(context.Background(), otlptracehttp.WithEndpointURL(col.srv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e := newTestServer(t, withTracing(tp))
	c := e.browser()
	e.login(c, "usr_alice")
	cookie := e.cookie(c).Value
	if err := tp.ForceFlush(t.Context()); err != nil {
		t.Fatalf("flush to the collector: %v", err)
	}
	spans := col.received()

	var callback *tracepb.Span
	for _, s := range spans {
		if s.Name == "GET /auth/callback" {
			callback = s
		}
	}
	if callback == nil || callback.Kind != tracepb.Span_SPAN_KIND_SERVER ||
		attr(callback, "http.route") != "/auth/callback" || attr(callback, "http.request.method") != "GET" {
		t.Fatalf("no server span GET /auth/callback with its route among %s", spanNames(spans))
	}
	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[string(s.SpanId)] = s
	}
	under := func(s *tracepb.Span) bool { // a descendant of the callback's span
		for p := byID[string(s.ParentSpanId)]; p != nil; p = byID[string(p.ParentSpanId)] {
			if p == callback {
				return true
			}
		}
		return false
	}
	var redisSpans, idpSpans []string
	for _, s := range spans {
		if !under(s) {
			continue
		}
		switch {
		case attr(s, "db.system.name") == "redis" && s.Kind == tracepb.Span_SPAN_KIND_CLIENT:
			redisSpans = append(redisSpans, s.Name)
		case attr(s, "bff.peer") == "scalekit" && s.Kind == tracepb.Span_SPAN_KIND_CLIENT:
			idpSpans = append(idpSpans, s.Name)
		}
	}
	if len(redisSpans) == 0 || !slices.Contains(idpSpans, "scalekit POST") {
		t.Errorf("under the callback: Redis spans %q, provider spans %q; want Redis commands and the token call (scalekit POST); all spans: %s",
			redisSpans, idpSpans, spanNames(spans))
	}

	traceID := hex.EncodeToString(callback.TraceId)
	e.traceparentsMu.Lock()
	sent := strings.Join(e.traceparents, " ")
	e.traceparentsMu.Unlock()
	if !strings.Contains(sent, "00-"+traceID+"-") {
		t.Errorf("the provider received trace contexts %q; want the callback's trace %s", sent, traceID)
	}
	if callbackLines := logLines(e.logs.String(), "route=/auth/callback"); len(callbackLines) != 1 || !strings.Contains(callbackLines[0], "trace_id="+traceID) {
		t.Errorf("callback request lines %q; want one with trace_id=%s", callbackLines, traceID)
	}

	for _, s := range spans {
		values := []string{s.Name}
		for _, kv := range s.Attributes {
			values = append(values, kv.Key+"="+anyString(kv.Value))
		}
		for _, ev := range s.Events {
			values = append(values, ev.Name)
			for _, kv := range ev.Attributes {
				values = append(values, kv.Key+"="+anyString(kv.Value))
			}
		}
		all := strings.Join(values, " ")
		if kind := e.leaked(all); kind != "" {
			t.Errorf("span %q holds a %s", s.Name, kind)
		}
		// The codes, tokens and state values themselves are in e.leaked.
		if strings.Contains(all, cookie) || strings.Contains(all, e.db.Prefix) || strings.Contains(all, "?") {
			t.Errorf("span %q holds a cookie, a Redis key or a query: %s", s.Name, all)
		}
	}
}

func spanNames(spans []*tracepb.Span) string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// A remote API call is a client span under the request's server span, and
// the upstream receives its W3C trace context; the query is not recorded.
func TestRemoteAPICallIsTraced(t *testing.T) {
	col := newCollector(t)
	tp, err := tracing.Start(context.Background(), otlptracehttp.WithEndpointURL(col.srv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e, orders, _ := remoteEnv(t, "", withTracing(tp))
	c := e.browser()
	e.login(c, "usr_alice")
	wantStatus(t, e.get(c, "/api/orders/ord_9z?secret=s3cr3t", "X-CSRF", "1"), http.StatusOK)
	if err := tp.ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var server, client *tracepb.Span
	for _, s := range col.received() {
		switch s.Name {
		case "GET /api/orders/*":
			server = s
		case "remote API /api/orders GET":
			client = s
		}
	}
	if server == nil || client == nil || string(client.ParentSpanId) != string(server.SpanId) {
		t.Fatalf("want a client span remote API /api/orders GET under GET /api/orders/*; got %s", spanNames(col.received()))
	}
	got := orders.calls()[0].header.Get("Traceparent")
	if want := "00-" + hex.EncodeToString(client.TraceId) + "-" + hex.EncodeToString(client.SpanId) + "-"; !strings.HasPrefix(got, want) {
		t.Errorf("upstream traceparent = %q; want the client span's, %s…", got, want)
	}
	for _, kv := range client.Attributes {
		if v := anyString(kv.Value); strings.Contains(v, "s3cr3t") || strings.Contains(v, "ord_9z") {
			t.Errorf("client span attribute %s=%q holds the path or query", kv.Key, v)
		}
	}
}
