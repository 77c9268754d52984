package devidp

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

func TestDiscovery(t *testing.T) {
	for _, path := range []string{"", "/dex"} {
		t.Run("issuer path "+path, func(t *testing.T) {
			e := newTestServer(t, path)
			resp := e.get(t, "/.well-known/openid-configuration", nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d; want 200", resp.StatusCode)
			}
			var got map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			iss := e.idp.Issuer()
			if !strings.HasSuffix(iss, path) {
				t.Fatalf("Issuer() = %q; want suffix %q", iss, path)
			}
			want := map[string]any{
				"issuer":                                iss,
				"authorization_endpoint":                iss + "/oauth/authorize",
				"token_endpoint":                        iss + "/oauth/token",
				"jwks_uri":                              iss + "/keys",
				"end_session_endpoint":                  iss + "/oidc/logout",
				"response_types_supported":              []any{"code"},
				"code_challenge_methods_supported":      []any{"S256"},
				"token_endpoint_auth_methods_supported": []any{"client_secret_post"},
				"id_token_signing_alg_values_supported": []any{"RS256"},
				"scopes_supported":                      []any{"openid", "profile", "email", "offline_access"},
				"backchannel_logout_supported":          true,
				"backchannel_logout_session_supported":  true,
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					delete(got, k)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("discovery mismatch (-want +got):\n%s", diff)
			}
			// Every advertised endpoint answers under the issuer's path.
			for _, p := range []string{"/keys", "/debug/counters", "/static/style.css", "/static/favicon.svg"} {
				if resp := e.get(t, p, nil); resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s%s status = %d; want 200", path, p, resp.StatusCode)
				}
			}
		})
	}
}

func TestKeys(t *testing.T) {
	e := newTestServer(t, "", func(c *Config) { c.SigningKey = nil })
	resp := e.get(t, "/keys", nil)
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("got %d keys; want 1", len(set.Keys))
	}
	k := set.Keys[0]
	pub, ok := k.Key.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 || k.Algorithm != "RS256" || k.Use != "sig" || !strings.HasPrefix(k.KeyID, "snk_") {
		t.Errorf("key = alg %q use %q kid %q (%T); want a 2048-bit RS256 signing key with a snk_ kid", k.Algorithm, k.Use, k.KeyID, k.Key)
	}

	if err := e.idp.RotateKey(); err != nil {
		t.Fatal(err)
	}
	tokens := e.login(t) // verify() checks the new kid against /keys
	header, _ := e.verify(t, tokens.AccessToken)
	if header.KeyID == k.KeyID {
		t.Errorf("after RotateKey, kid = %q; want a new key", header.KeyID)
	}
	raw, err := e.idp.SignJWT(map[string]any{"iss": e.idp.Issuer(), "sub": "usr_x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, claims := e.verify(t, raw); claims["sub"] != "usr_x" {
		t.Errorf("SignJWT claims = %v; want sub usr_x", claims)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := Client{ID: "a", Secret: "s", RedirectURIs: []string{"http://localhost/cb"}}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no issuer", Config{Clients: []Client{good}}},
		{"relative issuer", Config{Issuer: "localhost:8081", Clients: []Client{good}}},
		{"issuer with query", Config{Issuer: "http://localhost:8081?x=1", Clients: []Client{good}}},
		{"no clients", Config{Issuer: "http://localhost:8081"}},
		{"no secret", Config{Issuer: "http://localhost:8081", Clients: []Client{{ID: "a", RedirectURIs: good.RedirectURIs}}}},
		{"no redirect", Config{Issuer: "http://localhost:8081", Clients: []Client{{ID: "a", Secret: "s"}}}},
		{"relative redirect", Config{Issuer: "http://localhost:8081", Clients: []Client{{ID: "a", Secret: "s", RedirectURIs: []string{"/cb"}}}}},
		{"fragment", Config{Issuer: "http://localhost:8081", Clients: []Client{{ID: "a", Secret: "s", RedirectURIs: []string{"http://x/cb#f"}}}}},
		{"twice", Config{Issuer: "http://localhost:8081", Clients: []Client{good, good}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SigningKey = testKey()
			if _, err := New(tc.cfg); err == nil {
				t.Errorf("New(%+v) = nil error; want an error", tc.cfg)
			}
		})
	}
}

func TestGrantCounts(t *testing.T) {
	e := newTestServer(t, "")
	tokens := e.login(t)
	for range 2 {
		_, next, _ := e.token(t, refreshForm(tokens.RefreshToken))
		tokens = next
	}
	e.token(t, refreshForm("not-a-token"))
	e.token(t, exchangeForm("not-a-code", "v"))
	e.token(t, map[string][]string{"grant_type": {"password"}})

	want := map[string]int{
		"authorization_code": 1, "authorization_code_refused": 1,
		"refresh_token": 2, "refresh_token_refused": 1, "other_refused": 1,
	}
	if diff := cmp.Diff(want, e.idp.GrantCounts()); diff != "" {
		t.Errorf("GrantCounts() mismatch (-want +got):\n%s", diff)
	}
	var got map[string]int
	if err := json.NewDecoder(e.get(t, "/debug/counters", nil).Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/debug/counters mismatch (-want +got):\n%s", diff)
	}
}
