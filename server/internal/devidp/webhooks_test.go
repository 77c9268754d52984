package devidp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const testWebhookSecret = "whsec_dGVzdC13ZWJob29rLXNlY3JldC1vZi0zMi1ieXRlcyE="

type delivery struct {
	id   string
	body []byte
	ev   map[string]any
}

// webhookReceiver is an app's webhook endpoint: it verifies every delivery
// as the app does and answers the status answer gives for the nth request.
type webhookReceiver struct {
	url string
	got chan delivery
}

func newWebhookReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *webhookReceiver {
	t.Helper()
	verifier, err := standardwebhooks.NewWebhook(testWebhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	rc := &webhookReceiver{got: make(chan delivery, 16)}
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifier.Verify(body, r.Header); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("webhook body %q is not JSON: %v", body, err)
		}
		mu.Lock()
		n++
		nth := n
		mu.Unlock()
		rc.got <- delivery{id: r.Header.Get("webhook-id"), body: body, ev: ev}
		if answer == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		answer(nth, w)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/webhooks/scalekit"
	return rc
}

func (rc *webhookReceiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-rc.got:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivered within 5s")
		return delivery{}
	}
}

func withWebhooks(rc *webhookReceiver, delays ...time.Duration) func(*Config) {
	return func(c *Config) {
		c.WebhookURL, c.WebhookSecret, c.WebhookRetryDelays = rc.url, testWebhookSecret, delays
	}
}

// lookup reads a dotted path of a decoded JSON object.
func lookup(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// keyPaths lists the key paths of a decoded JSON value, arrays as [].
func keyPaths(v any, prefix string, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			keyPaths(child, p, out)
		}
	case []any:
		for _, child := range v {
			keyPaths(child, prefix+"[]", out)
		}
	}
}

// checkShape compares an event with the specification's example of its type
// (../web/testdata/webhooks, the fixtures the app is tested with): it has no
// field the example lacks, and every field of the example's first three
// levels (the envelope, data, and data's objects).
func checkShape(t *testing.T, fixture string, ev map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "web", "testdata", "webhooks", fixture))
	if err != nil {
		t.Fatal(err)
	}
	var example any
	if err := json.Unmarshal(raw, &example); err != nil {
		t.Fatal(err)
	}
	want, got := map[string]bool{}, map[string]bool{}
	keyPaths(example, "", want)
	keyPaths(ev, "", got)
	for p := range got {
		if !want[p] {
			t.Errorf("%s: field %s is not in the specification's example", ev["type"], p)
		}
	}
	for p := range want {
		if strings.Count(p, ".") < 3 && !strings.Contains(p, "[]") && !got[p] {
			t.Errorf("%s: field %s of the specification's example is missing", ev["type"], p)
		}
	}
}

func TestWebhooksAreScalekitShaped(t *testing.T) {
	for _, tc := range []struct {
		name    string
		act     func(t *testing.T, e *testEnv) (sid string)
		fixture string
		want    map[string]any // dotted paths
	}{
		{
			name: "user.logout on /oidc/logout",
			act: func(t *testing.T, e *testEnv) string {
				tokens := e.login(t)
				e.get(t, "/oidc/logout", url.Values{"id_token_hint": {tokens.IDToken}})
				return e.sidOf(t, tokens)
			},
			fixture: "user.logout.json",
			want: map[string]any{"type": "user.logout", "object": "User", "organization_id": "org_acme", "data.user.id": "usr_bob",
				"data.user.email": "bob@acme.test", "data.user_session.status": "LOGOUT", "data.user_session.user_id": "usr_bob"},
		},
		{
			name: "user.logout on a revoked session",
			act: func(t *testing.T, e *testEnv) string {
				sid := e.sidOf(t, e.login(t))
				e.idp.EndSession(t.Context(), sid)
				return sid
			},
			fixture: "user.logout.json",
			want:    map[string]any{"type": "user.logout", "data.user.id": "usr_bob", "data.user_session.status": "REVOKED"},
		},
		{
			name: "a role change",
			act: func(t *testing.T, e *testEnv) string {
				if err := e.idp.SetRoles("usr_bob", "org_acme", []string{"admin"}); err != nil {
					t.Fatal(err)
				}
				return ""
			},
			fixture: "user.organization_membership_updated.json",
			want: map[string]any{"type": "user.organization_membership_updated", "object": "OrgMembership", "organization_id": "org_acme",
				"data.user.id": "usr_bob", "data.organization.id": "org_acme", "data.organization.display_name": "Acme Inc"},
		},
		{
			name: "a new membership",
			act: func(t *testing.T, e *testEnv) string {
				if err := e.idp.SetRoles("usr_bob", "org_globex", []string{"member"}); err != nil {
					t.Fatal(err)
				}
				return ""
			},
			fixture: "user.organization_membership_updated.json", // the same schema, OrgMembershipEventData
			want:    map[string]any{"type": "user.organization_membership_created", "data.user.id": "usr_bob", "data.organization.id": "org_globex"},
		},
		{
			name: "a removed membership",
			act: func(t *testing.T, e *testEnv) string {
				if err := e.idp.RemoveMembership("usr_alice", "org_globex"); err != nil {
					t.Fatal(err)
				}
				return ""
			},
			fixture: "user.organization_membership_deleted.json",
			want: map[string]any{"type": "user.organization_membership_deleted", "organization_id": "org_globex",
				"data.user.id": "usr_alice", "data.organization.id": "org_globex"},
		},
		{
			name: "a deleted organization",
			act: func(t *testing.T, e *testEnv) string {
				if err := e.idp.DeleteOrganization("org_globex"); err != nil {
					t.Fatal(err)
				}
				return ""
			},
			fixture: "organization.deleted.json",
			want: map[string]any{"type": "organization.deleted", "object": "Organization", "organization_id": "org_globex",
				"data.id": "org_globex", "data.display_name": "Globex Corp", "data.external_id": nil, "data.metadata": nil},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newWebhookReceiver(t, nil)
			e := newTestServer(t, "", withWebhooks(rc))
			sid := tc.act(t, e)
			d := rc.next(t)
			if sid != "" {
				tc.want["data.user_session.session_id"] = sid
			}
			tc.want["spec_version"] = "1"
			tc.want["id"] = d.id // the webhook-id is the event id
			for path, want := range tc.want {
				if got := lookup(d.ev, path); got != want {
					t.Errorf("%s = %v; want %v", path, got, want)
				}
			}
			if !strings.HasPrefix(d.id, "evt_") || !strings.HasPrefix(d.ev["environment_id"].(string), "env_") {
				t.Errorf("webhook-id %q, environment_id %v; want evt_… and env_…", d.id, d.ev["environment_id"])
			}
			checkShape(t, tc.fixture, d.ev)
		})
	}
}

func TestWebhookRetries(t *testing.T) {
	t.Run("until delivered", func(t *testing.T) {
		rc := newWebhookReceiver(t, func(n int, w http.ResponseWriter) {
			w.WriteHeader([]int{http.StatusServiceUnavailable, http.StatusBadRequest, http.StatusAccepted}[n-1])
		})
		e := newTestServer(t, "", withWebhooks(rc, time.Millisecond, time.Millisecond, time.Millisecond))
		if err := e.idp.SetRoles("usr_bob", "org_acme", []string{"admin"}); err != nil {
			t.Fatal(err)
		}
		first, second, third := rc.next(t), rc.next(t), rc.next(t)
		if first.id != second.id || second.id != third.id || string(first.body) != string(third.body) {
			t.Errorf("retries carry ids %q, %q, %q; want the same event each time", first.id, second.id, third.id)
		}
		e.idp.Close() // waits for the delivery to finish
		if len(rc.got) != 0 {
			t.Errorf("%d more deliveries after a 202; want none", len(rc.got))
		}
		if !strings.Contains(e.logs.String(), "webhook delivered") || e.idp.GrantCounts()["webhook user.organization_membership_updated delivered"] != 1 {
			t.Errorf("want the webhook counted and logged as delivered; counts %v, logs:\n%s", e.idp.GrantCounts(), e.logs)
		}
	})
	t.Run("then gives up", func(t *testing.T) {
		rc := newWebhookReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
		e := newTestServer(t, "", withWebhooks(rc, time.Millisecond, time.Millisecond))
		if err := e.idp.RemoveMembership("usr_bob", "org_acme"); err != nil {
			t.Fatal(err)
		}
		rc.next(t)
		rc.next(t)
		rc.next(t)
		e.idp.Close()
		if len(rc.got) != 0 || !strings.Contains(e.logs.String(), "giving up") {
			t.Errorf("after 3 failed attempts: %d more, logs:\n%s\nwant none more and a give-up line", len(rc.got), e.logs)
		}
	})
}

// An administrator's action never waits for the app to answer.
func TestWebhookDeliveryDoesNotBlockTheAction(t *testing.T) {
	release := make(chan struct{})
	rc := newWebhookReceiver(t, func(_ int, w http.ResponseWriter) {
		<-release
		w.WriteHeader(http.StatusOK)
	})
	e := newTestServer(t, "", withWebhooks(rc, time.Millisecond))
	// If SetRoles waited for the delivery, it would wait for release, which
	// only comes after it returns: the delivery would time out and be retried.
	if err := e.idp.SetRoles("usr_bob", "org_acme", []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	close(release)
	e.idp.Close()
	if !strings.Contains(e.logs.String(), "webhook delivered") || strings.Contains(e.logs.String(), "will retry") || len(rc.got) != 0 {
		t.Errorf("want one delivery at the first attempt; logs:\n%s", e.logs)
	}
}

func TestWebhookConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"a URL without a secret", func(c *Config) { c.WebhookURL = "http://app.test/webhooks/scalekit" }},
		{"a secret that is not base64", func(c *Config) { c.WebhookURL, c.WebhookSecret = "http://app.test/w", "whsec_***" }},
		{"a relative URL", func(c *Config) { c.WebhookURL, c.WebhookSecret = "/webhooks/scalekit", testWebhookSecret }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Issuer: "http://127.0.0.1:1", Clients: []Client{{ID: "a", Secret: "b", RedirectURIs: []string{testRedirect}}}, SigningKey: testKey()}
			tc.cfg(&cfg)
			if _, err := New(cfg); err == nil {
				t.Error("New() = nil error; want the webhook settings refused")
			} else if strings.Contains(err.Error(), "***") {
				t.Errorf("New() = %v; the error shows the secret", err)
			}
		})
	}
}

func TestRemovedMemberSessionsEnd(t *testing.T) {
	e := newTestServer(t, "")
	bob := e.login(t)
	if err := e.idp.RemoveMembership("usr_bob", "org_acme"); err != nil {
		t.Fatal(err)
	}
	if _, _, oerr := e.token(t, refreshForm(bob.RefreshToken)); oerr.Error != "invalid_grant" {
		t.Errorf("refresh after the membership was removed = %q; want invalid_grant", oerr.Error)
	}
	u, _ := e.idp.user("usr_bob")
	if len(u.Memberships) != 0 {
		t.Errorf("memberships = %v; want none", u.Memberships)
	}
	if err := e.idp.RemoveMembership("usr_bob", "org_acme"); err == nil {
		t.Error("RemoveMembership of a non-member = nil; want an error")
	}
	if err := e.idp.DeleteOrganization("org_acme"); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(e.idp.Users(), func(u User) bool {
		return slices.ContainsFunc(u.Memberships, func(m Membership) bool { return m.OrganizationID == "org_acme" })
	}) {
		t.Error("a membership of the deleted organization remains")
	}
	// New users no longer join the deleted default organization.
	u, _ = e.idp.findOrCreateUser("new@example.test", "", "")
	if len(u.Memberships) != 0 {
		t.Errorf("new user's memberships = %v; want none", u.Memberships)
	}
}
