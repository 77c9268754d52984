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

// apiDo calls the REST API with a bearer token and decodes the JSON answer.
func (e *testEnv) apiDo(t *testing.T, method, path, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.idp.Issuer()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, body, err)
	}
	return resp.StatusCode, out
}

func (e *testEnv) apiToken(t *testing.T) string {
	t.Helper()
	_, app, _ := e.token(t, clientCredentialsForm(testSecret))
	if app.AccessToken == "" {
		t.Fatal("no API token")
	}
	return app.AccessToken
}

// sidOf is the provider session of a sign-in's tokens.
func (e *testEnv) sidOf(t *testing.T, tokens tokenResponse) string {
	t.Helper()
	_, id := e.verify(t, tokens.IDToken)
	sid, _ := id["sid"].(string)
	return sid
}

func statuses(t *testing.T, body map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	list, ok := body["sessions"].([]any)
	if !ok {
		t.Fatalf("body = %v; want a sessions list", body)
	}
	for _, s := range list {
		s := s.(map[string]any)
		out[s["session_id"].(string)] = s["status"].(string)
	}
	return out
}

func TestSessionAPI(t *testing.T) {
	e := newTestServer(t, "/env")
	first, second := e.login(t), e.login(t)
	sid1, sid2 := e.sidOf(t, first), e.sidOf(t, second)
	token := e.apiToken(t)
	start := e.clock.Now().UTC()

	status, got := e.apiDo(t, http.MethodGet, "/api/v1/sessions/"+sid1, token)
	want := map[string]any{
		"session_id": sid1, "user_id": "usr_bob", "organization_id": "org_acme", "status": "active",
		"authenticated_organizations": []any{"org_acme"},
		"authenticated_clients":       []any{map[string]any{"client_id": testClientID, "organization_id": "org_acme"}},
		"created_at":                  start.Format(time.RFC3339Nano), "updated_at": start.Format(time.RFC3339Nano),
		"last_active_at":      start.Format(time.RFC3339Nano),
		"idle_expires_at":     start.Add(30 * 24 * time.Hour).Format(time.RFC3339Nano),
		"absolute_expires_at": start.Add(30 * 24 * time.Hour).Format(time.RFC3339Nano),
	}
	if diff := cmp.Diff(want, got); status != http.StatusOK || diff != "" {
		t.Errorf("GET session = %d; (-want +got):\n%s", status, diff)
	}

	status, got = e.apiDo(t, http.MethodGet, "/api/v1/users/usr_bob/sessions", token)
	if diff := cmp.Diff(map[string]string{sid1: "active", sid2: "active"}, statuses(t, got)); status != http.StatusOK || diff != "" || got["total_size"] != float64(2) {
		t.Errorf("GET user sessions = %d %v; want both active, total_size 2 (-want +got):\n%s", status, got, diff)
	}

	// Revoking one ends it at once: its refresh token is refused.
	e.clock.Advance(time.Minute)
	status, got = e.apiDo(t, http.MethodPost, "/api/v1/sessions/"+sid1+"/revoke", token)
	revoked, _ := got["revoked_session"].(map[string]any)
	if status != http.StatusOK || revoked["session_id"] != sid1 || revoked["status"] != "revoked" ||
		revoked["expired_at"] != e.clock.Now().UTC().Format(time.RFC3339Nano) || revoked["authenticated_clients"] != nil {
		t.Errorf("revoke = %d %v; want revoked_session with status revoked, expired_at now, no client list", status, got)
	}
	if _, _, oerr := e.token(t, refreshForm(first.RefreshToken)); oerr.Error != "invalid_grant" {
		t.Errorf("refresh of the revoked session = %q; want invalid_grant", oerr.Error)
	}
	if status, ok := e.idp.SessionStatus(sid1); status != "revoked" || !ok {
		t.Errorf("SessionStatus(revoked) = %q, %t; want revoked, true", status, ok)
	}
	if status, _, _ := e.token(t, refreshForm(second.RefreshToken)); status != http.StatusOK {
		t.Errorf("refresh of the other session = %d; want 200", status)
	}

	for _, tc := range []struct {
		query string
		want  map[string]string
	}{
		{"filter.status=active", map[string]string{sid2: "active"}},
		{"filter.status=revoked&filter.status=logout", map[string]string{sid1: "revoked"}},
		{"filter.status=expired", map[string]string{}},
	} {
		_, got := e.apiDo(t, http.MethodGet, "/api/v1/users/usr_bob/sessions?"+tc.query, token)
		if diff := cmp.Diff(tc.want, statuses(t, got)); diff != "" {
			t.Errorf("sessions?%s (-want +got):\n%s", tc.query, diff)
		}
	}

	// Revoking all of a user's sessions revokes the active ones only.
	status, got = e.apiDo(t, http.MethodPost, "/api/v1/users/usr_bob/sessions/revoke", token)
	list, _ := got["revoked_sessions"].([]any)
	if status != http.StatusOK || got["total_revoked"] != float64(1) || len(list) != 1 || list[0].(map[string]any)["session_id"] != sid2 {
		t.Errorf("revoke all = %d %v; want only %s", status, got, sid2)
	}
	if _, _, oerr := e.token(t, refreshForm(second.RefreshToken)); oerr.Error != "invalid_grant" {
		t.Errorf("refresh after revoking all = %q; want invalid_grant", oerr.Error)
	}

	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/sessions/ses_0"},
		{http.MethodPost, "/api/v1/sessions/ses_0/revoke"},
		{http.MethodGet, "/api/v1/users/usr_nobody/sessions"},
		{http.MethodPost, "/api/v1/users/usr_nobody/sessions/revoke"},
	} {
		if status, body := e.apiDo(t, tc.method, tc.path, token); status != http.StatusNotFound || body["code"] != float64(5) {
			t.Errorf("%s %s = %d %v; want 404 with code 5", tc.method, tc.path, status, body)
		}
	}
	if status, body := e.apiDo(t, http.MethodPost, "/api/v1/sessions/"+sid1+"/revoke", "garbage"); status != http.StatusUnauthorized {
		t.Errorf("revoke without an API token = %d %v; want 401", status, body)
	}
}

func TestSessionAPIPagesAndLogoutStatus(t *testing.T) {
	e := newTestServer(t, "")
	var sids []string
	for range 3 {
		sids = append(sids, e.sidOf(t, e.login(t)))
		e.clock.Advance(time.Second) // newest first needs distinct times
	}
	token := e.apiToken(t)

	var seen []string
	pageToken := ""
	for range 4 {
		_, got := e.apiDo(t, http.MethodGet, "/api/v1/users/usr_bob/sessions?page_size=2&page_token="+url.QueryEscape(pageToken), token)
		for _, s := range got["sessions"].([]any) {
			seen = append(seen, s.(map[string]any)["session_id"].(string))
		}
		if got["total_size"] != float64(3) {
			t.Errorf("total_size = %v; want 3", got["total_size"])
		}
		if pageToken = got["next_page_token"].(string); pageToken == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{sids[2], sids[1], sids[0]}, seen); diff != "" {
		t.Errorf("sessions over pages, newest first (-want +got):\n%s", diff)
	}
	for _, q := range []string{"page_size=0", "page_size=101", "page_token=9", "page_token=x"} {
		if status, _ := e.apiDo(t, http.MethodGet, "/api/v1/users/usr_bob/sessions?"+q, token); status != http.StatusBadRequest {
			t.Errorf("sessions?%s = %d; want 400", q, status)
		}
	}

	// A user's own logout shows as logout, with logout_at.
	tokens := e.login(t)
	sid := e.sidOf(t, tokens)
	e.get(t, "/oidc/logout", url.Values{"id_token_hint": {tokens.IDToken}})
	_, got := e.apiDo(t, http.MethodGet, "/api/v1/sessions/"+sid, token)
	if got["status"] != "logout" || got["logout_at"] == nil || got["expired_at"] != nil {
		t.Errorf("session after /oidc/logout = %v; want status logout with logout_at", got)
	}
	// Revoking it again changes nothing.
	_, got = e.apiDo(t, http.MethodPost, "/api/v1/sessions/"+sid+"/revoke", token)
	if got["revoked_session"].(map[string]any)["status"] != "logout" {
		t.Errorf("revoke of a logged-out session = %v; want it unchanged", got)
	}
}
