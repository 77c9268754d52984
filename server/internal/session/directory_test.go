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
