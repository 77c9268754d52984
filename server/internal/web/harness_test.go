package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/devidp"
	"github.com/example/scalekit-bff/server/internal/logctx"
	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/redistest"
	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
	"github.com/example/scalekit-bff/server/internal/spa"
)

// testEnv is the real server (TLS, so the __Host- cookie behaves as in a
// browser) in front of a real Redis and the built-in identity provider.
type testEnv struct {
	t        testing.TB
	app      *httptest.Server
	idp      *devidp.Server
	idpSrv   *httptest.Server
	sessions *session.Manager
	db       *redistest.DB
	cfg      config.Config
	logs     *syncBuffer
	redisURL string
	issuer   string // the provider's issuer: its URL, or a path under it
	limit    session.Limit
	// idpIsDown makes the provider's token endpoint answer 503, as during an outage.
	idpIsDown atomic.Bool
	// revokeOutage makes the provider's session-revocation API answer 503 to
	// that many more requests, as during an outage; revokeGate, when set, holds
	// every revocation until it is closed. revokeCalls counts them. (Other
	// REST API calls, such as reading a user's organizations, pass.)
	revokeOutage atomic.Int32
	revokeGate   atomic.Pointer[chan struct{}]
	revokeCalls  atomic.Int32
	// spends counts how often each refresh token was presented to the
	// provider, by any instance.
	spendsMu sync.Mutex
	spends   map[string]int
	// apiIsDown makes the provider's REST API (/api/v1/…) answer 503.
	apiIsDown atomic.Bool
	// afterToken, when set, runs once with the token endpoint's next answer
	// before the app receives it: between a code's exchange and its session.
	afterToken atomic.Pointer[func(body []byte)]
	// dial, when set, is how every client of the test reaches the network:
	// it can serve the provider under a host name of its own.
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	secretsMu sync.Mutex
	secrets   []secret
	// serverOptions make options for every instance's NewServer.
	serverOptions []func(*session.Manager) Option
	// metrics, with withMetrics, records every instance's metrics.
	metrics *metrics.Metrics
	// tracing, with withTracing, traces every instance; traceparents are
	// the W3C trace contexts the provider received.
	tracing        trace.TracerProvider
	traceparentsMu sync.Mutex
	traceparents   []string
}

func (e *testEnv) idpDown(down bool) { e.idpIsDown.Store(down) }

// recordSecrets keeps the codes and tokens in a provider response.
func (e *testEnv) recordSecrets(rec *httptest.ResponseRecorder) {
	e.secretsMu.Lock()
	defer e.secretsMu.Unlock()
	if loc, err := url.Parse(rec.Header().Get("Location")); err == nil {
		if code := loc.Query().Get("code"); code != "" {
			e.secrets = append(e.secrets, secret{"code", code})
		}
	}
	var tok map[string]any
	if json.Unmarshal(rec.Body.Bytes(), &tok) == nil {
		for _, name := range []string{"access_token", "refresh_token", "id_token"} {
			if v, _ := tok[name].(string); v != "" {
				e.secrets = append(e.secrets, secret{name, v})
			}
		}
	}
}

type secret struct{ kind, value string }

// countSpend records the refresh token a token request presents, leaving
// the request's body for the provider to read.
func (e *testEnv) countSpend(r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("grant_type") != "refresh_token" {
		return
	}
	e.spendsMu.Lock()
	defer e.spendsMu.Unlock()
	if e.spends == nil {
		e.spends = map[string]int{}
	}
	e.spends[form.Get("refresh_token")]++
}

// spentTwice returns how many refresh tokens were presented more than once,
// and how many were presented at all.
func (e *testEnv) spentTwice() (twice, all int) {
	e.spendsMu.Lock()
	defer e.spendsMu.Unlock()
	for _, n := range e.spends {
		if n > 1 {
			twice++
		}
	}
	return twice, len(e.spends)
}

// leaked returns the kind of the first recorded code or token found in s.
func (e *testEnv) leaked(s string, except ...string) string {
	e.secretsMu.Lock()
	defer e.secretsMu.Unlock()
	for _, sec := range e.secrets {
		if strings.Contains(s, sec.value) && !slices.Contains(except, sec.value) {
			return sec.kind
		}
	}
	return ""
}

// newInstance builds one more server instance over the same Redis and
// provider, as a deployment with several instances behind a load balancer.
func (e *testEnv) newInstance(logger *slog.Logger) (http.Handler, *session.Manager) {
	t := e.t
	t.Helper()
	auth, err := scalekit.New(t.Context(), scalekit.Config{
		EnvironmentURL: e.cfg.ScalekitEnvironmentURL, Issuer: e.cfg.ScalekitIssuer,
		ClientID: "bff-test", ClientSecret: "bff-test-secret", HTTPClient: e.providerClient(), Logger: logger, Tracing: e.tracing,
	})
	if err != nil {
		t.Fatalf("scalekit.New: %v", err)
	}
	// The product's own timeouts: tighter ones made a cold burst of 50
	// connections fail to dial on a loaded machine. A stopped Redis (the
	// outage tests) refuses connections at once, so they need none shorter.
	// As run() does: Sentinel when configured, else REDIS_URL.
	var pool *redis.Pool
	var failover *session.Failover
	if e.cfg.RedisSentinelAddrs != nil {
		pool, failover, err = session.NewSentinelPool(e.cfg.RedisURL, session.Sentinel{
			Addrs: e.cfg.RedisSentinelAddrs, Master: e.cfg.RedisSentinelMaster, Password: e.cfg.RedisSentinelPassword,
		}, session.PoolOptions{Logger: logger})
	} else {
		pool, err = session.NewPool(e.redisURL, session.PoolOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	sopts := session.Options{IdleTimeout: e.cfg.SessionIdleTimeout, Lifetime: e.cfg.SessionLifetime, CookieSecure: e.cfg.CookieSecure, KeyPrefix: e.db.Prefix, Logger: logger, Metrics: e.metrics, Tracing: e.tracing,
		Cache:    session.CacheOptions{Off: !e.cfg.SessionCache, MaxEntries: e.cfg.SessionCacheMaxEntries, MaxAge: e.cfg.SessionCacheMaxAge},
		Failover: failover}
	sessions := session.NewRedis(pool, sopts)
	sessions.SetRefresher(auth, session.RefreshOptions{Skew: e.cfg.TokenRefreshSkew})
	// Short waits, so a retry after an outage happens within a test.
	sessions.SetRevoker(auth, session.RevokeOptions{
		Backoff: []time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond},
		Poll:    20 * time.Millisecond, Timeout: 5 * time.Second, Lease: 10 * time.Second,
	})
	ctx, stop := context.WithCancel(context.Background())
	worker, cache := make(chan struct{}), make(chan struct{})
	go func() {
		sessions.RunRevocations(ctx)
		close(worker)
	}()
	go func() {
		sessions.RunCache(ctx)
		close(cache)
	}()
	t.Cleanup(func() { stop(); <-worker; <-cache })
	sessions.SetDirectory(auth, 0)
	opts := []Option{WithMetrics(e.metrics), WithTracing(e.tracing)}
	for _, o := range e.serverOptions {
		opts = append(opts, o(sessions))
	}
	return newServer(logger, e.cfg, sessions, auth, spa.NewFS(testSPA), e.limit, opts...), sessions
}

// secondInstance serves another instance and returns its URL.
func (e *testEnv) secondInstance() string {
	h, _ := e.newInstance(slog.New(logctx.NewHandler(slog.NewTextHandler(e.logs, nil))))
	srv := httptest.NewTLSServer(h)
	e.t.Cleanup(srv.Close)
	return srv.URL
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOption func(*envSettings)

type envSettings struct {
	env              map[string]string
	issuerHost       string
	idpConfig        func(*devidp.Config)
	pool             func(t testing.TB) (url string)
	limit            session.Limit
	providerWebhooks bool
	serverOptions    []func(*session.Manager) Option
	metrics          bool
	tracing          trace.TracerProvider
}

func withEnv(k, v string) envOption {
	return func(s *envSettings) { s.env[k] = v }
}

// withIDP changes the provider's configuration; several apply in order.
func withIDP(f func(*devidp.Config)) envOption {
	return func(s *envSettings) {
		if prev := s.idpConfig; prev != nil {
			s.idpConfig = func(c *devidp.Config) { prev(c); f(c) }
			return
		}
		s.idpConfig = f
	}
}

// withIssuerHost gives the provider an issuer under another host name (a
// custom domain): SCALEKIT_ENVIRONMENT_URL stays the address it is reached
// at, SCALEKIT_ISSUER names the host, and every client of the test resolves
// the host to the provider.
func withIssuerHost(host string) envOption {
	return func(s *envSettings) { s.issuerHost = host }
}

// withRateLimit replaces the login and machine routes' rate limit.
func withRateLimit(l session.Limit) envOption {
	return func(s *envSettings) { s.limit = l }
}

// withProviderWebhooks makes the provider send its webhooks to the app, and
// nothing over the back channel, so that the webhooks alone end sessions.
func withProviderWebhooks() envOption {
	return func(s *envSettings) { s.providerWebhooks = true }
}

// withServerOption passes an option to NewServer, as a product's run()
// does; it is made with the instance's session manager.
func withServerOption(o func(sessions *session.Manager) Option) envOption {
	return func(s *envSettings) { s.serverOptions = append(s.serverOptions, o) }
}

// withMetrics records the server's metrics (e.metrics), as METRICS_ADDR does.
func withMetrics() envOption {
	return func(s *envSettings) { s.metrics = true }
}

// withTracing traces the server with tp, as the OTEL_* variables do.
func withTracing(tp trace.TracerProvider) envOption {
	return func(s *envSettings) { s.tracing = tp }
}

// withRedisURL points the server at another Redis (a private one for outages).
func withRedisURL(u string) envOption {
	return func(s *envSettings) { s.pool = func(testing.TB) string { return u } }
}

var testSPA = fstest.MapFS{
	"index.html":        {Data: []byte("<!doctype html><title>app</title><div id=root></div>")},
	"assets/app-abc.js": {Data: []byte("console.log('app')")},
	"favicon.svg":       {Data: []byte("<svg/>")},
}

func newTestServer(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	s := envSettings{env: map[string]string{}, limit: defaultRateLimit}
	for _, o := range opts {
		o(&s)
	}
	e := &testEnv{t: t, logs: &syncBuffer{}}
	// As run() builds it: request-scoped lines carry the request id.
	logger := slog.New(logctx.NewHandler(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	// The app's URL is needed before the app exists (redirect URIs), so
	// start an unstarted TLS server to learn its address.
	var handler http.Handler = http.NotFoundHandler()
	e.app = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	e.app.StartTLS()
	t.Cleanup(e.app.Close)

	var idpHandler http.Handler = http.NotFoundHandler()
	e.idpSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tp := r.Header.Get("Traceparent"); tp != "" {
			e.traceparentsMu.Lock()
			e.traceparents = append(e.traceparents, tp)
			e.traceparentsMu.Unlock()
		}
		if e.idpIsDown.Load() && strings.HasSuffix(r.URL.Path, "/oauth/token") ||
			e.apiIsDown.Load() && strings.Contains(r.URL.Path, "/api/v1/") {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			return
		}
		if strings.Contains(r.URL.Path, "/api/v1/sessions/") && strings.HasSuffix(r.URL.Path, "/revoke") {
			e.revokeCalls.Add(1)
			if gate := e.revokeGate.Load(); gate != nil {
				<-*gate
			}
			if e.revokeOutage.Add(-1) >= 0 {
				http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
				return
			}
		}
		if strings.HasSuffix(r.URL.Path, "/oauth/token") {
			e.countSpend(r)
		}
		// Record every code and token the provider hands out, so tests can
		// look for the exact values, opaque ones included, where they must
		// never be: logs, our responses.
		rec := httptest.NewRecorder()
		idpHandler.ServeHTTP(rec, r)
		e.recordSecrets(rec)
		if strings.HasSuffix(r.URL.Path, "/oauth/token") {
			if hook := e.afterToken.Swap(nil); hook != nil {
				(*hook)(rec.Body.Bytes())
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(e.idpSrv.Close)

	issuer := e.idpSrv.URL
	if s.issuerHost != "" {
		_, port, _ := net.SplitHostPort(e.idpSrv.Listener.Addr().String())
		issuer = "http://" + net.JoinHostPort(s.issuerHost, port)
		idpAddr := e.idpSrv.Listener.Addr().String()
		var d net.Dialer
		e.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if h, _, _ := net.SplitHostPort(addr); h == s.issuerHost {
				addr = idpAddr
			}
			return d.DialContext(ctx, network, addr)
		}
	}
	idpCfg := devidp.Config{
		Issuer: issuer,
		Clients: []devidp.Client{{
			ID: "bff-test", Secret: "bff-test-secret",
			RedirectURIs:           []string{e.app.URL + "/auth/callback"},
			PostLogoutRedirectURIs: []string{e.app.URL + "/"},
			BackchannelLogoutURI:   e.app.URL + "/auth/backchannel-logout",
			InitiateLoginURI:       e.app.URL + "/auth/login",
		}},
		HTTPClient: e.app.Client(),
		Logger:     logger.With("component", "devidp"),
	}
	if s.providerWebhooks {
		idpCfg.WebhookURL, idpCfg.WebhookSecret = e.app.URL+"/webhooks/scalekit", testWebhookSecret
		idpCfg.WebhookRetryDelays = []time.Duration{10 * time.Millisecond}
		idpCfg.Clients[0].BackchannelLogoutURI = ""
	}
	if s.idpConfig != nil {
		s.idpConfig(&idpCfg)
	}
	idp, err := devidp.New(idpCfg)
	if err != nil {
		t.Fatalf("devidp.New: %v", err)
	}
	e.idp = idp
	e.issuer = idpCfg.Issuer
	idpHandler = idp
	t.Cleanup(idp.Close)

	e.db = redistest.New(t)
	redisURL := e.db.URL
	if s.pool != nil {
		redisURL = s.pool(t)
	}
	env := map[string]string{
		"APP_ENV":                  "test",
		"APP_BASE_URL":             e.app.URL,
		"SCALEKIT_ENVIRONMENT_URL": e.issuer,
		"SCALEKIT_CLIENT_ID":       "bff-test",
		"SCALEKIT_CLIENT_SECRET":   "bff-test-secret",
		"SCALEKIT_WEBHOOK_SECRET":  testWebhookSecret,
		"REDIS_URL":                redisURL,
	}
	if s.issuerHost != "" {
		env["SCALEKIT_ENVIRONMENT_URL"], env["SCALEKIT_ISSUER"] = e.idpSrv.URL, e.issuer
	}
	for k, v := range s.env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	e.cfg = cfg

	e.redisURL, e.limit, e.serverOptions = redisURL, s.limit, s.serverOptions
	if s.metrics {
		e.metrics = metrics.New()
	}
	e.tracing = s.tracing
	var h http.Handler
	h, e.sessions = e.newInstance(logger)
	handler = h

	t.Cleanup(func() {
		logs := e.logs.String()
		if loc := jwtShaped.FindString(logs); loc != "" {
			t.Errorf("a JWT-shaped string reached the logs: %.40s…", loc)
		}
		if kind := e.leaked(logs); kind != "" {
			t.Errorf("a %s reached the logs", kind)
		}
	})
	return e
}

// providerClient is the server's HTTP client for the provider: the default,
// unless the test serves the provider under a host name of its own.
func (e *testEnv) providerClient() *http.Client {
	if e.dial == nil {
		return nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = e.dial
	return &http.Client{Transport: t, Timeout: 10 * time.Second}
}

var jwtShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)

// browser returns a client with its own cookie jar that does not follow
// redirects, so each hop can be inspected.
func (e *testEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	transport := e.app.Client().Transport
	if e.dial != nil {
		t := transport.(*http.Transport).Clone()
		t.DialContext = e.dial
		transport = t
	}
	return &http.Client{
		Transport:     transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

type response struct {
	*http.Response
	body []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", r.Request.URL.Path, r.body, err)
	}
}

func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var b struct{ Error, Message string }
	r.json(t, &b)
	if b.Message == "" {
		t.Errorf("error body %s has no message", r.body)
	}
	return b.Error
}

// do sends a request; header pairs follow the body.
func (e *testEnv) do(c *http.Client, method, path string, body io.Reader, header ...string) response {
	e.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = e.app.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{resp, b}
}

func (e *testEnv) get(c *http.Client, path string, header ...string) response {
	e.t.Helper()
	return e.do(c, http.MethodGet, path, nil, header...)
}

func (e *testEnv) cookie(c *http.Client) *http.Cookie {
	u, _ := url.Parse(e.app.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == e.sessions.CookieName() {
			return ck
		}
	}
	return nil
}

// storedRecord reads c's session from the store.
func (e *testEnv) storedRecord(c *http.Client) *session.Record {
	e.t.Helper()
	ctx, err := e.sessions.Load(e.t.Context(), e.cookie(c).Value)
	if err != nil {
		e.t.Fatal(err)
	}
	rec, err := e.sessions.Current(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

// withCookie sends a request carrying an explicit session cookie value.
func (e *testEnv) withCookie(value string) *http.Client {
	c := e.browser()
	u, _ := url.Parse(e.app.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: e.sessions.CookieName(), Value: value, Path: "/"}})
	return c
}

func wantStatus(t testing.TB, r response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s = %d %s; want %d", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.body, want)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// failedRequests picks the lines of the server's log that say why requests
// failed, for a test's failure message.
func failedRequests(logs string) string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "request failed") || strings.Contains(line, "request refused") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
