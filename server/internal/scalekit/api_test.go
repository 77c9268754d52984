package scalekit_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/devidp"
	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// TestAPIAgainstDevIDP reads users and organizations from the development
// provider's REST API, the way the BFF does, and checks that the app's token
// is fetched once and replaced shortly before it expires.
func TestAPIAgainstDevIDP(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	srv := httptest.NewUnstartedServer(nil)
	idp, err := devidp.New(devidp.Config{
		Issuer:      "http://" + srv.Listener.Addr().String() + "/env",
		Clients:     []devidp.Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirectURI}}},
		APITokenTTL: time.Hour,
		Now:         clock.Now,
		SigningKey:  keyA().priv,
	})
	if err != nil {
		t.Fatalf("devidp.New: %v", err)
	}
	srv.Config.Handler = idp
	srv.Start()
	t.Cleanup(srv.Close)
	logs := &syncBuffer{}
	c, err := scalekit.New(context.Background(), scalekit.Config{
		EnvironmentURL: idp.Issuer(), ClientID: testClientID, ClientSecret: testClientSecret,
		Now: clock.Now, Logger: newLogger(logs),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.Background()

	const n = 50
	users := make([]*scalekit.DirectoryUser, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { users[i], errs[i] = c.GetUser(ctx, "usr_alice") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("GetUser #%d = %v; want nil", i, errs[i])
		}
	}
	want := &scalekit.DirectoryUser{ID: "usr_alice", Email: "alice@acme.test", ExternalID: "crm-user-0007", Memberships: []scalekit.Membership{
		{OrganizationID: "org_acme", Name: "Acme Inc", DisplayName: "Acme Inc", Status: "ACTIVE", Roles: []string{"admin"}},
		{OrganizationID: "org_globex", Name: "Globex Corp", DisplayName: "Globex Corp", Status: "ACTIVE", Roles: []string{"member"}},
	}}
	if diff := cmp.Diff(want, users[0]); diff != "" {
		t.Errorf("GetUser (-want +got):\n%s", diff)
	}
	if got := idp.GrantCounts()["client_credentials"]; got != 1 {
		t.Errorf("API tokens fetched for %d concurrent calls = %d; want 1", n, got)
	}

	org, err := c.GetOrganization(ctx, "org_globex")
	if err != nil || org.ID != "org_globex" || org.DisplayName != "Globex Corp" {
		t.Errorf("GetOrganization = %+v, %v; want org_globex, Globex Corp", org, err)
	}
	if _, err := c.GetUser(ctx, "usr_nobody"); !errors.Is(err, scalekit.ErrNotFound) {
		t.Errorf("GetUser(unknown) = %v; want ErrNotFound", err)
	}
	if got := idp.GrantCounts()["client_credentials"]; got != 1 {
		t.Errorf("API tokens fetched while the first is valid = %d; want 1", got)
	}

	// Within a minute of its expiry the token is replaced before it is used.
	clock.Advance(time.Hour - 30*time.Second)
	if _, err := c.GetOrganization(ctx, "org_acme"); err != nil {
		t.Fatalf("GetOrganization near the token's expiry = %v; want nil", err)
	}
	if got := idp.GrantCounts()["client_credentials"]; got != 2 {
		t.Errorf("API tokens fetched after the first neared its expiry = %d; want 2", got)
	}
	checkNoSecrets(t, "logs", logs.String())
}

// TestAPIErrors checks how the REST API's answers become error kinds.
func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		answer     func(w http.ResponseWriter, calls int)
		wantErr    func(error) bool
		wantTokens int
		wantCalls  int
	}{
		{
			name: "a refused token is replaced once",
			answer: func(w http.ResponseWriter, calls int) {
				if calls == 1 {
					writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 16, "message": "Token expired"})
					return
				}
				writeJSON(w, http.StatusOK, map[string]any{"organization": map[string]any{"id": "org_1", "display_name": "One"}})
			},
			wantErr:    func(err error) bool { return err == nil },
			wantTokens: 2, wantCalls: 2,
		},
		{
			name: "a token refused twice is an API error",
			answer: func(w http.ResponseWriter, _ int) {
				writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 16, "message": "Token empty"})
			},
			wantErr: func(err error) bool {
				ae, ok := errors.AsType[*scalekit.APIError](err)
				return ok && ae.Status == http.StatusUnauthorized && ae.Message == "Token empty"
			},
			wantTokens: 2, wantCalls: 2,
		},
		{
			name: "404 is ErrNotFound",
			answer: func(w http.ResponseWriter, _ int) {
				writeJSON(w, http.StatusNotFound, map[string]any{"code": 5, "message": "not found"})
			},
			wantErr:    func(err error) bool { return errors.Is(err, scalekit.ErrNotFound) },
			wantTokens: 1, wantCalls: 1,
		},
		{
			name:       "503 is an outage",
			answer:     func(w http.ResponseWriter, _ int) { w.WriteHeader(http.StatusServiceUnavailable) },
			wantErr:    func(err error) bool { return errors.Is(err, scalekit.ErrUnavailable) },
			wantTokens: 1, wantCalls: 1,
		},
		{
			name:       "429 is an outage",
			answer:     func(w http.ResponseWriter, _ int) { w.WriteHeader(http.StatusTooManyRequests) },
			wantErr:    func(err error) bool { return errors.Is(err, scalekit.ErrUnavailable) },
			wantTokens: 1, wantCalls: 1,
		},
		{
			name:       "a 200 that is not JSON is an outage",
			answer:     func(w http.ResponseWriter, _ int) { w.Write([]byte("<html>proxy</html>")) },
			wantErr:    func(err error) bool { return errors.Is(err, scalekit.ErrUnavailable) },
			wantTokens: 1, wantCalls: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := newTestOP(t, opOptions{})
			var calls atomic.Int32
			op.set(func(op *testOP) {
				op.apiHandler = func(w http.ResponseWriter, r *http.Request) {
					n := int(calls.Add(1))
					if want := "Bearer tstapi~"; !strings.HasPrefix(r.Header.Get("Authorization"), want) || r.URL.Path != "/api/v1/organizations/org_1" {
						t.Errorf("API request %s with Authorization %q; want /api/v1/organizations/org_1 with %s…", r.URL.Path, r.Header.Get("Authorization"), want)
					}
					tc.answer(w, n)
				}
			})
			c := newTestClient(t, op)
			_, err := c.GetOrganization(context.Background(), "org_1")
			if !tc.wantErr(err) {
				t.Errorf("GetOrganization = %v; not the error kind wanted", err)
			}
			op.mu.Lock()
			tokens := op.apiTokens
			op.mu.Unlock()
			if tokens != tc.wantTokens || int(calls.Load()) != tc.wantCalls {
				t.Errorf("tokens fetched, API calls = %d, %d; want %d, %d", tokens, calls.Load(), tc.wantTokens, tc.wantCalls)
			}
		})
	}
}

func TestAPIRefusedCredentials(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c, err := scalekit.New(context.Background(), scalekit.Config{
		EnvironmentURL: op.issuer, ClientID: testClientID, ClientSecret: "wrong", Now: op.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(context.Background(), "usr_1")
	if re, ok := errors.AsType[*scalekit.RefusedError](err); !ok || re.Code != "invalid_client" {
		t.Errorf("GetUser with a wrong secret = %v; want RefusedError invalid_client", err)
	}
}

func TestAPIIDsNeverReachTheURL(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	for _, id := range []string{"", "usr_", "usr_../../keys", "usr_a/b", "usr_%2e", "org_1", strings.Repeat("usr_1", 20)} {
		if _, err := c.GetUser(context.Background(), id); !errors.Is(err, scalekit.ErrNotFound) {
			t.Errorf("GetUser(%q) = %v; want ErrNotFound", id, err)
		}
	}
	if got := op.hitCount("/oauth/token") + op.hitCount(docTokenPath); got != 0 {
		t.Errorf("token requests for invalid ids = %d; want 0", got)
	}
}

// TestRevokeSessionAgainstDevIDP revokes one of two sessions of a user at
// the development provider: that one's refresh token stops working, the
// other's does not.
func TestRevokeSessionAgainstDevIDP(t *testing.T) {
	const redirectURI = "http://app.test/auth/callback"
	srv := httptest.NewUnstartedServer(nil)
	idp, err := devidp.New(devidp.Config{
		Issuer:     "http://" + srv.Listener.Addr().String(),
		Clients:    []devidp.Client{{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{redirectURI}}},
		SigningKey: keyA().priv,
	})
	if err != nil {
		t.Fatalf("devidp.New: %v", err)
	}
	srv.Config.Handler = idp
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := scalekit.New(context.Background(), scalekit.Config{EnvironmentURL: idp.Issuer(), ClientID: testClientID, ClientSecret: testClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	laptop, phone := signInAtDevIDP(t, c, redirectURI, "usr_bob"), signInAtDevIDP(t, c, redirectURI, "usr_bob")

	if err := c.RevokeSession(ctx, phone.User.SessionID); err != nil {
		t.Fatalf("RevokeSession = %v; want nil", err)
	}
	if status, _ := idp.SessionStatus(phone.User.SessionID); status != "revoked" {
		t.Errorf("phone's session at the provider = %q; want revoked", status)
	}
	if _, err := c.RefreshAccessToken(ctx, phone.RefreshToken); !isRefused(err, "invalid_grant") {
		t.Errorf("refresh of the revoked session = %v; want invalid_grant", err)
	}
	if _, err := c.RefreshAccessToken(ctx, laptop.RefreshToken); err != nil {
		t.Errorf("refresh of the other session = %v; want nil", err)
	}
	// Revoking again is harmless; an unknown or malformed id is "not found".
	if err := c.RevokeSession(ctx, phone.User.SessionID); err != nil {
		t.Errorf("RevokeSession again = %v; want nil", err)
	}
	for _, sid := range []string{"ses_404", "ses_../keys", ""} {
		if err := c.RevokeSession(ctx, sid); !errors.Is(err, scalekit.ErrNotFound) {
			t.Errorf("RevokeSession(%q) = %v; want ErrNotFound", sid, err)
		}
	}
	if got := idp.GrantCounts()["api POST /api/v1/sessions/{session_id}/revoke"]; got != 3 {
		t.Errorf("revoke calls at the provider = %d; want 3 (the malformed id never sent)", got)
	}
}

func isRefused(err error, code string) bool {
	re, ok := errors.AsType[*scalekit.RefusedError](err)
	return ok && re.Code == code
}
