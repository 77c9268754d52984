package scalekit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// This file is a small OpenID Provider for the tests: discovery, a JWKS, a
// token endpoint with PKCE, single-use codes and rotating refresh tokens, and
// a fake clock that both the provider and the client under test read.

const (
	testClientID     = "skc_test_client"
	testClientSecret = "test-secret-do-not-log"
	testRedirectURI  = "https://app.example/auth/callback"
)

// Keys are slow to generate under -race, so the tests share three.
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

type testKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// keyA and keyB can be published; keyX never is.
func keyA() testKey { return testKey{"key-a", testKeys()[0]} }
func keyB() testKey { return testKey{"key-b", testKeys()[1]} }
func keyX() testKey { return testKey{"key-x", testKeys()[2]} }

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type opOptions struct {
	prefix      string       // issuer path, such as "/dex"
	noDiscovery bool         // answer 404 at the discovery path
	listener    net.Listener // listen here instead of a fresh port
}

type grant struct {
	challenge   string
	redirectURI string
	idToken     string // raw, as the test built it
	sub         string
}

type testOP struct {
	t      testing.TB
	srv    *httptest.Server
	issuer string
	clock  *fakeClock

	mu           sync.Mutex
	opts         opOptions
	published    []testKey
	docIssuer    string // issuer in the discovery document; default issuer
	docTokenURL  string // token_endpoint in the document; default ours
	down         bool   // every endpoint answers 503 with HTML
	tokenHandler http.HandlerFunc
	apiHandler   http.HandlerFunc // serves /api/…; default 404
	apiTokens    int              // client_credentials tokens issued
	opaqueAT     bool             // issue opaque access tokens
	noRotation   bool             // refresh answers carry no refresh token
	refreshID    func(sub string) string
	hits         map[string]int
	tokenForms   []url.Values
	tokenAuthz   []string
	codes        map[string]grant
	refresh      map[string]string // refresh token -> sub; deleted when spent
}

func newTestOP(t testing.TB, opts opOptions) *testOP {
	t.Helper()
	op := &testOP{
		t:         t,
		clock:     &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		opts:      opts,
		published: []testKey{keyA()},
		hits:      map[string]int{},
		codes:     map[string]grant{},
		refresh:   map[string]string{},
	}
	op.srv = httptest.NewUnstartedServer(http.HandlerFunc(op.serveHTTP))
	if opts.listener != nil {
		op.srv.Listener.Close()
		op.srv.Listener = opts.listener
	}
	op.srv.Start()
	t.Cleanup(op.srv.Close)
	op.issuer = op.srv.URL + opts.prefix
	return op
}

// Paths the discovery document advertises; they differ from Scalekit's fixed
// paths so a test can tell which were used. Both sets are served.
const (
	docAuthorizePath = "/o/authorize"
	docTokenPath     = "/o/token"
	docKeysPath      = "/o/jwks"
	docLogoutPath    = "/o/logout"
)

func (op *testOP) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, op.opts.prefix)
	op.mu.Lock()
	op.hits[path]++
	down, noDiscovery, handler, api := op.down, op.opts.noDiscovery, op.tokenHandler, op.apiHandler
	op.mu.Unlock()
	if down {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "<html>maintenance</html>")
		return
	}
	switch path {
	case "/.well-known/openid-configuration":
		if noDiscovery {
			http.NotFound(w, r)
			return
		}
		op.serveDiscovery(w)
	case "/keys", docKeysPath:
		op.serveKeys(w)
	case "/oauth/token", docTokenPath:
		if handler != nil {
			handler(w, r)
			return
		}
		op.serveToken(w, r)
	default:
		if strings.HasPrefix(path, "/api/") && api != nil {
			api(w, r)
			return
		}
		http.NotFound(w, r)
	}
}

func (op *testOP) serveDiscovery(w http.ResponseWriter) {
	op.mu.Lock()
	issuer, tokenURL := op.docIssuer, op.docTokenURL
	op.mu.Unlock()
	if issuer == "" {
		issuer = op.issuer
	}
	if tokenURL == "" {
		tokenURL = op.issuer + docTokenPath
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                op.issuer + docAuthorizePath,
		"token_endpoint":                        tokenURL,
		"jwks_uri":                              op.issuer + docKeysPath,
		"end_session_endpoint":                  op.issuer + docLogoutPath,
		"id_token_signing_alg_values_supported": []string{"RS256", "HS256", "none"},
	})
}

func (op *testOP) serveKeys(w http.ResponseWriter) {
	op.mu.Lock()
	var set jose.JSONWebKeySet
	for _, k := range op.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "RS256", Use: "sig"})
	}
	op.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

func (op *testOP) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	op.tokenForms = append(op.tokenForms, r.PostForm)
	op.tokenAuthz = append(op.tokenAuthz, r.Header.Get("Authorization"))
	// client_secret_post only.
	if r.PostForm.Get("client_id") != testClientID || r.PostForm.Get("client_secret") != testClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	var sub, idToken string
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		op.apiTokens++
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600,
			"access_token": fmt.Sprintf("tstapi~%d", op.apiTokens)})
		return
	case "authorization_code":
		g, ok := op.codes[r.PostForm.Get("code")]
		delete(op.codes, r.PostForm.Get("code")) // single use, even when refused
		if !ok || g.redirectURI != r.PostForm.Get("redirect_uri") || scalekit.S256Challenge(r.PostForm.Get("code_verifier")) != g.challenge {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		sub, idToken = g.sub, g.idToken
	case "refresh_token":
		s, ok := op.refresh[r.PostForm.Get("refresh_token")]
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		sub = s
		if !op.noRotation {
			delete(op.refresh, r.PostForm.Get("refresh_token"))
		}
		if op.refreshID != nil {
			idToken = op.refreshID(sub)
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	resp := map[string]any{"token_type": "Bearer", "expires_in": 300}
	if op.opaqueAT {
		resp["access_token"] = "tstopaque~" + scalekit.RandomString()
	} else {
		resp["access_token"] = op.sign(keyA(), op.accessClaims(sub))
	}
	if idToken != "" {
		resp["id_token"] = idToken
	}
	if rt := "tstrt~" + scalekit.RandomString(); !op.noRotation || r.PostForm.Get("grant_type") == "authorization_code" {
		op.refresh[rt] = sub
		resp["refresh_token"] = rt
	}
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": "test provider says " + code})
}

// tokenIssuer is the iss of the tokens: the discovery document's issuer.
// Tests set docIssuer before the first request, so it needs no lock (and
// serveToken calls this with op.mu held).
func (op *testOP) tokenIssuer() string {
	if op.docIssuer != "" {
		return op.docIssuer
	}
	return op.issuer
}

// idClaims returns valid ID token claims for the nonce.
func (op *testOP) idClaims(nonce string) map[string]any {
	now := op.clock.Now()
	return map[string]any{
		"iss":            op.tokenIssuer(),
		"aud":            testClientID,
		"sub":            "usr_123",
		"iat":            now.Unix(),
		"exp":            now.Add(time.Hour).Unix(),
		"nonce":          nonce,
		"email":          "ada@example.com",
		"email_verified": true,
		"name":           "Ada Lovelace",
		"given_name":     "Ada",
		"family_name":    "Lovelace",
		"picture":        "https://example.com/ada.png",
		"oid":            "org_1",
		"sid":            "ses_1",
	}
}

func (op *testOP) accessClaims(sub string) map[string]any {
	now := op.clock.Now()
	return map[string]any{
		"iss":         op.tokenIssuer(),
		"aud":         []string{"https://api.example"}, // not the client id
		"sub":         sub,
		"sid":         "ses_1",
		"oid":         "org_1",
		"roles":       []string{"admin"},
		"permissions": []string{"read", "write"},
		"scope":       "openid profile email offline_access",
		"iat":         now.Unix(),
		"exp":         now.Add(5 * time.Minute).Unix(),
	}
}

// logoutClaims returns valid back-channel logout token claims.
func (op *testOP) logoutClaims() map[string]any {
	now := op.clock.Now()
	return map[string]any{
		"iss":    op.tokenIssuer(),
		"aud":    testClientID,
		"sub":    "usr_123",
		"sid":    "ses_1",
		"jti":    "jti-" + scalekit.RandomString(),
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
}

// withChanges returns claims with changes made: a nil value deletes the claim.
func withChanges(claims, changes map[string]any) map[string]any {
	for k, v := range changes {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return claims
}

func (op *testOP) sign(k testKey, claims any) string {
	op.t.Helper()
	return signWith(op.t, jose.SigningKey{Algorithm: jose.RS256, Key: k.priv}, k.kid, claims)
}

// signLogout signs a logout token, typed logout+jwt as the spec asks.
func (op *testOP) signLogout(k testKey, claims any) string {
	op.t.Helper()
	return op.signTyped(k, "logout+jwt", claims)
}

// signTyped signs with the given typ header; "" leaves typ out.
func (op *testOP) signTyped(k testKey, typ string, claims any) string {
	op.t.Helper()
	return signTypedWith(op.t, jose.SigningKey{Algorithm: jose.RS256, Key: k.priv}, k.kid, typ, claims)
}

func signWith(t testing.TB, key jose.SigningKey, kid string, claims any) string {
	t.Helper()
	return signTypedWith(t, key, kid, "JWT", claims)
}

func signTypedWith(t testing.TB, key jose.SigningKey, kid, typ string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(key, opts)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsignedJWT returns a token with alg "none".
func unsignedJWT(t testing.TB, kid string, claims any) string {
	t.Helper()
	header, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(header) + "." + enc(payload) + "."
}

// hmacWithPublicKey returns an HS256 token whose secret is keyA's public key
// in PEM: the classic algorithm-confusion attack.
func hmacWithPublicKey(t testing.TB, claims any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&keyA().priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return signWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: secret}, keyA().kid, claims)
}

// newCode registers an authorization code that yields idToken, and returns
// the code and its PKCE verifier.
func (op *testOP) newCode(idToken string) (code, verifier string) {
	verifier = scalekit.NewPKCEVerifier()
	code = "tstcode~" + scalekit.RandomString()
	op.mu.Lock()
	defer op.mu.Unlock()
	op.codes[code] = grant{challenge: scalekit.S256Challenge(verifier), redirectURI: testRedirectURI, idToken: idToken, sub: "usr_123"}
	return code, verifier
}

func (op *testOP) hitCount(path string) int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.hits[path]
}

func (op *testOP) keyHits() int { return op.hitCount("/keys") + op.hitCount(docKeysPath) }

func (op *testOP) set(f func(op *testOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

// newTestClient returns a client of op whose logs are scanned at the end of
// the test for anything token- or secret-shaped.
func newTestClient(t testing.TB, op *testOP, mods ...func(*scalekit.Config)) *scalekit.OIDCClient {
	t.Helper()
	logs := &syncBuffer{}
	cfg := scalekit.Config{
		EnvironmentURL: op.issuer,
		ClientID:       testClientID,
		ClientSecret:   testClientSecret,
		Now:            op.clock.Now,
		Logger:         newLogger(logs),
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := scalekit.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { checkNoSecrets(t, "logs", logs.String()) })
	return c
}

func newLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var jwtShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.`)

// checkNoSecrets fails when s holds a JWT, the client secret, a code or a
// refresh token of the test provider.
func checkNoSecrets(t testing.TB, what, s string) {
	t.Helper()
	for _, bad := range []string{testClientSecret, "tstcode~", "tstrt~", "tstopaque~"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s contain %q:\n%s", what, bad, s)
		}
	}
	if m := jwtShaped.FindString(s); m != "" {
		t.Errorf("%s contain a JWT %q", what, m)
	}
}

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

// closedURL returns the URL of a port that refuses connections.
func closedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return srv.URL
}

// exchange runs a code exchange for an ID token built from claims.
func exchange(t *testing.T, c *scalekit.OIDCClient, op *testOP, idToken, nonce string) (*scalekit.AuthenticationResponse, error) {
	t.Helper()
	code, verifier := op.newCode(idToken)
	return c.AuthenticateWithCode(context.Background(), code, testRedirectURI, scalekit.AuthenticationOptions{CodeVerifier: verifier, Nonce: nonce})
}
