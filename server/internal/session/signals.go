package session

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// What the identity provider reports about users and organizations (its
// webhooks) changes sessions that no request of theirs has loaded: these
// methods work on the stored sessions, through the indexes.

// signalTombstoneTTL is how long a signal that ended sessions also refuses
// new ones of the same kind. A sign-in whose code was exchanged before the
// signal arrived but whose session is stored after it would not be in the
// indexes the signal read, and would survive it; the time from the exchange
// to the stored session is seconds, bounded by the provider's and Redis's
// timeouts. A legitimate sign-in in that window is refused too (the
// membership was removed, the organization or the Scalekit session ended), so
// it is short.
const signalTombstoneTTL = 2 * time.Minute

// Tombstone names: what a signal ended. SignIn refuses a session that one of
// them names (see endedBySignal).
func orgTombstone(oid string) string             { return "org:" + oid }
func memberTombstone(sub, oid string) string     { return "member:" + oid + ":" + sub }
func providerSessionTombstone(sid string) string { return "sid:" + sid }

// ErrEndedBySignal is SignIn's error when the identity provider reported,
// while the sign-in was under way, that the session's Scalekit session,
// membership or organization ended.
var ErrEndedBySignal = errors.New("the identity provider ended this session while it was signed in")

// endedBySignal reports whether a signal recently ended sessions like rec.
func (m *Manager) endedBySignal(ctx context.Context, rec *Record) (bool, error) {
	var names []string
	if oid := rec.OrganizationID; oid != "" {
		names = append(names, orgTombstone(oid), memberTombstone(rec.User.ID, oid))
	}
	if sid := rec.User.SessionID; sid != "" {
		names = append(names, providerSessionTombstone(sid))
	}
	return m.be.tombstoned(ctx, names...)
}

// EndOrganization ends every session signed in to organization oid and
// returns how many.
func (m *Manager) EndOrganization(ctx context.Context, oid string) (int, error) {
	// The tombstone first: a sign-in that stores its session after this
	// finds it, and one that stored it before is in the index read next.
	if err := m.be.tombstone(ctx, signalTombstoneTTL, orgTombstone(oid)); err != nil {
		return 0, err
	}
	entries, err := m.be.byOrg(ctx, oid)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	if err := m.be.remove(ctx, entries...); err != nil {
		return 0, err
	}
	return len(entries), nil
}

// EndMembership ends the sessions a user signed in to organization oid with
// and returns how many; the user's sessions in other organizations go on.
func (m *Manager) EndMembership(ctx context.Context, sub, oid string) (int, error) {
	if err := m.be.tombstone(ctx, signalTombstoneTTL, memberTombstone(sub, oid)); err != nil {
		return 0, err
	}
	live, err := m.liveInOrganization(ctx, sub, oid)
	if err != nil {
		return 0, err
	}
	ended := make([]indexEntry, len(live))
	for i, l := range live {
		ended[i] = l.indexEntry
	}
	if err := m.be.remove(ctx, ended...); err != nil {
		return 0, err
	}
	return len(ended), nil
}

// MarkTokensStale makes the next request of each of a user's sessions in
// organization oid refresh its tokens before anything else, so that a change
// the tokens carry (roles, permissions) shows without a new sign-in. It
// returns how many sessions it marked.
func (m *Manager) MarkTokensStale(ctx context.Context, sub, oid string) (int, error) {
	live, err := m.liveInOrganization(ctx, sub, oid)
	if err != nil {
		return 0, err
	}
	now := m.opts.Now()
	n := 0
	for _, l := range live {
		found, err := m.changeStored(ctx, l.Key, func(rec *Record) bool {
			if rec.RefreshToken == "" {
				return false // nothing to refresh with; the tokens stay as they are
			}
			// Each mark differs from the last, even within a clock tick: a
			// refresh clears only the mark it saw (see refreshLocked).
			mark := now
			if !mark.After(rec.TokensStaleSince) {
				mark = rec.TokensStaleSince.Add(time.Nanosecond)
			}
			rec.TokensStaleSince = mark
			return true
		})
		if err != nil {
			return n, err
		}
		if found {
			n++
		}
	}
	return n, nil
}

// liveInOrganization returns a user's live sessions in an organization. The
// record, not the index, says which organization a session is in.
func (m *Manager) liveInOrganization(ctx context.Context, sub, oid string) ([]liveEntry, error) {
	live, err := m.liveEntries(ctx, sub)
	if err != nil {
		return nil, err
	}
	var out []liveEntry
	for _, l := range live {
		if l.rec.OrganizationID == oid {
			out = append(out, l)
		}
	}
	return out, nil
}

// changeStored applies change to the session stored under key with
// compare-and-swap writes, as update does for the loaded session, and keeps
// its deadline and idle expiry. It reports whether a signed-in session was
// there (and not ended meanwhile).
func (m *Manager) changeStored(ctx context.Context, key string, change func(*Record) bool) (bool, error) {
	for range 8 {
		b, found, err := m.be.find(ctx, key)
		if err != nil || !found {
			return false, err
		}
		deadline, values, err := codec{}.Decode(b)
		if err != nil {
			return false, nil // unreadable is as good as gone
		}
		rec := values[recordKey].(*Record)
		if !rec.SignedIn() || m.ended(rec, m.opts.Now()) {
			return false, nil
		}
		next := *rec
		if !change(&next) {
			return true, nil
		}
		ok, err := m.swap(ctx, key, &next, rec.rev, deadline, rec.LastSeenAt)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, fmt.Errorf("%w: the session kept changing under a write", ErrStoreUnavailable)
}
