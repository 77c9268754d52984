package scalekit_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

func TestGetAuthorizationURL(t *testing.T) {
	base := scalekit.AuthorizationURLOptions{State: "st", Nonce: "no", CodeChallenge: "ch"}
	baseQuery := url.Values{
		"response_type":         {"code"},
		"client_id":             {testClientID},
		"redirect_uri":          {testRedirectURI},
		"scope":                 {"openid profile email offline_access"},
		"state":                 {"st"},
		"nonce":                 {"no"},
		"code_challenge":        {"ch"},
		"code_challenge_method": {"S256"},
	}
	with := func(extra url.Values) url.Values {
		q := url.Values{}
		for k, v := range baseQuery {
			q[k] = v
		}
		for k, v := range extra {
			q[k] = v
		}
		return q
	}
	tests := []struct {
		name     string
		op       opOptions
		opts     scalekit.AuthorizationURLOptions
		wantPath string // relative to the issuer
		want     url.Values
	}{
		{
			name:     "discovery",
			opts:     base,
			wantPath: docAuthorizePath,
			want:     baseQuery,
		},
		{
			name:     "issuer with a path",
			op:       opOptions{prefix: "/dex"},
			opts:     base,
			wantPath: docAuthorizePath,
			want:     baseQuery,
		},
		{
			name:     "no discovery: Scalekit's fixed path",
			op:       opOptions{noDiscovery: true},
			opts:     base,
			wantPath: "/oauth/authorize",
			want:     baseQuery,
		},
		{
			name:     "no discovery, issuer with a path",
			op:       opOptions{prefix: "/env", noDiscovery: true},
			opts:     base,
			wantPath: "/oauth/authorize",
			want:     baseQuery,
		},
		{
			name: "every optional parameter",
			opts: scalekit.AuthorizationURLOptions{
				State: "st", Nonce: "no", CodeChallenge: "ch",
				OrganizationID: "org_1", ConnectionID: "conn_1", LoginHint: "ada@example.com",
				DomainHint: "example.com", Provider: "google", Prompt: "create",
			},
			wantPath: docAuthorizePath,
			want: with(url.Values{
				"organization_id": {"org_1"},
				"connection_id":   {"conn_1"},
				"login_hint":      {"ada@example.com"},
				"domain_hint":     {"example.com"},
				"domain":          {"example.com"}, // as the SDKs send it
				"provider":        {"google"},
				"prompt":          {"create"},
			}),
		},
		{
			name: "extra parameters pass untouched",
			opts: scalekit.AuthorizationURLOptions{
				State: "st", Nonce: "no", CodeChallenge: "ch", OrganizationID: "org_1",
				Extra: url.Values{"invitation_token": {"a b&c=d"}, "domain": {"example.com"}, "ui_locales": {"fr"}},
			},
			wantPath: docAuthorizePath,
			want: with(url.Values{
				"organization_id":  {"org_1"},
				"invitation_token": {"a b&c=d"},
				"domain":           {"example.com"},
				"ui_locales":       {"fr"},
			}),
		},
		{
			name:     "custom scopes get openid",
			opts:     scalekit.AuthorizationURLOptions{State: "st", Nonce: "no", CodeChallenge: "ch", Scopes: []string{"email"}},
			wantPath: docAuthorizePath,
			want:     with(url.Values{"scope": {"openid email"}}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t, tc.op)
			c := newTestClient(t, op)
			got, err := c.GetAuthorizationURL(testRedirectURI, tc.opts)
			if err != nil {
				t.Fatalf("GetAuthorizationURL: %v", err)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if base, want := strings.TrimSuffix(got, "?"+u.RawQuery), op.issuer+tc.wantPath; base != want {
				t.Errorf("GetAuthorizationURL endpoint = %q; want %q", base, want)
			}
			if diff := cmp.Diff(tc.want, u.Query()); diff != "" {
				t.Errorf("GetAuthorizationURL query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetAuthorizationURLRequiresStateNonceAndPKCE(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	for _, tc := range []struct {
		name        string
		redirectURI string
		opts        scalekit.AuthorizationURLOptions
	}{
		{"no redirect URI", "", scalekit.AuthorizationURLOptions{State: "s", Nonce: "n", CodeChallenge: "c"}},
		{"no state", testRedirectURI, scalekit.AuthorizationURLOptions{Nonce: "n", CodeChallenge: "c"}},
		{"no nonce", testRedirectURI, scalekit.AuthorizationURLOptions{State: "s", CodeChallenge: "c"}},
		{"no code challenge", testRedirectURI, scalekit.AuthorizationURLOptions{State: "s", Nonce: "n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := c.GetAuthorizationURL(tc.redirectURI, tc.opts); err == nil {
				t.Errorf("GetAuthorizationURL = %q, nil; want an error", got)
			}
		})
	}
}

// TestGetAuthorizationURLExtraCannotOverride: parameters forwarded from a
// browser's query may never replace what the client itself sends (state,
// PKCE, redirect URI...) nor what a field already says.
func TestGetAuthorizationURLExtraCannotOverride(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	own := []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method", "response_mode", "request", "request_uri"}
	fields := []string{"organization_id", "connection_id", "login_hint", "domain_hint", "provider", "prompt"}
	for _, name := range append(own, fields...) {
		t.Run(name, func(t *testing.T) {
			opts := scalekit.AuthorizationURLOptions{State: "st", Nonce: "no", CodeChallenge: "ch",
				Extra: url.Values{name: {"attacker"}}}
			if got, err := c.GetAuthorizationURL(testRedirectURI, opts); err == nil {
				t.Errorf("GetAuthorizationURL(Extra %s) = %q, nil; want an error", name, got)
			}
		})
	}
	t.Run("domain beside DomainHint", func(t *testing.T) {
		opts := scalekit.AuthorizationURLOptions{State: "st", Nonce: "no", CodeChallenge: "ch",
			DomainHint: "example.com", Extra: url.Values{"domain": {"evil.example"}}}
		if got, err := c.GetAuthorizationURL(testRedirectURI, opts); err == nil {
			t.Errorf("GetAuthorizationURL = %q, nil; want an error", got)
		}
	})
	t.Run("a repeated parameter", func(t *testing.T) {
		opts := scalekit.AuthorizationURLOptions{State: "st", Nonce: "no", CodeChallenge: "ch",
			Extra: url.Values{"ui_locales": {"fr", "de"}}}
		if got, err := c.GetAuthorizationURL(testRedirectURI, opts); err == nil {
			t.Errorf("GetAuthorizationURL = %q, nil; want an error", got)
		}
	})
}

func TestS256Challenge(t *testing.T) {
	// RFC 7636 Appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	if got, want := scalekit.S256Challenge(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Errorf("S256Challenge(%q) = %q; want %q", verifier, got, want)
	}
	if v := scalekit.NewPKCEVerifier(); len(v) < 43 || len(v) > 128 {
		t.Errorf("NewPKCEVerifier() has length %d; want 43 to 128 (RFC 7636 §4.1)", len(v))
	}
	if a, b := scalekit.RandomString(), scalekit.RandomString(); a == b || len(a) != 43 {
		t.Errorf("RandomString() = %q then %q; want two different 43-character strings", a, b)
	}
}
