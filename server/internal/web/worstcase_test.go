package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// The README's "Worst case per client" quotes these: what one client keeps
// alive in Redis by starting logins as fast as the rate limit allows. Keep
// them true: the test below measures the real record.
const (
	worstCaseKeyBytes = 1100 // MEMORY USAGE of one anonymous session with a 512-character returnTo (measured: 1,048 with a test key prefix)
	loginRate         = 20   // requests a second per client (routes.go)
	loginBurst        = 60
	pendingLoginTTL   = 10 * time.Minute
)

// TestAnonymousLoginIsSmallAndShortLived measures what one started login
// costs in Redis (for the README's figure) and checks that it leaves Redis,
// and the browser, when its pending login expires: a visitor who never signs
// in must not hold a key for the idle timeout.
func TestAnonymousLoginIsSmallAndShortLived(t *testing.T) {
	e := newTestServer(t)
	c := e.browser()
	longest := "/" + strings.Repeat("a", maxReturnTo-1)
	r := e.get(c, "/auth/login?returnTo="+url.QueryEscape(longest))
	wantStatus(t, r, http.StatusFound)

	ck := e.cookie(c)
	if ck == nil {
		t.Fatal("no session cookie after /auth/login")
	}
	var maxAge int
	for _, sc := range r.Cookies() {
		if sc.Name == e.sessions.CookieName() {
			maxAge = sc.MaxAge
		}
	}
	if maxAge <= 0 || maxAge > int(pendingLoginTTL.Seconds())+1 {
		t.Errorf("cookie Max-Age = %d; want at most the pending-login TTL (%v)", maxAge, pendingLoginTTL)
	}
	keys := e.db.Keys(t, "session:*")
	if len(keys) != 1 {
		t.Fatalf("session keys = %v; want one", keys)
	}
	conn := e.db.Pool.Get()
	defer conn.Close()
	pttl, err := redis.Int64(conn.Do("PTTL", keys[0]))
	if err != nil || pttl <= 0 || time.Duration(pttl)*time.Millisecond > pendingLoginTTL {
		t.Errorf("PTTL = %d ms, %v; want at most the pending-login TTL (%v), not the idle timeout", pttl, err, pendingLoginTTL)
	}
	value, err := redis.Int64(conn.Do("STRLEN", keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	usage, err := redis.Int64(conn.Do("MEMORY", "USAGE", keys[0], "SAMPLES", "0"))
	if err != nil {
		t.Fatal(err)
	}
	if usage > worstCaseKeyBytes {
		t.Errorf("MEMORY USAGE of an anonymous session = %d bytes; the README's worst case assumes at most %d", usage, worstCaseKeyBytes)
	}
	e.login(c, "usr_alice")
	keys = e.db.Keys(t, "session:*")
	if len(keys) != 1 {
		t.Fatalf("session keys after sign-in = %v; want one (the anonymous one renewed)", keys)
	}
	signedIn, err := redis.Int64(conn.Do("MEMORY", "USAGE", keys[0], "SAMPLES", "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one signed-in session (built-in provider's tokens): %d bytes in Redis", signedIn)
	perClient := loginRate*int(pendingLoginTTL.Seconds()) + loginBurst
	t.Logf("one anonymous session: %d bytes of value, %d bytes in Redis; one client at the limit: %d keys, %.1f MB",
		value, usage, perClient, float64(perClient*worstCaseKeyBytes)/1e6)
}
