package session

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/redistest"
	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// fakeDirectory answers GetUser with the memberships it holds, or fails.
type fakeDirectory struct {
	mu          sync.Mutex
	memberships []scalekit.Membership
	down        bool
	hang        bool // wait for the caller to give up
	calls       int
}

func (d *fakeDirectory) GetUser(ctx context.Context, userID string) (*scalekit.DirectoryUser, error) {
	d.mu.Lock()
	d.calls++
	down, hang, ms := d.down, d.hang, d.memberships
	d.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, fmt.Errorf("get user: %w: %w", scalekit.ErrUnavailable, ctx.Err())
	}
	if down {
		return nil, fmt.Errorf("get user: %w", scalekit.ErrUnavailable)
	}
	return &scalekit.DirectoryUser{ID: userID, Memberships: ms}, nil
}

func (d *fakeDirectory) set(f func(d *fakeDirectory)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

var twoOrganizations = []scalekit.Membership{
	{OrganizationID: "org_1", Name: "one-formal", DisplayName: "One Inc", Status: "ACTIVE"},
	{OrganizationID: "org_2", Name: "Two Ltd", Status: "ACTIVE"},
	{OrganizationID: "org_3", DisplayName: "Three (invited)", Status: "PENDING_INVITE"},
	{OrganizationID: "org_4", DisplayName: "Four (left)", Status: "INACTIVE"},
}

func stored(t *testing.T, m *Manager, token string) *Record {
	t.Helper()
	rec, err := m.Current(load(t, m, token))
	if err != nil {
		t.Fatalf("Current() = %v", err)
	}
	return rec
}

func TestSignInNamesOrganizations(t *testing.T) {
	tests := []struct {
		name     string
		dir      *fakeDirectory // nil: no directory set
		wantName string
		wantOrgs []Organization
	}{
		{
			name:     "active memberships, display name first",
			dir:      &fakeDirectory{memberships: twoOrganizations},
			wantName: "One Inc",
			wantOrgs: []Organization{{"org_1", "One Inc"}, {"org_2", "Two Ltd"}},
		},
		{
			name:     "the current organization is not among them",
			dir:      &fakeDirectory{memberships: twoOrganizations[1:]},
			wantName: "org_1",
			wantOrgs: []Organization{{"org_2", "Two Ltd"}},
		},
		{name: "the directory is down", dir: &fakeDirectory{down: true}, wantName: "org_1"},
		{name: "the directory does not answer in time", dir: &fakeDirectory{hang: true}, wantName: "org_1"},
		{name: "no directory", wantName: "org_1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := redistest.New(t)
			clk := newClock()
			m := newRedisManager(t, db, clk)
			if tc.dir != nil {
				m.SetDirectory(tc.dir, 50*time.Millisecond)
			}
			rec := stored(t, m, signIn(t, m, testRecord("usr_d", "ses_d")))
			if rec.OrganizationName != tc.wantName {
				t.Errorf("OrganizationName = %q; want %q", rec.OrganizationName, tc.wantName)
			}
			if diff := cmp.Diff(tc.wantOrgs, rec.Organizations); diff != "" {
				t.Errorf("Organizations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefreshRereadsOrganizations(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk}
	m := refreshingManager(t, db, clk, p)
	dir := &fakeDirectory{memberships: twoOrganizations}
	m.SetDirectory(dir, time.Second)
	token := signIn(t, m, expiredRecord(clk))

	// Renamed and joined another organization since sign-in.
	dir.set(func(d *fakeDirectory) {
		d.memberships = []scalekit.Membership{
			{OrganizationID: "org_1", DisplayName: "One Renamed", Status: "ACTIVE"},
			{OrganizationID: "org_3", DisplayName: "Three", Status: "ACTIVE"},
		}
	})
	clk.Advance(directoryCacheTTL) // past what the sign-in read
	rec, err := m.Fresh(load(t, m, token))
	if err != nil {
		t.Fatalf("Fresh() = %v", err)
	}
	want := []Organization{{"org_1", "One Renamed"}, {"org_3", "Three"}}
	if rec.OrganizationName != "One Renamed" || !cmp.Equal(want, rec.Organizations) {
		t.Errorf("after refresh: name %q, organizations %v; want One Renamed and %v", rec.OrganizationName, rec.Organizations, want)
	}
	if got := stored(t, m, token); got.OrganizationName != "One Renamed" {
		t.Errorf("stored OrganizationName = %q; want the refreshed name", got.OrganizationName)
	}

	// A directory outage at the next refresh keeps what was known.
	dir.set(func(d *fakeDirectory) { d.down = true })
	clk.Advance(5 * time.Minute) // the refreshed access token expires
	rec, err = m.Fresh(load(t, m, token))
	if err != nil {
		t.Fatalf("Fresh() = %v", err)
	}
	if p.Calls() != 2 || rec.OrganizationName != "One Renamed" || !cmp.Equal(want, rec.Organizations) {
		t.Errorf("refresh during a directory outage: %d refreshes, name %q, organizations %v; want 2, the names known before",
			p.Calls(), rec.OrganizationName, rec.Organizations)
	}
}

func TestAccessClaimsCarryExternalIDs(t *testing.T) {
	rec := testRecord("usr_x", "")
	rec.applyAccessClaims(&scalekit.AccessTokenClaims{
		SessionID: "ses_x", OrganizationID: "org_9", Roles: []string{"admin"},
		ExternalOrganizationID: "crm-org", ExternalUserID: "crm-user",
	})
	got := []string{rec.User.SessionID, rec.OrganizationID, rec.OrganizationExternalID, rec.UserExternalID, rec.Roles[0]}
	if diff := cmp.Diff([]string{"ses_x", "org_9", "crm-org", "crm-user", "admin"}, got); diff != "" {
		t.Errorf("applyAccessClaims (-want +got):\n%s", diff)
	}
	// A token without an organization leaves the session's; nil changes nothing.
	rec.applyAccessClaims(&scalekit.AccessTokenClaims{})
	rec.applyAccessClaims(nil)
	if rec.OrganizationID != "org_9" || rec.OrganizationExternalID != "" {
		t.Errorf("after a token without oid or xoid: organization %q, external id %q; want org_9 and none", rec.OrganizationID, rec.OrganizationExternalID)
	}
}

// probeDirectory runs during inside each lookup.
type probeDirectory struct {
	*fakeDirectory
	during func()
}

func (d probeDirectory) GetUser(ctx context.Context, userID string) (*scalekit.DirectoryUser, error) {
	d.during()
	return d.fakeDirectory.GetUser(ctx, userID)
}

// A slow directory must not hold the session's refresh lock: every request
// of the session, on every instance, waits on that lock.
func TestRefreshLooksUpOrganizationsOutsideTheLock(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk}
	m := refreshingManager(t, db, clk, p)
	token := signIn(t, m, expiredRecord(clk))
	lookups := 0
	m.SetDirectory(probeDirectory{&fakeDirectory{memberships: twoOrganizations}, func() {
		lookups++
		if locks := db.Keys(t, "lock:*"); len(locks) != 0 {
			t.Errorf("the directory was called with %v held", locks)
		}
	}}, time.Second)
	if rec, err := m.Fresh(load(t, m, token)); err != nil || rec.OrganizationName != "One Inc" || p.Calls() != 1 {
		t.Fatalf("Fresh() = %+v, %v after %d refreshes; want one refresh naming One Inc", rec, err, p.Calls())
	}
	if lookups != 1 {
		t.Errorf("lookups = %d; want 1", lookups)
	}
}

// A user's sessions that refresh together read the directory once; a sign-in
// and a refresh that a signal asked for read it anew.
func TestDirectoryCachePerUser(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	p := &rotatingProvider{current: "rt-1", clk: clk}
	m := refreshingManager(t, db, clk, p)
	dir := &fakeDirectory{memberships: twoOrganizations}
	m.SetDirectory(dir, time.Second)
	calls := func() int {
		dir.mu.Lock()
		defer dir.mu.Unlock()
		return dir.calls
	}
	laptop := signIn(t, m, expiredRecord(clk))
	if calls() != 1 {
		t.Fatalf("lookups after a sign-in = %d; want 1", calls())
	}
	phoneRec := expiredRecord(clk)
	phoneRec.User.SessionID, phoneRec.RefreshToken = "ses_phone", "rt-phone"
	phone := signIn(t, m, phoneRec)
	if calls() != 2 {
		t.Fatalf("lookups after a second sign-in = %d; want 2: a sign-in reads the directory anew", calls())
	}
	clk.Advance(directoryCacheTTL)
	if _, err := m.Fresh(load(t, m, laptop)); err != nil {
		t.Fatal(err)
	}
	if calls() != 3 {
		t.Errorf("lookups after a refresh = %d; want 3", calls())
	}
	p.mu.Lock()
	p.current = "rt-phone" // the provider's chain moves on to the phone's token
	p.mu.Unlock()
	if _, err := m.Fresh(load(t, m, phone)); err != nil {
		t.Fatal(err)
	}
	if calls() != 3 || p.Calls() != 2 {
		t.Errorf("the same user's next refresh: %d lookups, %d refreshes; want 3 lookups (the cache's), 2 refreshes", calls(), p.Calls())
	}

	dir.set(func(d *fakeDirectory) { d.memberships = twoOrganizations[1:] })
	if _, err := m.MarkTokensStale(context.Background(), "usr_r", "org_1"); err != nil {
		t.Fatal(err)
	}
	rec, err := m.Fresh(load(t, m, phone))
	if err != nil {
		t.Fatal(err)
	}
	if calls() != 4 || rec.OrganizationName != "org_1" {
		t.Errorf("a refresh a signal asked for: %d lookups, organization %q; want 4 and the directory's current answer", calls(), rec.OrganizationName)
	}
}
