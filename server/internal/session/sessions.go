package session

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/example/scalekit-bff/server/internal/metrics"
)

// Listed is one of a user's sessions as /api/sessions shows it.
type Listed struct {
	PublicID   string
	CreatedAt  time.Time
	LastSeenAt time.Time
	UserAgent  string
	IP         string
}

// List returns a user's live sessions, most recently seen first, in one store
// round trip for the index and one for the sessions. Index entries of
// sessions that ended on their own (idle, lifetime) are pruned on the way.
func (m *Manager) List(ctx context.Context, sub string) ([]Listed, error) {
	live, err := m.liveEntries(ctx, sub)
	if err != nil {
		return nil, err
	}
	out := make([]Listed, 0, len(live))
	for _, l := range live {
		out = append(out, Listed{
			PublicID: l.rec.PublicID, CreatedAt: l.rec.CreatedAt, LastSeenAt: l.rec.LastSeenAt,
			UserAgent: l.rec.UserAgent, IP: l.rec.IP,
		})
	}
	slices.SortFunc(out, func(a, b Listed) int {
		return cmp.Or(b.LastSeenAt.Compare(a.LastSeenAt), cmp.Compare(a.PublicID, b.PublicID))
	})
	return out, nil
}

type liveEntry struct {
	indexEntry
	rec *Record
}

func (m *Manager) liveEntries(ctx context.Context, sub string) ([]liveEntry, error) {
	entries, err := m.be.byUser(ctx, sub)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	blobs, err := m.be.findMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	var live []liveEntry
	var gone []indexEntry
	now := m.opts.Now()
	for i, b := range blobs {
		rec := m.decodeLive(b, now)
		if rec == nil || rec.User.ID != sub {
			gone = append(gone, entries[i])
			continue
		}
		live = append(live, liveEntry{entries[i], rec})
	}
	if err := m.be.unindex(ctx, gone...); err != nil {
		m.log.WarnContext(ctx, "could not prune session index", "err", err)
	}
	return live, nil
}

// decodeLive decodes a stored session, or returns nil when it is gone, past
// its idle timeout or lifetime, or unreadable.
func (m *Manager) decodeLive(b []byte, now time.Time) *Record {
	if b == nil {
		return nil
	}
	_, values, err := codec{}.Decode(b)
	if err != nil {
		return nil
	}
	rec := values[recordKey].(*Record)
	if !rec.SignedIn() || m.ended(rec, now) {
		return nil
	}
	return rec
}

// Revoke ends one of the signed-in user's sessions by public id and reports
// whether the user had such a session. With a Revoker set, its Scalekit
// session is queued for revocation there too, unless the current session
// shares it.
func (m *Manager) Revoke(ctx context.Context, current *Record, publicID string) (bool, error) {
	sub := current.User.ID
	entries, err := m.be.byUser(ctx, sub)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.PublicID == publicID {
			b, found, err := m.be.find(ctx, e.Key)
			if err != nil {
				return false, err
			}
			live := found && m.decodeLive(b, m.opts.Now()) != nil
			if err := m.be.remove(ctx, e); err != nil {
				return false, err
			}
			if live {
				m.opts.Metrics.SessionsEnded(metrics.EndRevoked, 1)
				m.log.InfoContext(ctx, "session revoked", "sub", sub, "session", publicID)
				m.queueRemoteRevocations(ctx, []indexEntry{e}, current.User.SessionID)
			}
			return live, nil
		}
	}
	return false, nil
}

// RevokeOthers ends all of the signed-in user's sessions but the current one
// and returns how many it ended. With a Revoker set, their Scalekit sessions
// are queued for revocation there too, except the current session's.
func (m *Manager) RevokeOthers(ctx context.Context, current *Record) (int, error) {
	ended, err := m.endUserSessions(ctx, current.User.ID, current.PublicID)
	if err != nil {
		return 0, err
	}
	if len(ended) > 0 {
		m.opts.Metrics.SessionsEnded(metrics.EndRevoked, len(ended))
		m.log.InfoContext(ctx, "sessions revoked", "sub", current.User.ID, "count", len(ended))
		m.queueRemoteRevocations(ctx, ended, current.User.SessionID)
	}
	return len(ended), nil
}

// endUserSessions ends all of a user's live sessions but keepPublicID and
// returns their index entries.
func (m *Manager) endUserSessions(ctx context.Context, sub, keepPublicID string) ([]indexEntry, error) {
	live, err := m.liveEntries(ctx, sub) // prunes the entries of sessions gone already
	if err != nil {
		return nil, err
	}
	var ended []indexEntry
	for _, l := range live {
		if l.PublicID != keepPublicID {
			ended = append(ended, l.indexEntry)
		}
	}
	if err := m.be.remove(ctx, ended...); err != nil {
		return nil, err
	}
	return ended, nil
}

// EndProviderSession ends every session signed in through the Scalekit
// session sid (back-channel logout, webhooks) and returns how many.
func (m *Manager) EndProviderSession(ctx context.Context, sid string) (int, error) {
	return m.EndProviderSessionOf(ctx, sid, "")
}

// EndProviderSessionOf is EndProviderSession limited to the sessions of user
// sub (any user when sub is empty): a logout token that names both must not
// end another user's session that happens to carry the sid.
func (m *Manager) EndProviderSessionOf(ctx context.Context, sid, sub string) (int, error) {
	if err := m.be.tombstone(ctx, signalTombstoneTTL, providerSessionTombstone(sid)); err != nil {
		return 0, err
	}
	entries, err := m.be.bySID(ctx, sid)
	if err != nil {
		return 0, err
	}
	if sub != "" {
		entries = slices.DeleteFunc(entries, func(e indexEntry) bool { return e.Sub != sub })
	}
	if err := m.be.remove(ctx, entries...); err != nil {
		return 0, err
	}
	return len(entries), nil
}

// EndUser ends every session of a user and returns how many (a logout the
// identity provider reports: nothing is revoked there).
func (m *Manager) EndUser(ctx context.Context, sub string) (int, error) {
	ended, err := m.endUserSessions(ctx, sub, "")
	return len(ended), err
}

// Forget drops an id recorded by Once or claimed by Claim, when the work it
// guarded failed and a retry must be let through. Best effort: a failure leaves the id to expire.
func (m *Manager) Forget(ctx context.Context, id string) {
	if err := m.be.forget(ctx, id); err != nil {
		m.log.WarnContext(ctx, "could not forget a one-time id", "err", err)
	}
}

// Once records id for ttl and reports whether it is the first time it was
// seen: replay protection for logout tokens, shared by instances.
func (m *Manager) Once(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	return m.be.once(ctx, id, ttl)
}

// Claim is what Claim found of an id.
type Claim int

const (
	// ClaimNew: the id is now claimed by the caller, who must Finish or Forget it.
	ClaimNew Claim = iota
	// ClaimBusy: another caller (on any instance) is working on the id.
	ClaimBusy
	// ClaimDone: the work the id names was done.
	ClaimDone
)

// Claim claims id for work that may fail (a webhook delivery), for at most
// ttl: long enough for the work, short so that a claim whose holder died or
// could not release it soon lets a retry through. Finish records the work
// as done; Forget releases the claim when it failed. Marking an id when it
// is first seen, as Once does, would turn a failure into a lost event: the
// retry would be taken for a repeat.
func (m *Manager) Claim(ctx context.Context, id string, ttl time.Duration) (Claim, error) {
	return m.be.claimOnce(ctx, id, ttl)
}

// Finish records that the work of a claimed id was done, for ttl.
func (m *Manager) Finish(ctx context.Context, id string, ttl time.Duration) error {
	return m.be.finishOnce(ctx, id, ttl)
}
