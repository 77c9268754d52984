package session

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
)

// CacheOptions configure the in-process cache of signed-in sessions that
// NewRedis puts in front of Redis (see Manager.RunCache).
type CacheOptions struct {
	// Off disables the cache: every request reads its session from Redis.
	Off bool
	// MaxEntries caps the sessions kept (default DefaultCacheEntries). When
	// full, an arbitrary entry makes room for the new one.
	MaxEntries int
	// MaxAge is how long an entry may be served (default 5s) even when no
	// invalidation arrives: a second line of defence behind tracking, for a
	// connection that is broken without either end noticing yet.
	MaxAge time.Duration
	// PingInterval is how often both tracking connections are pinged
	// (default 1s); one that stays silent for three intervals is taken as
	// broken.
	PingInterval time.Duration
}

// DefaultCacheEntries sizes the cache for about 50 MB: a session with the
// built-in provider's tokens takes about 3.3 KB cached (README, measured by
// BenchmarkCacheEntryBytes).
const DefaultCacheEntries = 15_000

func (o *CacheOptions) setDefaults() {
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultCacheEntries
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 5 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = time.Second
	}
}

// recordCache keeps decoded signed-in session records by store key, so that
// a request of a hot session costs neither a Redis round trip nor a decode.
//
// It serves nothing while it is off, which it is until Redis tracking is
// established and again from the moment either tracking connection fails;
// every switch flushes it. Invalidation messages (tracking.go) and this
// instance's own writes evict entries. An entry lives no longer than its
// session's expiry in Redis and no longer than MaxAge.
//
// A read that started before an invalidation of its key must not insert
// what it read after the invalidation arrived (the race Redis's
// client-side-caching page warns about): reads in flight are registered in
// fills, an invalidation marks its key's fill stale, and a flush bumps gen.
type recordCache struct {
	opts CacheOptions

	mu      sync.RWMutex
	on      bool
	gen     uint64 // bumped by every flush
	entries map[string]*cacheEntry
	fills   map[string]*cacheFill

	hits, misses, established atomic.Uint64
}

// cacheEntry is immutable once inserted, but for touching: readers get a
// clone of rec.
type cacheEntry struct {
	key     string
	rec     *Record
	stub    []byte    // the deadline for scs: see encodeStub and cachingStore
	expires time.Time // the session's expiry in Redis or the entry's max age, the earlier
	// touching is set by the one request that touches the session when it
	// is due: the others, served the same entry meanwhile, would each send
	// a compare-and-swap bound to lose.
	touching atomic.Bool
}

// cacheFill is the reads of one key in flight.
type cacheFill struct {
	readers int
	stale   bool
}

// fillTicket is one read in flight, from begin to finish.
type fillTicket struct {
	key  string
	fill *cacheFill
	gen  uint64
}

func newRecordCache(opts CacheOptions) *recordCache {
	opts.setDefaults()
	return &recordCache{opts: opts, entries: map[string]*cacheEntry{}, fills: map[string]*cacheFill{}}
}

// get returns the live entry of key, or nil.
func (c *recordCache) get(key string, now time.Time) *cacheEntry {
	c.mu.RLock()
	e := c.entries[key]
	on := c.on
	c.mu.RUnlock()
	if !on || e == nil || !now.Before(e.expires) {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	return e
}

// begin registers a read of key from Redis; finish ends it.
func (c *recordCache) begin(key string) fillTicket {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.fills[key]
	if f == nil {
		f = &cacheFill{}
		c.fills[key] = f
	}
	f.readers++
	return fillTicket{key: key, fill: f, gen: c.gen}
}

// finish ends a read and inserts e (which may be nil: nothing to keep),
// unless the cache is off or the key was invalidated or the cache flushed
// since the read began.
func (c *recordCache) finish(t fillTicket, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.fill.readers--; t.fill.readers == 0 {
		delete(c.fills, t.key)
	}
	if e == nil || !c.on || t.fill.stale || t.gen != c.gen {
		return
	}
	if _, replace := c.entries[e.key]; !replace {
		for k := range c.entries { // map order is random: evict an arbitrary entry
			if len(c.entries) < c.opts.MaxEntries {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[e.key] = e
}

// invalidate evicts keys and spoils the reads of them in flight. A key
// that was never cached costs two map lookups (tracking announces every
// session key's change, cached here or not).
func (c *recordCache) invalidate(keys ...string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.entries, k)
		if f := c.fills[k]; f != nil {
			f.stale = true
		}
	}
}

// setOn flushes the cache and switches it on or off.
func (c *recordCache) setOn(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.gen++
	c.on = on
	if on {
		c.established.Add(1)
	}
}

func (c *recordCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.gen++
}

// CacheStats describe the session cache, for tests and operators.
type CacheStats struct {
	// On is whether the cache serves sessions (tracking is established).
	On bool
	// Entries is the number of sessions kept; Hits and Misses count lookups.
	Entries      int
	Hits, Misses uint64
	// Established counts the times tracking was (re-)established.
	Established uint64
}

// CacheStats reports on the session cache; all zero when there is none.
func (m *Manager) CacheStats() CacheStats {
	c := m.cache
	if c == nil {
		return CacheStats{}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return CacheStats{On: c.on, Entries: len(c.entries), Hits: c.hits.Load(), Misses: c.misses.Load(), Established: c.established.Load()}
}

// clone copies a record with its slices and map, so no request can change
// what another one reads.
func (r *Record) clone() *Record {
	c := *r
	c.Roles = cloneSlice(r.Roles)
	c.Permissions = cloneSlice(r.Permissions)
	c.Organizations = cloneSlice(r.Organizations)
	if r.PendingLogins != nil {
		c.PendingLogins = make(map[string]PendingLogin, len(r.PendingLogins))
		for k, v := range r.PendingLogins {
			c.PendingLogins[k] = v
		}
	}
	return &c
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// cachingStore is scs's store with the cache beside it: this instance's
// writes and deletes evict their key before they return, and a load that
// the cache answers gets the entry's stub instead of a round trip. (scs
// builds a request's session data, token and deadline, only from what the
// store returns; the Manager then puts a clone of the cached record in it.)
type cachingStore struct {
	scs.Store
	cache *recordCache
}

type cachedEntryKey struct{}

func withCachedEntry(ctx context.Context, e *cacheEntry) context.Context {
	return context.WithValue(ctx, cachedEntryKey{}, e)
}

func (s cachingStore) FindCtx(ctx context.Context, key string) ([]byte, bool, error) {
	if e, ok := ctx.Value(cachedEntryKey{}).(*cacheEntry); ok && e.key == key {
		return e.stub, true, nil
	}
	return s.Find(key)
}

func (s cachingStore) CommitCtx(_ context.Context, key string, b []byte, expiry time.Time) error {
	defer s.cache.invalidate(key) // also after a failure: the write may have happened
	return s.Commit(key, b, expiry)
}

func (s cachingStore) DeleteCtx(_ context.Context, key string) error {
	defer s.cache.invalidate(key)
	return s.Delete(key)
}
