package devidp

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestOptionsFromEnv(t *testing.T) {
	defaultClient := Client{
		ID: "dev-client", Secret: "dev-secret",
		RedirectURIs:           []string{"http://localhost:8080/auth/callback"},
		PostLogoutRedirectURIs: []string{"http://localhost:8080/"},
		InitiateLoginURI:       "http://localhost:8080/auth/login",
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    Options
		wantErr string
	}{
		{
			name: "defaults",
			want: Options{Addr: "127.0.0.1:8081", Config: Config{Issuer: "http://127.0.0.1:8081", Clients: []Client{defaultClient}}},
		},
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
			want: Options{Addr: "0.0.0.0:9000", AllowNonLoopback: true, Config: Config{
				Issuer: "http://localhost:9000", AccessTokenTTL: 30 * time.Second, IDTokenTTL: 10 * time.Minute, RefreshTokenTTL: 2 * time.Hour,
				Clients: []Client{{
					ID: "c", Secret: "s", RedirectURIs: []string{"http://a.test/cb", "http://b.test/cb"},
					PostLogoutRedirectURIs: []string{"http://a.test/"}, BackchannelLogoutURI: "http://a.test/auth/backchannel-logout",
					InitiateLoginURI: "http://a.test/auth/login",
				}},
			}},
		},
		{
			name: "Initiate login URL",
			env:  map[string]string{"DEV_IDP_INITIATE_LOGIN_URL": "https://app.test/login/start"},
			want: Options{Addr: "127.0.0.1:8081", Config: Config{Issuer: "http://127.0.0.1:8081", Clients: []Client{func() Client {
				c := defaultClient
				c.InitiateLoginURI = "https://app.test/login/start"
				return c
			}()}}},
		},
		{
			name: "issuer with a path",
			env:  map[string]string{"DEV_IDP_ADDR": "[::1]:5556", "DEV_IDP_ISSUER": "http://idp.localhost:5556/dex"},
			want: Options{Addr: "[::1]:5556", Config: Config{Issuer: "http://idp.localhost:5556/dex", Clients: []Client{defaultClient}}},
		},
		{
			name: "IPv6 loopback default issuer",
			env:  map[string]string{"DEV_IDP_ADDR": "[::1]:5556"},
			want: Options{Addr: "[::1]:5556", Config: Config{Issuer: "http://[::1]:5556", Clients: []Client{defaultClient}}},
		},
		{
			name: "webhooks to the app, signed with its secret",
			env:  map[string]string{"APP_BASE_URL": "http://app.test:8080/", "SCALEKIT_WEBHOOK_SECRET": testWebhookSecret},
			want: Options{Addr: "127.0.0.1:8081", Config: Config{
				Issuer: "http://127.0.0.1:8081", Clients: []Client{defaultClient},
				WebhookURL: "http://app.test:8080/webhooks/scalekit", WebhookSecret: testWebhookSecret,
			}},
		},
		{
			name: "webhooks to another URL",
			env: map[string]string{
				"APP_BASE_URL": "http://app.test", "DEV_IDP_WEBHOOK_URL": "http://hooks.test/in", "SCALEKIT_WEBHOOK_SECRET": testWebhookSecret,
			},
			want: Options{Addr: "127.0.0.1:8081", Config: Config{
				Issuer: "http://127.0.0.1:8081", Clients: []Client{defaultClient},
				WebhookURL: "http://hooks.test/in", WebhookSecret: testWebhookSecret,
			}},
		},
		{
			name: "no webhooks without a secret",
			env:  map[string]string{"APP_BASE_URL": "http://app.test"},
			want: Options{Addr: "127.0.0.1:8081", Config: Config{Issuer: "http://127.0.0.1:8081", Clients: []Client{defaultClient}}},
		},
		{
			name:    "a webhook URL needs a secret",
			env:     map[string]string{"DEV_IDP_WEBHOOK_URL": "http://app.test/webhooks/scalekit"},
			wantErr: `SCALEKIT_WEBHOOK_SECRET: required to sign the webhooks sent to DEV_IDP_WEBHOOK_URL`,
		},
		{
			name:    "a bad secret is not shown",
			env:     map[string]string{"DEV_IDP_WEBHOOK_URL": "hooks", "SCALEKIT_WEBHOOK_SECRET": "whsec_s3cr3t!"},
			wantErr: "DEV_IDP_WEBHOOK_URL: want an absolute URL such as http://localhost:8080/webhooks/scalekit, got \"hooks\"\nSCALEKIT_WEBHOOK_SECRET: want whsec_ followed by base64",
		},
		{
			name:    "bad duration",
			env:     map[string]string{"DEV_IDP_ACCESS_TOKEN_TTL": "ten"},
			wantErr: `DEV_IDP_ACCESS_TOKEN_TTL: want a duration such as 30s, got "ten"`,
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
DEV_IDP_ADDR: want host:port such as 127.0.0.1:8081, got "8081"
DEV_IDP_ISSUER: want an absolute http(s) URL such as http://127.0.0.1:8081, got "idp.test"
DEV_IDP_ID_TOKEN_TTL: want a duration such as 1h, got "-1h"
DEV_IDP_REFRESH_TOKEN_TTL: want a duration such as 720h, got "0"
DEV_IDP_REDIRECT_URIS: want comma-separated absolute URLs such as http://localhost:8080/auth/callback, got "/auth/callback"
DEV_IDP_POST_LOGOUT_REDIRECT_URIS: want comma-separated absolute URLs such as http://localhost:8080/auth/callback, got " , "
DEV_IDP_BACKCHANNEL_LOGOUT_URI: want an absolute URL such as http://localhost:8080/auth/backchannel-logout, got "nope"
DEV_IDP_INITIATE_LOGIN_URL: want an absolute URL such as http://localhost:8080/auth/login, got "/auth/login"`,
		},
		{
			name:    "non-loopback refused",
			env:     map[string]string{"DEV_IDP_ADDR": ":8081"},
			wantErr: `DEV_IDP_ADDR: refusing to listen on ":8081": not a loopback address (set DEV_IDP_ALLOW_NON_LOOPBACK=true to allow it)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OptionsFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("OptionsFromEnv(%v) error = %v; want:\n%s", tc.env, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("OptionsFromEnv(%v) = %v; want no error", tc.env, err)
			}
			// SigningKey's Equal method cannot compare nil keys; OptionsFromEnv sets none.
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(Config{}, "SigningKey")); diff != "" {
				t.Errorf("OptionsFromEnv(%v) mismatch (-want +got):\n%s", tc.env, diff)
			}
			got.Config.SigningKey = testKey()
			if _, err := New(got.Config); err != nil {
				t.Errorf("New(OptionsFromEnv(%v).Config) = %v; want no error", tc.env, err)
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr  string
		allow bool
		want  error // nil, ErrNonLoopback, or errAny
	}{
		{"127.0.0.1:8081", false, nil},
		{"127.0.0.2:8081", false, nil},
		{"[::1]:8081", false, nil},
		{"localhost:8081", false, nil},
		{"127.0.0.1:0", false, nil},
		{"0.0.0.0:8081", false, ErrNonLoopback},
		{":8081", false, ErrNonLoopback},
		{"[::]:8081", false, ErrNonLoopback},
		{"192.168.1.20:8081", false, ErrNonLoopback},
		{"idp.example.test:8081", false, ErrNonLoopback},
		{"0.0.0.0:8081", true, nil},
		{":8081", true, nil},
		{"", false, errAny},
		{"127.0.0.1", false, errAny},
		{"", true, errAny},
	}
	for _, tc := range tests {
		err := CheckAddr(tc.addr, tc.allow)
		switch {
		case tc.want == nil && err != nil,
			tc.want == ErrNonLoopback && !errors.Is(err, ErrNonLoopback),
			tc.want == errAny && (err == nil || errors.Is(err, ErrNonLoopback)):
			t.Errorf("CheckAddr(%q, %t) = %v; want %v", tc.addr, tc.allow, err, tc.want)
		}
	}
}

var errAny = errors.New("a malformed address")
