package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/redistest"
	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// clock is a settable time source shared by a test and its managers.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newRedisManager(t *testing.T, db *redistest.DB, clk *clock) *Manager {
	t.Helper()
	return NewRedis(db.Pool, Options{
		IdleTimeout: 10 * time.Minute, Lifetime: time.Hour, TouchInterval: time.Minute,
		CookieSecure: true, KeyPrefix: db.Prefix, Now: clk.Now,
	})
}

var fixedExpiry = time.Now().Add(5 * time.Minute).Round(0)

func testRecord(sub, sid string) Record {
	return Record{
		User:                 scalekit.User{ID: sub, Email: sub + "@example.test", Name: "Test " + sub, SessionID: sid},
		OrganizationID:       "org_1",
		Roles:                []string{"member"},
		AccessToken:          "at-1",
		RefreshToken:         "rt-1",
		IDToken:              "id-1",
		AccessTokenExpiresAt: fixedExpiry,
	}
}

// signIn signs a new browser in and returns its cookie value.
func signIn(t *testing.T, m *Manager, rec Record) string {
	t.Helper()
	ctx, err := m.Load(context.Background(), "")
	if err != nil {
		t.Fatalf("Load(\"\") = %v", err)
	}
	w := httptest.NewRecorder()
	if err := m.SignIn(ctx, w, rec); err != nil {
		t.Fatalf("SignIn() = %v", err)
	}
	return cookieValue(t, w, m.CookieName())
}

// current is the signed-in record of a cookie value.
func current(t *testing.T, m *Manager, token string) *Record {
	t.Helper()
	rec, err := m.Current(load(t, m, token))
	if err != nil {
		t.Fatalf("Current() = %v", err)
	}
	return rec
}

func cookieValue(t *testing.T, w *httptest.ResponseRecorder, name string) string {
	t.Helper()
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != name {
		t.Fatalf("Set-Cookie = %v; want exactly one %s cookie", w.Result().Header.Values("Set-Cookie"), name)
	}
	return cookies[0].Value
}

func load(t *testing.T, m *Manager, token string) context.Context {
	t.Helper()
	ctx, err := m.Load(context.Background(), token)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	return ctx
}

func TestSignInStoresTypedRecordInRedis(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	token := signIn(t, m, testRecord("usr_1", "ses_1"))

	rec, err := m.Current(load(t, m, token))
	if err != nil {
		t.Fatalf("Current() = %v; want the signed-in record", err)
	}
	want := testRecord("usr_1", "ses_1")
	want.PublicID, want.CreatedAt, want.LastSeenAt = PublicID(token), clk.Now(), clk.Now()
	want.OrganizationName = "org_1" // without a directory, the organization's id
	if diff := cmp.Diff(want, *rec, cmp.AllowUnexported(Record{}), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
		cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".rev" }, cmp.Ignore())); diff != "" {
		t.Errorf("stored record (-want +got):\n%s", diff)
	}
	keys := db.Keys(t, "session:*")
	if len(keys) != 1 || keys[0] != db.Prefix+"session:"+storeKey(token) {
		t.Errorf("session keys = %v; want one, named by the token's hash, never the token", keys)
	}
	if PublicID(token) == token || PublicID(token) == storeKey(token) {
		t.Error("PublicID must differ from the token and from the store key")
	}
}

func TestCookieAttributes(t *testing.T) {
	db := redistest.New(t)
	for _, tc := range []struct {
		secure bool
		want   string
	}{{true, "__Host-sid"}, {false, "sid"}} {
		m := NewRedis(db.Pool, Options{CookieSecure: tc.secure, KeyPrefix: db.Prefix})
		ctx := load(t, m, "")
		w := httptest.NewRecorder()
		if err := m.SignIn(ctx, w, testRecord("usr_c", "")); err != nil {
			t.Fatal(err)
		}
		c := w.Result().Cookies()[0]
		if c.Name != tc.want || !c.HttpOnly || c.Secure != tc.secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie = %+v; want %s HttpOnly Secure=%v SameSite=Lax Path=/ no Domain", c, tc.want, tc.secure)
		}
	}
}

func TestGarbageCookiesAreAnonymousWithoutStoreCalls(t *testing.T) {
	// A pool that cannot connect: any store call would fail.
	dead := &redis.Pool{Dial: func() (redis.Conn, error) { return nil, errors.New("no Redis here") }}
	m := NewRedis(dead, Options{})
	for _, v := range []string{"", "x", "../../etc/passwd", "é" + string(make([]byte, 42)), string(make([]byte, 5000))} {
		ctx, err := m.Load(context.Background(), v)
		if err != nil {
			t.Errorf("Load(%.20q) = %v; want an anonymous session, no store call", v, err)
			continue
		}
		if _, err := m.Current(ctx); !errors.Is(err, ErrNoSession) {
			t.Errorf("Current() after Load(%.20q) = %v; want ErrNoSession", v, err)
		}
	}
	_, err := m.Load(context.Background(), scalekit.RandomString())
	if !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Load(well-formed token) with Redis down = %v; want ErrStoreUnavailable, never signed out", err)
	}
}

func TestIdleTimeoutEndsSessionInRedis(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	token := signIn(t, m, testRecord("usr_idle", "ses_idle"))

	clk.Advance(9 * time.Minute)
	if _, err := m.Current(load(t, m, token)); err != nil {
		t.Fatalf("Current() after 9m idle = %v; want still signed in", err)
	}
	clk.Advance(9 * time.Minute) // 9m since the touch above
	if _, err := m.Current(load(t, m, token)); err != nil {
		t.Fatalf("Current() 9m after last use = %v; want still signed in (the touch moved it)", err)
	}
	clk.Advance(11 * time.Minute)
	if _, err := m.Current(load(t, m, token)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Current() after 11m idle = %v; want ErrNoSession", err)
	}
	if keys := db.Keys(t, "*"); len(keys) != 0 {
		t.Errorf("keys after idle expiry = %v; want none (session and index gone from Redis)", keys)
	}
}

func TestLifetimeEndsBusySession(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	token := signIn(t, m, testRecord("usr_life", ""))
	for range 13 { // busy: used every 5 minutes, never idle
		clk.Advance(5 * time.Minute)
		load(t, m, token)
	}
	if _, err := m.Current(load(t, m, token)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Current() after 65m of use = %v; want ErrNoSession (absolute lifetime)", err)
	}
	if keys := db.Keys(t, "session:*"); len(keys) != 0 {
		t.Errorf("session keys = %v; want none", keys)
	}
}

func TestRedisTTLFollowsIdleTimeout(t *testing.T) {
	db := redistest.New(t)
	m := NewRedis(db.Pool, Options{IdleTimeout: 2 * time.Minute, Lifetime: time.Hour, KeyPrefix: db.Prefix})
	token := signIn(t, m, testRecord("usr_ttl", ""))
	conn := db.Pool.Get()
	defer conn.Close()
	ttl, err := redis.Int64(conn.Do("PTTL", db.Prefix+"session:"+storeKey(token)))
	if err != nil || ttl <= 0 || ttl > (2*time.Minute).Milliseconds() {
		t.Errorf("PTTL = %d, %v; want at most the idle timeout, so an idle session leaves Redis by itself", ttl, err)
	}
}

func TestTouchWritesAtMostOncePerInterval(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	token := signIn(t, m, testRecord("usr_touch", ""))
	key := db.Prefix + "session:" + storeKey(token)
	stored := func() string {
		conn := db.Pool.Get()
		defer conn.Close()
		b, err := redis.String(conn.Do("GET", key))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := stored()
	for range 20 {
		clk.Advance(2 * time.Second)
		load(t, m, token)
	}
	if stored() != before {
		t.Error("session rewritten within the touch interval; want no write")
	}
	clk.Advance(30 * time.Second)
	rec, _ := m.Current(load(t, m, token))
	if stored() == before {
		t.Error("session not rewritten after the touch interval; want one write")
	}
	if !rec.LastSeenAt.Equal(clk.Now()) {
		t.Errorf("LastSeenAt = %v; want %v", rec.LastSeenAt, clk.Now())
	}
}

func TestSignOutRemovesSessionAndIndex(t *testing.T) {
	db := redistest.New(t)
	m := newRedisManager(t, db, newClock())
	token := signIn(t, m, testRecord("usr_out", "ses_out"))
	if keys := db.Keys(t, "*"); len(keys) != 5 {
		t.Fatalf("keys after sign-in = %v; want session, user, sid and organization indexes (2 keys)", keys)
	}
	ctx := load(t, m, token)
	w := httptest.NewRecorder()
	if err := m.SignOut(ctx, w); err != nil {
		t.Fatal(err)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("cookies = %v; want the session cookie cleared", c)
	}
	if keys := db.Keys(t, "*"); len(keys) != 0 {
		t.Errorf("keys after sign-out = %v; want none", keys)
	}
	if _, err := m.Current(load(t, m, token)); !errors.Is(err, ErrNoSession) {
		t.Errorf("old cookie after sign-out: %v; want ErrNoSession", err)
	}
}

func TestPendingLoginsAreBoundedAndSingleUse(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	ctx := load(t, m, "")
	var token string
	for i := range 7 {
		w := httptest.NewRecorder()
		if err := m.StartLogin(ctx, w, "state"+string(rune('a'+i)), PendingLogin{ReturnTo: "/"}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			token = cookieValue(t, w, m.CookieName())
		} else if got := cookieValue(t, w, m.CookieName()); got != token {
			t.Errorf("StartLogin #%d wrote cookie %q; want the same token, with a later expiry", i+1, got)
		}
		clk.Advance(time.Second)
	}
	ctx = load(t, m, token)
	if got := len(m.record(ctx).PendingLogins); got != 5 {
		t.Errorf("pending logins = %d; want the 5 newest", got)
	}
	if _, ok, _ := m.TakePendingLogin(ctx, "statea"); ok {
		t.Error("oldest pending login still usable; want dropped")
	}
	if _, ok, err := m.TakePendingLogin(ctx, "stateg"); !ok || err != nil {
		t.Fatalf("TakePendingLogin(newest) = %v, %v; want found", ok, err)
	}
	if _, ok, _ := m.TakePendingLogin(load(t, m, token), "stateg"); ok {
		t.Error("pending login usable twice; want single use")
	}
	clk.Advance(11 * time.Minute)
	if _, ok, _ := m.TakePendingLogin(load(t, m, token), "statef"); ok {
		t.Error("pending login usable after 11 minutes; want expired")
	}
}

func TestStoreOutageIsNotSignOut(t *testing.T) {
	srv := redistest.Start(t)
	pool, err := NewPool(srv.URL, PoolOptions{DialTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m := NewRedis(pool, Options{})
	token := signIn(t, m, testRecord("usr_outage", ""))

	srv.Stop()
	if _, err := m.Load(context.Background(), token); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("Load() with Redis stopped = %v; want ErrStoreUnavailable", err)
	}
	if err := m.Ping(context.Background()); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Ping() with Redis stopped = %v; want ErrStoreUnavailable", err)
	}
	srv.Restart() // no persistence: the session is gone, but the store answers again
	if err := m.Ping(context.Background()); err != nil {
		t.Errorf("Ping() after restart = %v; want the pool to recover by itself", err)
	}
}

func TestListAndRevoke(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	a := signIn(t, m, testRecord("usr_l", "ses_a"))
	clk.Advance(time.Second)
	b := signIn(t, m, testRecord("usr_l", "ses_b"))
	other := signIn(t, m, testRecord("usr_other", "ses_o"))

	listed, err := m.List(context.Background(), "usr_l")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range listed {
		ids = append(ids, l.PublicID)
	}
	if diff := cmp.Diff([]string{PublicID(b), PublicID(a)}, ids); diff != "" {
		t.Errorf("List ids (-want +got), newest first:\n%s", diff)
	}
	if found, err := m.Revoke(context.Background(), current(t, m, b), PublicID(other)); found || err != nil {
		t.Errorf("Revoke(another user's session) = %v, %v; want not found", found, err)
	}
	if _, err := m.Current(load(t, m, other)); err != nil {
		t.Errorf("other user's session after a foreign revoke: %v; want intact", err)
	}
	if found, err := m.Revoke(context.Background(), current(t, m, b), PublicID(a)); !found || err != nil {
		t.Errorf("Revoke(own) = %v, %v; want found", found, err)
	}
	if _, err := m.Current(load(t, m, a)); !errors.Is(err, ErrNoSession) {
		t.Errorf("revoked session: %v; want ErrNoSession", err)
	}
	n, err := m.EndProviderSession(context.Background(), "ses_b")
	if n != 1 || err != nil {
		t.Errorf("EndProviderSession = %d, %v; want 1", n, err)
	}
	if keys := db.Keys(t, "*usr_l*"); len(keys) != 0 {
		t.Errorf("user index keys = %v; want gone with the last session", keys)
	}
}

func TestListPrunesExpiredEntries(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	token := signIn(t, m, testRecord("usr_p", "ses_p"))
	conn := db.Pool.Get()
	defer conn.Close()
	if _, err := conn.Do("DEL", db.Prefix+"session:"+storeKey(token)); err != nil { // as Redis's TTL would
		t.Fatal(err)
	}
	listed, err := m.List(context.Background(), "usr_p")
	if err != nil || len(listed) != 0 {
		t.Fatalf("List = %v, %v; want empty", listed, err)
	}
	if keys := db.Keys(t, "*"); len(keys) != 0 {
		t.Errorf("keys after List = %v; want the stale index entries pruned", keys)
	}
}

func TestOnce(t *testing.T) {
	db := redistest.New(t)
	m := newRedisManager(t, db, newClock())
	for i, want := range []bool{true, false} {
		got, err := m.Once(context.Background(), "jti:abc", time.Minute)
		if got != want || err != nil {
			t.Errorf("Once #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
}

func TestSessionNeverOutlivesRefreshToken(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk) // lifetime 1h, idle 10m
	rec := testRecord("usr_rt", "")
	rec.RefreshTokenExpiresAt = clk.Now().Add(20 * time.Minute)
	token := signIn(t, m, rec)
	ctx := load(t, m, token)
	if got := m.Deadline(ctx); !got.Equal(rec.RefreshTokenExpiresAt) && got.After(rec.RefreshTokenExpiresAt) {
		t.Errorf("Deadline() = %v; want at most the refresh token's expiry %v", got, rec.RefreshTokenExpiresAt)
	}
	for range 4 { // busy, never idle
		clk.Advance(5 * time.Minute)
		load(t, m, token)
	}
	if _, err := m.Current(load(t, m, token)); !errors.Is(err, ErrNoSession) {
		t.Errorf("Current() after the refresh token expired = %v; want ErrNoSession", err)
	}
}
