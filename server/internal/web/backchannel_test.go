package web

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

func (e *testEnv) logoutToken(mutate func(map[string]any)) string {
	e.t.Helper()
	return e.typedLogoutToken("logout+jwt", mutate)
}

// typedLogoutToken signs a logout token with the given typ header ("" for none).
func (e *testEnv) typedLogoutToken(typ string, mutate func(map[string]any)) string {
	e.t.Helper()
	claims := map[string]any{
		"iss": e.issuer, "aud": "bff-test", "iat": time.Now().Unix(), "exp": time.Now().Add(2 * time.Minute).Unix(),
		"jti": "jti-" + time.Now().Format(time.RFC3339Nano), "sub": "usr_alice",
		"events": map[string]any{backchannelEvent: map[string]any{}},
	}
	if mutate != nil {
		mutate(claims)
	}
	tok, err := e.idp.SignTypedJWT(typ, claims)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *testEnv) backchannel(token string) response {
	e.t.Helper()
	return e.post(e.browser(), e.app.URL+"/auth/backchannel-logout", url.Values{"logout_token": {token}})
}

func TestBackchannelLogoutRefusesBadTokens(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	e.login(c, "usr_alice")
	sid := providerSessionOf(t, e, c)

	otherKey, err := jwtSignedWithForeignKey(map[string]any{"iss": e.issuer, "aud": "bff-test", "sid": sid, "jti": "x",
		"iat": time.Now().Unix(), "events": map[string]any{backchannelEvent: map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"bad signature":  otherKey,
		"wrong aud":      e.logoutToken(func(m map[string]any) { m["aud"] = "someone-else"; m["sid"] = sid }),
		"missing events": e.logoutToken(func(m map[string]any) { delete(m, "events"); m["sid"] = sid }),
		"with nonce":     e.logoutToken(func(m map[string]any) { m["nonce"] = "n"; m["sid"] = sid }),
		"no sid nor sub": e.logoutToken(func(m map[string]any) { delete(m, "sub") }),
		"not a jwt":      "garbage",
		"typ JWT":        e.typedLogoutToken("JWT", func(m map[string]any) { m["sid"] = sid }),
		"no typ":         e.typedLogoutToken("", func(m map[string]any) { m["sid"] = sid }),
		"no exp":         e.logoutToken(func(m map[string]any) { delete(m, "exp"); m["sid"] = sid }),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			r := e.backchannel(tok)
			wantStatus(t, r, http.StatusBadRequest)
			if r.errorCode(t) != "bad_request" || r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("response %s (Cache-Control %q); want bad_request, no-store", r.body, r.Header.Get("Cache-Control"))
			}
		})
	}
	// The token is read from the form body only, never the query string.
	inQuery := e.logoutToken(func(m map[string]any) { m["sid"] = sid })
	wantStatus(t, e.do(e.browser(), http.MethodPost, "/auth/backchannel-logout?logout_token="+inQuery, nil), http.StatusBadRequest)
	wantStatus(t, e.get(c, "/api/me"), http.StatusOK) // nothing ended
}

func TestBackchannelLogoutEndsMatchingSessions(t *testing.T) {
	e := newTestServer(t)
	a1, a2, bob := e.browser(), e.browser(), e.browser()
	e.login(a1, "usr_alice")
	e.login(a2, "usr_alice")
	e.login(bob, "usr_bob")

	tok := e.logoutToken(func(m map[string]any) { m["sid"] = providerSessionOf(t, e, a1) })
	r := e.backchannel(tok)
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", r.Header.Get("Cache-Control"))
	}
	wantStatus(t, e.get(a1, "/api/me"), http.StatusUnauthorized)
	wantStatus(t, e.get(a2, "/api/me"), http.StatusOK) // another provider session of alice
	wantStatus(t, e.get(bob, "/api/me"), http.StatusOK)

	// The same token again is a replay.
	wantStatus(t, e.backchannel(tok), http.StatusBadRequest)

	// A token with only sub ends all of that user's sessions.
	wantStatus(t, e.backchannel(e.logoutToken(nil)), http.StatusOK)
	wantStatus(t, e.get(a2, "/api/me"), http.StatusUnauthorized)
	wantStatus(t, e.get(bob, "/api/me"), http.StatusOK)
}

// A token that names both a provider session and a user ends that session
// only if it is that user's: a sid alone must not end someone else's.
func TestBackchannelLogoutWithSidAndSubChecksBoth(t *testing.T) {
	e := newTestServer(t)
	alice := e.browser()
	e.login(alice, "usr_alice")
	sid := providerSessionOf(t, e, alice)

	r := e.backchannel(e.logoutToken(func(m map[string]any) { m["sid"] = sid; m["sub"] = "usr_bob" }))
	wantStatus(t, r, http.StatusOK) // valid, and about nobody here
	wantStatus(t, e.get(alice, "/api/me"), http.StatusOK)

	wantStatus(t, e.backchannel(e.logoutToken(func(m map[string]any) { m["sid"] = sid; m["sub"] = "usr_alice" })), http.StatusOK)
	wantStatus(t, e.get(alice, "/api/me"), http.StatusUnauthorized)
}

// chunked hides the body's length, so only reading it finds it too large.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestOversizedBodiesAre413(t *testing.T) {
	e := newTestServer(t)
	big := strings.Repeat("a", 100<<10)
	tests := []struct {
		name, path, contentType string
		body                    func() io.Reader
	}{
		{"back-channel, chunked", "/auth/backchannel-logout", "application/x-www-form-urlencoded", func() io.Reader { return chunked{strings.NewReader("logout_token=" + big)} }},
		{"back-channel, with a length", "/auth/backchannel-logout", "application/x-www-form-urlencoded", func() io.Reader { return strings.NewReader("logout_token=" + big) }},
		{"back-channel, chunked, no form", "/auth/backchannel-logout", "text/plain", func() io.Reader { return chunked{strings.NewReader(big)} }},
		{"webhook, chunked", "/webhooks/scalekit", "application/json", func() io.Reader { return chunked{strings.NewReader(`{"x":"` + big + `"}`)} }},
		{"webhook, with a length", "/webhooks/scalekit", "application/json", func() io.Reader { return strings.NewReader(`{"x":"` + big + `"}`) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(e.browser(), http.MethodPost, tc.path, tc.body(), "Content-Type", tc.contentType)
			wantStatus(t, r, http.StatusRequestEntityTooLarge)
			if code := r.errorCode(t); code != "payload_too_large" {
				t.Errorf("%s: error %q; want payload_too_large", tc.path, code)
			}
		})
	}
}

func TestProviderLogoutSendsBackchannel(t *testing.T) {
	e := newTestServer(t)
	laptop, phone := e.browser(), e.browser()
	e.login(laptop, "usr_alice")
	e.login(phone, "usr_alice")
	// The phone signs out at the provider directly (its logout URL), and the
	// provider tells us over the back channel.
	r := e.do(phone, http.MethodPost, "/auth/logout", nil, "X-CSRF", "1")
	var body struct{ LogoutURL string }
	r.json(t, &body)
	wantStatus(t, e.get(e.browser(), body.LogoutURL), http.StatusFound)
	wantStatus(t, e.get(laptop, "/api/me"), http.StatusOK)
	if !strings.Contains(e.logs.String(), "back-channel logout") {
		t.Error("no back-channel logout reached the BFF after the provider logout")
	}
	// When the provider ends the laptop's session (an admin, an expiry), the
	// back channel ends it here at once.
	if !e.idp.EndSession(t.Context(), providerSessionOf(t, e, laptop)) {
		t.Fatal("EndSession found no provider session")
	}
	wantStatus(t, e.get(laptop, "/api/me"), http.StatusUnauthorized)
}

// jwtSignedWithForeignKey signs claims with a key the provider never published.
func jwtSignedWithForeignKey(claims map[string]any) (string, error) {
	key, err := newRSAKey()
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "foreign"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}
