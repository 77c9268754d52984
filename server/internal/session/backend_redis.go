package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/gomodule/redigo/redis"
)

// redisBackend keeps, besides scs's session keys (prefix+"session:"+key):
//
//	prefix+"user:"+sub  hash publicID -> "key|sid|org"
//	prefix+"sid:"+sid   hash publicID -> "key|sub|org"
//	prefix+"org:"+org   hash publicID -> "key|sub|sid"
//	prefix+"orgend:"+org sorted set publicID by the end of its session's lifetime (ms)
//	prefix+"lock:"+name string fence, with a TTL
//	prefix+"ended:"+name marker, with a TTL: a signal ended these sessions (see tombstone)
//	prefix+"barrier"    "1", with a TTL: written to wait for a replica (Sentinel only; see barrier)
//	prefix+"once:"+id   marker, with a TTL: "1" (Once), "processing" or "done" (Claim)
//
// (Entries written before the organization index have no "|org"; they read
// as sessions without an organization.)
type redisBackend struct {
	pool   *redis.Pool
	prefix string
	// cache, when set, loses every session key written or deleted here
	// before the write returns.
	cache *recordCache
	now   func() time.Time
	// failover, with Sentinel, makes session writes wait for a replica.
	failover *Failover
}

// durable makes a session write just sent on conn survive a failover, when
// Sentinel is in use (see Failover.confirm). WAIT counts the replication
// offset of conn's last write, and Redis replicates in order, so writes made
// before it on other connections (a sign-in's index entries, written before
// its session) are acknowledged with it.
func (b *redisBackend) durable(ctx context.Context, conn redis.Conn) error {
	if b.failover == nil {
		return nil
	}
	return b.failover.confirm(ctx, conn)
}

// durableStore is scs/redisstore, whose commits and deletions, under
// Sentinel, are followed by a barrier (see barrier).
type durableStore struct {
	*redisstore.RedisStore
	b *redisBackend
}

func (s durableStore) Commit(token string, data []byte, expiry time.Time) error {
	gen := s.b.failover.generation()
	if err := s.RedisStore.Commit(token, data, expiry); err != nil {
		return storeErr(err)
	}
	return s.b.barrier(context.Background(), gen)
}

func (s durableStore) Delete(token string) error {
	gen := s.b.failover.generation()
	if err := s.RedisStore.Delete(token); err != nil {
		return storeErr(err)
	}
	return s.b.barrier(context.Background(), gen)
}

// barrier makes the writes already made on any connection of this pool
// survive a failover, like durable: redisstore's connection is back in the
// pool by now, so a write of our own on another connection (Redis
// replicates in order) is what WAIT waits for. If the primary changed since
// gen, the write before may have gone to the old one, and is in doubt.
func (b *redisBackend) barrier(ctx context.Context, gen uint64) error {
	if b.failover == nil {
		return nil
	}
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return storeErr(err)
	}
	defer conn.Close()
	if _, err := redis.DoContext(conn, ctx, "SET", b.prefix+"barrier", "1", "PX", 60_000); err != nil {
		return storeErr(err)
	}
	if err := b.durable(ctx, conn); err != nil {
		return err
	}
	if b.failover.generation() != gen {
		return fmt.Errorf("%w: the Redis primary changed; the write may be lost", ErrStoreUnavailable)
	}
	return nil
}

func (b *redisBackend) sessionKey(key string) string { return b.prefix + "session:" + key }

func (b *redisBackend) do(ctx context.Context, cmd string, args ...any) (any, error) {
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	defer conn.Close()
	reply, err := redis.DoContext(conn, ctx, cmd, args...)
	return reply, storeErr(err)
}

// storeErr wraps a Redis failure as ErrStoreUnavailable. redis.ErrNil is not
// a failure and is returned as is.
func storeErr(err error) error {
	if err == nil || errors.Is(err, redis.ErrNil) || errors.Is(err, ErrStoreUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
}

func (b *redisBackend) ping(ctx context.Context) error {
	_, err := b.do(ctx, "PING")
	return err
}

// swapScript sets KEYS[1] only when its value still starts with the revision
// ARGV[1]: a compare-and-swap that never decodes the session in Redis.
var swapScript = redis.NewScript(1, `
local cur = redis.call('GET', KEYS[1])
if not cur or string.sub(cur, 1, string.len(ARGV[1])) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1`)

func (b *redisBackend) swap(ctx context.Context, key, rev string, data []byte, expiry time.Time) (bool, error) {
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return false, storeErr(err)
	}
	defer conn.Close()
	n, err := redis.Int(swapScript.DoContext(ctx, conn, b.sessionKey(key), rev, data, expiry.UnixMilli()))
	if n == 1 || err != nil {
		// Written, or perhaps written. A lost compare-and-swap wrote
		// nothing: the write that won it evicts the entry.
		b.cache.invalidate(key)
	}
	if n == 1 && err == nil {
		err = b.durable(ctx, conn)
	}
	return n == 1 && err == nil, storeErr(err)
}

func (b *redisBackend) find(ctx context.Context, key string) ([]byte, bool, error) {
	data, err := redis.Bytes(b.do(ctx, "GET", b.sessionKey(key)))
	if errors.Is(err, redis.ErrNil) {
		return nil, false, nil
	}
	return data, err == nil, err
}

func (b *redisBackend) findMany(ctx context.Context, keys []string) ([][]byte, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = b.sessionKey(k)
	}
	return redis.ByteSlices(b.do(ctx, "MGET", args...))
}

func (b *redisBackend) remove(ctx context.Context, entries ...indexEntry) error {
	if len(entries) == 0 {
		return nil
	}
	defer func() {
		for _, e := range entries {
			b.cache.invalidate(e.Key)
		}
	}()
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return storeErr(err)
	}
	defer conn.Close()
	_ = conn.Send("MULTI")
	for _, e := range entries {
		_ = conn.Send("DEL", b.sessionKey(e.Key))
		b.sendUnindex(conn, e)
	}
	if _, err = redis.DoContext(conn, ctx, "EXEC"); err != nil {
		return storeErr(err)
	}
	// A deletion lost in a failover would bring a signed-out session back.
	return b.durable(ctx, conn)
}

func (b *redisBackend) index(ctx context.Context, e indexEntry, until time.Time) error {
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return storeErr(err)
	}
	defer conn.Close()
	// Every session lives at most SESSION_LIFETIME, so the newest session's end
	// is the latest: each index key expires with the last session it lists.
	_ = conn.Send("MULTI")
	_ = conn.Send("HSET", b.prefix+"user:"+e.Sub, e.PublicID, e.Key+"|"+e.SID+"|"+e.Org)
	_ = conn.Send("PEXPIREAT", b.prefix+"user:"+e.Sub, until.UnixMilli())
	if e.SID != "" {
		_ = conn.Send("HSET", b.prefix+"sid:"+e.SID, e.PublicID, e.Key+"|"+e.Sub+"|"+e.Org)
		_ = conn.Send("PEXPIREAT", b.prefix+"sid:"+e.SID, until.UnixMilli())
	}
	if e.Org != "" {
		// An organization's sessions keep coming, so its index key may never
		// expire: its entries of sessions past their lifetime go as new ones
		// come, and the index holds at most the sessions of one lifetime.
		hash, ends := b.prefix+"org:"+e.Org, b.prefix+"orgend:"+e.Org
		_ = conn.Send("HSET", hash, e.PublicID, e.Key+"|"+e.Sub+"|"+e.SID)
		_ = conn.Send("ZADD", ends, until.UnixMilli(), e.PublicID)
		_ = conn.Send("PEXPIREAT", hash, until.UnixMilli())
		_ = conn.Send("PEXPIREAT", ends, until.UnixMilli())
		_ = pruneOrgScript.Send(conn, hash, ends, b.now().UnixMilli())
	}
	_, err = redis.DoContext(conn, ctx, "EXEC")
	return storeErr(err)
}

// pruneOrgScript drops from the organization index KEYS[1] the entries whose
// sessions' lifetimes, in the sorted set KEYS[2], ended by ARGV[1] (ms), a
// bounded number at a time.
var pruneOrgScript = redis.NewScript(2, `
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 500)
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
return #gone`)

func (b *redisBackend) byUser(ctx context.Context, sub string) ([]indexEntry, error) {
	return b.entries(ctx, "user:"+sub, func(e *indexEntry, v []string) {
		e.Sub, e.SID, e.Org = sub, v[1], v[2]
	})
}

func (b *redisBackend) bySID(ctx context.Context, sid string) ([]indexEntry, error) {
	return b.entries(ctx, "sid:"+sid, func(e *indexEntry, v []string) {
		e.Sub, e.SID, e.Org = v[1], sid, v[2]
	})
}

func (b *redisBackend) byOrg(ctx context.Context, oid string) ([]indexEntry, error) {
	return b.entries(ctx, "org:"+oid, func(e *indexEntry, v []string) {
		e.Sub, e.SID, e.Org = v[1], v[2], oid
	})
}

// entries reads an index hash; fill sets an entry's fields from its value
// split at "|" (always three parts, the missing ones empty).
func (b *redisBackend) entries(ctx context.Context, hash string, fill func(*indexEntry, []string)) ([]indexEntry, error) {
	m, err := redis.StringMap(b.do(ctx, "HGETALL", b.prefix+hash))
	if err != nil {
		return nil, err
	}
	out := make([]indexEntry, 0, len(m))
	for pid, v := range m {
		parts := append(strings.SplitN(v, "|", 3), "", "")
		e := indexEntry{PublicID: pid, Key: parts[0]}
		fill(&e, parts)
		out = append(out, e)
	}
	return out, nil
}

func (b *redisBackend) sendUnindex(conn redis.Conn, e indexEntry) {
	if e.Sub != "" {
		_ = conn.Send("HDEL", b.prefix+"user:"+e.Sub, e.PublicID)
	}
	if e.SID != "" {
		_ = conn.Send("HDEL", b.prefix+"sid:"+e.SID, e.PublicID)
	}
	if e.Org != "" {
		_ = conn.Send("HDEL", b.prefix+"org:"+e.Org, e.PublicID)
		_ = conn.Send("ZREM", b.prefix+"orgend:"+e.Org, e.PublicID)
	}
}

func (b *redisBackend) unindex(ctx context.Context, entries ...indexEntry) error {
	if len(entries) == 0 {
		return nil
	}
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return storeErr(err)
	}
	defer conn.Close()
	_ = conn.Send("MULTI")
	for _, e := range entries {
		b.sendUnindex(conn, e)
	}
	_, err = redis.DoContext(conn, ctx, "EXEC")
	return storeErr(err)
}

func (b *redisBackend) lock(ctx context.Context, name string, ttl time.Duration) (string, bool, error) {
	fence := newRev()
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return "", false, storeErr(err)
	}
	defer conn.Close()
	_, err = redis.String(redis.DoContext(conn, ctx, "SET", b.prefix+"lock:"+name, fence, "NX", "PX", ttl.Milliseconds()))
	if errors.Is(err, redis.ErrNil) {
		return "", false, nil
	}
	if err == nil {
		// A refresh lock lost in a failover would let a second instance
		// spend the same refresh token.
		err = b.durable(ctx, conn)
	}
	return fence, err == nil, storeErr(err)
}

// unlockScript deletes the lock only if it still holds our fence, so a holder
// whose lock expired never releases the next holder's.
var unlockScript = redis.NewScript(1, `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

func (b *redisBackend) unlock(ctx context.Context, name, fence string) error {
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return storeErr(err)
	}
	defer conn.Close()
	if _, err = unlockScript.DoContext(ctx, conn, b.prefix+"lock:"+name, fence); err != nil {
		return storeErr(err)
	}
	// A release made on a primary being replaced may not reach the next one.
	return b.durable(ctx, conn)
}

func (b *redisBackend) once(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	_, err := redis.String(b.do(ctx, "SET", b.prefix+"once:"+id, "1", "NX", "PX", max(ttl.Milliseconds(), 1)))
	if errors.Is(err, redis.ErrNil) {
		return false, nil
	}
	return err == nil, err
}

func (b *redisBackend) forget(ctx context.Context, id string) error {
	_, err := b.do(ctx, "DEL", b.prefix+"once:"+id)
	return err
}

// claimOnceScript sets KEYS[1] to "processing" for ARGV[1] ms unless it is set,
// and returns what it was: false when it was not set.
var claimOnceScript = redis.NewScript(1, `
if redis.call('SET', KEYS[1], 'processing', 'NX', 'PX', ARGV[1]) then return false end
return redis.call('GET', KEYS[1])`)

func (b *redisBackend) claimOnce(ctx context.Context, id string, ttl time.Duration) (Claim, error) {
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return ClaimBusy, storeErr(err)
	}
	defer conn.Close()
	was, err := redis.String(claimOnceScript.DoContext(ctx, conn, b.prefix+"once:"+id, max(ttl.Milliseconds(), 1)))
	switch {
	case errors.Is(err, redis.ErrNil):
		return ClaimNew, nil
	case err != nil:
		return ClaimBusy, storeErr(err)
	case was == "processing":
		return ClaimBusy, nil
	}
	return ClaimDone, nil
}

func (b *redisBackend) finishOnce(ctx context.Context, id string, ttl time.Duration) error {
	_, err := b.do(ctx, "SET", b.prefix+"once:"+id, "done", "PX", max(ttl.Milliseconds(), 1))
	return err
}

func (b *redisBackend) tombstone(ctx context.Context, ttl time.Duration, names ...string) error {
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return storeErr(err)
	}
	defer conn.Close()
	_ = conn.Send("MULTI")
	for _, n := range names {
		_ = conn.Send("SET", b.prefix+"ended:"+n, "1", "PX", max(ttl.Milliseconds(), 1))
	}
	_, err = redis.DoContext(conn, ctx, "EXEC")
	return storeErr(err)
}

func (b *redisBackend) tombstoned(ctx context.Context, names ...string) (bool, error) {
	if len(names) == 0 {
		return false, nil
	}
	keys := make([]any, len(names))
	for i, n := range names {
		keys[i] = b.prefix + "ended:" + n
	}
	n, err := redis.Int(b.do(ctx, "EXISTS", keys...))
	return n > 0, err
}
