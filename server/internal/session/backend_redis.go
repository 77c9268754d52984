package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
)

// redisBackend keeps, besides scs's session keys (prefix+"session:"+key):
//
//	prefix+"user:"+sub  hash publicID -> "key|sid|org"
//	prefix+"sid:"+sid   hash publicID -> "key|sub|org"
//	prefix+"org:"+org   hash publicID -> "key|sub|sid"
//	prefix+"lock:"+name string fence, with a TTL
//	prefix+"once:"+id   marker, with a TTL
//
// (Entries written before the organization index have no "|org"; they read
// as sessions without an organization.)
type redisBackend struct {
	pool   *redis.Pool
	prefix string
	// cache, when set, loses every session key written or deleted here
	// before the write returns.
	cache *recordCache
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

// redisStore is scs's store, as scs/redisstore with the same keys, but its
// commits are durable across a failover.
type redisStore struct{ b *redisBackend }

func (s redisStore) Find(key string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), key)
}

func (s redisStore) FindCtx(ctx context.Context, key string) ([]byte, bool, error) {
	return s.b.find(ctx, key)
}

func (s redisStore) Commit(key string, data []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), key, data, expiry)
}

func (s redisStore) CommitCtx(ctx context.Context, key string, data []byte, expiry time.Time) error {
	conn, err := s.b.pool.GetContext(ctx)
	if err != nil {
		return storeErr(err)
	}
	defer conn.Close()
	if _, err := redis.DoContext(conn, ctx, "SET", s.b.sessionKey(key), data, "PXAT", expiry.UnixMilli()); err != nil {
		return storeErr(err)
	}
	return s.b.durable(ctx, conn)
}

func (s redisStore) Delete(key string) error {
	return s.DeleteCtx(context.Background(), key)
}

func (s redisStore) DeleteCtx(ctx context.Context, key string) error {
	conn, err := s.b.pool.GetContext(ctx)
	if err != nil {
		return storeErr(err)
	}
	defer conn.Close()
	if _, err := redis.DoContext(conn, ctx, "DEL", s.b.sessionKey(key)); err != nil {
		return storeErr(err)
	}
	return s.b.durable(ctx, conn)
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
		_ = conn.Send("HSET", b.prefix+"org:"+e.Org, e.PublicID, e.Key+"|"+e.Sub+"|"+e.SID)
		_ = conn.Send("PEXPIREAT", b.prefix+"org:"+e.Org, until.UnixMilli())
	}
	_, err = redis.DoContext(conn, ctx, "EXEC")
	return storeErr(err)
}

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
