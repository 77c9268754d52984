package session

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2/memstore"
)

// memBackend is the single-process counterpart of redisBackend, over scs's
// memstore. It exists so the app runs with no Redis at all in development.
type memBackend struct {
	store *memstore.MemStore
	now   func() time.Time

	mu      sync.Mutex
	users   map[string]map[string]indexEntry // sub -> publicID -> entry
	sids    map[string]map[string]indexEntry // sid -> publicID -> entry
	orgs    map[string]map[string]indexEntry // org -> publicID -> entry
	locks   map[string]memLock
	seen    map[string]time.Time // once ids -> expiry
	claims  map[string]memClaim  // claimed ids
	ended   map[string]time.Time // tombstones -> expiry
	buckets map[string]time.Time // rate-limit key -> theoretical arrival time
	jobs    map[string]*memJob   // queued revocations by Scalekit session id
}

type memClaim struct {
	done  bool
	until time.Time
}

type memLock struct {
	fence string
	until time.Time
}

func newMemBackend(store *memstore.MemStore, now func() time.Time) *memBackend {
	return &memBackend{
		store: store, now: now,
		users:   map[string]map[string]indexEntry{},
		sids:    map[string]map[string]indexEntry{},
		orgs:    map[string]map[string]indexEntry{},
		locks:   map[string]memLock{},
		seen:    map[string]time.Time{},
		claims:  map[string]memClaim{},
		ended:   map[string]time.Time{},
		buckets: map[string]time.Time{},
		jobs:    map[string]*memJob{},
	}
}

func (b *memBackend) ping(context.Context) error { return nil }

func (b *memBackend) swap(_ context.Context, key, rev string, data []byte, expiry time.Time) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, found, err := b.store.Find(key)
	if err != nil || !found || !bytes.HasPrefix(cur, []byte(rev)) {
		return false, err
	}
	return true, b.store.Commit(key, data, expiry)
}

func (b *memBackend) find(_ context.Context, key string) ([]byte, bool, error) {
	return b.store.Find(key)
}

func (b *memBackend) findMany(_ context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		data, found, err := b.store.Find(k)
		if err != nil {
			return nil, err
		}
		if found {
			out[i] = data
		}
	}
	return out, nil
}

func (b *memBackend) remove(ctx context.Context, entries ...indexEntry) error {
	for _, e := range entries {
		if err := b.store.Delete(e.Key); err != nil {
			return err
		}
	}
	return b.unindex(ctx, entries...)
}

func (b *memBackend) index(_ context.Context, e indexEntry, _ time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	add := func(m map[string]map[string]indexEntry, k string) {
		if m[k] == nil {
			m[k] = map[string]indexEntry{}
		}
		m[k][e.PublicID] = e
	}
	add(b.users, e.Sub)
	if e.SID != "" {
		add(b.sids, e.SID)
	}
	if e.Org != "" {
		// As in Redis: an organization's entries of sessions gone on their
		// own go as new ones come.
		for pid, old := range b.orgs[e.Org] {
			if _, found, err := b.store.Find(old.Key); err == nil && !found {
				delete(b.orgs[e.Org], pid)
			}
		}
		add(b.orgs, e.Org)
	}
	return nil
}

func (b *memBackend) list(m map[string]map[string]indexEntry, k string) []indexEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]indexEntry, 0, len(m[k]))
	for _, e := range m[k] {
		out = append(out, e)
	}
	return out
}

func (b *memBackend) byUser(_ context.Context, sub string) ([]indexEntry, error) {
	return b.list(b.users, sub), nil
}

func (b *memBackend) bySID(_ context.Context, sid string) ([]indexEntry, error) {
	return b.list(b.sids, sid), nil
}

func (b *memBackend) byOrg(_ context.Context, oid string) ([]indexEntry, error) {
	return b.list(b.orgs, oid), nil
}

func (b *memBackend) unindex(_ context.Context, entries ...indexEntry) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	drop := func(m map[string]map[string]indexEntry, k, publicID string) {
		delete(m[k], publicID)
		if len(m[k]) == 0 {
			delete(m, k)
		}
	}
	for _, e := range entries {
		drop(b.users, e.Sub, e.PublicID)
		drop(b.sids, e.SID, e.PublicID)
		drop(b.orgs, e.Org, e.PublicID)
	}
	return nil
}

func (b *memBackend) lock(_ context.Context, name string, ttl time.Duration) (string, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if l, held := b.locks[name]; held && now.Before(l.until) {
		return "", false, nil
	}
	fence := newRev()
	b.locks[name] = memLock{fence: fence, until: now.Add(ttl)}
	return fence, true, nil
}

func (b *memBackend) unlock(_ context.Context, name, fence string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locks[name].fence == fence {
		delete(b.locks, name)
	}
	return nil
}

func (b *memBackend) once(_ context.Context, id string, ttl time.Duration) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for k, until := range b.seen { // small in development; prune as we go
		if now.After(until) {
			delete(b.seen, k)
		}
	}
	if _, dup := b.seen[id]; dup {
		return false, nil
	}
	b.seen[id] = now.Add(ttl)
	return true, nil
}

func (b *memBackend) forget(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.seen, id)
	delete(b.claims, id)
	return nil
}

func (b *memBackend) claimOnce(_ context.Context, id string, ttl time.Duration) (Claim, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for k, c := range b.claims { // small in development; prune as we go
		if now.After(c.until) {
			delete(b.claims, k)
		}
	}
	if c, ok := b.claims[id]; ok {
		if c.done {
			return ClaimDone, nil
		}
		return ClaimBusy, nil
	}
	b.claims[id] = memClaim{until: now.Add(ttl)}
	return ClaimNew, nil
}

func (b *memBackend) finishOnce(_ context.Context, id string, ttl time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.claims[id] = memClaim{done: true, until: b.now().Add(ttl)}
	return nil
}

func (b *memBackend) tombstone(_ context.Context, ttl time.Duration, names ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for k, until := range b.ended { // few and short-lived; prune as we go
		if now.After(until) {
			delete(b.ended, k)
		}
	}
	for _, n := range names {
		b.ended[n] = now.Add(ttl)
	}
	return nil
}

func (b *memBackend) tombstoned(_ context.Context, names ...string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for _, n := range names {
		if until, ok := b.ended[n]; ok && now.Before(until) {
			return true, nil
		}
	}
	return false, nil
}
