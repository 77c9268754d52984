package session

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/example/scalekit-bff/server/internal/redistest"
	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// rotatingProvider behaves like a strict provider: each refresh token works
// once, and spending an old one is refused. It counts the refreshes it served.
type rotatingProvider struct {
	mu      sync.Mutex
	current scalekit.Token
	calls   int
	clk     *clock
	down    bool
	delay   time.Duration
}

func (p *rotatingProvider) RefreshAccessToken(_ context.Context, rt scalekit.Token) (*scalekit.TokenResponse, error) {
	time.Sleep(p.delay) // widen the race window so concurrent callers overlap
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return nil, fmt.Errorf("refresh: %w", scalekit.ErrUnavailable)
	}
	p.calls++
	if rt != p.current {
		return nil, &scalekit.RefusedError{Code: "invalid_grant", Status: 400}
	}
	p.current = scalekit.Token(fmt.Sprintf("rt-%d", p.calls+1))
	return &scalekit.TokenResponse{
		AccessToken:  scalekit.Token(fmt.Sprintf("at-%d", p.calls+1)),
		RefreshToken: p.current,
		ExpiresAt:    p.clk.Now().Add(5 * time.Minute),
		Claims:       &scalekit.AccessTokenClaims{Roles: []string{"admin"}, OrganizationID: "org_1"},
	}, nil
}

func (p *rotatingProvider) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

func expiredRecord(clk *clock) Record {
	rec := testRecord("usr_r", "ses_r")
	rec.AccessTokenExpiresAt = clk.Now().Add(-time.Second)
	return rec
}

func refreshingManager(t *testing.T, db *redistest.DB, clk *clock, p *rotatingProvider) *Manager {
	t.Helper()
	m := newRedisManager(t, db, clk)
	m.SetRefresher(p, RefreshOptions{LockTTL: 2 * time.Second, Wait: 5 * time.Second, Poll: 5 * time.Millisecond})
	return m
}

// freshConcurrently runs n requests of one session spread over managers and
// returns the access tokens they saw.
func freshConcurrently(t *testing.T, managers []*Manager, token string, n int) []string {
	t.Helper()
	var wg sync.WaitGroup
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		m := managers[i%len(managers)]
		ctx := load(t, m, token)
		wg.Go(func() {
			rec, err := m.Fresh(ctx)
			errs[i] = err
			if err == nil {
				got[i] = string(rec.AccessToken)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: Fresh() = %v; want success", i, err)
		}
	}
	return got
}

func TestFiftyConcurrentRequestsRefreshOnce(t *testing.T) {
	for _, instances := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d instances", instances), func(t *testing.T) {
			db := redistest.New(t)
			clk := newClock()
			p := &rotatingProvider{current: "rt-1", clk: clk, delay: 20 * time.Millisecond}
			var managers []*Manager
			for range instances {
				managers = append(managers, refreshingManager(t, db, clk, p))
			}
			token := signIn(t, managers[0], expiredRecord(clk))

			for i, at := range freshConcurrently(t, managers, token, 50) {
				if at != "at-2" {
					t.Errorf("request %d saw access token %q; want the one refreshed token at-2", i, at)
				}
			}
			if got := p.Calls(); got != 1 {
				t.Errorf("provider refreshes = %d; want exactly 1", got)
			}
			rec, err := managers[0].Current(load(t, managers[0], token))
			if err != nil || rec.RefreshToken != "rt-2" || rec.Roles[0] != "admin" {
				t.Errorf("stored session = %+v, %v; want rotated refresh token rt-2 and roles from the new token", rec, err)
			}
		})
	}
}

func TestCrashedLockHolderDoesNotLockSessionOut(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk}
	m := refreshingManager(t, db, clk, p)
	token := signIn(t, m, expiredRecord(clk))
	// Another instance took the lock and died mid-refresh, never releasing it.
	if _, ok, err := m.be.lock(context.Background(), "refresh:"+storeKey(token), 300*time.Millisecond); !ok || err != nil {
		t.Fatalf("lock() = %v, %v", ok, err)
	}
	rec, err := m.Fresh(load(t, m, token))
	if err != nil || rec.AccessToken != "at-2" {
		t.Fatalf("Fresh() with a stale lock = %v, %v; want refreshed once the lock expired", rec, err)
	}
	if p.Calls() != 1 {
		t.Errorf("provider refreshes = %d; want 1", p.Calls())
	}
}

func TestRefusedRefreshEndsSession(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-other", clk: clk} // our refresh token was revoked
	m := refreshingManager(t, db, clk, p)
	token := signIn(t, m, expiredRecord(clk))
	if _, err := m.Fresh(load(t, m, token)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Fresh() refused = %v; want ErrNoSession", err)
	}
	if keys := db.Keys(t, "*"); len(keys) != 0 {
		t.Errorf("keys = %v; want the session and its index gone", keys)
	}
}

func TestProviderOutageKeepsSession(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk, down: true}
	m := refreshingManager(t, db, clk, p)
	token := signIn(t, m, expiredRecord(clk))
	if _, err := m.Fresh(load(t, m, token)); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("Fresh() with provider down = %v; want ErrProviderUnavailable", err)
	}
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
	rec, err := m.Fresh(load(t, m, token))
	if err != nil || rec.AccessToken != "at-2" {
		t.Fatalf("Fresh() after the provider is back = %v, %v; want refreshed", rec, err)
	}
}

func TestDueButValidTokenSurvivesOutage(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk, down: true}
	m := refreshingManager(t, db, clk, p)
	rec := testRecord("usr_v", "")
	rec.AccessTokenExpiresAt = clk.Now().Add(10 * time.Second) // inside the 30s skew
	token := signIn(t, m, rec)
	got, err := m.Fresh(load(t, m, token))
	if err != nil || got.AccessToken != "at-1" {
		t.Fatalf("Fresh() = %v, %v; want the still-valid token while the provider is down", got, err)
	}
}

func TestTouchDoesNotOverwriteRefreshedTokens(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk}
	m := refreshingManager(t, db, clk, p)
	token := signIn(t, m, expiredRecord(clk))

	stale := load(t, m, token) // a request that loaded the session before the refresh
	if _, err := m.Fresh(load(t, m, token)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	staleRec, _ := m.Current(stale)
	m.touch(stale, staleRec, clk.Now())

	rec, err := m.Current(load(t, m, token))
	if err != nil || rec.RefreshToken != "rt-2" {
		t.Fatalf("stored refresh token = %v, %v; want rt-2 (a stale touch must not roll it back)", rec.RefreshToken, err)
	}
}

func TestMemoryStoreRefreshesOnce(t *testing.T) {
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk, delay: 10 * time.Millisecond}
	m := NewMemory(Options{Now: clk.Now})
	m.SetRefresher(p, RefreshOptions{Poll: 5 * time.Millisecond})
	ctx := load(t, m, "")
	w := httptest.NewRecorder()
	if err := m.SignIn(ctx, w, expiredRecord(clk)); err != nil {
		t.Fatal(err)
	}
	token := cookieValue(t, w, m.CookieName())
	freshConcurrently(t, []*Manager{m}, token, 20)
	if p.Calls() != 1 {
		t.Errorf("provider refreshes = %d; want 1", p.Calls())
	}
}

func TestStartLoginNeverRollsBackARefresh(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk}
	m := refreshingManager(t, db, clk, p)
	token := signIn(t, m, expiredRecord(clk))

	stale := load(t, m, token)                            // /auth/login (a switch of organization) loaded the session…
	if _, err := m.Fresh(load(t, m, token)); err != nil { // …while /api/me refreshed it
		t.Fatal(err)
	}
	if err := m.StartLogin(stale, httptest.NewRecorder(), "state", PendingLogin{ReturnTo: "/"}); err != nil {
		t.Fatal(err)
	}
	rec, err := m.Current(load(t, m, token))
	if err != nil || rec.RefreshToken != "rt-2" || len(rec.PendingLogins) != 1 {
		t.Fatalf("stored session = %+v, %v; want the rotated refresh token rt-2 and the pending login", rec, err)
	}
}

func TestStartLoginNeverRevivesARevokedSession(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	token := signIn(t, m, testRecord("usr_rv", "ses_rv"))
	stale := load(t, m, token)
	if found, err := m.Revoke(context.Background(), current(t, m, token), PublicID(token)); !found || err != nil {
		t.Fatalf("Revoke = %v, %v", found, err)
	}
	w := httptest.NewRecorder()
	if err := m.StartLogin(stale, w, "state", PendingLogin{ReturnTo: "/"}); err != nil {
		t.Fatal(err)
	}
	if fresh := cookieValue(t, w, m.CookieName()); fresh == token {
		t.Error("StartLogin on a revoked session kept its token; want a new one")
	}
	if _, err := m.Current(load(t, m, token)); !errors.Is(err, ErrNoSession) {
		t.Errorf("revoked token after StartLogin: %v; want ErrNoSession", err)
	}
}

// verifyFailingProvider rotates the refresh token and then, like a client
// whose verification of the answer failed, returns only the new refresh token
// with an error.
type verifyFailingProvider struct{ rotatingProvider }

func (p *verifyFailingProvider) RefreshAccessToken(ctx context.Context, rt scalekit.Token) (*scalekit.TokenResponse, error) {
	resp, err := p.rotatingProvider.RefreshAccessToken(ctx, rt)
	if err != nil {
		return nil, err
	}
	return &scalekit.TokenResponse{RefreshToken: resp.RefreshToken}, fmt.Errorf("verify: %w", scalekit.ErrInvalidToken)
}

func TestRotatedRefreshTokenKeptWhenVerificationFails(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &verifyFailingProvider{rotatingProvider{current: "rt-1", clk: clk}}
	m := newRedisManager(t, db, clk)
	m.SetRefresher(p, RefreshOptions{})
	token := signIn(t, m, expiredRecord(clk))
	if _, err := m.Fresh(load(t, m, token)); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("Fresh() = %v; want ErrProviderUnavailable", err)
	}
	rec, err := m.Current(load(t, m, token))
	if err != nil || rec.RefreshToken != "rt-2" {
		t.Fatalf("stored refresh token = %q, %v; want the rotated rt-2, the only one that still works", rec.RefreshToken, err)
	}
	m.SetRefresher(&p.rotatingProvider, RefreshOptions{})
	if rec, err := m.Fresh(load(t, m, token)); err != nil || rec.AccessToken != "at-3" {
		t.Fatalf("next Fresh() = %v, %v; want a working refresh with rt-2", rec, err)
	}
}

// raceLosingProvider plays an instance whose lock expired mid-call: another
// instance saves new tokens meanwhile, and the provider refuses our spent one.
type raceLosingProvider struct {
	m   *Manager
	ctx context.Context
	key string
}

func (p *raceLosingProvider) RefreshAccessToken(context.Context, scalekit.Token) (*scalekit.TokenResponse, error) {
	rec, err := p.m.stored(p.ctx, p.key)
	if err != nil {
		return nil, err
	}
	next := *rec
	next.RefreshToken, next.AccessToken, next.AccessTokenExpiresAt = "rt-other", "at-other", time.Now().Add(time.Hour)
	if ok, err := p.m.write(p.ctx, p.key, &next, rec.rev); !ok || err != nil {
		return nil, fmt.Errorf("simulated other instance could not write: %v", err)
	}
	return nil, &scalekit.RefusedError{Code: "invalid_grant", Status: 400}
}

func TestRefusalOfATokenAnotherInstanceReplacedKeepsSession(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	token := signIn(t, m, expiredRecord(clk))
	ctx := load(t, m, token)
	m.SetRefresher(&raceLosingProvider{m: m, ctx: ctx, key: storeKey(token)}, RefreshOptions{})
	rec, err := m.Fresh(ctx)
	if err != nil || rec.AccessToken != "at-other" {
		t.Fatalf("Fresh() = %v, %v; want the other instance's tokens, not a deleted session", rec, err)
	}
}

func TestSlidingRefreshTokenKeepsBusySession(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &slidingProvider{rotatingProvider{current: "rt-1", clk: clk}}
	m := newRedisManager(t, db, clk) // idle 10m, lifetime 1h
	m.SetRefresher(p, RefreshOptions{})
	rec := expiredRecord(clk)
	rec.RefreshTokenExpiresAt = clk.Now().Add(15 * time.Minute)
	token := signIn(t, m, rec)
	for range 6 { // 30 minutes of use, refreshing every 5
		clk.Advance(5 * time.Minute)
		if _, err := m.Fresh(load(t, m, token)); err != nil {
			t.Fatalf("Fresh() after %v = %v; want the sliding refresh token to keep the session", 5*time.Minute, err)
		}
	}
}

// slidingProvider renews the refresh token's 15-minute lifetime on each use.
type slidingProvider struct{ rotatingProvider }

func (p *slidingProvider) RefreshAccessToken(ctx context.Context, rt scalekit.Token) (*scalekit.TokenResponse, error) {
	resp, err := p.rotatingProvider.RefreshAccessToken(ctx, rt)
	if err == nil {
		resp.RefreshTokenExpiresAt = p.clk.Now().Add(15 * time.Minute)
		resp.ExpiresAt = p.clk.Now().Add(time.Minute) // due again at the next step
	}
	return resp, err
}

// clientRefusingProvider refuses our client credentials, as after a botched
// rotation of the client secret.
type clientRefusingProvider struct{}

func (clientRefusingProvider) RefreshAccessToken(context.Context, scalekit.Token) (*scalekit.TokenResponse, error) {
	return nil, &scalekit.RefusedError{Code: "invalid_client", Status: 401}
}

func TestRefusedClientCredentialsKeepSessions(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	m := newRedisManager(t, db, clk)
	m.SetRefresher(clientRefusingProvider{}, RefreshOptions{})
	token := signIn(t, m, expiredRecord(clk))
	if _, err := m.Fresh(load(t, m, token)); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("Fresh() with our client refused = %v; want ErrProviderUnavailable", err)
	}
	if _, err := m.Current(load(t, m, token)); err != nil {
		t.Errorf("session after invalid_client: %v; want kept (an operator error, not the user's)", err)
	}
}
