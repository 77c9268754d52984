package session

import (
	"context"
	"net/http"
	"time"

	"github.com/example/scalekit-bff/server/internal/metrics"
)

// StartLogin remembers a login this browser has started, under its state,
// and saves the session. Old and excess pending logins are dropped, oldest
// first, so a browser cannot grow its session without bound.
//
// An existing session is changed with compare-and-swap writes, like every
// other write to it, so this never brings back a refresh token or a session
// that a concurrent request rotated or revoked. A session that is gone gets a
// new token.
//
// A session that is not signed in ends with its newest pending login, in the
// store and in the cookie: anyone can start logins, and each one would
// otherwise keep a key alive for the whole idle timeout. Signing in gives the
// session the normal idle timeout and lifetime (SignIn renews the token).
func (m *Manager) StartLogin(ctx context.Context, w http.ResponseWriter, state string, p PendingLogin) error {
	now := m.opts.Now()
	p.CreatedAt = now
	add := func(rec *Record) bool {
		pending := make(map[string]PendingLogin, len(rec.PendingLogins)+1)
		for s, old := range rec.PendingLogins {
			if now.Sub(old.CreatedAt) < m.opts.PendingLoginTTL {
				pending[s] = old
			}
		}
		for len(pending) >= m.opts.MaxPendingLogins {
			oldest := ""
			for s, old := range pending {
				if oldest == "" || old.CreatedAt.Before(pending[oldest].CreatedAt) {
					oldest = s
				}
			}
			delete(pending, oldest)
		}
		pending[state] = p
		rec.PendingLogins = pending
		return true
	}
	pendingDeadline := now.Add(m.opts.PendingLoginTTL)
	if m.scs.Token(ctx) != "" {
		anonymous := !m.record(ctx).SignedIn()
		if anonymous {
			m.scs.SetDeadline(ctx, pendingDeadline) // written by update, with the record
		}
		found, err := m.update(ctx, add)
		if err != nil {
			return err
		}
		if found {
			if anonymous { // same token, later end: the cookie must say so
				m.scs.WriteSessionCookie(ctx, w, m.scs.Token(ctx), pendingDeadline)
			}
			return nil
		}
		// Revoked or expired meanwhile: start over with a new, empty session.
		if err := m.scs.RenewToken(ctx); err != nil {
			return asStoreErr(err)
		}
		m.scs.Put(ctx, recordKey, &Record{})
	}
	m.scs.SetDeadline(ctx, pendingDeadline)
	rec := m.record(ctx)
	add(rec)
	m.scs.Put(ctx, recordKey, rec)
	return m.commit(ctx, w)
}

// TakePendingLogin removes and returns the pending login with this state.
// A state is usable once: the session is saved before the code is spent, so a
// replayed callback finds nothing.
func (m *Manager) TakePendingLogin(ctx context.Context, state string) (PendingLogin, bool, error) {
	if state == "" || m.scs.Token(ctx) == "" {
		return PendingLogin{}, false, nil
	}
	var p PendingLogin
	var ok bool
	found, err := m.update(ctx, func(rec *Record) bool {
		p, ok = rec.PendingLogins[state]
		if !ok {
			return false
		}
		pending := make(map[string]PendingLogin, len(rec.PendingLogins))
		for s, other := range rec.PendingLogins {
			if s != state {
				pending[s] = other
			}
		}
		rec.PendingLogins = pending
		return true
	})
	if err != nil || !found || !ok {
		return PendingLogin{}, false, err
	}
	if m.opts.Now().Sub(p.CreatedAt) >= m.opts.PendingLoginTTL {
		return PendingLogin{}, false, nil
	}
	return p, true, nil
}

// SignIn stores a signed-in user's record under a new session token (so a
// token planted before login is worthless: no session fixation, OWASP Session
// Management Cheat Sheet), indexes it by user and Scalekit session, and
// writes the cookie. Pending logins of other tabs are kept. The user's
// organizations come from the directory first (see SetDirectory).
//
// A session that the identity provider's signals (webhooks, back-channel
// logout) ended while it was being signed in is not kept: SignIn returns
// ErrEndedBySignal.
func (m *Manager) SignIn(ctx context.Context, w http.ResponseWriter, signedIn Record) error {
	orgs, ok := m.organizations(ctx, signedIn.User.ID, true)
	applyOrganizations(&signedIn, orgs, ok)
	old := m.record(ctx)
	if old.SignedIn() {
		// Signing in again (another organization, another user) replaces the
		// session; the old one must not linger in the indexes.
		if err := m.be.unindex(ctx, m.entry(ctx, old)); err != nil {
			return err
		}
	}
	if err := m.scs.RenewToken(ctx); err != nil {
		return asStoreErr(err)
	}
	now := m.opts.Now()
	rec := signedIn
	rec.PublicID = PublicID(m.scs.Token(ctx))
	rec.CreatedAt = now
	rec.LastSeenAt = now
	rec.PendingLogins = old.PendingLogins
	m.scs.Put(ctx, recordKey, &rec)
	// Index first: a session that is signed in but missing from the indexes
	// could not be listed, revoked or ended by a provider logout.
	entry := m.entry(ctx, &rec)
	if err := m.be.index(ctx, entry, now.Add(m.opts.Lifetime)); err != nil {
		return err
	}
	if err := m.commit(ctx, w); err != nil {
		_ = m.be.unindex(ctx, entry)
		return err
	}
	// After the commit: a signal that read the indexes before this session
	// was stored left its tombstone first (see EndOrganization).
	ended, err := m.endedBySignal(ctx, &rec)
	if err == nil && ended {
		err = ErrEndedBySignal
	}
	if err != nil {
		if rmErr := m.be.remove(ctx, entry); rmErr != nil {
			m.log.WarnContext(ctx, "could not end a session signed in while a signal ended it", "err", rmErr)
		}
		return err
	}
	m.opts.Metrics.SessionStarted()
	// Prune the user's entries of sessions that ended on their own, so the
	// index of a user who never opens the sessions page does not grow.
	if _, err := m.liveEntries(ctx, rec.User.ID); err != nil {
		m.log.WarnContext(ctx, "could not prune session index", "err", err)
	}
	return nil
}

// SignOut ends the loaded session in the store and clears the cookie. It is
// a no-op for a visitor without a session.
func (m *Manager) SignOut(ctx context.Context, w http.ResponseWriter) error {
	if m.scs.Token(ctx) == "" {
		return nil
	}
	rec := m.record(ctx)
	if err := m.be.remove(ctx, m.entry(ctx, rec)); err != nil {
		return err
	}
	if rec.SignedIn() {
		m.opts.Metrics.SessionsEnded(metrics.EndLogout, 1)
	}
	m.ClearCookie(ctx, w)
	return nil
}

// Expiry of a pending login, for tests and callers that want to say so.
func (m *Manager) PendingLoginTTL() time.Duration { return m.opts.PendingLoginTTL }
