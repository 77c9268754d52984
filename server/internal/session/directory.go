package session

import (
	"cmp"
	"context"
	"time"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// Directory says which organizations a user belongs to and what they are
// called; scalekit.Client (Scalekit's REST API) satisfies it. Scalekit's
// tokens carry the current organization's id but neither its name nor the
// user's other organizations (scalekit-inc/developer-docs,
// src/content/docs/authenticate/fsa/session-token-claims.mdx).
type Directory interface {
	GetUser(ctx context.Context, userID string) (*scalekit.DirectoryUser, error)
}

// defaultDirectoryTimeout bounds one directory lookup. A refresh looks the
// user up while it holds the session's refresh lock, after the refresh call
// (bounded by two thirds of RefreshOptions.LockTTL): together they stay
// within the lock's lifetime.
const defaultDirectoryTimeout = 2 * time.Second

// SetDirectory makes every sign-in and every token refresh read the user's
// organizations from d, each lookup bounded by timeout (default 2s), and keep
// them in the session, so that answering /api/me needs no call. When d fails
// or is not set, the organization's name is its id and the list is what was
// known before (none at sign-in); a warning is logged.
func (m *Manager) SetDirectory(d Directory, timeout time.Duration) {
	m.directory = d
	m.directoryTimeout = cmp.Or(timeout, defaultDirectoryTimeout)
}

// organizations returns the user's active memberships, or ok false when the
// directory is not set or did not answer.
func (m *Manager) organizations(ctx context.Context, userID string) (orgs []Organization, ok bool) {
	if m.directory == nil {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, m.directoryTimeout)
	defer cancel()
	u, err := m.directory.GetUser(ctx, userID)
	if err != nil {
		m.log.WarnContext(ctx, "could not read the user's organizations; showing organization ids", "sub", userID, "err", err)
		return nil, false
	}
	orgs = []Organization{}
	for _, ms := range u.Memberships {
		if ms.Active() {
			orgs = append(orgs, Organization{ID: ms.OrganizationID, Name: cmp.Or(ms.DisplayName, ms.Name, ms.OrganizationID)})
		}
	}
	return orgs, true
}

// applyOrganizations stores what the directory said (when it answered) and
// names the current organization from it, else by its id.
func applyOrganizations(rec *Record, orgs []Organization, ok bool) {
	if ok {
		rec.Organizations = orgs
	}
	rec.OrganizationName = rec.OrganizationID
	for _, o := range rec.Organizations {
		if o.ID == rec.OrganizationID {
			rec.OrganizationName = o.Name
		}
	}
}
