package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/example/scalekit-bff/server/internal/redistest"
	"github.com/example/scalekit-bff/server/internal/session"
)

// Instance B of these tests keeps sessions in its cache; instance A (the
// test server) is where they are revoked. B must notice within 100 ms.
const seenWithin = 100 * time.Millisecond

// instance is one more server over the test's Redis, with its sessions.
type instance struct {
	url      string
	sessions *session.Manager
}

func (e *testEnv) instanceB() instance {
	e.t.Helper()
	h, sessions := e.newInstance(slog.New(slog.NewTextHandler(e.logs, nil)))
	srv := httptest.NewTLSServer(h)
	e.t.Cleanup(srv.Close)
	return instance{srv.URL, sessions}
}

// waitCacheOn waits, at most 5 seconds, until the instance's cache is on
// after its tracking was established more than `after` times.
func waitCacheOn(t *testing.T, in instance, after uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s := in.sessions.CacheStats(); !s.On || s.Established <= after; s = in.sessions.CacheStats() {
		if time.Now().After(deadline) {
			t.Fatalf("cache stats = %+v after 5s; want on, established more than %d times", s, after)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cacheServes asks B for c's profile twice and checks that the second
// answer came from B's cache.
func (e *testEnv) cacheServes(in instance, c *http.Client) {
	e.t.Helper()
	wantStatus(e.t, e.get(c, in.url+"/api/me"), http.StatusOK)
	hits := in.sessions.CacheStats().Hits
	wantStatus(e.t, e.get(c, in.url+"/api/me"), http.StatusOK)
	if got := in.sessions.CacheStats().Hits; got != hits+1 {
		e.t.Fatalf("cache hits = %d after a second /api/me; want %d: B did not serve the session from its cache", got, hits+1)
	}
}

// wantEndedWithin asks B for c's profile until it answers 401, for at most
// seenWithin after the revocation returned.
func (e *testEnv) wantEndedWithin(in instance, c *http.Client, since time.Time) {
	e.t.Helper()
	for {
		r := e.get(c, in.url+"/api/me")
		if r.StatusCode == http.StatusUnauthorized {
			return
		}
		if r.StatusCode != http.StatusOK {
			e.t.Fatalf("B: /api/me = %d %s; want 200, then 401", r.StatusCode, r.body)
		}
		if elapsed := time.Since(since); elapsed > seenWithin {
			e.t.Fatalf("B still served the revoked session %v after the revocation; want 401 within %v", elapsed, seenWithin)
		}
	}
}

func TestRevocationOnOneInstanceIsSeenByAnother(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []envOption
		revoke func(t *testing.T, e *testEnv, c, other *http.Client)
	}{
		{"sign-out", nil, func(t *testing.T, e *testEnv, c, _ *http.Client) {
			wantStatus(t, e.do(c, http.MethodPost, "/auth/logout", nil, "X-CSRF", "1"), http.StatusOK)
		}},
		{"one session revoked", nil, func(t *testing.T, e *testEnv, c, other *http.Client) {
			id := e.listSessionsOf(other, c)
			wantStatus(t, e.do(other, http.MethodDelete, "/api/sessions/"+id, nil, "X-CSRF", "1"), http.StatusNoContent)
		}},
		{"other devices signed out", nil, func(t *testing.T, e *testEnv, _, other *http.Client) {
			wantStatus(t, e.do(other, http.MethodDelete, "/api/sessions", nil, "X-CSRF", "1"), http.StatusOK)
		}},
		{"back-channel logout", nil, func(t *testing.T, e *testEnv, c, _ *http.Client) {
			if !e.idp.EndSession(e.t.Context(), providerSessionOf(t, e, c)) {
				t.Fatal("EndSession found no provider session")
			}
		}},
		{"user.logout webhook", []envOption{withProviderWebhooks()}, func(t *testing.T, e *testEnv, c, _ *http.Client) {
			wantAck(t, e.webhook(fixture(t, "user.logout.json",
				"ses_102701193356116233", providerSessionOf(t, e, c))))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestServer(t, tc.opts...)
			b := e.instanceB()
			waitCacheOn(t, b, 0)
			c, other := e.browser(), e.browser()
			e.login(c, "usr_alice")
			e.login(other, "usr_alice")
			// B is asked with a copy of the cookie: a sign-out also clears c's.
			probe := e.withCookie(e.cookie(c).Value)
			e.cacheServes(b, probe)

			tc.revoke(t, e, c, other)
			e.wantEndedWithin(b, probe, time.Now())
		})
	}
}

func TestMembershipUpdateOnOneInstanceIsSeenByAnother(t *testing.T) {
	e := newTestServer(t)
	b := e.instanceB()
	waitCacheOn(t, b, 0)
	bob := e.browser()
	e.signInTo(bob, "usr_bob", "org_acme")
	e.cacheServes(b, bob)
	if err := e.idp.SetRoles("usr_bob", "org_acme", []string{"admin"}); err != nil {
		t.Fatal(err)
	}

	wantAck(t, e.webhook(fixture(t, "user.organization_membership_updated.json",
		"usr_123456789", "usr_bob", "org_102690563312124938", "org_acme")))
	since := time.Now()
	for {
		var me meJSON
		e.get(bob, b.url+"/api/me").json(t, &me)
		if slices.Equal(me.Roles, []string{"admin"}) {
			break
		}
		if elapsed := time.Since(since); elapsed > seenWithin {
			t.Fatalf("B: roles = %v %v after the webhook; want [admin] within %v", me.Roles, elapsed, seenWithin)
		}
	}
}

// killClients kills the connections whose name ends in suffix among those
// of the test's instances (their names start with the key prefix).
func killClients(t *testing.T, redisURL, prefix, suffix string) {
	t.Helper()
	conn, err := redis.DialURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	list, err := redis.String(conn.Do("CLIENT", "LIST"))
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		var id, name string
		for _, field := range strings.Fields(line) {
			k, v, _ := strings.Cut(field, "=")
			switch k {
			case "id":
				id = v
			case "name":
				name = v
			}
		}
		if strings.HasPrefix(name, prefix+"cache:") && strings.HasSuffix(name, suffix) {
			if _, err := conn.Do("CLIENT", "KILL", "ID", id); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 2 {
		t.Fatalf("killed %d connections named %scache:…%s; want 2, one per instance", killed, prefix, suffix)
	}
}

func TestRevocationSeenAfterATrackingConnectionWasKilled(t *testing.T) {
	for _, conn := range []string{":invalidations", ":tracking"} {
		t.Run(conn, func(t *testing.T) {
			e := newTestServer(t)
			b := e.instanceB()
			waitCacheOn(t, b, 0)
			c := e.browser()
			e.login(c, "usr_alice")
			probe := e.withCookie(e.cookie(c).Value)
			e.cacheServes(b, probe)
			established := b.sessions.CacheStats().Established

			killClients(t, e.redisURL, e.db.Prefix, conn)
			// Until tracking is back, nothing is served from the cache.
			waitCacheOn(t, b, established)
			if s := b.sessions.CacheStats(); s.Entries != 0 {
				t.Errorf("cache entries after tracking came back = %d; want 0 (flushed)", s.Entries)
			}
			e.cacheServes(b, probe)
			wantStatus(t, e.do(c, http.MethodPost, "/auth/logout", nil, "X-CSRF", "1"), http.StatusOK)
			e.wantEndedWithin(b, probe, time.Now())
		})
	}
}

func TestCacheAfterRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	e := newTestServer(t, withRedisURL(srv.URL))
	b := e.instanceB()
	waitCacheOn(t, b, 0)
	c := e.browser()
	e.login(c, "usr_alice")
	stale := e.withCookie(e.cookie(c).Value)
	e.cacheServes(b, stale)
	established := b.sessions.CacheStats().Established

	// The private Redis keeps nothing across a restart: the session is gone,
	// and B must say so rather than serve what it had cached, also once its
	// cache is back on. The pools' connections from before the restart fail
	// once each (503); what B must never do is answer 200. (A is asked too,
	// to be rid of its dead connections before it signs c in again.)
	srv.Stop()
	srv.Restart()
	for _, base := range []string{b.url, e.app.URL} {
		deadline := time.Now().Add(time.Second)
		for r := e.get(stale, base+"/api/me"); r.StatusCode != http.StatusUnauthorized; r = e.get(stale, base+"/api/me") {
			if r.StatusCode == http.StatusOK || time.Now().After(deadline) {
				t.Fatalf("%s/api/me after a Redis restart = %d %s; want 401 (or 503 for a dead pooled connection), never 200", base, r.StatusCode, r.body)
			}
		}
	}
	waitCacheOn(t, b, established)
	wantStatus(t, e.get(e.withCookie(e.cookie(c).Value), b.url+"/api/me"), http.StatusUnauthorized)

	e.login(c, "usr_alice")
	probe := e.withCookie(e.cookie(c).Value)
	e.cacheServes(b, probe)
	wantStatus(t, e.do(c, http.MethodPost, "/auth/logout", nil, "X-CSRF", "1"), http.StatusOK)
	e.wantEndedWithin(b, probe, time.Now())
}

func TestExpiredSessionIsNotServedFromTheCache(t *testing.T) {
	e := newTestServer(t, withEnv("SESSION_IDLE_TIMEOUT", "1s"), withEnv("SESSION_CACHE_MAX_AGE", "1h"))
	b := e.instanceB()
	waitCacheOn(t, b, 0)
	c := e.browser()
	e.login(c, "usr_alice")
	e.cacheServes(b, c)

	conn := e.db.Pool.Get()
	defer conn.Close()
	key := e.db.Keys(t, "session:*")[0]
	deadline := time.Now().Add(5 * time.Second)
	for n, err := redis.Int(conn.Do("EXISTS", key)); n != 0; n, err = redis.Int(conn.Do("EXISTS", key)) {
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("the session key still exists 5s after its 1s idle timeout (%v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantStatus(t, e.get(c, b.url+"/api/me"), http.StatusUnauthorized)
}

func TestRefreshOnOneInstanceIsUsedByAnother(t *testing.T) {
	e, clk := refreshEnv(t)
	b := e.instanceB()
	waitCacheOn(t, b, 0)
	c := e.browser()
	loginNearExpiry(e, clk, c, "usr_alice")
	// /api/session does not refresh: B caches the session with the tokens
	// about to expire.
	wantStatus(t, e.get(c, b.url+"/api/session"), http.StatusOK)
	wantStatus(t, e.get(c, b.url+"/api/session"), http.StatusOK)
	if s := b.sessions.CacheStats(); s.Entries != 1 || s.Hits == 0 {
		t.Fatalf("B's cache = %+v; want the session cached and served", s)
	}
	before := e.idp.GrantCounts()["refresh_token"]

	wantStatus(t, e.get(c, "/api/me"), http.StatusOK) // A refreshes
	for _, base := range []string{b.url, e.app.URL, b.url} {
		wantStatus(t, e.get(c, base+"/api/me"), http.StatusOK)
	}
	if got := e.idp.GrantCounts()["refresh_token"] - before; got != 1 {
		t.Errorf("refreshes at the provider = %d; want 1: B used A's tokens", got)
	}
}

func TestCacheNeverExceedsItsCap(t *testing.T) {
	e := newTestServer(t, withEnv("SESSION_CACHE_MAX_ENTRIES", "2"))
	waitCacheOn(t, instance{e.app.URL, e.sessions}, 0)
	var browsers []*http.Client
	for _, user := range []string{"usr_alice", "usr_bob", "usr_alice", "usr_bob", "usr_alice"} {
		c := e.browser()
		e.login(c, user)
		browsers = append(browsers, c)
	}
	for range 3 {
		for _, c := range browsers {
			wantStatus(t, e.get(c, "/api/me"), http.StatusOK)
			if s := e.sessions.CacheStats(); s.Entries > 2 {
				t.Fatalf("cache entries = %d; want at most the cap, 2", s.Entries)
			}
		}
	}
	// The cap evicts, it does not stop caching: the last session is hot.
	last := instance{e.app.URL, e.sessions}
	e.cacheServes(last, browsers[len(browsers)-1])
}

func TestSessionCacheOff(t *testing.T) {
	e := newTestServer(t, withEnv("SESSION_CACHE", "off"))
	c := e.browser()
	e.login(c, "usr_alice")
	for range 3 {
		wantStatus(t, e.get(c, "/api/me"), http.StatusOK)
	}
	if s := e.sessions.CacheStats(); s != (session.CacheStats{}) {
		t.Errorf("cache stats with SESSION_CACHE=off = %+v; want none", s)
	}
}
