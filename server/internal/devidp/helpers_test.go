package devidp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/net/html"
)

const (
	testClientID   = "app"
	testSecret     = "app-secret"
	testRedirect   = "https://app.test/auth/callback"
	testPostLogout = "https://app.test/signed-out"
	testState      = "st4te"
	testNonce      = "n0nce"
)

// testKey saves a key generation per test server.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeClock is a Config.Now that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is a log destination that the race detector accepts.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testEnv struct {
	idp    *Server
	srv    *httptest.Server
	client *http.Client // follows no redirects
	clock  *fakeClock
	logs   *syncBuffer
}

// newTestServer starts a provider over real HTTP with one client, a fake
// clock and captured logs. path is the issuer's path ("" or "/dex").
func newTestServer(t *testing.T, path string, modify ...func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{
		srv:   httptest.NewUnstartedServer(nil),
		clock: &fakeClock{now: time.Now()},
		logs:  &syncBuffer{},
	}
	cfg := Config{
		Issuer: "http://" + e.srv.Listener.Addr().String() + path,
		Clients: []Client{{
			ID: testClientID, Secret: testSecret,
			RedirectURIs:           []string{testRedirect},
			PostLogoutRedirectURIs: []string{testPostLogout},
		}},
		Now:        e.clock.Now,
		Logger:     slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SigningKey: testKey(),
	}
	for _, m := range modify {
		m(&cfg)
	}
	idp, err := New(cfg)
	if err != nil {
		t.Fatalf("New() = %v; want no error", err)
	}
	e.idp = idp
	e.srv.Config.Handler = idp
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	t.Cleanup(idp.Close) // first: deliveries stop before the server does
	e.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func newPKCE() (verifier, challenge string) {
	verifier = randomToken()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authParams is a valid authorize request with the given challenge.
func authParams(challenge string) url.Values {
	return url.Values{
		"client_id": {testClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"},
		"scope": {"openid profile email offline_access"}, "state": {testState}, "nonce": {testNonce},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

func (e *testEnv) get(t *testing.T, path string, query url.Values) *http.Response {
	t.Helper()
	u := e.idp.Issuer() + path
	if query != nil {
		u += "?" + query.Encode()
	}
	resp, err := e.client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// page is a parsed HTML answer.
type page struct {
	resp *http.Response
	doc  *html.Node
}

func (e *testEnv) getPage(t *testing.T, query url.Values) page {
	t.Helper()
	return readPage(t, e.get(t, "/oauth/authorize", query))
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	return page{resp, doc}
}

// find returns the nodes that match, in document order.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var found []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			found = append(found, d)
		}
	}
	return found
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// texts returns the text of every element with this tag.
func (p page) texts(tag string) []string {
	var out []string
	for _, n := range find(p.doc, func(n *html.Node) bool { return n.Data == tag }) {
		out = append(out, text(n))
	}
	return out
}

// labels returns the text of every label with the id of its control.
func (p page) labels() map[string]string {
	out := map[string]string{}
	for _, n := range find(p.doc, func(n *html.Node) bool { return n.Data == "label" }) {
		out[text(n)] = attr(n, "for")
	}
	return out
}

// inputValue returns the value of the control labelled label.
func (p page) inputValue(label string) string {
	id := p.labels()[label]
	for _, n := range find(p.doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "id") == id }) {
		return attr(n, "value")
	}
	return ""
}

// submit clicks the button named button as a browser would: it posts the
// button's form (its inputs, with fill applied by label) and the button's own
// name and value, and returns the answer without following it.
func (e *testEnv) submit(t *testing.T, p page, button string, fill map[string]string) *http.Response {
	t.Helper()
	for _, form := range find(p.doc, func(n *html.Node) bool { return n.Data == "form" }) {
		buttons := find(form, func(n *html.Node) bool { return n.Data == "button" && text(n) == button })
		if len(buttons) == 0 {
			continue
		}
		values := url.Values{}
		for _, in := range find(form, func(n *html.Node) bool { return n.Data == "input" }) {
			values.Add(attr(in, "name"), attr(in, "value"))
		}
		for label, v := range fill {
			id, ok := p.labels()[label]
			if !ok {
				t.Fatalf("no field labelled %q", label)
			}
			for _, in := range find(form, func(n *html.Node) bool { return attr(n, "id") == id }) {
				values.Set(attr(in, "name"), v)
			}
		}
		if name := attr(buttons[0], "name"); name != "" {
			values.Add(name, attr(buttons[0], "value"))
		}
		action, err := p.resp.Request.URL.Parse(attr(form, "action"))
		if err != nil {
			t.Fatalf("form action: %v", err)
		}
		resp, err := e.client.PostForm(action.String(), values)
		if err != nil {
			t.Fatalf("POST %s: %v", action, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	t.Fatalf("no button named %q; buttons: %q", button, p.texts("button"))
	return nil
}

// redirectParams checks that resp redirects to testRedirect and returns its
// query.
func redirectParams(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status = %d; want 302 (body %.300s)", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Fatalf("redirected to %q; want %q", got, testRedirect)
	}
	return loc.Query()
}

// signIn drives the hosted page with params, clicks button and returns the
// code sent to the redirect URI.
func (e *testEnv) signIn(t *testing.T, params url.Values, button string) string {
	t.Helper()
	q := redirectParams(t, e.submit(t, e.getPage(t, params), button, nil))
	if q.Get("code") == "" || q.Get("state") != params.Get("state") {
		t.Fatalf("callback query = %v; want a code and state %q", q, params.Get("state"))
	}
	return q.Get("code")
}

// login signs in as Bob (one organization) and exchanges the code.
func (e *testEnv) login(t *testing.T) tokenResponse {
	t.Helper()
	verifier, challenge := newPKCE()
	code := e.signIn(t, authParams(challenge), "Continue as Bob Member (bob@acme.test)")
	status, tokens, _ := e.token(t, exchangeForm(code, verifier))
	if status != http.StatusOK {
		t.Fatalf("code exchange status = %d; want 200", status)
	}
	return tokens
}

func exchangeForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
		"code_verifier": {verifier}, "client_id": {testClientID}, "client_secret": {testSecret},
	}
}

func refreshForm(refreshToken string) url.Values {
	return url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
		"client_id": {testClientID}, "client_secret": {testSecret},
	}
}

// token posts form to /oauth/token and decodes the answer: tokens on 200,
// the §5.2 error otherwise.
func (e *testEnv) token(t *testing.T, form url.Values) (int, tokenResponse, oauthErrorBody) {
	t.Helper()
	resp, err := e.client.PostForm(e.idp.Issuer()+"/oauth/token", form)
	if err != nil {
		t.Fatalf("POST /oauth/token: %v", err)
	}
	defer resp.Body.Close()
	return decodeTokenAnswer(t, resp)
}

type oauthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func decodeTokenAnswer(t *testing.T, resp *http.Response) (int, tokenResponse, oauthErrorBody) {
	t.Helper()
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("token answer Cache-Control = %q; want no-store", got)
	}
	body, _ := io.ReadAll(resp.Body)
	var tokens tokenResponse
	var oerr oauthErrorBody
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &tokens); err != nil {
			t.Fatalf("decode tokens: %v", err)
		}
		return resp.StatusCode, tokens, oerr
	}
	if err := json.Unmarshal(body, &oerr); err != nil {
		t.Fatalf("decode error %s: %v", body, err)
	}
	if oerr.Error == "" || oerr.Description == "" {
		t.Errorf("error body = %s; want error and error_description", body)
	}
	return resp.StatusCode, tokens, oerr
}

// verify checks raw's RS256 signature against the provider's /keys, as a
// relying party would, and returns its header and claims.
func (e *testEnv) verify(t *testing.T, raw string) (jose.Header, map[string]any) {
	t.Helper()
	resp := e.get(t, "/keys", nil)
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("decode /keys: %v", err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	header := jws.Signatures[0].Header
	keys := set.Key(header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("/keys has %d keys with kid %q; want 1", len(keys), header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("verify JWT: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("decode claims: %v", err)
	}
	return header, claims
}
