package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/example/scalekit-bff/server/internal/redistest"
	"github.com/example/scalekit-bff/server/internal/scalekit"
)

func recordIn(sub, sid, oid string) Record {
	rec := testRecord(sub, sid)
	rec.OrganizationID = oid
	return rec
}

func signedIn(t *testing.T, m *Manager, token string) bool {
	t.Helper()
	_, err := m.Current(load(t, m, token))
	return err == nil
}

// bothStores make a Manager on Redis (db is its database) and in memory (db
// is nil), for tests of what both must do alike.
var bothStores = map[string]func(t *testing.T) (m *Manager, db *redistest.DB){
	"redis": func(t *testing.T) (*Manager, *redistest.DB) {
		db := redistest.New(t)
		return newRedisManager(t, db, newClock()), db
	},
	"memory": func(t *testing.T) (*Manager, *redistest.DB) { return NewMemory(Options{}), nil },
}

func TestMembershipAndOrganizationEndSessions(t *testing.T) {
	for name, newManager := range bothStores {
		t.Run(name, func(t *testing.T) {
			m, db := newManager(t)
			ctx := context.Background()
			acme1 := signIn(t, m, recordIn("usr_a", "ses_1", "org_acme"))
			acme2 := signIn(t, m, recordIn("usr_a", "ses_2", "org_acme"))
			globex := signIn(t, m, recordIn("usr_a", "ses_3", "org_globex"))
			bob := signIn(t, m, recordIn("usr_b", "ses_4", "org_acme"))

			for _, tc := range []struct {
				name string
				end  func() (int, error)
				want int
			}{
				{"unknown user", func() (int, error) { return m.EndMembership(ctx, "usr_nobody", "org_acme") }, 0},
				{"unknown organization", func() (int, error) { return m.EndOrganization(ctx, "org_nothing") }, 0},
				{"a membership", func() (int, error) { return m.EndMembership(ctx, "usr_a", "org_acme") }, 2},
			} {
				if n, err := tc.end(); n != tc.want || err != nil {
					t.Errorf("%s: ended %d, %v; want %d", tc.name, n, err, tc.want)
				}
			}
			if signedIn(t, m, acme1) || signedIn(t, m, acme2) {
				t.Error("a session of the removed membership is still signed in")
			}
			if !signedIn(t, m, globex) || !signedIn(t, m, bob) {
				t.Error("a session of another membership or user ended")
			}
			if n, err := m.EndOrganization(ctx, "org_acme"); n != 1 || err != nil {
				t.Errorf("EndOrganization = %d, %v; want 1 (Bob's)", n, err)
			}
			if signedIn(t, m, bob) || !signedIn(t, m, globex) {
				t.Error("EndOrganization ended the wrong sessions")
			}
			if db != nil {
				if keys := db.Keys(t, "org:org_acme"); len(keys) != 0 {
					t.Errorf("organization index keys = %v; want gone with its last session", keys)
				}
			}
		})
	}
}

// A role change at the provider shows at the session's next request: its
// tokens are refreshed first, once, and only in that organization.
func TestMarkTokensStaleRefreshesAtTheNextRequest(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk}
	m := refreshingManager(t, db, clk, p)
	ctx := context.Background()
	acme := signIn(t, m, recordIn("usr_a", "ses_1", "org_acme"))
	globexRec := recordIn("usr_a", "ses_2", "org_globex")
	globexRec.RefreshToken = "rt-globex" // not the provider's chain: refreshing it would fail
	globex := signIn(t, m, globexRec)

	conn := db.Pool.Get()
	defer conn.Close()
	ttl := func() int64 {
		n, _ := redis.Int64(conn.Do("PTTL", db.Prefix+"session:"+storeKey(acme)))
		return n
	}
	clk.Advance(time.Minute) // the idle expiry must not move: no one used the session
	before := ttl()

	if n, err := m.MarkTokensStale(ctx, "usr_a", "org_acme"); n != 1 || err != nil {
		t.Fatalf("MarkTokensStale = %d, %v; want 1", n, err)
	}
	if after := ttl(); after > before {
		t.Errorf("idle expiry moved from %dms to %dms; want it kept", before, after)
	}
	rec, err := m.Fresh(load(t, m, acme))
	if err != nil || p.Calls() != 1 || !slices.Equal(rec.Roles, []string{"admin"}) || !rec.TokensStaleSince.IsZero() {
		t.Fatalf("Fresh = %+v, %v after %d refreshes; want one refresh with the new roles", rec, err, p.Calls())
	}
	if _, err := m.Fresh(load(t, m, acme)); err != nil || p.Calls() != 1 {
		t.Errorf("next request: %v, %d refreshes; want no second refresh", err, p.Calls())
	}
	if rec, err := m.Fresh(load(t, m, globex)); err != nil || rec.AccessToken != "at-1" {
		t.Errorf("the other organization's session = %v, %v; want untouched", rec, err)
	}
}

// staleDuringRefresh is a provider whose answer races a second role change:
// the change arrives while the refresh is at the provider.
type staleDuringRefresh struct {
	*rotatingProvider
	during func()
}

func (p staleDuringRefresh) RefreshAccessToken(ctx context.Context, rt scalekit.Token) (*scalekit.TokenResponse, error) {
	if p.during != nil {
		p.during()
	}
	return p.rotatingProvider.RefreshAccessToken(ctx, rt)
}

func TestChangeDuringRefreshKeepsTheMark(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	inner := &rotatingProvider{current: "rt-1", clk: clk}
	m := newRedisManager(t, db, clk)
	ctx := context.Background()
	token := signIn(t, m, recordIn("usr_a", "ses_1", "org_acme"))
	once := false
	m.SetRefresher(staleDuringRefresh{inner, func() {
		if !once {
			once = true
			if _, err := m.MarkTokensStale(ctx, "usr_a", "org_acme"); err != nil {
				t.Error(err)
			}
		}
	}}, RefreshOptions{})
	if _, err := m.MarkTokensStale(ctx, "usr_a", "org_acme"); err != nil {
		t.Fatal(err)
	}
	rec, err := m.Fresh(load(t, m, token))
	if err != nil || rec.TokensStaleSince.IsZero() {
		t.Fatalf("after a refresh that a newer change overtook: %+v, %v; want still marked", rec, err)
	}
	if _, err := m.Fresh(load(t, m, token)); err != nil || inner.Calls() != 2 {
		t.Errorf("next request: %v after %d refreshes; want a second refresh", err, inner.Calls())
	}
}

// A sign-in whose code was exchanged before a signal arrived, and whose
// session is stored after it, must not survive the signal: the signal's
// tombstone refuses it for a short while. Other sign-ins go on.
func TestSignalRefusesASignInUnderWay(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		signal   func(m *Manager) (int, error)
		refused  Record
		accepted []Record
	}{
		{
			"organization deleted", func(m *Manager) (int, error) { return m.EndOrganization(ctx, "org_acme") },
			recordIn("usr_a", "ses_1", "org_acme"),
			[]Record{recordIn("usr_a", "ses_2", "org_globex")},
		},
		{
			"membership removed", func(m *Manager) (int, error) { return m.EndMembership(ctx, "usr_a", "org_acme") },
			recordIn("usr_a", "ses_1", "org_acme"),
			[]Record{recordIn("usr_a", "ses_2", "org_globex"), recordIn("usr_b", "ses_3", "org_acme")},
		},
		{
			"Scalekit session ended", func(m *Manager) (int, error) { return m.EndProviderSession(ctx, "ses_1") },
			recordIn("usr_a", "ses_1", "org_acme"),
			[]Record{recordIn("usr_a", "ses_2", "org_acme")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, newManager := range map[string]func(t *testing.T, clk *clock) (*Manager, *redistest.DB){
				"redis": func(t *testing.T, clk *clock) (*Manager, *redistest.DB) {
					db := redistest.New(t)
					return newRedisManager(t, db, clk), db
				},
				"memory": func(t *testing.T, clk *clock) (*Manager, *redistest.DB) {
					return NewMemory(Options{Now: clk.Now}), nil
				},
			} {
				t.Run(name, func(t *testing.T) {
					clk := newClock()
					m, db := newManager(t, clk)
					if n, err := tc.signal(m); n != 0 || err != nil {
						t.Fatalf("signal = %d, %v; want nothing to end yet", n, err)
					}
					// The sign-in whose code was exchanged before the signal
					// stores its session now.
					lctx := load(t, m, "")
					w := httptest.NewRecorder()
					if err := m.SignIn(lctx, w, tc.refused); !errors.Is(err, ErrEndedBySignal) {
						t.Fatalf("SignIn after the signal = %v; want ErrEndedBySignal", err)
					}
					if c := w.Result().Cookies(); len(c) > 0 && signedIn(t, m, c[0].Value) {
						t.Error("the refused session is signed in")
					}
					if db != nil {
						if keys := db.Keys(t, "session:*"); len(keys) != 0 {
							t.Errorf("session keys = %v; want the refused session gone", keys)
						}
						if keys := db.Keys(t, "user:*"); len(keys) != 0 {
							t.Errorf("user index keys = %v; want the refused session unindexed", keys)
						}
					}
					for _, rec := range tc.accepted {
						if !signedIn(t, m, signIn(t, m, rec)) {
							t.Errorf("a sign-in the signal does not name (%s, %s, %s) was refused", rec.User.ID, rec.OrganizationID, rec.User.SessionID)
						}
					}
					if db == nil { // the window's end; Redis keeps its own time
						clk.Advance(signalTombstoneTTL + time.Second)
						if !signedIn(t, m, signIn(t, m, tc.refused)) {
							t.Error("a sign-in after the tombstone expired was refused")
						}
					} else {
						keys := db.Keys(t, "ended:*")
						if len(keys) != 1 {
							t.Fatalf("tombstones = %v; want one", keys)
						}
						conn := db.Pool.Get()
						defer conn.Close()
						if ttl, err := redis.Int64(conn.Do("PTTL", keys[0])); ttl <= 0 || ttl > signalTombstoneTTL.Milliseconds() {
							t.Errorf("the tombstone expires in %d ms (%v); want within %s", ttl, err, signalTombstoneTTL)
						}
					}
				})
			}
		})
	}
}

// The organization index of an organization whose members keep signing in
// never expires as a whole: its entries must go with their sessions, or it
// grows with every sign-in.
func TestOrganizationIndexIsBounded(t *testing.T) {
	ctx := context.Background()
	t.Run("redis", func(t *testing.T) {
		db := redistest.New(t)
		clk := newClock()
		m := newRedisManager(t, db, clk) // sessions live an hour
		for i := range 3 {
			signIn(t, m, recordIn("usr_a", "ses_old"+string(rune('0'+i)), "org_acme"))
		}
		clk.Advance(time.Hour + time.Minute) // their lifetimes are over
		globex := signIn(t, m, recordIn("usr_b", "ses_g", "org_globex"))
		latest := signIn(t, m, recordIn("usr_c", "ses_new", "org_acme"))

		conn := db.Pool.Get()
		defer conn.Close()
		for _, k := range []string{"HLEN org:org_acme", "ZCARD orgend:org_acme"} {
			cmd, key, _ := strings.Cut(k, " ")
			if n, err := redis.Int(conn.Do(cmd, db.Prefix+key)); n != 1 || err != nil {
				t.Errorf("%s = %d, %v; want 1: only the session within its lifetime", k, n, err)
			}
		}
		if n, err := redis.Int(conn.Do("HLEN", db.Prefix+"org:org_globex")); n != 1 || err != nil {
			t.Errorf("another organization's index = %d entries, %v; want its session kept", n, err)
		}
		if n, err := m.EndOrganization(ctx, "org_acme"); n != 1 || err != nil {
			t.Errorf("EndOrganization = %d, %v; want the live session ended", n, err)
		}
		if signedIn(t, m, latest) || !signedIn(t, m, globex) {
			t.Error("EndOrganization ended the wrong sessions")
		}
		if keys := db.Keys(t, "orgend:org_acme"); len(keys) != 0 {
			t.Errorf("keys %v; want the organization's end times gone with its last session", keys)
		}
	})
	t.Run("memory", func(t *testing.T) {
		m := NewMemory(Options{})
		be := m.be.(*memBackend)
		gone := signIn(t, m, recordIn("usr_a", "ses_1", "org_acme"))
		if err := be.store.Delete(storeKey(gone)); err != nil { // as when it expires
			t.Fatal(err)
		}
		signIn(t, m, recordIn("usr_b", "ses_2", "org_acme"))
		if entries, _ := be.byOrg(ctx, "org_acme"); len(entries) != 1 {
			t.Errorf("organization index = %v; want the expired session's entry gone", entries)
		}
	})
}
