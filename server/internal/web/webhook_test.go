package web

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func newRSAKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

var webhookIDs atomic.Int64

// webhook delivers body signed with secret, as Scalekit does, under a new
// webhook id unless one is given.
func (e *testEnv) webhook(body string, opts ...func(*webhookDelivery)) response {
	e.t.Helper()
	d := webhookDelivery{id: fmt.Sprintf("msg_%d", webhookIDs.Add(1)), at: time.Now(), secret: testWebhookSecret}
	for _, o := range opts {
		o(&d)
	}
	wh, err := standardwebhooks.NewWebhook(d.secret)
	if err != nil {
		e.t.Fatal(err)
	}
	sig, err := wh.Sign(d.id, d.at, []byte(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(e.browser(), http.MethodPost, "/webhooks/scalekit", strings.NewReader(body),
		"webhook-id", d.id, "webhook-timestamp", strconv.FormatInt(d.at.Unix(), 10), "webhook-signature", sig,
		"Content-Type", "application/json")
}

type webhookDelivery struct {
	id, secret string
	at         time.Time
}

func withWebhookID(id string) func(*webhookDelivery) { return func(d *webhookDelivery) { d.id = id } }

// fixture reads an event of testdata/webhooks (Scalekit's own examples) with
// its identifiers replaced, old → new, by the ones a test created.
func fixture(t *testing.T, name string, ids ...string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	for i := 0; i+1 < len(ids); i += 2 {
		if !strings.Contains(body, `"`+ids[i]+`"`) {
			t.Fatalf("%s has no %q to replace", name, ids[i])
		}
		body = strings.ReplaceAll(body, `"`+ids[i]+`"`, `"`+ids[i+1]+`"`)
	}
	return body
}

func wantAck(t *testing.T, r response) {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var ack map[string]any
	r.json(t, &ack)
	if len(ack) != 1 || ack["received"] != true {
		t.Errorf("webhook answer = %s; want {\"received\": true}", r.body)
	}
}

// signInTo signs c in as userID to organization orgID.
func (e *testEnv) signInTo(c *http.Client, userID, orgID string) {
	e.t.Helper()
	callback := e.choose(c, e.startLogin(c, "/auth/login"), userID, orgID)
	wantStatus(e.t, e.get(c, callback), http.StatusFound)
}

func (e *testEnv) signedIn(c *http.Client) bool {
	e.t.Helper()
	r := e.get(c, "/api/me")
	switch r.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusUnauthorized:
		return false
	}
	e.t.Fatalf("/api/me = %d %s", r.StatusCode, r.body)
	return false
}

func TestWebhookUserLogout(t *testing.T) {
	for _, tc := range []struct {
		fixture, fixtureSID string
		ends                bool
	}{
		{"user.logout.json", "ses_102701193356116233", true},                // the specification: user_session.session_id
		{"user.logout.user_session-id.json", "ses_99768389249008130", true}, // an older docs page: user_session.id
		{"user.logout.no-session.json", "", false},                          // a docs page without a session
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			e := newTestServer(t)
			laptop, phone := e.browser(), e.browser()
			e.login(laptop, "usr_alice")
			e.login(phone, "usr_alice")
			ids := []string{}
			if tc.fixtureSID != "" {
				ids = append(ids, tc.fixtureSID, providerSessionOf(t, e, laptop))
			}
			body := fixture(t, tc.fixture, ids...)

			r := e.webhook(body, withWebhookID("msg_logout"))
			wantAck(t, r)
			if got := e.signedIn(laptop); got == tc.ends {
				t.Errorf("laptop signed in = %t after user.logout of its session; want %t", got, !tc.ends)
			}
			if !e.signedIn(phone) {
				t.Error("another session of the same user ended")
			}
			if !tc.ends && !strings.Contains(e.logs.String(), "webhook names no session; nothing ended") {
				t.Errorf("logs do not say that nothing ended:\n%s", e.logs)
			}

			// The same delivery again is acknowledged the same way and changes nothing.
			wantAck(t, e.webhook(body, withWebhookID("msg_logout")))
			if !e.signedIn(phone) || !strings.Contains(e.logs.String(), "webhook already handled") {
				t.Error("a repeated delivery was handled again")
			}
		})
	}
}

func TestWebhookMembershipDeleted(t *testing.T) {
	e := newTestServer(t)
	aliceAcme, aliceGlobex, bob := e.browser(), e.browser(), e.browser()
	e.signInTo(aliceAcme, "usr_alice", "org_acme")
	e.signInTo(aliceGlobex, "usr_alice", "org_globex")
	e.signInTo(bob, "usr_bob", "org_acme")

	wantAck(t, e.webhook(fixture(t, "user.organization_membership_deleted.json",
		"usr_123456789", "usr_alice", "org_102690563312124938", "org_acme")))
	if e.signedIn(aliceAcme) {
		t.Error("Alice's session in the organization she left is still signed in")
	}
	if !e.signedIn(aliceGlobex) || !e.signedIn(bob) {
		t.Error("a session in another organization, or of another member, ended")
	}
}

// A changed membership refreshes the tokens at the session's next request:
// the access token is still valid for minutes, so only the webhook can make
// the new role show now.
func TestWebhookMembershipUpdatedRefreshesRoles(t *testing.T) {
	e := newTestServer(t)
	bob, alice := e.browser(), e.browser()
	e.signInTo(bob, "usr_bob", "org_acme")
	e.signInTo(alice, "usr_alice", "org_acme")
	if err := e.idp.SetRoles("usr_bob", "org_acme", []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	var me meJSON
	e.get(bob, "/api/me").json(t, &me)
	if !slices.Equal(me.Roles, []string{"member"}) {
		t.Fatalf("roles before the webhook = %v; want [member] from the current token", me.Roles)
	}
	before := e.idp.GrantCounts()["refresh_token"]

	wantAck(t, e.webhook(fixture(t, "user.organization_membership_updated.json",
		"usr_123456789", "usr_bob", "org_102690563312124938", "org_acme")))
	e.get(bob, "/api/me").json(t, &me)
	if !slices.Equal(me.Roles, []string{"admin"}) {
		t.Errorf("roles after the webhook = %v; want [admin] without a new sign-in", me.Roles)
	}
	e.get(bob, "/api/me")
	e.get(alice, "/api/me")
	if got := e.idp.GrantCounts()["refresh_token"] - before; got != 1 {
		t.Errorf("refreshes = %d; want exactly one, Bob's", got)
	}
}

func TestWebhookOrganizationDeleted(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
	}{
		{"as published", nil},
		{"id only at the top level", func(ev map[string]any) { delete(ev["data"].(map[string]any), "id") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestServer(t)
			aliceAcme, aliceGlobex, bob := e.browser(), e.browser(), e.browser()
			e.signInTo(aliceAcme, "usr_alice", "org_acme")
			e.signInTo(aliceGlobex, "usr_alice", "org_globex")
			e.signInTo(bob, "usr_bob", "org_acme")
			body := fixture(t, "organization.deleted.json", "org_1234567890", "org_acme")
			if tc.edit != nil {
				var ev map[string]any
				if err := json.Unmarshal([]byte(body), &ev); err != nil {
					t.Fatal(err)
				}
				tc.edit(ev)
				b, _ := json.Marshal(ev)
				body = string(b)
			}
			wantAck(t, e.webhook(body))
			if e.signedIn(aliceAcme) || e.signedIn(bob) {
				t.Error("a session in the deleted organization is still signed in")
			}
			if !e.signedIn(aliceGlobex) {
				t.Error("a session in another organization ended")
			}
		})
	}
}

// Events naming no one here, and types the BFF does not act on, are
// acknowledged and change nothing.
func TestWebhookUnknownIDsAndOtherTypes(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	e.signInTo(c, "usr_alice", "org_acme")
	for _, body := range []string{
		fixture(t, "user.logout.json"), // ses_102701193356116233 is no session here
		fixture(t, "user.login.json", "ses_102701193356116233", providerSessionOf(t, e, c)),
		fixture(t, "user.organization_membership_deleted.json", "org_102690563312124938", "org_acme"), // usr_123456789 is no one here
		fixture(t, "user.organization_membership_updated.json", "usr_123456789", "usr_alice"),         // nor that organization
		fixture(t, "organization.deleted.json"),
		`{"type":"organization.created","data":{"id":"org_acme"}}`,
		`{"type":"user.logout","data":null}`,
	} {
		wantAck(t, e.webhook(body))
	}
	if !e.signedIn(c) {
		t.Error("an event about someone else ended the session")
	}
	if keys := e.db.Keys(t, "session:*"); len(keys) != 1 {
		t.Errorf("session keys = %v; want Alice's only", keys)
	}
}

func TestWebhookRefusesWhatScalekitDidNotSign(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	e.signInTo(c, "usr_alice", "org_acme")
	body := fixture(t, "user.logout.json", "ses_102701193356116233", providerSessionOf(t, e, c))
	otherSecret := "whsec_" + "QmFkU2VjcmV0QmFkU2VjcmV0QmFkU2VjcmV0"

	for _, tc := range []struct {
		name string
		r    response
		want int
	}{
		{"mis-signed", e.webhook(body, func(d *webhookDelivery) { d.secret = otherSecret }), http.StatusUnauthorized},
		{"stale", e.webhook(body, func(d *webhookDelivery) { d.at = time.Now().Add(-10 * time.Minute) }), http.StatusUnauthorized},
		{"from the future", e.webhook(body, func(d *webhookDelivery) { d.at = time.Now().Add(10 * time.Minute) }), http.StatusUnauthorized},
		{"unsigned", e.do(e.browser(), http.MethodPost, "/webhooks/scalekit", strings.NewReader(body)), http.StatusUnauthorized},
		{"signed, not JSON", e.webhook(`not json`), http.StatusBadRequest},
		{"signed, no type", e.webhook(`{"data":{}}`), http.StatusBadRequest},
		{"signed, data of another shape", e.webhook(`{"type":"user.logout","data":{"user_session":"ses_1"}}`), http.StatusBadRequest},
		{"signed, membership without ids", e.webhook(`{"type":"user.organization_membership_deleted","data":{"user":{}}}`), http.StatusBadRequest},
		{"signed, organization without id", e.webhook(`{"type":"organization.deleted","data":{}}`), http.StatusBadRequest},
		{"signed, odd session id", e.webhook(`{"type":"user.logout","data":{"user_session":{"session_id":"ses_1|x"}}}`), http.StatusBadRequest},
	} {
		if tc.r.StatusCode != tc.want {
			t.Errorf("%s: %d %s; want %d", tc.name, tc.r.StatusCode, tc.r.body, tc.want)
		}
	}
	if !e.signedIn(c) {
		t.Error("a refused webhook ended the session")
	}

	// A refused event is not remembered: Scalekit's corrected retry works.
	wantAck(t, e.webhook(body, withWebhookID("msg_fixed")))
	if e.signedIn(c) {
		t.Error("the signed event did not end the session")
	}
}

// The built-in provider's own webhooks end and refresh sessions here, with
// no back channel: ending a session at its admin, removing a membership,
// changing a role.
func TestProviderWebhooksReachTheApp(t *testing.T) {
	e := newTestServer(t, withProviderWebhooks())
	ended, removed, promoted := e.browser(), e.browser(), e.browser()
	e.signInTo(ended, "usr_alice", "org_acme")
	e.signInTo(removed, "usr_alice", "org_globex")
	e.signInTo(promoted, "usr_bob", "org_acme")

	e.idp.EndSession(t.Context(), providerSessionOf(t, e, ended))
	eventually(t, "the ended provider session ends here", func() bool { return !e.signedIn(ended) })

	if err := e.idp.RemoveMembership("usr_alice", "org_globex"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the removed membership's session ends here", func() bool { return !e.signedIn(removed) })

	if err := e.idp.SetRoles("usr_bob", "org_acme", []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new role shows", func() bool {
		var me meJSON
		e.get(promoted, "/api/me").json(t, &me)
		return slices.Equal(me.Roles, []string{"admin"})
	})
	if strings.Contains(e.logs.String(), "webhook not delivered") {
		t.Errorf("a provider webhook was refused:\n%s", e.logs)
	}
}

// eventually waits, at most 5 seconds, for something that happens in the
// background to be seen.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s: %s did not happen", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A delivery that another handler holds (another instance, or one that failed
// and could not release it) is not acknowledged: that handler may yet fail,
// and only a non-2xx answer brings Scalekit's retry. Once the id is released
// the retry acts; once it is handled it is a repeat.
func TestWebhookHeldByAnotherHandler(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	e.signInTo(c, "usr_alice", "org_acme")
	body := fixture(t, "user.logout.json", "ses_102701193356116233", providerSessionOf(t, e, c))
	conn := e.db.Pool.Get()
	defer conn.Close()
	key := e.db.Prefix + "once:webhook:msg_held"
	if _, err := conn.Do("SET", key, "processing", "PX", 60_000); err != nil {
		t.Fatal(err)
	}

	r := e.webhook(body, withWebhookID("msg_held"))
	if r.StatusCode/100 == 2 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a delivery held by another handler = %d (Retry-After %q) %s; want a non-2xx with Retry-After", r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
	if !e.signedIn(c) {
		t.Fatal("a delivery held by another handler was acted on")
	}

	if _, err := conn.Do("DEL", key); err != nil { // that handler failed and let go
		t.Fatal(err)
	}
	wantAck(t, e.webhook(body, withWebhookID("msg_held")))
	if e.signedIn(c) {
		t.Error("the retry after a released claim did not end the session")
	}
	if v, err := redis.String(conn.Do("GET", key)); v != "done" || err != nil {
		t.Errorf("the handled id is %q (%v); want it recorded as done", v, err)
	}
	wantAck(t, e.webhook(body, withWebhookID("msg_held")))
	if !strings.Contains(e.logs.String(), "webhook already handled") {
		t.Error("the repeat of a handled delivery was not taken for one")
	}
}

// A signal that arrives while a sign-in is under way (its code exchanged, its
// session not yet stored) ends that sign-in too: it fails with the usual
// login error, and no session is left.
func TestWebhookDuringSignIn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		event func(t *testing.T, tokens []byte) string
	}{
		{"membership removed", func(t *testing.T, _ []byte) string {
			return fixture(t, "user.organization_membership_deleted.json",
				"usr_123456789", "usr_alice", "org_102690563312124938", "org_acme")
		}},
		{"organization deleted", func(t *testing.T, _ []byte) string {
			return fixture(t, "organization.deleted.json", "org_1234567890", "org_acme")
		}},
		{"Scalekit session ended", func(t *testing.T, tokens []byte) string {
			return fixture(t, "user.logout.json", "ses_102701193356116233", sidOfTokenResponse(t, tokens))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestServer(t)
			c := e.browser()
			callback := e.choose(c, e.startLogin(c, "/auth/login"), "usr_alice", "org_acme")
			hook := func(tokens []byte) {
				if r := e.webhook(tc.event(t, tokens)); r.StatusCode != http.StatusOK {
					t.Errorf("webhook during the sign-in = %d %s", r.StatusCode, r.body)
				}
			}
			e.afterToken.Store(&hook)

			r := e.get(c, callback)
			if got := r.Header.Get("Location"); r.StatusCode != http.StatusFound || got != "/login-error?error=login_failed" {
				t.Errorf("callback = %d to %q; want 302 to /login-error?error=login_failed", r.StatusCode, got)
			}
			if e.afterToken.Load() != nil {
				t.Fatal("the webhook was not sent during the sign-in")
			}
			if e.signedIn(c) {
				t.Error("a sign-in that the webhook ended is signed in")
			}
			if keys := e.db.Keys(t, "session:*"); len(keys) != 0 {
				t.Errorf("session keys = %v; want none", keys)
			}
		})
	}
}

// sidOfTokenResponse reads the Scalekit session id from a token response's
// ID token (its signature is the app's business, not the test's).
func sidOfTokenResponse(t *testing.T, body []byte) string {
	t.Helper()
	var resp struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(resp.IDToken, ".")
	if len(parts) != 3 {
		t.Fatal("the token response has no ID token")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.SID == "" {
		t.Fatalf("the ID token has no sid (%v)", err)
	}
	return claims.SID
}
