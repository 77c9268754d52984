package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/example/scalekit-bff/server/internal/redistest"
)

// Three instances on one Redis, as behind a load balancer: a session
// signed in on one is used on the second and revoked on the third, and
// sign-out and revocation are seen by all three, whose session caches had
// each served the session before.
func TestThreeInstances(t *testing.T) {
	t.Run("REDIS_URL", func(t *testing.T) { threeInstances(t, newTestServer(t)) })
	t.Run("Sentinel", func(t *testing.T) {
		primary := redistest.Start(t)
		replica := redistest.StartReplica(t, primary)
		ss := redistest.StartSentinels(t, 3, primary, redistest.SentinelTimings{DownAfter: 5 * time.Second, FailoverTimeout: 10 * time.Second}, replica)
		threeInstances(t, newTestServer(t, withEnv("REDIS_URL", ""),
			withEnv("REDIS_SENTINEL_ADDRS", strings.Join(ss.Addrs, ",")), withEnv("REDIS_SENTINEL_MASTER", ss.Master)))
	})
}

func threeInstances(t *testing.T, e *testEnv) {
	a, b, c := e.app.URL, e.secondInstance(), e.secondInstance()
	laptop, phone := e.browser(), e.browser()
	e.login(laptop, "usr_alice") // on a
	e.login(phone, "usr_alice")
	for _, base := range []string{a, b, c} {
		wantStatus(t, e.get(phone, base+"/api/me"), http.StatusOK)
		wantStatus(t, e.get(laptop, base+"/api/me"), http.StatusOK)
	}

	// Revoked on c: the phone is signed out on every instance.
	phoneID := e.listSessionsOf(laptop, phone)
	wantStatus(t, e.do(laptop, http.MethodDelete, c+"/api/sessions/"+phoneID, nil, "X-CSRF", "1"), http.StatusNoContent)
	wantStatus(t, e.get(phone, c+"/api/me"), http.StatusUnauthorized)
	for _, base := range []string{a, b} {
		// Another instance learns of it from Redis's invalidation message,
		// which arrives just after the revocation's answer.
		eventually(t, "the revoked session is refused by "+base, func() bool {
			return e.get(phone, base+"/api/me").StatusCode == http.StatusUnauthorized
		})
	}

	// Signed out on b: the laptop's cookie is refused everywhere.
	cookie := e.cookie(laptop).Value
	wantStatus(t, e.do(laptop, http.MethodPost, b+"/auth/logout", nil, "X-CSRF", "1"), http.StatusOK)
	old := e.withCookie(cookie)
	wantStatus(t, e.get(old, b+"/api/me"), http.StatusUnauthorized)
	for _, base := range []string{a, c} {
		eventually(t, "the signed-out session is refused by "+base, func() bool {
			return e.get(old, base+"/api/me").StatusCode == http.StatusUnauthorized
		})
	}
	// And it stays refused: nothing brings it back.
	for _, base := range []string{a, b, c} {
		wantStatus(t, e.get(old, base+"/api/me"), http.StatusUnauthorized)
		wantStatus(t, e.get(phone, base+"/api/me"), http.StatusUnauthorized)
	}
}
