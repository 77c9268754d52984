// Package session keeps the BFF's server-side sessions: scs v2 for tokens,
// cookies and storage (Redis through redigo, with scs/redisstore's keys, or scs's
// memstore in development), one typed Record per session, indexes by user,
// by Scalekit session id and by organization, a refresh of the access token
// that happens once per expiry across all instances, and a queue of the
// revocations to send to Scalekit when a user signs other devices out.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gomodule/redigo/redis"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/scalekit-bff/server/internal/metrics"
)

// ErrStoreUnavailable means the session store did not answer. It is never
// read as "signed out": callers answer 503.
var ErrStoreUnavailable = errors.New("session store unavailable")

// ErrNoSession means the request has no signed-in session (401).
var ErrNoSession = errors.New("no signed-in session")

// Options configure a Manager.
type Options struct {
	// IdleTimeout ends a session unused for this long (default 30m); Lifetime
	// ends any session this long after sign-in (default 24h).
	IdleTimeout, Lifetime time.Duration
	// TouchInterval is how often a busy session's last-seen time and expiry are
	// rewritten (default: IdleTimeout/10, at most 1m). Rewriting on every
	// request, as scs's sliding IdleTimeout does, cost 35-40% of /api/me
	// throughput; the price is an idle timeout up to one interval early.
	TouchInterval time.Duration
	// CookieSecure selects the __Host-sid cookie (Secure, no Domain, Path=/).
	// False gives "sid" without Secure, for plain-http development hosts.
	CookieSecure bool
	// KeyPrefix prefixes every Redis key (default "bff:").
	KeyPrefix string
	// PendingLoginTTL bounds how long a started login may take (default 10m);
	// MaxPendingLogins bounds how many one browser may have (default 5).
	PendingLoginTTL  time.Duration
	MaxPendingLogins int
	// Cache configures the in-process cache of signed-in sessions in front
	// of Redis (NewRedis only; see RunCache).
	Cache CacheOptions
	// Failover (NewRedis only) is the Sentinel resolver of the pool, from
	// NewSentinelPool. With it, every write and deletion of a session and
	// every refresh lock waits for one replica to acknowledge it, when the
	// sentinels know one in sync, so that a failover does not lose it; and
	// the session cache's invalidation connections follow the primary.
	Failover *Failover
	Now      func() time.Time
	Logger   *slog.Logger
	// Metrics, when set, records sessions started and ended, refreshes, and
	// every Redis command's time and errors (NewRedis instruments the pool's
	// connections). Default: none.
	Metrics *metrics.Metrics
	// Tracing, when set, makes a span of every Redis command called inside a
	// trace, named by the command, with no key (keys contain session
	// tokens). Default: none.
	Tracing trace.TracerProvider
}

func (o *Options) setDefaults() {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.Lifetime <= 0 {
		o.Lifetime = 24 * time.Hour
	}
	if o.TouchInterval <= 0 {
		o.TouchInterval = min(o.IdleTimeout/10, time.Minute)
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = "bff:"
	}
	if o.PendingLoginTTL <= 0 {
		o.PendingLoginTTL = 10 * time.Minute
	}
	if o.MaxPendingLogins <= 0 {
		o.MaxPendingLogins = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Manager loads, stores and ends sessions.
type Manager struct {
	scs  *scs.SessionManager
	be   backend
	opts Options
	log  *slog.Logger

	refresher Refresher
	refreshes refreshGroup

	queue            revokeQueue
	revoker          Revoker
	revokeOpts       RevokeOptions
	revokeWake       chan struct{}
	directory        Directory // see SetDirectory
	directoryTimeout time.Duration
	dirMu            sync.Mutex
	dirCache         map[string]directoryEntry // by user id

	cache   *recordCache // nil without one
	tracker *tracker
}

// NewRedis returns a Manager that keeps sessions in Redis.
func NewRedis(pool *redis.Pool, opts Options) *Manager {
	opts.setDefaults()
	instrumentPool(pool, opts.Metrics, opts.Tracing)
	m := newManager(opts)
	be := &redisBackend{pool: pool, prefix: opts.KeyPrefix, now: opts.Now, failover: opts.Failover}
	store := durableStore{redisstore.NewWithPrefix(pool, opts.KeyPrefix+"session:"), be}
	m.scs.Store = store
	m.be, m.queue = be, be
	if !opts.Cache.Off {
		m.cache = newRecordCache(opts.Cache)
		m.tracker = newTracker(pool, opts.KeyPrefix, opts.Failover)
		m.scs.Store = cachingStore{Store: store, cache: m.cache}
		be.cache = m.cache
	}
	return m
}

// NewMemory returns a Manager that keeps sessions in this process only: for
// development, never for production or for more than one instance.
func NewMemory(opts Options) *Manager {
	opts.setDefaults()
	m := newManager(opts)
	store := memstore.New()
	m.scs.Store = store
	be := newMemBackend(store, opts.Now)
	m.be, m.queue = be, be
	return m
}

func newManager(opts Options) *Manager {
	sm := scs.New()
	sm.Lifetime = opts.Lifetime
	sm.IdleTimeout = opts.IdleTimeout // sets the store's expiry on Commit
	sm.Codec = codec{}
	// Redis holds sha256(token), so a leaked key list is not a list of cookies.
	sm.HashTokenInStore = true
	sm.Cookie.Name = "__Host-sid"
	sm.Cookie.Secure = true
	if !opts.CookieSecure {
		sm.Cookie.Name = "sid"
		sm.Cookie.Secure = false
	}
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = true
	return &Manager{scs: sm, opts: opts, log: opts.Logger}
}

// CookieName is the session cookie's name.
func (m *Manager) CookieName() string { return m.scs.Cookie.Name }

// Ping checks the store (for /readyz).
func (m *Manager) Ping(ctx context.Context) error { return m.be.ping(ctx) }

// Load reads the session named by a cookie value into the returned context.
// An empty, malformed or unknown value gives an empty session without an
// error; a store failure is ErrStoreUnavailable. A signed-in session past its
// idle timeout or lifetime is ended here; one in use has its last-seen time
// and expiry moved forward at most once per TouchInterval.
func (m *Manager) Load(ctx context.Context, cookieValue string) (context.Context, error) {
	if !validToken(cookieValue) {
		cookieValue = ""
	}
	now := m.opts.Now()
	var fill *fillTicket
	if m.cache != nil && cookieValue != "" {
		key := storeKey(cookieValue)
		if e := m.cache.get(key, now); e != nil {
			return m.loadCached(ctx, cookieValue, e, now)
		}
		t := m.cache.begin(key)
		fill = &t
	}
	loaded, err := m.loadStored(ctx, cookieValue, now)
	if fill != nil {
		var e *cacheEntry
		if err == nil {
			e = m.cacheEntry(loaded, fill.key, now)
		}
		m.cache.finish(*fill, e)
	}
	return loaded, err
}

// loadStored is Load from the store.
func (m *Manager) loadStored(ctx context.Context, cookieValue string, now time.Time) (context.Context, error) {
	loaded, err := m.scs.Load(ctx, cookieValue)
	if errors.Is(err, errCorrupt) {
		m.log.WarnContext(ctx, "session record unreadable; starting a new session", "err", err)
		return m.scs.Load(ctx, "")
	}
	if err != nil {
		return ctx, fmt.Errorf("load session: %w", asStoreErr(err))
	}
	return m.checkLoaded(ctx, loaded, m.record(loaded), now, nil)
}

// loadCached is Load from a cache entry: scs builds the request's session
// data from the entry's stub, and the request gets its own copy of the
// record.
func (m *Manager) loadCached(ctx context.Context, cookieValue string, e *cacheEntry, now time.Time) (context.Context, error) {
	loaded, err := m.scs.Load(withCachedEntry(ctx, e), cookieValue)
	if err != nil {
		return ctx, fmt.Errorf("load cached session: %w", err)
	}
	rec := e.rec.clone()
	m.scs.Put(loaded, recordKey, rec)
	return m.checkLoaded(ctx, loaded, rec, now, &e.touching)
}

// checkLoaded ends a loaded session past its idle timeout or lifetime, and
// touches one due for it, unless touching says another request does.
func (m *Manager) checkLoaded(ctx, loaded context.Context, rec *Record, now time.Time, touching *atomic.Bool) (context.Context, error) {
	if !rec.SignedIn() {
		return loaded, nil
	}
	if m.ended(rec, now) {
		if err := m.be.remove(ctx, m.entry(loaded, rec)); err != nil {
			return ctx, fmt.Errorf("end expired session: %w", err)
		}
		reason := metrics.EndLifetime
		if now.Sub(rec.LastSeenAt) >= m.opts.IdleTimeout {
			reason = metrics.EndIdle
		}
		m.opts.Metrics.SessionsEnded(reason, 1)
		m.log.InfoContext(ctx, "session expired", "sub", rec.User.ID, "session", rec.PublicID)
		return m.scs.Load(ctx, "")
	}
	if now.Sub(rec.LastSeenAt) >= m.opts.TouchInterval && (touching == nil || touching.CompareAndSwap(false, true)) {
		m.touch(loaded, rec, now)
	}
	return loaded, nil
}

// cacheEntry makes the cache entry of a session just loaded from the store:
// nil for one that is not signed in (anyone can start logins, and they are
// read rarely), that the load ended, or that was due for a touch (the
// touch's write evicts it; a touch that lost its compare-and-swap read a
// record that is stale already).
func (m *Manager) cacheEntry(loaded context.Context, key string, now time.Time) *cacheEntry {
	if m.key(loaded) != key {
		return nil // ended: a fresh, empty session
	}
	rec := m.record(loaded)
	if !rec.SignedIn() || now.Sub(rec.LastSeenAt) >= m.opts.TouchInterval {
		return nil
	}
	deadline := m.scs.Deadline(loaded)
	stub := encodeStub(rec.rev, deadline)
	// The record's last-seen time is never later than the write that stored
	// it, so this expiry is never later than the one Redis applies.
	expires := storeExpiry(rec, deadline, rec.LastSeenAt, m.opts.IdleTimeout)
	if maxAge := now.Add(m.cache.opts.MaxAge); maxAge.Before(expires) {
		expires = maxAge
	}
	return &cacheEntry{key: key, rec: rec.clone(), stub: stub, expires: expires}
}

// ended reports whether a signed-in session is past its idle timeout, its
// absolute lifetime, or its refresh token's expiry.
func (m *Manager) ended(rec *Record, now time.Time) bool {
	return now.Sub(rec.LastSeenAt) >= m.opts.IdleTimeout ||
		now.After(rec.CreatedAt.Add(m.opts.Lifetime)) ||
		(!rec.RefreshTokenExpiresAt.IsZero() && !now.Before(rec.RefreshTokenExpiresAt))
}

// touch moves a session's last-seen time and store expiry forward. It is a
// compare-and-swap, so it never overwrites tokens that a concurrent refresh
// has just saved; when it loses that race the other write has moved the
// expiry already.
func (m *Manager) touch(ctx context.Context, rec *Record, now time.Time) {
	next := *rec
	next.LastSeenAt = now
	if _, err := m.write(ctx, m.key(ctx), &next, rec.rev); err != nil {
		m.log.WarnContext(ctx, "could not extend session", "err", err)
		return
	}
	*rec = next
}

// update applies change to the stored session with compare-and-swap writes:
// when another write got there first it re-reads the session and applies the
// change again, so it never overwrites a concurrent refresh, touch or
// revocation. change returns false when there is nothing to write. update
// reports whether the session still exists; on success the loaded record in
// ctx is the written one.
func (m *Manager) update(ctx context.Context, change func(*Record) bool) (bool, error) {
	key := m.key(ctx)
	loaded := m.record(ctx)
	base := *loaded
	for range 8 {
		next := base
		if !change(&next) {
			*loaded = base
			return true, nil
		}
		ok, err := m.write(ctx, key, &next, base.rev)
		if err != nil {
			return false, err
		}
		if ok {
			*loaded = next
			return true, nil
		}
		fresh, found, err := m.storedRecord(ctx, key)
		if err != nil || !found {
			return false, err
		}
		base = *fresh
	}
	return false, fmt.Errorf("%w: the session kept changing under a write", ErrStoreUnavailable)
}

// write stores rec over the stored revision rev and reports whether it won.
// On success rec carries its new revision.
func (m *Manager) write(ctx context.Context, key string, rec *Record, rev string) (bool, error) {
	return m.swap(ctx, key, rec, rev, m.scs.Deadline(ctx), m.opts.Now())
}

// swap stores rec over revision rev, to be kept until its absolute deadline
// or the idle timeout counted from seen, whichever comes first.
func (m *Manager) swap(ctx context.Context, key string, rec *Record, rev string, deadline, seen time.Time) (bool, error) {
	b, err := codec{}.Encode(deadline, map[string]any{recordKey: rec})
	if err != nil {
		return false, err
	}
	ok, err := m.be.swap(ctx, key, rev, b, storeExpiry(rec, deadline, seen, m.opts.IdleTimeout))
	if ok {
		rec.rev = string(b[:revLen])
	}
	return ok, err
}

// storeExpiry is when Redis drops a session stored with this deadline and
// last seen at seen: its idle timeout or its deadline, whichever comes
// first, and never after its refresh token's expiry.
func storeExpiry(rec *Record, deadline, seen time.Time, idle time.Duration) time.Time {
	expiry := seen.Add(idle)
	if deadline.Before(expiry) {
		expiry = deadline
	}
	if rt := rec.RefreshTokenExpiresAt; !rt.IsZero() && rt.Before(expiry) {
		expiry = rt // a session never outlives its refresh token
	}
	return expiry
}

// Record returns the session record of a loaded context, never nil. Changes
// to it are saved by Commit.
func (m *Manager) record(ctx context.Context) *Record {
	rec, _ := m.scs.Get(ctx, recordKey).(*Record)
	if rec == nil {
		rec = &Record{}
		m.scs.Put(ctx, recordKey, rec)
	}
	return rec
}

// Current returns the signed-in session of a loaded context, or ErrNoSession.
func (m *Manager) Current(ctx context.Context) (*Record, error) {
	rec := m.record(ctx)
	if !rec.SignedIn() {
		return nil, ErrNoSession
	}
	return rec, nil
}

// Deadline is when the loaded session ends if it goes unused from now: its
// idle timeout, or its absolute deadline when that comes first.
func (m *Manager) Deadline(ctx context.Context) time.Time {
	d := m.AbsoluteDeadline(ctx)
	if rec := m.record(ctx); rec.SignedIn() {
		if idle := rec.LastSeenAt.Add(m.opts.IdleTimeout); idle.Before(d) {
			d = idle
		}
	}
	return d
}

// AbsoluteDeadline is when the loaded session ends however much it is used:
// its lifetime after sign-in, or its refresh token's expiry when the provider
// reported an earlier one.
func (m *Manager) AbsoluteDeadline(ctx context.Context) time.Time {
	d := m.scs.Deadline(ctx)
	if rec := m.record(ctx); rec.SignedIn() {
		if rt := rec.RefreshTokenExpiresAt; !rt.IsZero() && rt.Before(d) {
			d = rt
		}
	}
	return d
}

// IdleTimeout is how long a session may go unused before it ends.
func (m *Manager) IdleTimeout() time.Duration { return m.opts.IdleTimeout }

// commit saves the session and writes its cookie. The cookie lasts until the
// absolute deadline; the idle timeout is enforced here, on the server.
func (m *Manager) commit(ctx context.Context, w http.ResponseWriter) error {
	token, _, err := m.scs.Commit(ctx)
	if err != nil {
		return fmt.Errorf("save session: %w", asStoreErr(err))
	}
	m.scs.WriteSessionCookie(ctx, w, token, m.scs.Deadline(ctx))
	return nil
}

func (m *Manager) key(ctx context.Context) string { return storeKey(m.scs.Token(ctx)) }

func (m *Manager) entry(ctx context.Context, rec *Record) indexEntry {
	return entryFor(m.key(ctx), rec)
}

// entryFor ties the session stored under key to its user, Scalekit session
// and organization.
func entryFor(key string, rec *Record) indexEntry {
	return indexEntry{PublicID: rec.PublicID, Key: key, Sub: rec.User.ID, SID: rec.User.SessionID, Org: rec.OrganizationID}
}

// ClearCookie tells the browser to drop the session cookie.
func (m *Manager) ClearCookie(ctx context.Context, w http.ResponseWriter) {
	m.scs.WriteSessionCookie(ctx, w, "", time.Time{})
}

var errCorrupt = errors.New("corrupt session record")

// asStoreErr marks errors from scs's store as store failures. scs returns the
// store's errors unwrapped, and our codec's errors are marked errCorrupt.
func asStoreErr(err error) error {
	if err == nil || errors.Is(err, ErrStoreUnavailable) || errors.Is(err, errCorrupt) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
}
