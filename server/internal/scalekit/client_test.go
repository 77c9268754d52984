package scalekit_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

func TestNewRejectsBadConfig(t *testing.T) {
	good := scalekit.Config{EnvironmentURL: "https://env.scalekit.dev", ClientID: "skc_1", ClientSecret: "s"}
	tests := []struct {
		name string
		edit func(*scalekit.Config)
	}{
		{"no environment URL", func(c *scalekit.Config) { c.EnvironmentURL = "" }},
		{"relative environment URL", func(c *scalekit.Config) { c.EnvironmentURL = "env.scalekit.dev" }},
		{"ftp environment URL", func(c *scalekit.Config) { c.EnvironmentURL = "ftp://env.scalekit.dev" }},
		{"environment URL with a query", func(c *scalekit.Config) { c.EnvironmentURL = "https://env.scalekit.dev?x=1" }},
		{"no client ID", func(c *scalekit.Config) { c.ClientID = "" }},
		{"no client secret", func(c *scalekit.Config) { c.ClientSecret = "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			if _, err := scalekit.New(context.Background(), cfg); err == nil {
				t.Errorf("New(%+v) = _, nil; want an error", cfg)
			}
		})
	}
	if _, err := scalekit.New(context.Background(), good); err != nil {
		t.Errorf("New(%+v) = %v; want nil", good, err)
	}
}

func TestNewWhileProviderIsDown(t *testing.T) {
	// Reserve a port, and keep it closed until the provider "comes up".
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	c, err := scalekit.New(context.Background(), scalekit.Config{
		EnvironmentURL: "http://" + addr, ClientID: testClientID, ClientSecret: testClientSecret,
	})
	if err != nil {
		t.Fatalf("New(provider down) = %v; want nil", err)
	}
	ctx := context.Background()
	opts := scalekit.AuthorizationURLOptions{State: "s", Nonce: "n", CodeChallenge: "c"}
	if _, err := c.GetAuthorizationURL(testRedirectURI, opts); !errors.Is(err, scalekit.ErrUnavailable) {
		t.Errorf("GetAuthorizationURL(provider down) = %v; want ErrUnavailable", err)
	}
	if err := c.Ready(ctx); !errors.Is(err, scalekit.ErrUnavailable) {
		t.Errorf("Ready(provider down) = %v; want ErrUnavailable", err)
	}
	if _, err := c.RefreshAccessToken(ctx, "tstrt~x"); !errors.Is(err, scalekit.ErrUnavailable) {
		t.Errorf("RefreshAccessToken(provider down) = %v; want ErrUnavailable", err)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s again: %v", addr, err)
	}
	op := newTestOP(t, opOptions{listener: ln})
	if err := c.Ready(ctx); err != nil {
		t.Errorf("Ready(provider up) = %v; want nil", err)
	}
	got, err := c.GetAuthorizationURL(testRedirectURI, opts)
	if err != nil || !strings.HasPrefix(got, op.issuer+docAuthorizePath+"?") {
		t.Errorf("GetAuthorizationURL(provider up) = %q, %v; want %s?…", got, err, op.issuer+docAuthorizePath)
	}
}

func TestDiscoveryRetriesAfterFailureAndCachesSuccess(t *testing.T) {
	op := newTestOP(t, opOptions{})
	op.down = true
	c := newTestClient(t, op)
	ctx := context.Background()
	if err := c.Ready(ctx); !errors.Is(err, scalekit.ErrUnavailable) {
		t.Fatalf("Ready(503) = %v; want ErrUnavailable", err)
	}
	op.set(func(op *testOP) { op.down = false })
	for i := range 3 {
		if err := c.Ready(ctx); err != nil {
			t.Fatalf("Ready #%d = %v; want nil", i, err)
		}
	}
	if _, err := c.GetLogoutURL(scalekit.LogoutURLOptions{}); err != nil {
		t.Fatalf("GetLogoutURL: %v", err)
	}
	if got := op.hitCount("/.well-known/openid-configuration"); got != 2 {
		t.Errorf("discovery requests = %d; want 2 (one failed, one cached)", got)
	}
}

func TestDiscoveryIssuer(t *testing.T) {
	tests := []struct {
		name      string
		docIssuer func(issuer string) string
		expected  string // SCALEKIT_ISSUER; "" for the environment URL
		wantErr   bool
	}{
		{"same", func(iss string) string { return iss }, "", false},
		{"trailing slash", func(iss string) string { return iss + "/" }, "", false},
		{"another issuer", func(string) string { return "https://evil.example" }, "", true},
		{"blank", func(string) string { return " " }, "", true},
		{"custom domain, configured", func(string) string { return "https://auth.example.com" }, "https://auth.example.com", false},
		{"custom domain, configured with a slash", func(string) string { return "https://auth.example.com" }, "https://auth.example.com/", false},
		{"the environment URL when a custom issuer is configured", func(iss string) string { return iss }, "https://auth.example.com", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t, opOptions{})
			op.docIssuer = tc.docIssuer(op.issuer)
			c := newTestClient(t, op, func(cfg *scalekit.Config) { cfg.Issuer = tc.expected })
			err := c.Ready(context.Background())
			if tc.wantErr != (err != nil) {
				t.Fatalf("Ready(discovery issuer %q) = %v; want error %t", op.docIssuer, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			// Tokens then carry the discovered issuer, exactly.
			if _, err := exchange(t, c, op, op.sign(keyA(), op.idClaims("n")), "n"); err != nil {
				t.Errorf("AuthenticateWithCode(iss %q) = %v; want nil", op.docIssuer, err)
			}
		})
	}
}

func TestTokenNeverPrints(t *testing.T) {
	tok := scalekit.Token("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
	resp := scalekit.TokenResponse{AccessToken: tok, RefreshToken: tok, IDToken: tok}
	logs := &syncBuffer{}
	newLogger(logs).Info("tokens", "access", tok, "resp", resp)
	printed := fmt.Sprintf("%v %s %q %#v %+v", tok, tok, tok, tok, resp) + logs.String()
	checkNoSecrets(t, "printed tokens", printed)
	if !strings.Contains(printed, "REDACTED") {
		t.Errorf("printed tokens = %q; want REDACTED", printed)
	}
}
