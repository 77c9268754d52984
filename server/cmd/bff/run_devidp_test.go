//go:build !nodevidp

package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/example/scalekit-bff/server/internal/redistest"
)

// In the zero-configuration run the built-in provider and the app share a
// webhook secret: a role changed on the provider's admin page reaches the
// app as a signed webhook that it accepts.
func TestZeroConfigProviderWebhooksReachTheApp(t *testing.T) {
	app, idp := freePort(t), freePort(t)
	env := map[string]string{
		"APP_ENV": "test", "LISTEN_ADDR": app, "APP_BASE_URL": "http://" + app, "DEV_IDP_ADDR": idp,
	}
	out := startRun(t, env)

	resp, err := http.PostForm("http://"+idp+"/dev/admin/set-role",
		url.Values{"user": {"usr_bob"}, "organization": {"org_acme"}, "role": {"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK { // the redirect to the admin page, followed
		t.Fatalf("admin set-role = %d; want the admin page", resp.StatusCode)
	}
	waitFor(t, "the webhook to be accepted", func() bool {
		return strings.Contains(out.String(), `msg="webhook delivered"`) && strings.Contains(out.String(), "status=200")
	})
	if strings.Contains(out.String(), "whsec_") {
		t.Error("the generated webhook secret reached the output")
	}
}

// The zero-configuration run routes /api/demo to the demo API it starts,
// and says so; with REMOTE_APIS set, it starts none.
func TestZeroConfigRoutesTheDemoAPI(t *testing.T) {
	for _, tc := range []struct {
		name       string
		remoteAPIs string
		wantStatus int
		wantCode   string
	}{
		{"REMOTE_APIS unset", "", http.StatusUnauthorized, `"error":"unauthenticated"`},
		{"REMOTE_APIS set", "/api/orders=http://127.0.0.1:9", http.StatusNotFound, `"error":"not_found"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, idp := freePort(t), freePort(t)
			env := map[string]string{
				"APP_ENV": "test", "LISTEN_ADDR": app, "APP_BASE_URL": "http://" + app, "DEV_IDP_ADDR": idp, "REMOTE_APIS": tc.remoteAPIs,
			}
			out := startRun(t, env)
			if got := strings.Contains(out.String(), "DEMO API"); got != (tc.remoteAPIs == "") {
				t.Errorf("start-up output names the demo API: %t; want %t", got, tc.remoteAPIs == "")
			}

			req, _ := http.NewRequest(http.MethodGet, "http://"+app+"/api/demo/hello", nil)
			req.Header.Set("X-CSRF", "1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantCode) {
				t.Errorf("GET /api/demo/hello signed out = %d %s; want %d %s", resp.StatusCode, body, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

// METRICS_ADDR serves /metrics on a listener of its own; the public one
// never does.
func TestMetricsListenOnTheirOwnAddress(t *testing.T) {
	app, idp, metricsAddr := freePort(t), freePort(t), freePort(t)
	env := map[string]string{
		"APP_ENV": "test", "LISTEN_ADDR": app, "APP_BASE_URL": "http://" + app, "DEV_IDP_ADDR": idp, "METRICS_ADDR": metricsAddr,
	}
	startRun(t, env)

	get := func(u string) string {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	get("http://" + app + "/healthz")
	if got := get("http://" + metricsAddr + "/metrics"); !strings.Contains(got, `bff_http_requests_total{method="GET",route="/healthz",status_class="2xx"} 1`) {
		t.Errorf("/metrics lacks the /healthz request:\n%.2000s", got)
	}
	if got := get("http://" + app + "/metrics"); strings.Contains(got, "bff_http_requests_total") {
		t.Error("the public port serves the metrics")
	}
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, requests are traced to that OTLP
// endpoint, and stopping the server flushes the spans still buffered.
func TestTracesReachTheOTLPEndpointBeforeExit(t *testing.T) {
	var mu sync.Mutex
	var names []string
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, &req) != nil {
			http.Error(w, "want OTLP/HTTP protobuf at /v1/traces", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer col.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL) // the SDK reads the process's variables
	app, idp := freePort(t), freePort(t)
	env := map[string]string{
		"APP_ENV": "test", "LISTEN_ADDR": app, "APP_BASE_URL": "http://" + app, "DEV_IDP_ADDR": idp,
		"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL,
	}
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, out) }()
	waitFor(t, "the app to listen", func() bool { return strings.Contains(out.String(), "BFF ready") })
	resp, err := http.Get("http://" + app + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run = %v; want a clean stop", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(names, "GET /healthz") {
		t.Errorf("the collector received spans %q; want GET /healthz, flushed at exit", names)
	}
}

// run() reaches Redis through Sentinel as the compose file's ha profile
// configures it: only REDIS_SENTINEL_ADDRS and REDIS_SENTINEL_MASTER.
func TestRunThroughSentinel(t *testing.T) {
	primary := redistest.Start(t)
	replica := redistest.StartReplica(t, primary)
	ss := redistest.StartSentinels(t, 3, primary, redistest.SentinelTimings{DownAfter: 5 * time.Second, FailoverTimeout: 10 * time.Second}, replica)
	app, idp := freePort(t), freePort(t)
	env := map[string]string{
		"APP_ENV": "test", "LISTEN_ADDR": app, "APP_BASE_URL": "http://" + app, "DEV_IDP_ADDR": idp,
		"REDIS_SENTINEL_ADDRS": strings.Join(ss.Addrs, ","), "REDIS_SENTINEL_MASTER": ss.Master,
	}
	out := startRun(t, env)
	resp, err := http.Get("http://" + app + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz = %d; want 200 with Redis reached through the sentinels", resp.StatusCode)
	}
	waitFor(t, "the session cache to come on", func() bool { return strings.Contains(out.String(), "session cache on") })
	if strings.Contains(out.String(), "IN-MEMORY SESSION STORE") {
		t.Error("run() fell back to the in-memory store")
	}
}
