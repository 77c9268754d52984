package session

import (
	"context"
	"slices"
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

func TestMembershipAndOrganizationEndSessions(t *testing.T) {
	for name, newManager := range map[string]func(t *testing.T) (*Manager, *redistest.DB){
		"redis": func(t *testing.T) (*Manager, *redistest.DB) {
			db := redistest.New(t)
			return newRedisManager(t, db, newClock()), db
		},
		"memory": func(t *testing.T) (*Manager, *redistest.DB) { return NewMemory(Options{}), nil },
	} {
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
