package session

import (
	"context"
	"time"
)

// backend is the part of session storage that scs's Store does not cover:
// compare-and-swap writes of an existing session, the indexes by user and by
// Scalekit session id, short locks, and one-time ids. redisBackend serves
// production; memBackend goes with scs's memstore for development.
//
// Keys are scs store keys (hashes of tokens), never tokens.
type backend interface {
	ping(ctx context.Context) error
	// swap replaces the stored session only if it is still at revision rev,
	// and reports whether it did.
	swap(ctx context.Context, key, rev string, b []byte, expiry time.Time) (bool, error)
	find(ctx context.Context, key string) ([]byte, bool, error)
	// findMany returns the stored sessions of keys, nil where one is gone.
	findMany(ctx context.Context, keys []string) ([][]byte, error)
	// remove deletes sessions and their index entries.
	remove(ctx context.Context, entries ...indexEntry) error
	index(ctx context.Context, e indexEntry, until time.Time) error
	// byUser, bySID and byOrg list index entries; entries of sessions gone on
	// their own are left for the caller to prune with unindex.
	byUser(ctx context.Context, sub string) ([]indexEntry, error)
	bySID(ctx context.Context, sid string) ([]indexEntry, error)
	byOrg(ctx context.Context, oid string) ([]indexEntry, error)
	unindex(ctx context.Context, entries ...indexEntry) error
	// lock takes a named lock for ttl and returns a fencing value to unlock
	// with; also with an error, when the lock may have been taken.
	lock(ctx context.Context, name string, ttl time.Duration) (fence string, ok bool, err error)
	unlock(ctx context.Context, name, fence string) error
	// once records id for ttl and reports whether it was new.
	once(ctx context.Context, id string, ttl time.Duration) (bool, error)
	forget(ctx context.Context, id string) error
	// claimOnce marks id as being worked on for ttl unless it is marked already,
	// and says what it found; finishOnce marks it done for ttl. forget releases it.
	claimOnce(ctx context.Context, id string, ttl time.Duration) (Claim, error)
	finishOnce(ctx context.Context, id string, ttl time.Duration) error
	// tombstone remembers, for ttl, that a signal ended the sessions of each
	// of names; tombstoned reports whether any of names is remembered.
	tombstone(ctx context.Context, ttl time.Duration, names ...string) error
	tombstoned(ctx context.Context, names ...string) (bool, error)
	// allow takes one request from the rate-limit bucket key (see Manager.Allow).
	allow(ctx context.Context, key string, l Limit) (ok bool, retryAfter time.Duration, err error)
}

// indexEntry ties a session to its user, Scalekit session and organization.
type indexEntry struct {
	PublicID string
	Key      string // scs store key
	Sub      string
	SID      string
	Org      string // the organization signed in to; may be empty
}
