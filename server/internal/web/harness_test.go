package web

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
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

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/devidp"
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
	sopts    func(*session.Options)
	// idpIsDown makes the provider's token endpoint answer 503, as during an outage.
	idpIsDown atomic.Bool
	secretsMu sync.Mutex
	secrets   []secret
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
	auth, err := scalekit.New(t.Context(), scalekit.Config{EnvironmentURL: e.issuer, ClientID: "bff-test", ClientSecret: "bff-test-secret", Logger: logger})
	if err != nil {
		t.Fatalf("scalekit.New: %v", err)
	}
	pool, err := session.NewPool(e.redisURL, session.PoolOptions{DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	sopts := session.Options{IdleTimeout: e.cfg.SessionIdleTimeout, Lifetime: e.cfg.SessionLifetime, CookieSecure: e.cfg.CookieSecure, KeyPrefix: e.db.Prefix, Logger: logger}
	if e.sopts != nil {
		e.sopts(&sopts)
	}
	sessions := session.NewRedis(pool, sopts)
	sessions.SetRefresher(auth, session.RefreshOptions{Skew: e.cfg.TokenRefreshSkew})
	return NewServer(logger, e.cfg, sessions, auth, spa.NewFS(testSPA)), sessions
}

// secondInstance serves another instance and returns its URL.
func (e *testEnv) secondInstance() string {
	h, _ := e.newInstance(slog.New(slog.NewTextHandler(e.logs, nil)))
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
	env         map[string]string
	idpConfig   func(*devidp.Config)
	pool        func(t testing.TB) (url string)
	sessionOpts func(*session.Options)
}

func withIDP(f func(*devidp.Config)) envOption {
	return func(s *envSettings) { s.idpConfig = f }
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
	s := envSettings{env: map[string]string{}}
	for _, o := range opts {
		o(&s)
	}
	e := &testEnv{t: t, logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// The app's URL is needed before the app exists (redirect URIs), so
	// start an unstarted TLS server to learn its address.
	var handler http.Handler = http.NotFoundHandler()
	e.app = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	e.app.StartTLS()
	t.Cleanup(e.app.Close)

	var idpHandler http.Handler = http.NotFoundHandler()
	e.idpSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.idpIsDown.Load() && strings.HasSuffix(r.URL.Path, "/oauth/token") {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			return
		}
		// Record every code and token the provider hands out, so tests can
		// look for the exact values, opaque ones included, where they must
		// never be: logs, our responses.
		rec := httptest.NewRecorder()
		idpHandler.ServeHTTP(rec, r)
		e.recordSecrets(rec)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(e.idpSrv.Close)

	idpCfg := devidp.Config{
		Issuer: e.idpSrv.URL,
		Clients: []devidp.Client{{
			ID: "bff-test", Secret: "bff-test-secret",
			RedirectURIs:           []string{e.app.URL + "/auth/callback"},
			PostLogoutRedirectURIs: []string{e.app.URL + "/"},
			BackchannelLogoutURI:   e.app.URL + "/auth/backchannel-logout",
		}},
		HTTPClient: e.app.Client(),
		Logger:     logger.With("component", "devidp"),
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
	for k, v := range s.env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	e.cfg = cfg

	e.redisURL, e.sopts = redisURL, s.sessionOpts
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

var jwtShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)

// browser returns a client with its own cookie jar that does not follow
// redirects, so each hop can be inspected.
func (e *testEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Transport:     e.app.Client().Transport,
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
