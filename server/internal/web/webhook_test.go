package web

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func newRSAKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

func (e *testEnv) webhook(id string, at time.Time, body string, secret string) response {
	e.t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		e.t.Fatal(err)
	}
	sig, err := wh.Sign(id, at, []byte(body))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(e.browser(), http.MethodPost, "/webhooks/scalekit", strings.NewReader(body),
		"webhook-id", id, "webhook-timestamp", strconv.FormatInt(at.Unix(), 10), "webhook-signature", sig,
		"Content-Type", "application/json")
}

func TestWebhookUserLogout(t *testing.T) {
	e := newTestServer(t)
	c, other := e.browser(), e.browser()
	e.login(c, "usr_alice")
	e.login(other, "usr_alice")
	body := fmt.Sprintf(`{"type":"user.logout","data":{"user_id":"usr_alice","session_id":%q}}`, providerSessionOf(t, e, c))
	now := time.Now()

	refused := []struct {
		name string
		r    response
	}{
		{"bad signature", e.webhook("msg_1", now, body, "whsec_"+"QmFkU2VjcmV0QmFkU2VjcmV0QmFkU2VjcmV0")},
		{"old timestamp", e.webhook("msg_2", now.Add(-10*time.Minute), body, testWebhookSecret)},
		{"unsigned", e.do(e.browser(), http.MethodPost, "/webhooks/scalekit", strings.NewReader(body))},
	}
	for _, tc := range refused {
		if tc.r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d %s; want 401", tc.name, tc.r.StatusCode, tc.r.body)
		}
	}
	wantStatus(t, e.get(c, "/api/me"), http.StatusOK) // nothing changed

	wantStatus(t, e.webhook("msg_3", now, body, testWebhookSecret), http.StatusNoContent)
	wantStatus(t, e.get(c, "/api/me"), http.StatusUnauthorized)
	wantStatus(t, e.get(other, "/api/me"), http.StatusOK)

	// A repeated delivery is acknowledged, so the sender stops, and not acted on.
	wantStatus(t, e.webhook("msg_3", now, body, testWebhookSecret), http.StatusNoContent)
	if !strings.Contains(e.logs.String(), "webhook already handled") {
		t.Error("a repeated webhook id was handled again; want it acknowledged and ignored")
	}
}

func TestWebhookUserDeletedEndsAllSessions(t *testing.T) {
	e := newTestServer(t)
	a, b, bob := e.browser(), e.browser(), e.browser()
	e.login(a, "usr_alice")
	e.login(b, "usr_alice")
	e.login(bob, "usr_bob")
	wantStatus(t, e.webhook("msg_d", time.Now(), `{"type":"user.deleted","data":{"id":"usr_alice"}}`, testWebhookSecret), http.StatusNoContent)
	wantStatus(t, e.get(a, "/api/me"), http.StatusUnauthorized)
	wantStatus(t, e.get(b, "/api/me"), http.StatusUnauthorized)
	wantStatus(t, e.get(bob, "/api/me"), http.StatusOK)
	// Other events are acknowledged and ignored.
	wantStatus(t, e.webhook("msg_o", time.Now(), `{"type":"organization.created","data":{"id":"org_x"}}`, testWebhookSecret), http.StatusNoContent)
	wantStatus(t, e.get(bob, "/api/me"), http.StatusOK)
}
