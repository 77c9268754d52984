package demoapi_test

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/demoapi"
	"github.com/example/scalekit-bff/server/internal/devidp"
)

const audience = "bff-client"

// newProvider serves a built-in identity provider, whose keys sign the
// tests' tokens.
func newProvider(t *testing.T) *devidp.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	idp, err := devidp.New(devidp.Config{
		Issuer:  "http://" + srv.Listener.Addr().String(),
		Clients: []devidp.Client{{ID: audience, Secret: "s", RedirectURIs: []string{"http://app.test/auth/callback"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = idp
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(idp.Close)
	return idp
}

func newDemoAPI(t *testing.T, issuer string, interval time.Duration) *httptest.Server {
	t.Helper()
	api, err := demoapi.New(t.Context(), demoapi.Config{Issuer: issuer, Audience: audience, EventInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

func sign(t *testing.T, idp *devidp.Server, change func(claims map[string]any)) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": idp.Issuer(), "sub": "usr_alice", "aud": []string{audience}, "oid": "org_acme",
		"roles": []string{"admin"}, "permissions": []string{"org:read"}, "given_name": "Alice",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	if change != nil {
		change(claims)
	}
	tok, err := idp.SignJWT(claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func get(t *testing.T, url, authorization string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestHelloGreetsTheTokensUser(t *testing.T) {
	idp := newProvider(t)
	api := newDemoAPI(t, idp.Issuer(), 0)
	resp, body := get(t, api.URL+"/hello", "Bearer "+sign(t, idp, nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /hello = %d %s; want 200", resp.StatusCode, body)
	}
	var got demoapi.Hello
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := demoapi.Hello{Message: "Hello from the demo API, Alice", Claims: demoapi.Claims{
		Subject: "usr_alice", Issuer: idp.Issuer(), Audience: []string{audience}, OrganizationID: "org_acme",
		Roles: []string{"admin"}, Permissions: []string{"org:read"}, GivenName: "Alice", ExpiresAt: got.Claims.ExpiresAt,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /hello (-want +got):\n%s", diff)
	}

	// Without the custom claim, the greeting names the user id.
	_, body = get(t, api.URL+"/hello", "Bearer "+sign(t, idp, func(c map[string]any) { delete(c, "given_name") }))
	if !strings.Contains(string(body), `"message":"Hello from the demo API, usr_alice"`) {
		t.Errorf("GET /hello without given_name = %s; want a greeting of usr_alice", body)
	}
}

func TestHelloRefusesInvalidTokens(t *testing.T) {
	idp, other := newProvider(t), newProvider(t)
	api := newDemoAPI(t, idp.Issuer(), 0)
	tests := []struct{ name, authorization string }{
		{"no token", ""},
		{"another scheme", "Basic " + sign(t, idp, nil)},
		{"garbage", "Bearer not-a-jwt"},
		{"expired", "Bearer " + sign(t, idp, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })},
		{"not valid yet", "Bearer " + sign(t, idp, func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })},
		// A huge nbf must not wrap around to the past (time.Unix of an int64 of a float).
		{"nbf MaxInt64", "Bearer " + sign(t, idp, func(c map[string]any) { c["nbf"] = int64(math.MaxInt64) })},
		{"nbf where time.Unix wraps", "Bearer " + sign(t, idp, func(c map[string]any) { c["nbf"] = int64(math.MaxInt64 - 1e9) })},
		{"nbf beyond int64", "Bearer " + sign(t, idp, func(c map[string]any) { c["nbf"] = 1e19 })},
		{"nbf not a number", "Bearer " + sign(t, idp, func(c map[string]any) { c["nbf"] = "soon" })},
		{"another audience", "Bearer " + sign(t, idp, func(c map[string]any) { c["aud"] = []string{"someone-else"} })},
		{"another issuer", "Bearer " + sign(t, idp, func(c map[string]any) { c["iss"] = "https://evil.test" })},
		{"signed by another key", "Bearer " + sign(t, other, func(c map[string]any) { c["iss"] = idp.Issuer() })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, api.URL+"/hello", tc.authorization)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("GET /hello = %d, WWW-Authenticate %q; want 401 with a Bearer challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			var e struct{ Error, Message string }
			if err := json.Unmarshal(body, &e); err != nil || e.Error != "invalid_token" || e.Message == "" {
				t.Errorf("GET /hello body = %s; want {error: invalid_token, message}", body)
			}
		})
	}
}

func TestEventsStreamsTicks(t *testing.T) {
	idp := newProvider(t)
	api := newDemoAPI(t, idp.Issuer(), time.Millisecond)
	req, _ := http.NewRequest(http.MethodGet, api.URL+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+sign(t, idp, nil))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q; want text/event-stream", ct)
	}
	var data []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
		}
	}
	want := []string{
		`{"n":1,"of":5,"sub":"usr_alice"}`, `{"n":2,"of":5,"sub":"usr_alice"}`, `{"n":3,"of":5,"sub":"usr_alice"}`,
		`{"n":4,"of":5,"sub":"usr_alice"}`, `{"n":5,"of":5,"sub":"usr_alice"}`,
	}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
