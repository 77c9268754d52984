package devidp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func clientCredentialsForm(secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {secret}}
}

// apiGet calls the REST API with a bearer token and decodes the JSON answer.
func (e *testEnv) apiGet(t *testing.T, path, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.idp.Issuer()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET %s: body %q is not JSON: %v", path, body, err)
	}
	return resp.StatusCode, out
}

func TestClientCredentialsGrant(t *testing.T) {
	e := newTestServer(t, "")
	status, tokens, _ := e.token(t, clientCredentialsForm(testSecret))
	if status != http.StatusOK || tokens.AccessToken == "" || tokens.TokenType != "Bearer" || tokens.ExpiresIn != int64((24*time.Hour).Seconds()) {
		t.Fatalf("client_credentials = %d %+v; want 200 with a Bearer token for 24h", status, tokens)
	}
	if tokens.RefreshToken != "" || tokens.IDToken != "" {
		t.Errorf("client_credentials answer has a refresh or ID token: %+v; want neither", tokens)
	}
	_, claims := e.verify(t, tokens.AccessToken)
	if claims["sub"] != testClientID || claims["client_id"] != testClientID || claims["sid"] != nil {
		t.Errorf("API token claims = %v; want sub and client_id %q and no sid", claims, testClientID)
	}
	if got := e.idp.GrantCounts()["client_credentials"]; got != 1 {
		t.Errorf("GrantCounts()[client_credentials] = %d; want 1", got)
	}

	status, _, oerr := e.token(t, clientCredentialsForm("wrong"))
	if status != http.StatusUnauthorized || oerr.Error != "invalid_client" {
		t.Errorf("client_credentials with a wrong secret = %d %s; want 401 invalid_client", status, oerr.Error)
	}
}

func TestAPIRefusesWhatIsNotAnAPIToken(t *testing.T) {
	e := newTestServer(t, "")
	user := e.login(t)
	_, app, _ := e.token(t, clientCredentialsForm(testSecret))
	expiredEnv := newTestServer(t, "", func(c *Config) { c.APITokenTTL = time.Minute })
	_, soon, _ := expiredEnv.token(t, clientCredentialsForm(testSecret))
	expiredEnv.clock.Advance(time.Minute)

	for _, tc := range []struct {
		name  string
		env   *testEnv
		token string
	}{
		{"no token", e, ""},
		{"garbage", e, "not-a-token"},
		{"a user's access token", e, user.AccessToken},
		{"a user's ID token", e, user.IDToken},
		{"an expired API token", expiredEnv, soon.AccessToken},
		{"another provider's API token", expiredEnv, app.AccessToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := tc.env.apiGet(t, "/api/v1/users/usr_bob", tc.token)
			if status != http.StatusUnauthorized || body["code"] != float64(16) || body["message"] == "" {
				t.Errorf("GET /api/v1/users/usr_bob = %d %v; want 401 with code 16 and a message", status, body)
			}
		})
	}
}

func TestAPIUsersAndOrganizations(t *testing.T) {
	e := newTestServer(t, "/env")
	_, app, _ := e.token(t, clientCredentialsForm(testSecret))

	status, body := e.apiGet(t, "/api/v1/users/usr_alice", app.AccessToken)
	if status != http.StatusOK {
		t.Fatalf("GET user = %d %v; want 200", status, body)
	}
	user := body["user"].(map[string]any)
	if user["id"] != "usr_alice" || user["email"] != "alice@acme.test" {
		t.Errorf("user = %v; want usr_alice, alice@acme.test", user)
	}
	type membership struct{ Org, Name, Status, Role string }
	var got []membership
	for _, m := range user["memberships"].([]any) {
		m := m.(map[string]any)
		role := m["roles"].([]any)[0].(map[string]any)["name"].(string)
		got = append(got, membership{m["organization_id"].(string), m["display_name"].(string), m["membership_status"].(string), role})
	}
	want := []membership{{"org_acme", "Acme Inc", "ACTIVE", "admin"}, {"org_globex", "Globex Corp", "ACTIVE", "member"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("memberships (-want +got):\n%s", diff)
	}

	status, body = e.apiGet(t, "/api/v1/organizations/org_globex", app.AccessToken)
	org, _ := body["organization"].(map[string]any)
	if status != http.StatusOK || org["id"] != "org_globex" || org["display_name"] != "Globex Corp" {
		t.Errorf("GET organization = %d %v; want org_globex, Globex Corp", status, body)
	}

	for _, path := range []string{"/api/v1/users/usr_nobody", "/api/v1/organizations/org_nothing"} {
		status, body := e.apiGet(t, path, app.AccessToken)
		if status != http.StatusNotFound || body["code"] != float64(5) {
			t.Errorf("GET %s = %d %v; want 404 with code 5", path, status, body)
		}
	}
	if got := e.idp.GrantCounts()["api GET /api/v1/users/{id}"]; got != 2 {
		t.Errorf("GrantCounts()[api GET /api/v1/users/{id}] = %d; want 2", got)
	}
}
