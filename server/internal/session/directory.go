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
// user up before it takes the session's refresh lock, never while it holds
// it: a slow directory must not hold back the session's other requests, here
// or on other instances, for longer than the lookup itself.
const defaultDirectoryTimeout = 2 * time.Second

// directoryCacheTTL is how long a token refresh reuses a user's
// organizations read by an earlier lookup: a user's sessions (tabs, devices)
// that refresh together need one call. A sign-in, and a refresh that a
// provider's signal asked for, always read them anew.
const directoryCacheTTL = 30 * time.Second

// directoryCacheMax bounds the cache; past it, it starts over.
const directoryCacheMax = 10_000

type directoryEntry struct {
	orgs []Organization
	at   time.Time
}

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
// directory is not set or did not answer. Unless fresh, an answer of the last
// directoryCacheTTL is reused.
func (m *Manager) organizations(ctx context.Context, userID string, fresh bool) (orgs []Organization, ok bool) {
	if m.directory == nil {
		return nil, false
	}
	now := m.opts.Now()
	if !fresh {
		m.dirMu.Lock()
		e, hit := m.dirCache[userID]
		m.dirMu.Unlock()
		if hit && now.Sub(e.at) < directoryCacheTTL {
			return e.orgs, true
		}
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
	m.dirMu.Lock()
	if m.dirCache == nil || len(m.dirCache) >= directoryCacheMax {
		m.dirCache = map[string]directoryEntry{}
	}
	m.dirCache[userID] = directoryEntry{orgs: orgs, at: now}
	m.dirMu.Unlock()
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
