package web

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/scalekit-bff/server/internal/demoapi"
	"github.com/example/scalekit-bff/server/internal/devidp"
	"github.com/example/scalekit-bff/server/internal/session"
)

// upstream is a real HTTP server standing in for a product API. It records
// every request it receives and answers with its handler (200 {"ok":true}
// until told otherwise).
type upstream struct {
	*httptest.Server
	mu       sync.Mutex
	received []received
	handler  atomic.Pointer[http.HandlerFunc]
}

type received struct {
	method, path, query string // path as sent (escaped)
	header              http.Header
	body                []byte
	bodyErr             error
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		u.mu.Lock()
		u.received = append(u.received, received{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body, err})
		u.mu.Unlock()
		if h := u.handler.Load(); h != nil {
			(*h)(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) answer(h http.HandlerFunc) { u.handler.Store(&h) }

func (u *upstream) calls() []received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]received(nil), u.received...)
}

// remoteEnv is the real server with REMOTE_APIS: /api/orders goes to a
// recording upstream's /v1, /api/demo to the demo API (which validates the
// token against the provider), and extra entries may be added, in which
// "{orders}" stands for the recording upstream's URL.
func remoteEnv(t *testing.T, extra string, opts ...envOption) (e *testEnv, orders, demo *upstream) {
	t.Helper()
	orders, demo = newUpstream(t), newUpstream(t)
	apis := "/api/orders=" + orders.URL + "/v1,/api/demo=" + demo.URL
	if extra != "" {
		apis += "," + strings.ReplaceAll(extra, "{orders}", orders.URL)
	}
	opts = append([]envOption{withEnv("REMOTE_APIS", apis), withIDP(func(c *devidp.Config) {
		c.AccessTokenClaims = map[string]string{"given_name": "user.given_name"}
	})}, opts...)
	e = newTestServer(t, opts...)
	api, err := demoapi.New(t.Context(), demoapi.Config{Issuer: e.issuer, Audience: "bff-test", EventInterval: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	demo.answer(api.ServeHTTP)
	return e, orders, demo
}

// accessToken reads c's session's access token from the store.
func accessToken(t *testing.T, e *testEnv, c *http.Client) string {
	t.Helper()
	return string(e.storedRecord(c).AccessToken)
}

func TestRemoteAPISendsAValidTokenOfTheUser(t *testing.T) {
	e, _, demo := remoteEnv(t, "")
	c := e.browser()
	e.login(c, "usr_alice")
	r := e.get(c, "/api/demo/hello", "X-CSRF", "1")
	wantStatus(t, r, http.StatusOK)
	var hello demoapi.Hello
	r.json(t, &hello)
	// The demo API accepted it: signed by the provider, for this client, not expired.
	if hello.Message != "Hello from the demo API, Alice" || hello.Claims.Subject != "usr_alice" || hello.Claims.OrganizationID != "org_acme" {
		t.Errorf("GET /api/demo/hello = %+v; want Alice's greeting and claims", hello)
	}
	if got, want := demo.calls()[0].header.Get("Authorization"), "Bearer "+accessToken(t, e, c); got != want {
		t.Errorf("upstream Authorization = %.20q…; want the session's access token", got)
	}
}

func TestRemoteAPIRefreshesAnExpiredTokenOnce(t *testing.T) {
	for _, n := range []int{1, 50} {
		t.Run(fmt.Sprintf("%d calls", n), func(t *testing.T) {
			clk := &offsetClock{}
			e, _, demo := remoteEnv(t, "", withIDP(func(c *devidp.Config) { c.Now, c.AccessTokenTTL = clk.Now, 5*time.Minute }))
			c := e.browser()
			loginNearExpiry(e, clk, c, "usr_alice")
			stale := accessToken(t, e, c)
			before := e.idp.GrantCounts()["refresh_token"]

			statuses := concurrentGets(e, e.cookie(c), []string{e.app.URL + "/api/demo/hello"}, n, "X-CSRF", "1")
			if statuses[http.StatusOK] != n {
				t.Errorf("statuses = %v; want %d × 200; failures logged:\n%s", statuses, n, failedRequests(e.logs.String()))
			}
			if got := e.idp.GrantCounts()["refresh_token"] - before; got != 1 {
				t.Errorf("refreshes at the provider = %d; want exactly 1", got)
			}
			fresh := "Bearer " + accessToken(t, e, c)
			for _, call := range demo.calls() {
				if got := call.header.Get("Authorization"); got != fresh || got == "Bearer "+stale {
					t.Fatalf("upstream got a token other than the refreshed one")
				}
			}
		})
	}
}

func TestRemoteAPIHeaderHygiene(t *testing.T) {
	e, orders, _ := remoteEnv(t, "")
	c := e.browser()
	e.login(c, "usr_alice")
	cookie := e.cookie(c)
	orders.answer(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Set-Cookie", "upstream=1; Path=/")
		h.Add("Set-Cookie", cookie.Name+"=stolen; Path=/")
		h.Set("Content-Security-Policy", "default-src *")
		h.Set("Access-Control-Allow-Origin", "https://evil.test")
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Clear-Site-Data", `"cookies"`)
		h.Set("Connection", "X-Upstream-Hop")
		h.Set("X-Upstream-Hop", "1")
		h.Set("X-Order", "42")
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":42}`))
	})
	const query = "x=1&y=%20z&x=2&semi;colon=1&bad=%zz" // the last two are not parsable: passed on all the same
	r := e.get(c, "/api/orders/42?"+query, "X-CSRF", "1",
		"Authorization", "Bearer made-up-by-the-browser", "X-Forwarded-For", "6.6.6.6", "X-Forwarded-Host", "evil.test",
		"X-Forwarded-Prefix", "/evil", "Forwarded", "for=6.6.6.6", "X-Real-IP", "6.6.6.6",
		"Connection", "X-Browser-Hop", "X-Browser-Hop", "1", "X-Custom", "kept")

	// The answer, as the upstream gave it, without what only the BFF may set.
	wantStatus(t, r, http.StatusCreated)
	if string(r.body) != `{"id":42}` || r.Header.Get("X-Order") != "42" {
		t.Errorf("answer = %s, X-Order %q; want the upstream's", r.body, r.Header.Get("X-Order"))
	}
	for _, name := range []string{"Set-Cookie", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Clear-Site-Data", "X-Upstream-Hop"} {
		if v := r.Header.Values(name); len(v) > 0 {
			t.Errorf("the browser got the upstream's %s: %q", name, v)
		}
	}
	for name, want := range map[string]string{"Content-Security-Policy": proxiedCSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if got := r.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("answer's %s = %q; want only %q", name, got, want)
		}
	}
	if e.cookie(c).Value != cookie.Value {
		t.Error("the session cookie changed: an upstream Set-Cookie reached the browser")
	}

	got := orders.calls()[0]
	if got.method != http.MethodGet || got.path != "/v1/42" || got.query != query {
		t.Errorf("upstream got %s %s?%s; want GET /v1/42?%s", got.method, got.path, got.query, query)
	}
	app, _ := url.Parse(e.app.URL)
	want := map[string]string{
		"Authorization": "Bearer " + accessToken(t, e, c), "X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": app.Host, "X-Custom": "kept",
		"Cookie": "", "X-Csrf": "", "Forwarded": "", "X-Real-Ip": "", "X-Forwarded-Prefix": "", "X-Browser-Hop": "",
	}
	for name, w := range want {
		if v := got.header.Values(name); w == "" && len(v) > 0 || w != "" && (len(v) != 1 || v[0] != w) {
			t.Errorf("upstream header %s = %.40q; want %.40q", name, v, w)
		}
	}
	secrets := []string{cookie.Value, session.PublicID(cookie.Value)}
	for name, values := range got.header {
		for _, v := range values {
			for _, s := range secrets {
				if strings.Contains(v, s) {
					t.Errorf("upstream header %s carries the session cookie or id", name)
				}
			}
		}
	}
}

func TestRemoteAPIPassesBodiesAndStatuses(t *testing.T) {
	e, orders, _ := remoteEnv(t, "")
	c := e.browser()
	e.login(c, "usr_bob")
	orders.answer(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte("short and stout"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	body := `{"item":"tea","qty":2}` + strings.Repeat(" ", 100<<10) // more than the BFF's own 64 KB limit
	r := e.do(c, http.MethodPost, "/api/orders", strings.NewReader(body), "X-CSRF", "1", "Content-Type", "application/json")
	if r.StatusCode != http.StatusTeapot || string(r.body) != "short and stout" || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("POST = %d %q, WWW-Authenticate %q; want the upstream's 418, body and challenge", r.StatusCode, r.body, r.Header.Get("WWW-Authenticate"))
	}
	got := orders.calls()[0]
	if got.path != "/v1" || string(got.body) != body || got.header.Get("Content-Type") != "application/json" {
		t.Errorf("upstream got %s, %d bytes, %q; want /v1 and the body unchanged", got.path, len(got.body), got.header.Get("Content-Type"))
	}
	wantStatus(t, e.do(c, http.MethodDelete, "/api/orders/7", nil, "X-CSRF", "1"), http.StatusNoContent)
}

// An upstream's 1xx (here 103 Early Hints) is dropped: the final answer
// arrives with its status and the BFF's headers.
func TestRemoteAPIAnswersWithTheFinalStatus(t *testing.T) {
	e, orders, _ := remoteEnv(t, "")
	c := e.browser()
	e.login(c, "usr_bob")
	orders.answer(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":1}`))
	})
	r := e.do(c, http.MethodPost, "/api/orders", strings.NewReader("{}"), "X-CSRF", "1")
	if r.StatusCode != http.StatusCreated || string(r.body) != `{"id":1}` {
		t.Errorf("POST = %d %s; want the upstream's 201 {\"id\":1}", r.StatusCode, r.body)
	}
	for name, want := range map[string]string{"Content-Security-Policy": proxiedCSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if got := r.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("answer's %s = %q; want only %q", name, got, want)
		}
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("answer has no X-Request-Id")
	}
}

func TestRemoteAPINeedsASession(t *testing.T) {
	e, orders, _ := remoteEnv(t, "")
	signedOut := e.browser()
	e.login(signedOut, "usr_bob")
	wantStatus(t, e.do(signedOut, http.MethodPost, "/auth/logout", nil, "X-CSRF", "1"), http.StatusOK)
	for name, c := range map[string]*http.Client{
		"no cookie": e.browser(), "a garbage cookie": e.withCookie("garbage"),
		"an unknown cookie": e.withCookie(strings.Repeat("A", 43)), "signed out": signedOut,
	} {
		t.Run(name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				r := e.do(c, method, "/api/orders/1", nil, "X-CSRF", "1")
				wantStatus(t, r, http.StatusUnauthorized)
				if code := r.errorCode(t); code != "unauthenticated" {
					t.Errorf("%s = %s; want unauthenticated", method, code)
				}
			}
		})
	}
	if n := len(orders.calls()); n != 0 {
		t.Errorf("upstream calls = %d; want 0", n)
	}
}

func TestRemoteAPIChecksCSRFOnEveryMethod(t *testing.T) {
	e, orders, _ := remoteEnv(t, "/api/public={orders}/pub;anonymous")
	c := e.browser()
	e.login(c, "usr_bob")
	for _, path := range []string{"/api/orders/1", "/api/public/1"} {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			for _, header := range [][]string{{}, {"X-CSRF", "0"}, {"X-CSRF", "1", "Sec-Fetch-Site", "cross-site"}} {
				r := e.do(c, method, path, nil, header...)
				wantStatus(t, r, http.StatusForbidden)
				if code := r.errorCode(t); code != "csrf_failed" {
					t.Errorf("%s %s %v = %s; want csrf_failed", method, path, header, code)
				}
			}
		}
	}
	if n := len(orders.calls()); n != 0 {
		t.Errorf("upstream calls = %d; want 0", n)
	}
	wantStatus(t, e.get(c, "/api/orders/1", "X-CSRF", "1", "Sec-Fetch-Site", "same-origin"), http.StatusOK)
}

func TestRemoteAPIAnonymousRouteSendsNoToken(t *testing.T) {
	e, orders, _ := remoteEnv(t, "/api/public={orders}/pub;anonymous")
	signedIn := e.browser()
	e.login(signedIn, "usr_alice")
	for name, c := range map[string]*http.Client{"signed out": e.browser(), "signed in": signedIn} {
		t.Run(name, func(t *testing.T) {
			before := len(orders.calls())
			wantStatus(t, e.get(c, "/api/public/news", "X-CSRF", "1"), http.StatusOK)
			got := orders.calls()[before]
			if got.path != "/pub/news" || got.header.Get("Authorization") != "" || got.header.Get("Cookie") != "" {
				t.Errorf("upstream got %s with Authorization %q, Cookie %q; want /pub/news with neither",
					got.path, got.header.Get("Authorization"), got.header.Get("Cookie"))
			}
		})
	}
}

func TestRemoteAPIPermission(t *testing.T) {
	e, orders, _ := remoteEnv(t, "/api/members={orders}/members;permission=members:manage")
	bob, alice := e.browser(), e.browser()
	e.login(bob, "usr_bob")     // member: org:read
	e.login(alice, "usr_alice") // admin: org:read, org:write, members:manage
	r := e.get(bob, "/api/members", "X-CSRF", "1")
	wantStatus(t, r, http.StatusForbidden)
	if code := r.errorCode(t); code != "forbidden" {
		t.Errorf("Bob: %s; want forbidden", code)
	}
	if n := len(orders.calls()); n != 0 {
		t.Errorf("upstream calls after a refusal = %d; want 0", n)
	}
	wantStatus(t, e.get(alice, "/api/members", "X-CSRF", "1"), http.StatusOK)
}

func TestRemoteAPIBodyLimit(t *testing.T) {
	e, orders, _ := remoteEnv(t, "", withEnv("REMOTE_API_BODY_LIMIT", "1KiB"))
	c := e.browser()
	e.login(c, "usr_bob")
	chunked := func(n int) io.Reader { return io.MultiReader(strings.NewReader(strings.Repeat("x", n))) } // no length: sent chunked
	tests := []struct {
		name       string
		body       io.Reader
		wantStatus int
	}{
		{"at the limit, chunked", chunked(1024), http.StatusOK},
		{"over, with its length", strings.NewReader(strings.Repeat("x", 1025)), http.StatusRequestEntityTooLarge},
		{"over, chunked", chunked(4096), http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(orders.calls())
			r := e.do(c, http.MethodPost, "/api/orders", tc.body, "X-CSRF", "1")
			wantStatus(t, r, tc.wantStatus)
			if tc.wantStatus != http.StatusOK {
				if code := r.errorCode(t); code != "payload_too_large" {
					t.Errorf("code = %s; want payload_too_large", code)
				}
			}
			for _, got := range orders.calls()[before:] {
				if tc.wantStatus != http.StatusOK && got.bodyErr == nil {
					t.Errorf("the upstream read a whole body of %d bytes; want the request cut off", len(got.body))
				}
			}
		})
	}
}

func TestRemoteAPIUpstreamFailuresAre502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	slow := newUpstream(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before slow closes: it waits for its handlers
	slow.answer(func(w http.ResponseWriter, r *http.Request) { <-release })

	e, _, _ := remoteEnv(t, "/api/down="+down+",/api/slow="+slow.URL, withEnv("REMOTE_API_TIMEOUT", "200ms"))
	c := e.browser()
	e.login(c, "usr_bob")
	for _, path := range []string{"/api/down/x", "/api/slow/x"} {
		r := e.get(c, path, "X-CSRF", "1")
		wantStatus(t, r, http.StatusBadGateway)
		if code := r.errorCode(t); code != "upstream_unavailable" {
			t.Errorf("%s = %s; want upstream_unavailable", path, code)
		}
	}
}

// readEvent reads one server-sent event's data line.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var data string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the event stream: %v (after data %q)", err, data)
		}
		line = strings.TrimRight(line, "\n")
		if line == "" {
			return data
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = d
		}
	}
}

// sseUpstream sends one event, then waits for next before the second.
func sseUpstream(t *testing.T, u *upstream) (next func()) {
	ch := make(chan struct{})
	next = sync.OnceFunc(func() { close(ch) })
	t.Cleanup(next)
	u.answer(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: tick\ndata: 1\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "event: tick\ndata: 2\n\n")
	})
	return next
}

func TestRemoteAPIStreamsEventsOneByOne(t *testing.T) {
	e, orders, _ := remoteEnv(t, "")
	c := e.browser()
	e.login(c, "usr_bob")
	next := sseUpstream(t, orders)
	req, _ := http.NewRequest(http.MethodGet, e.app.URL+"/api/orders/events", nil)
	req.Header.Set("X-CSRF", "1")
	resp, err := c.Do(req) // the client gives up after 10s, so buffering fails rather than hangs
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q; want text/event-stream", ct)
	}
	body := bufio.NewReader(resp.Body)
	if got := readEvent(t, body); got != "1" { // while the upstream waits
		t.Fatalf("first event = %q; want 1", got)
	}
	next()
	if got := readEvent(t, body); got != "2" {
		t.Fatalf("second event = %q; want 2", got)
	}
}

// The server's write timeout bounds ordinary answers; an event stream
// outlives it (and the read timeout).
func TestRemoteAPIEventStreamOutlivesServerTimeouts(t *testing.T) {
	e, orders, _ := remoteEnv(t, "/api/public={orders}/pub;anonymous")
	next := sseUpstream(t, orders)
	const timeout = 300 * time.Millisecond
	srv := httptest.NewUnstartedServer(e.app.Config.Handler)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = timeout, timeout
	srv.StartTLS()
	t.Cleanup(srv.Close)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/public/events", nil)
	req.Header.Set("X-CSRF", "1")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	if got := readEvent(t, body); got != "1" {
		t.Fatalf("first event = %q; want 1", got)
	}
	// Not a wait for another goroutine: the scenario is time passing beyond
	// both deadlines, after which the stream must still deliver.
	time.Sleep(2 * timeout)
	next()
	if got := readEvent(t, body); got != "2" {
		t.Fatalf("second event = %q; want 2", got)
	}
}

func TestRemoteAPIRefusesWebSockets(t *testing.T) {
	e, orders, _ := remoteEnv(t, "")
	c := e.browser()
	e.login(c, "usr_bob")
	r := e.get(c, "/api/orders/socket", "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	wantStatus(t, r, http.StatusBadRequest)
	var b struct{ Error, Message string }
	r.json(t, &b)
	if b.Error != "bad_request" || !strings.Contains(b.Message, "WebSockets are not proxied") {
		t.Errorf("upgrade = %+v; want bad_request saying WebSockets are not proxied", b)
	}
	if n := len(orders.calls()); n != 0 {
		t.Errorf("upstream calls = %d; want 0", n)
	}
}

func TestRemoteAPIPassesRedirectsBack(t *testing.T) {
	e, orders, _ := remoteEnv(t, "")
	c := e.browser()
	e.login(c, "usr_bob")
	tests := []struct{ location, want string }{
		{orders.URL + "/v1/7?x=1", "/api/orders/7?x=1"},
		{"/v1/8", "/api/orders/8"},
		{"/v1", "/api/orders"},
		{"/v10/9", "/v10/9"},
		{"https://elsewhere.test/v1/x", "https://elsewhere.test/v1/x"},
		{"relative", "relative"},
	}
	for _, tc := range tests {
		orders.answer(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", tc.location) // as given: http.Redirect would resolve "relative"
			w.WriteHeader(http.StatusFound)
		})
		before := len(orders.calls())
		r := e.get(c, "/api/orders/old", "X-CSRF", "1")
		wantStatus(t, r, http.StatusFound)
		if got := r.Header.Get("Location"); got != tc.want {
			t.Errorf("upstream Location %q reached the browser as %q; want %q", tc.location, got, tc.want)
		}
		if n := len(orders.calls()) - before; n != 1 {
			t.Errorf("upstream calls = %d; want 1 (a redirect is never followed)", n)
		}
	}
}

func TestRemoteAPIPathsStayUnderTheUpstreamBase(t *testing.T) {
	e, orders, _ := remoteEnv(t, "")
	c := e.browser()
	e.login(c, "usr_alice")
	tests := []struct {
		path     string
		want     int
		upstream string // the path the upstream gets, when it gets one
	}{
		{"/api/orders/../me", http.StatusBadRequest, ""},
		{"/api/orders/x/../../me", http.StatusBadRequest, ""},
		{"/api/orders/./42", http.StatusBadRequest, ""},
		{"/api/orders/%2e%2e/me", http.StatusBadRequest, ""},
		{"/api/orders/%2E%2E/me", http.StatusBadRequest, ""},
		{"/api/orders/.%2e/me", http.StatusBadRequest, ""},
		{"/api/orders/..%2fme", http.StatusBadRequest, ""},
		{"/api/orders/%2e%2e%2Fme", http.StatusBadRequest, ""},
		{"/api/orders/..%5cme", http.StatusBadRequest, ""},
		{"/api/orders/a%2Fb", http.StatusBadRequest, ""},
		{"/api/orders//42", http.StatusBadRequest, ""},
		{"/api/orders/42%00", http.StatusBadRequest, ""},
		{"/api/orders%2f..%2fme", http.StatusNotFound, ""},
		{"/api/ordersx/1", http.StatusNotFound, ""},
		{"/api/orders/%252e%252e/me", http.StatusOK, "/v1/%252e%252e/me"},
		{"/api/orders/a%20b/", http.StatusOK, "/v1/a%20b/"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			before := len(orders.calls())
			r := e.get(c, tc.path, "X-CSRF", "1")
			if r.StatusCode != tc.want {
				t.Fatalf("GET %s = %d %s; want %d", tc.path, r.StatusCode, r.body, tc.want)
			}
			calls := orders.calls()[before:]
			switch {
			case tc.upstream == "" && len(calls) > 0:
				t.Errorf("GET %s reached the upstream as %s; want it refused", tc.path, calls[0].path)
			case tc.upstream != "" && (len(calls) != 1 || calls[0].path != tc.upstream):
				t.Errorf("GET %s reached the upstream as %v; want %s", tc.path, calls, tc.upstream)
			}
		})
	}

	// A raw backslash, which a client library would have encoded.
	t.Run("raw backslash", func(t *testing.T) {
		before := len(orders.calls())
		status := rawGet(t, e, `/api/orders/..\me`, "Cookie: "+e.cookie(c).Name+"="+e.cookie(c).Value, "X-CSRF: 1")
		if status != http.StatusBadRequest || len(orders.calls()) != before {
			t.Errorf(`GET /api/orders/..\me = %d, %d upstream calls; want 400 and none`, status, len(orders.calls())-before)
		}
	})
}

// rawGet sends a request line exactly as given and returns the status.
func rawGet(t *testing.T, e *testEnv, target string, headers ...string) int {
	t.Helper()
	conn, err := tls.Dial("tcp", e.app.Listener.Addr().String(), e.app.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n\r\n", target, e.app.Listener.Addr(), strings.Join(headers, "\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRemoteAPIAnswersMatchOpenAPI(t *testing.T) {
	d := loadOpenAPI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	e, _, _ := remoteEnv(t, "/api/down=http://"+ln.Addr().String(), withEnv("REMOTE_API_BODY_LIMIT", "1KiB"))
	c := e.browser()
	const route = "/api/demo/hello" // the document's example of a remote API
	d.check(t, "GET", route, e.get(c, "/api/demo/hello", "X-CSRF", "1"))
	d.check(t, "GET", route, e.get(c, "/api/demo/hello"))
	e.login(c, "usr_alice")
	d.check(t, "GET", route, e.get(c, "/api/demo/hello", "X-CSRF", "1"))
	d.check(t, "GET", route, e.get(c, "/api/demo/hello", "X-CSRF", "1", "Upgrade", "websocket", "Connection", "Upgrade"))
	d.check(t, "GET", route, e.do(c, http.MethodGet, "/api/demo/hello", strings.NewReader(strings.Repeat("x", 2048)), "X-CSRF", "1"))
	d.check(t, "GET", route, e.get(c, "/api/down/hello", "X-CSRF", "1"))
}
