package session

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// StartLogin remembers a login this browser has started, under its state,
// and saves the session. Old and excess pending logins are dropped, oldest
// first, so a browser cannot grow its session without bound.
func (m *Manager) StartLogin(ctx context.Context, w http.ResponseWriter, state string, p PendingLogin) error {
	rec := m.record(ctx)
	now := m.opts.Now()
	p.CreatedAt = now
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
	m.scs.Put(ctx, recordKey, rec)
	return m.commit(ctx, w)
}

// TakePendingLogin removes and returns the pending login with this state.
// A state is usable once: the session is saved before the code is spent, so a
// replayed callback finds nothing.
func (m *Manager) TakePendingLogin(ctx context.Context, state string) (PendingLogin, bool, error) {
	rec := m.record(ctx)
	p, ok := rec.PendingLogins[state]
	if !ok || state == "" {
		return PendingLogin{}, false, nil
	}
	delete(rec.PendingLogins, state)
	m.scs.Put(ctx, recordKey, rec)
	// The token is unchanged, so no cookie is written: the sign-in that follows
	// writes the only Set-Cookie of the response.
	if _, _, err := m.scs.Commit(ctx); err != nil {
		return PendingLogin{}, false, fmt.Errorf("save session: %w", asStoreErr(err))
	}
	if m.opts.Now().Sub(p.CreatedAt) >= m.opts.PendingLoginTTL {
		return PendingLogin{}, false, nil
	}
	return p, true, nil
}

// SignIn stores a signed-in user's record under a new session token (so a
// token planted before login is worthless: no session fixation, OWASP Session
// Management Cheat Sheet), indexes it by user and Scalekit session, and
// writes the cookie. Pending logins of other tabs are kept.
func (m *Manager) SignIn(ctx context.Context, w http.ResponseWriter, signedIn Record) error {
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
	// The session never outlives its refresh token (where the provider says
	// when that expires): scs's deadline sets the store's and cookie's expiry.
	if t := rec.RefreshTokenExpiresAt; !t.IsZero() && t.Before(m.scs.Deadline(ctx)) {
		m.scs.SetDeadline(ctx, t)
	}
	m.scs.Put(ctx, recordKey, &rec)
	if err := m.commit(ctx, w); err != nil {
		return err
	}
	return m.be.index(ctx, m.entry(ctx, &rec), now.Add(m.opts.Lifetime))
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
	m.ClearCookie(ctx, w)
	return nil
}

// Expiry of a pending login, for tests and callers that want to say so.
func (m *Manager) PendingLoginTTL() time.Duration { return m.opts.PendingLoginTTL }
