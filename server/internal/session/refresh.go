package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/example/scalekit-bff/server/internal/metrics"
	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// Refresher spends a refresh token; scalekit.Client satisfies it.
type Refresher interface {
	RefreshAccessToken(ctx context.Context, refreshToken scalekit.Token) (*scalekit.TokenResponse, error)
}

// ErrProviderUnavailable means a fresh access token was needed and the
// identity provider could not be reached; the session is kept (503).
var ErrProviderUnavailable = errors.New("identity provider unavailable")

// RefreshOptions configure Fresh.
type RefreshOptions struct {
	// Skew refreshes an access token this long before it expires (default 30s).
	Skew time.Duration
	// LockTTL is how long one instance may hold a session's refresh lock
	// (default 15s); a holder that crashed blocks the session no longer.
	LockTTL time.Duration
	// Wait bounds how long a request waits for another's refresh (default 10s).
	Wait time.Duration
	// Poll is how often a waiting request looks for the other's result
	// (default 50ms).
	Poll time.Duration
}

type refreshGroup struct {
	singleflight.Group
	opts RefreshOptions
}

// SetRefresher enables Fresh.
func (m *Manager) SetRefresher(r Refresher, opts RefreshOptions) {
	if opts.Skew <= 0 {
		opts.Skew = 30 * time.Second
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = 15 * time.Second
	}
	if opts.Wait <= 0 {
		opts.Wait = 10 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 50 * time.Millisecond
	}
	m.refresher = r
	m.refreshes.opts = opts
}

// Fresh returns the signed-in session with an access token that is valid for
// at least the skew, refreshing it first when needed.
//
// A rotating refresh token spent twice ends the session at strict providers,
// so each expiry causes exactly one refresh: requests of one process share one
// call (singleflight), and processes sharing a store take a short lock with a
// fencing value; the others wait and reuse the tokens the winner saved. A
// definitive refusal ends the session (ErrNoSession); an unreachable provider
// does not (ErrProviderUnavailable, unless the current token is still valid).
func (m *Manager) Fresh(ctx context.Context) (*Record, error) {
	rec, err := m.Current(ctx)
	if err != nil || m.refresher == nil || !m.due(rec) {
		return rec, err
	}
	key := m.key(ctx)
	v, err, _ := m.refreshes.Do(key, func() (any, error) {
		// Detached from this request: the others sharing the call must not
		// fail because this one's client went away.
		return m.refreshShared(context.WithoutCancel(ctx), key)
	})
	switch {
	case errors.Is(err, ErrProviderUnavailable) && m.opts.Now().Before(rec.AccessTokenExpiresAt):
		m.log.WarnContext(ctx, "access token refresh failed; using the current token until it expires", "err", err)
		return rec, nil
	case err != nil:
		return nil, err
	}
	fresh := v.(*Record)
	*rec = *fresh
	return rec, nil
}

func (m *Manager) due(rec *Record) bool {
	return rec.RefreshToken != "" &&
		(!rec.TokensStaleSince.IsZero() || !m.opts.Now().Add(m.refreshes.opts.Skew).Before(rec.AccessTokenExpiresAt))
}

// refreshShared refreshes the stored session under the store-wide lock, or
// waits for the instance that holds it.
func (m *Manager) refreshShared(ctx context.Context, key string) (*Record, error) {
	opts := m.refreshes.opts
	lockName := "refresh:" + key
	deadline := m.opts.Now().Add(opts.Wait)
	var dir *directoryAnswer
	for {
		rec, err := m.stored(ctx, key)
		if err != nil {
			return nil, err
		}
		if !m.due(rec) {
			m.opts.Metrics.Refresh(metrics.RefreshJoined)
			return rec, nil // another instance refreshed it
		}
		if dir == nil {
			// Memberships change at the provider as roles do: read them
			// again, before the lock (see defaultDirectoryTimeout). A refresh
			// that a signal asked for wants today's, not the cache's.
			orgs, ok := m.organizations(ctx, rec.User.ID, !rec.TokensStaleSince.IsZero())
			dir = &directoryAnswer{orgs, ok}
		}
		fence, ok, err := m.be.lock(ctx, lockName, opts.LockTTL)
		if err != nil {
			if fence != "" {
				// Perhaps taken, as during a Redis failover: release it,
				// or the session's requests wait for it to expire.
				m.unlockLater(ctx, lockName, fence)
			}
			return nil, err
		}
		if ok {
			rec, err := m.refreshLocked(ctx, key, *dir)
			if uerr := m.be.unlock(ctx, lockName, fence); uerr != nil {
				m.log.WarnContext(ctx, "could not release refresh lock; retrying until it expires by itself", "err", uerr)
				m.unlockLater(ctx, lockName, fence)
			}
			return rec, err
		}
		if m.opts.Now().After(deadline) {
			return nil, fmt.Errorf("%w: timed out waiting for another refresh", ErrProviderUnavailable)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(opts.Poll):
		}
	}
}

// unlockLater retries releasing a refresh lock through a short store outage
// (a Redis failover), so that the session's other requests do not wait for
// the lock to expire.
func (m *Manager) unlockLater(ctx context.Context, name, fence string) {
	until := m.opts.Now().Add(m.refreshes.opts.LockTTL)
	go func() {
		for wait := 100 * time.Millisecond; m.opts.Now().Before(until); wait = min(wait*2, time.Second) {
			time.Sleep(wait) // the store is down: nothing to poll but the store
			if m.be.unlock(ctx, name, fence) == nil {
				return
			}
		}
	}()
}

// refreshLocked runs with the lock held: it re-reads the session (the fencing
// check: the last holder may have finished), spends the refresh token, and
// acts on what the provider answered.
func (m *Manager) refreshLocked(ctx context.Context, key string, dir directoryAnswer) (*Record, error) {
	rec, err := m.stored(ctx, key)
	if err != nil {
		return nil, err
	}
	if !m.due(rec) {
		m.opts.Metrics.Refresh(metrics.RefreshJoined) // the last holder finished
		return rec, nil
	}
	resp, err := m.spend(ctx, rec.RefreshToken)
	outcome := classifyRefresh(rec, resp, err)
	if outcome != refreshRefused { // refused knows whether it was
		m.opts.Metrics.Refresh(outcome.metric())
	}
	switch outcome {
	case refreshClientRefused:
		m.log.ErrorContext(ctx, "the environment refused our client credentials (SCALEKIT_CLIENT_ID/SECRET)", "code", refusedCode(err))
		return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	case refreshRefused:
		return m.refused(ctx, key, rec, err)
	case refreshOutage:
		return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	case refreshOtherSubject:
		// OpenID Connect Core §12.2: a refreshed ID token names the same user.
		m.opts.Metrics.SessionsEnded(metrics.EndRefreshRefused, 1)
		m.log.WarnContext(ctx, "refreshed ID token names another user; ending session", "sub", rec.User.ID, "session", rec.PublicID)
		return nil, m.endStored(ctx, key, rec, errors.New("refreshed ID token has another subject"))
	case refreshUnverified:
		// Keep the rotated refresh token, which is the only one that works
		// now; the unverified access token is not used.
		saved, superseded, serr := m.saveRefresh(ctx, key, rec, func(next *Record) {
			next.RefreshToken, next.RefreshTokenExpiresAt = resp.RefreshToken, resp.RefreshTokenExpiresAt
		})
		if serr != nil || superseded {
			return saved, serr
		}
		return nil, fmt.Errorf("%w: refreshed tokens failed verification: %w", ErrProviderUnavailable, err)
	}
	staleMark := rec.TokensStaleSince
	saved, superseded, err := m.saveRefresh(ctx, key, rec, func(next *Record) {
		next.applyTokens(resp)
		applyOrganizations(next, dir.orgs, dir.ok)
		if next.TokensStaleSince.Equal(staleMark) {
			// Unless the provider reported another change during the call,
			// these tokens show what it reported.
			next.TokensStaleSince = time.Time{}
		}
	})
	if err == nil && !superseded {
		m.log.InfoContext(ctx, "access token refreshed", "sub", rec.User.ID, "session", rec.PublicID)
	}
	return saved, err
}

// directoryAnswer is what the directory said of a user (see organizations).
type directoryAnswer struct {
	orgs []Organization
	ok   bool
}

// refreshOutcome is what an answer to a refresh means for the session.
type refreshOutcome int

const (
	refreshOK            refreshOutcome = iota
	refreshRefused                      // the provider refused the refresh token: the session ends
	refreshClientRefused                // it refused our client credentials: an operator must act; the session stays
	refreshOutage                       // no usable answer (network, timeout, 5xx): the session stays
	refreshUnverified                   // it rotated the refresh token, but its answer failed verification
	refreshOtherSubject                 // the refreshed ID token names another user: the session ends
)

// metric is the outcome's bff_token_refreshes_total label.
func (o refreshOutcome) metric() string {
	switch o {
	case refreshOK:
		return metrics.RefreshOK
	case refreshRefused, refreshOtherSubject:
		return metrics.RefreshRefused
	}
	return metrics.RefreshOutage
}

// classifyRefresh reads the provider's answer to spending rec's refresh token.
func classifyRefresh(rec *Record, resp *scalekit.TokenResponse, err error) refreshOutcome {
	if refused, ok := errors.AsType[*scalekit.RefusedError](err); ok {
		// invalid_client refuses our credentials, not the user's token:
		// signing every user out would not help.
		if refused.Code == "invalid_client" {
			return refreshClientRefused
		}
		return refreshRefused
	}
	switch {
	case err != nil && (resp == nil || resp.RefreshToken == ""):
		return refreshOutage
	case err != nil:
		return refreshUnverified
	case resp.User != nil && resp.User.ID != rec.User.ID:
		return refreshOtherSubject
	}
	return refreshOK
}

func refusedCode(err error) string {
	if refused, ok := errors.AsType[*scalekit.RefusedError](err); ok {
		return refused.Code
	}
	return ""
}

// spend spends a refresh token at the provider. The call finishes well inside
// the lock's lifetime, so no other instance can take the lock and spend the
// same token while it is still running.
func (m *Manager) spend(ctx context.Context, token scalekit.Token) (*scalekit.TokenResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, m.refreshes.opts.LockTTL*2/3)
	defer cancel()
	return m.refresher.RefreshAccessToken(ctx, token)
}

// refused ends the session whose refresh token the provider refused, unless
// another instance refreshed it after all (its lock expired under it): then
// the refusal is of a token the session no longer holds.
func (m *Manager) refused(ctx context.Context, key string, rec *Record, err error) (*Record, error) {
	if cur, serr := m.stored(ctx, key); serr == nil && cur.RefreshToken != rec.RefreshToken {
		m.opts.Metrics.Refresh(metrics.RefreshJoined)
		return cur, nil
	}
	m.opts.Metrics.Refresh(metrics.RefreshRefused)
	m.opts.Metrics.SessionsEnded(metrics.EndRefreshRefused, 1)
	m.log.InfoContext(ctx, "refresh token refused; ending session", "sub", rec.User.ID, "session", rec.PublicID, "code", refusedCode(err))
	return nil, m.endStored(ctx, key, rec, fmt.Errorf("refresh refused: %w", err))
}

// saveRefresh applies change to rec and saves it with a compare-and-swap,
// returning what it saved. When another write got there first, a touch, the
// change is applied to the new revision; a write that replaced the spent
// refresh token wins, and saveRefresh returns its record as it is, with
// superseded set. A store error loses the new refresh token, which exists
// only in memory: the session will need a new login, but nothing is
// corrupted.
//
// A store failure is retried, with the lock still held, for as long as the
// lock's lifetime allows: the new refresh token exists only in memory, and a
// Redis failover takes a few seconds.
func (m *Manager) saveRefresh(ctx context.Context, key string, rec *Record, change func(*Record)) (saved *Record, superseded bool, err error) {
	spent := rec.RefreshToken
	giveUp := m.opts.Now().Add(m.refreshes.opts.LockTTL / 3)
	wait := 50 * time.Millisecond
	for {
		next := *rec
		change(&next)
		ok, err := m.write(ctx, key, &next, rec.rev)
		if err == nil && ok {
			return &next, false, nil
		}
		if err == nil {
			rec, err = m.stored(ctx, key)
		}
		switch {
		case errors.Is(err, ErrStoreUnavailable) && m.opts.Now().Before(giveUp):
			m.log.WarnContext(ctx, "could not save refreshed tokens; retrying", "err", err)
			time.Sleep(wait) // the store is down: nothing to poll but the store
			wait = min(wait*2, time.Second)
			continue
		case err != nil:
			return nil, false, err
		case rec.RefreshToken == next.RefreshToken:
			// Our own write, which failed to be acknowledged (a primary
			// being replaced took it): write it again until one is.
		case rec.RefreshToken != spent:
			return rec, true, nil
		}
	}
}

// endStored deletes a session and its index entries and returns ErrNoSession
// wrapping why.
func (m *Manager) endStored(ctx context.Context, key string, rec *Record, why error) error {
	if err := m.be.remove(ctx, entryFor(key, rec)); err != nil {
		return err
	}
	return fmt.Errorf("%w: %w", ErrNoSession, why)
}

// stored reads a signed-in session straight from the store, bypassing the
// copy loaded into the request's context.
func (m *Manager) stored(ctx context.Context, key string) (*Record, error) {
	rec, found, err := m.storedRecord(ctx, key)
	if err != nil {
		return nil, err
	}
	if !found || !rec.SignedIn() {
		return nil, ErrNoSession
	}
	return rec, nil
}

// storedRecord reads any session, signed in or not, from the store.
func (m *Manager) storedRecord(ctx context.Context, key string) (*Record, bool, error) {
	b, found, err := m.be.find(ctx, key)
	if err != nil || !found {
		return nil, false, err
	}
	_, values, err := codec{}.Decode(b)
	if err != nil {
		return nil, false, nil // unreadable is as good as gone
	}
	return values[recordKey].(*Record), true, nil
}
