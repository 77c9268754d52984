package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testWebhookSecret = "whsec_" + b64(32)

func TestLoadDevIDP(t *testing.T) {
	defaults := DevIDP{
		Addr: "127.0.0.1:8081", ClientID: "dev-client", ClientSecret: "dev-secret",
		RedirectURIs:           []string{"http://localhost:8080/auth/callback"},
		PostLogoutRedirectURIs: []string{"http://localhost:8080/"},
		InitiateLoginURL:       "http://localhost:8080/auth/login",
	}
	with := func(change func(*DevIDP)) DevIDP {
		d := defaults
		change(&d)
		return d
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    DevIDP
		wantErr string
	}{
		{name: "defaults", want: defaults},
		{
			name: "everything set",
			env: map[string]string{
				"DEV_IDP_ADDR": "0.0.0.0:9000", "DEV_IDP_ALLOW_NON_LOOPBACK": "true",
				"DEV_IDP_ACCESS_TOKEN_TTL": "30s", "DEV_IDP_ID_TOKEN_TTL": "10m", "DEV_IDP_REFRESH_TOKEN_TTL": "2h",
				"DEV_IDP_CLIENT_ID": "c", "DEV_IDP_CLIENT_SECRET": "s",
				"DEV_IDP_REDIRECT_URIS":             " http://a.test/cb , http://b.test/cb,",
				"DEV_IDP_POST_LOGOUT_REDIRECT_URIS": "http://a.test/",
				"DEV_IDP_BACKCHANNEL_LOGOUT_URI":    "http://a.test/auth/backchannel-logout",
			},
			want: DevIDP{
				Addr: "0.0.0.0:9000", AllowNonLoopback: true,
				AccessTokenTTL: 30 * time.Second, IDTokenTTL: 10 * time.Minute, RefreshTokenTTL: 2 * time.Hour,
				ClientID: "c", ClientSecret: "s", RedirectURIs: []string{"http://a.test/cb", "http://b.test/cb"},
				PostLogoutRedirectURIs: []string{"http://a.test/"}, BackchannelLogoutURI: "http://a.test/auth/backchannel-logout",
				InitiateLoginURL: "http://a.test/auth/login",
			},
		},
		{
			name: "Initiate login URL",
			env:  map[string]string{"DEV_IDP_INITIATE_LOGIN_URL": "https://app.test/login/start"},
			want: with(func(d *DevIDP) { d.InitiateLoginURL = "https://app.test/login/start" }),
		},
		{
			name: "issuer with a path",
			env:  map[string]string{"DEV_IDP_ADDR": "[::1]:5556", "DEV_IDP_ISSUER": "http://idp.localhost:5556/dex"},
			want: with(func(d *DevIDP) { d.Addr, d.Issuer = "[::1]:5556", "http://idp.localhost:5556/dex" }),
		},
		{
			name: "webhooks to the app, signed with its secret",
			env:  map[string]string{"APP_BASE_URL": "http://app.test:8080/", "SCALEKIT_WEBHOOK_SECRET": testWebhookSecret},
			want: with(func(d *DevIDP) {
				d.WebhookURL, d.WebhookSecret = "http://app.test:8080/webhooks/scalekit", testWebhookSecret
			}),
		},
		{
			name: "webhooks to another URL",
			env: map[string]string{
				"APP_BASE_URL": "http://app.test", "DEV_IDP_WEBHOOK_URL": "http://hooks.test/in", "SCALEKIT_WEBHOOK_SECRET": testWebhookSecret,
			},
			want: with(func(d *DevIDP) { d.WebhookURL, d.WebhookSecret = "http://hooks.test/in", testWebhookSecret }),
		},
		{
			name: "no webhooks without a secret",
			env:  map[string]string{"APP_BASE_URL": "http://app.test"},
			want: defaults,
		},
		{
			name:    "a webhook URL needs a secret",
			env:     map[string]string{"DEV_IDP_WEBHOOK_URL": "http://app.test/webhooks/scalekit"},
			wantErr: "SCALEKIT_WEBHOOK_SECRET: want the secret that signs the webhooks sent to DEV_IDP_WEBHOOK_URL, got nothing",
		},
		{
			name:    "a bad secret is not shown",
			env:     map[string]string{"DEV_IDP_WEBHOOK_URL": "hooks", "SCALEKIT_WEBHOOK_SECRET": "whsec_s3cr3t!"},
			wantErr: "DEV_IDP_WEBHOOK_URL: want an absolute URL such as http://localhost:8080/webhooks/scalekit, got \"hooks\"\nSCALEKIT_WEBHOOK_SECRET: want the endpoint's secret as Scalekit shows it (whsec_ followed by the base64 of at least 24 random bytes), got a value that does not decode",
		},
		{
			name:    "bad duration",
			env:     map[string]string{"DEV_IDP_ACCESS_TOKEN_TTL": "ten"},
			wantErr: `DEV_IDP_ACCESS_TOKEN_TTL: want a positive duration such as 30s, got "ten"`,
		},
		{
			name: "every bad value named",
			env: map[string]string{
				"DEV_IDP_ADDR": "8081", "DEV_IDP_ALLOW_NON_LOOPBACK": "yes", "DEV_IDP_ISSUER": "idp.test",
				"DEV_IDP_ID_TOKEN_TTL": "-1h", "DEV_IDP_REFRESH_TOKEN_TTL": "0",
				"DEV_IDP_REDIRECT_URIS": "/auth/callback", "DEV_IDP_POST_LOGOUT_REDIRECT_URIS": " , ",
				"DEV_IDP_BACKCHANNEL_LOGOUT_URI": "nope", "DEV_IDP_INITIATE_LOGIN_URL": "/auth/login",
			},
			wantErr: `DEV_IDP_ALLOW_NON_LOOPBACK: want true or false, got "yes"
DEV_IDP_ID_TOKEN_TTL: want a positive duration such as 1h, got "-1h"
DEV_IDP_REFRESH_TOKEN_TTL: want a positive duration such as 720h, got "0"
DEV_IDP_ADDR: want host:port such as 127.0.0.1:8081, got "8081"
DEV_IDP_ISSUER: want an absolute http(s) URL without query such as http://127.0.0.1:8081, got "idp.test"
DEV_IDP_BACKCHANNEL_LOGOUT_URI: want an absolute URL such as http://localhost:8080/auth/backchannel-logout, got "nope"
DEV_IDP_INITIATE_LOGIN_URL: want an absolute URL such as http://localhost:8080/auth/login, got "/auth/login"
DEV_IDP_REDIRECT_URIS: want comma-separated absolute URLs such as http://localhost:8080/auth/callback, got "/auth/callback"
DEV_IDP_POST_LOGOUT_REDIRECT_URIS: want comma-separated absolute URLs such as http://localhost:8080/, got " , "`,
		},
		{
			name:    "non-loopback refused",
			env:     map[string]string{"DEV_IDP_ADDR": ":8081"},
			wantErr: `DEV_IDP_ADDR: refusing to listen on ":8081": not a loopback address (set DEV_IDP_ALLOW_NON_LOOPBACK=true to allow it)`,
		},
		{
			name:    "production refused",
			env:     map[string]string{"APP_ENV": "production"},
			wantErr: "APP_ENV: refusing to start the development identity provider when APP_ENV=production: anyone who reaches it can sign in as anyone",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadDevIDP(env(tc.env))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("LoadDevIDP(%v) error = %v; want:\n%s", tc.env, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadDevIDP(%v) = %v; want no error", tc.env, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LoadDevIDP(%v) mismatch (-want +got):\n%s", tc.env, diff)
			}
		})
	}
}

// Without SCALEKIT_ENVIRONMENT_URL the server runs the built-in provider with
// itself as the client, and signs people in with it.
func TestLoadRunsTheBuiltInProvider(t *testing.T) {
	c, err := Load(env(map[string]string{"APP_BASE_URL": "http://app.test:9000", "DEV_IDP_ADDR": "127.0.0.1:9001"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DevIDP == nil {
		t.Fatal("Load() without an environment: DevIDP = nil; want the built-in provider")
	}
	secret := c.ScalekitWebhookSecret
	want := DevIDP{
		Addr: "127.0.0.1:9001", Issuer: "http://127.0.0.1:9001", ClientID: "dev-client", ClientSecret: "dev-secret",
		RedirectURIs:           []string{"http://app.test:9000/auth/callback"},
		PostLogoutRedirectURIs: []string{"http://app.test:9000/"},
		BackchannelLogoutURI:   "http://app.test:9000/auth/backchannel-logout",
		InitiateLoginURL:       "http://app.test:9000/auth/login",
		WebhookURL:             "http://app.test:9000/webhooks/scalekit", WebhookSecret: secret,
	}
	if diff := cmp.Diff(want, *c.DevIDP); diff != "" {
		t.Errorf("DevIDP mismatch (-want +got):\n%s", diff)
	}
	gotEnv := []string{c.ScalekitEnvironmentURL, c.ScalekitClientID, c.ScalekitClientSecret}
	if diff := cmp.Diff([]string{"http://127.0.0.1:9001", "dev-client", "dev-secret"}, gotEnv); diff != "" {
		t.Errorf("the environment signed in with (-want +got):\n%s", diff)
	}
	// A secret of the process's own, shared by the two, that the app accepts.
	if err := checkWebhookSecret(secret); err != nil {
		t.Errorf("generated webhook secret: %v", err)
	}
	if again, _ := Load(env(nil)); again.ScalekitWebhookSecret == secret {
		t.Error("two Loads generated the same webhook secret")
	}

	given, err := Load(env(map[string]string{"SCALEKIT_WEBHOOK_SECRET": testWebhookSecret, "DEV_IDP_INITIATE_LOGIN_URL": "http://app.test/start"}))
	if err != nil {
		t.Fatal(err)
	}
	if given.DevIDP.WebhookSecret != testWebhookSecret || given.ScalekitWebhookSecret != testWebhookSecret || given.DevIDP.InitiateLoginURL != "http://app.test/start" {
		t.Errorf("with SCALEKIT_WEBHOOK_SECRET and DEV_IDP_INITIATE_LOGIN_URL: %+v; want them used", given.DevIDP)
	}
}

// With an environment, the DEV_IDP_* variables are not read: nothing of the
// built-in provider runs.
func TestLoadWithAnEnvironmentHasNoBuiltInProvider(t *testing.T) {
	c, err := Load(env(map[string]string{
		"SCALEKIT_ENVIRONMENT_URL": "https://acme.scalekit.dev", "SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b",
		"DEV_IDP_ADDR": "0.0.0.0:1",
	}))
	if err != nil || c.DevIDP != nil || c.ScalekitWebhookSecret != "" {
		t.Errorf("Load(environment) = DevIDP %v, webhook secret %q, %v; want no provider, no secret, no error", c.DevIDP, c.ScalekitWebhookSecret, err)
	}
}

func TestIssuerAt(t *testing.T) {
	tests := []struct {
		issuer, addr, want string
	}{
		{"", "127.0.0.1:8081", "http://127.0.0.1:8081"},
		{"", "[::1]:5556", "http://[::1]:5556"},
		{"", "0.0.0.0:9000", "http://localhost:9000"},
		{"", "[::]:9000", "http://localhost:9000"},
		{"", ":9000", "http://localhost:9000"},
		{"http://idp.test/dex", "127.0.0.1:1", "http://idp.test/dex"},
	}
	for _, tc := range tests {
		if got := (DevIDP{Issuer: tc.issuer}).IssuerAt(tc.addr); got != tc.want {
			t.Errorf("DevIDP{Issuer: %q}.IssuerAt(%q) = %q; want %q", tc.issuer, tc.addr, got, tc.want)
		}
	}
}

// Anyone who reaches the provider signs in as anyone: only loopback, unless
// DEV_IDP_ALLOW_NON_LOOPBACK says otherwise.
func TestDevIDPListensOnLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr    string
		allow   bool
		refused bool
	}{
		{"127.0.0.1:8081", false, false},
		{"127.0.0.2:8081", false, false},
		{"[::1]:8081", false, false},
		{"localhost:8081", false, false},
		{"127.0.0.1:0", false, false},
		{"0.0.0.0:8081", false, true},
		{":8081", false, true},
		{"[::]:8081", false, true},
		{"192.168.1.20:8081", false, true},
		{"idp.example.test:8081", false, true},
		{"0.0.0.0:8081", true, false},
		{":8081", true, false},
	}
	for _, tc := range tests {
		_, err := LoadDevIDP(env(map[string]string{"DEV_IDP_ADDR": tc.addr, "DEV_IDP_ALLOW_NON_LOOPBACK": map[bool]string{true: "true"}[tc.allow]}))
		if refused := err != nil && strings.Contains(err.Error(), "not a loopback address"); refused != tc.refused {
			t.Errorf("LoadDevIDP(DEV_IDP_ADDR=%q, allow %t) = %v; want refused %t", tc.addr, tc.allow, err, tc.refused)
		}
	}
}
