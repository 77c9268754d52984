package web

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/example/scalekit-bff/server/internal/devidp"
)

// offsetClock lets a test have the provider issue tokens "in the past", so
// they are near expiry at once, with nothing waiting on the wall clock.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = d
}

// loginNearExpiry signs c in with an access token that expires in 10s, inside
// the 30s refresh skew, and puts the provider's clock back to now.
func loginNearExpiry(e *testEnv, clk *offsetClock, c *http.Client, user string) {
	e.t.Helper()
	clk.Set(10*time.Second - 5*time.Minute) // the access token lives 5 minutes
	e.login(c, user)
	clk.Set(0)
}

func refreshEnv(t *testing.T) (*testEnv, *offsetClock) {
	clk := &offsetClock{}
	e := newTestServer(t, withIDP(func(c *devidp.Config) {
		c.Now = clk.Now
		c.AccessTokenTTL = 5 * time.Minute
	}))
	return e, clk
}

// concurrentGets sends n parallel GETs carrying cookie and the header
// name, value pairs, request i to urls[i%len(urls)], and returns their
// statuses (-1: no answer).
func concurrentGets(e *testEnv, cookie *http.Cookie, urls []string, n int, header ...string) map[int]int {
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	client := &http.Client{Transport: e.app.Client().Transport, Timeout: 20 * time.Second}
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, urls[i%len(urls)], nil)
			req.AddCookie(cookie)
			for j := 0; j+1 < len(header); j += 2 {
				req.Header.Set(header[j], header[j+1])
			}
			status := -1
			if resp, err := client.Do(req); err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return statuses
}

func TestConcurrentRequestsRefreshOnce(t *testing.T) {
	for _, instances := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d instances", instances), func(t *testing.T) {
			e, clk := refreshEnv(t)
			urls := []string{e.app.URL + "/api/me"}
			if instances == 2 {
				urls = append(urls, e.secondInstance()+"/api/me")
			}
			c := e.browser()
			loginNearExpiry(e, clk, c, "usr_alice")
			before := e.idp.GrantCounts()["refresh_token"]

			statuses := concurrentGets(e, e.cookie(c), urls, 50)
			if statuses[200] != 50 {
				t.Errorf("statuses = %v; want 50 × 200; failures logged:\n%s", statuses, failedRequests(e.logs.String()))
			}
			if got := e.idp.GrantCounts()["refresh_token"] - before; got != 1 {
				t.Errorf("refreshes at the provider = %d; want exactly 1 (counts %v)", got, e.idp.GrantCounts())
			}
			// The rotated refresh token was saved: the session keeps working.
			wantStatus(t, e.get(c, "/api/me"), http.StatusOK)
		})
	}
}

func TestRoleChangeShowsAfterRefresh(t *testing.T) {
	e, clk := refreshEnv(t)
	c := e.browser()
	loginNearExpiry(e, clk, c, "usr_bob")
	if err := e.idp.SetRoles("usr_bob", "org_acme", []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	var me meJSON
	e.get(c, "/api/me").json(t, &me)
	if len(me.Roles) != 1 || me.Roles[0] != "admin" {
		t.Errorf("roles after refresh = %v; want [admin] from the new access token", me.Roles)
	}
}

func TestRefusedRefreshEndsSession(t *testing.T) {
	clk := &offsetClock{}
	e := newTestServer(t, withIDP(func(c *devidp.Config) {
		c.Now = clk.Now
		c.AccessTokenTTL = 5 * time.Minute
		c.Clients[0].BackchannelLogoutURI = "" // the refusal alone must end the session
	}))
	c := e.browser()
	loginNearExpiry(e, clk, c, "usr_bob")
	if !e.idp.EndSession(t.Context(), providerSessionOf(t, e, c)) {
		t.Fatal("EndSession found no provider session")
	}
	r := e.get(c, "/api/me")
	wantStatus(t, r, http.StatusUnauthorized)
	if keys := e.db.Keys(t, "session:*"); len(keys) != 0 {
		t.Errorf("session keys after a refused refresh = %v; want the session deleted", keys)
	}
}

func TestProviderOutageIs503AndRecovers(t *testing.T) {
	e, clk := refreshEnv(t)
	c := e.browser()
	// The access token expires within two seconds: exp is in whole seconds,
	// so at least one second is left. (With "in a second", truncation left
	// as little as a few milliseconds, and the sign-in itself, which
	// verifies the token, failed now and then.)
	clk.Set(2*time.Second - 5*time.Minute)
	e.login(c, "usr_bob")
	clk.Set(0)

	e.idpDown(true)
	// Until the token expires the current one is used; then a request that
	// needs a fresh token is told the provider is unavailable.
	var r response
	deadline := time.Now().Add(10 * time.Second)
	for r = e.get(c, "/api/me"); r.StatusCode == http.StatusOK && time.Now().Before(deadline); r = e.get(c, "/api/me") {
		time.Sleep(50 * time.Millisecond) // polling for an observable change, bounded by the deadline
	}
	wantStatus(t, r, http.StatusServiceUnavailable)
	if code := r.errorCode(t); code != "identity_provider_unavailable" {
		t.Errorf("/api/me with the provider down: %s; want identity_provider_unavailable", code)
	}
	var s struct{ Authenticated bool }
	e.get(c, "/api/session").json(t, &s)
	if !s.Authenticated {
		t.Error("/api/session during a provider outage says signed out; want still authenticated")
	}

	e.idpDown(false)
	wantStatus(t, e.get(c, "/api/me"), http.StatusOK)
	if got := e.idp.GrantCounts()["refresh_token"]; got != 1 {
		t.Errorf("refreshes = %d; want 1 once the provider is back", got)
	}
}

// providerSessionOf reads the Scalekit session id of c's session from the store.
func providerSessionOf(t *testing.T, e *testEnv, c *http.Client) string {
	t.Helper()
	return e.storedRecord(c).User.SessionID
}

func TestSessionEndsWithRefreshToken(t *testing.T) {
	e := newTestServer(t, withIDP(func(c *devidp.Config) { c.RefreshTokenTTL = 2 * time.Minute }))
	c := e.browser()
	e.login(c, "usr_bob")
	var s struct{ ExpiresAt, AbsoluteExpiresAt time.Time }
	e.get(c, "/api/session").json(t, &s)
	if limit := time.Now().Add(2 * time.Minute); s.ExpiresAt.After(limit) || s.AbsoluteExpiresAt.After(limit) {
		t.Errorf("session expiresAt, absoluteExpiresAt = %v, %v; want both no later than the refresh token's expiry (%v)", s.ExpiresAt, s.AbsoluteExpiresAt, limit)
	}
	if ck := e.cookie(c); ck == nil {
		t.Fatal("no session cookie")
	}
}
