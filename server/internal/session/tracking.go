package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Redis server-assisted client-side caching keeps the session cache honest
// (https://redis.io/docs/latest/develop/reference/client-side-caching/). One
// connection subscribes to __redis__:invalidate; another turns tracking on in
// broadcasting mode for the session keys and redirects the invalidation
// messages to the first. Redis then announces every change of a session key,
// by any client, and every expiry or eviction of one. This works over RESP2,
// which redigo speaks, with Redis 6 or later.
//
// The cache is on only while both connections are known to be good: either
// one failing, a Redis restart included, switches it off and flushes it, and
// it comes back, empty, once tracking is established again.

const invalidationChannel = "__redis__:invalidate"

// tracker holds what RunCache needs beside the cache.
type tracker struct {
	dial   func(ctx context.Context) (redis.Conn, error)
	prefix string // the session keys' prefix
	name   string // connection names start with it, for CLIENT LIST
	// primaryChanged, with Sentinel, is closed when the primary changes:
	// the connections to the old one hear nothing of the new one's writes.
	primaryChanged func() <-chan struct{}
}

// RunCache keeps the session cache's invalidation connections up until ctx
// ends, reconnecting with backoff. The cache serves nothing while they are
// down. Without a cache (the in-memory store, or CacheOptions.Off) it
// returns at once.
func (m *Manager) RunCache(ctx context.Context) {
	if m.cache == nil {
		return
	}
	const minWait, maxWait = 50 * time.Millisecond, 5 * time.Second
	wait := minWait
	warned := false
	for {
		established, err := m.track(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case established:
			m.log.Warn("session cache off: Redis invalidation tracking was lost; every request reads Redis until it is back", "err", err)
			wait, warned = minWait, true
		case !warned:
			m.log.Warn("session cache off: cannot establish Redis invalidation tracking; every request reads Redis", "err", err)
			warned = true
		default:
			m.log.Debug("session cache: tracking not established yet", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, maxWait)
	}
}

// track establishes tracking, switches the cache on, and keeps it on until
// a connection fails or ctx ends; it always returns with the cache off, and
// reports whether it had switched it on.
func (m *Manager) track(ctx context.Context) (established bool, err error) {
	t, c := m.tracker, m.cache
	var moved <-chan struct{} // taken before dialing: a change meanwhile counts
	if t.primaryChanged != nil {
		moved = t.primaryChanged()
	}
	setupCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()

	sub, err := t.dial(setupCtx)
	if err != nil {
		return false, fmt.Errorf("dial: %w", err)
	}
	defer sub.Close()
	if _, err := redis.DoContext(sub, setupCtx, "CLIENT", "SETNAME", t.name+":invalidations"); err != nil {
		return false, fmt.Errorf("name the invalidation connection: %w", err)
	}
	id, err := redis.Int64(redis.DoContext(sub, setupCtx, "CLIENT", "ID"))
	if err != nil {
		return false, fmt.Errorf("CLIENT ID (Redis 5 or later): %w", err)
	}
	if err := sub.Send("SUBSCRIBE", invalidationChannel); err != nil {
		return false, err
	}
	if err := sub.Flush(); err != nil {
		return false, err
	}
	if _, err := redis.ReceiveContext(sub, setupCtx); err != nil {
		return false, fmt.Errorf("subscribe to %s: %w", invalidationChannel, err)
	}

	trk, err := t.dial(setupCtx)
	if err != nil {
		return false, fmt.Errorf("dial: %w", err)
	}
	defer trk.Close()
	if _, err := redis.DoContext(trk, setupCtx, "CLIENT", "SETNAME", t.name+":tracking"); err != nil {
		return false, fmt.Errorf("name the tracking connection: %w", err)
	}
	if _, err := redis.DoContext(trk, setupCtx, "CLIENT", "TRACKING", "on", "REDIRECT", id, "BCAST", "PREFIX", t.prefix); err != nil {
		return false, fmt.Errorf("CLIENT TRACKING (Redis 6 or later): %w", err)
	}

	// Anything cached before now may have missed its invalidation.
	c.setOn(true)
	m.log.Info("session cache on: Redis invalidation tracking established")
	failed := make(chan error, 2)
	silence := 3 * c.opts.PingInterval
	watch := func(read func() error) {
		err := read()
		c.setOn(false) // at once: not after the others have noticed
		failed <- err
	}
	go watch(func() error { return m.readInvalidations(sub, silence) })
	go watch(func() error { return readPongs(trk, silence) })

	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-moved:
			c.setOn(false)
			sub.Close()
			trk.Close()
			<-failed
			<-failed
			return true, errors.New("the Redis primary changed")
		case <-ctx.Done():
			c.setOn(false)
			sub.Close()
			trk.Close()
			<-failed
			<-failed
			return true, ctx.Err()
		case err := <-failed:
			sub.Close()
			trk.Close()
			<-failed
			return true, err
		case <-ping.C:
			// Send and Flush may run beside the readers' Receive (redigo
			// allows one of each at a time); a write error shows in a read.
			_ = sub.Send("PING")
			_ = sub.Flush()
			_ = trk.Send("PING")
			_ = trk.Flush()
		}
	}
}

// readInvalidations evicts the keys each invalidation message names, until
// the connection fails or stays silent longer than silence.
func (m *Manager) readInvalidations(conn redis.Conn, silence time.Duration) error {
	for {
		reply, err := redis.ReceiveWithTimeout(conn, silence)
		if err == nil {
			err = m.cache.apply(reply, m.tracker.prefix)
		}
		if err != nil {
			return fmt.Errorf("invalidation connection: %w", err)
		}
	}
}

// apply handles one message of the subscribed connection: an invalidation
// (its keys, or nil when Redis flushed everything), or the answer to a
// ping.
func (c *recordCache) apply(reply any, prefix string) error {
	msg, err := redis.Values(reply, nil)
	if err != nil || len(msg) < 2 {
		return fmt.Errorf("unexpected message %T", reply)
	}
	kind, _ := redis.String(msg[0], nil)
	switch {
	case kind == "pong":
		return nil
	case kind != "message" || len(msg) != 3:
		return fmt.Errorf("unexpected %q message", kind)
	case msg[2] == nil:
		c.flush() // FLUSHDB, FLUSHALL
		return nil
	}
	keys, err := redis.ByteSlices(msg[2], nil)
	if err != nil {
		return fmt.Errorf("invalidation message: %w", err)
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		if key, ok := bytes.CutPrefix(k, []byte(prefix)); ok {
			names = append(names, string(key))
		}
	}
	c.invalidate(names...)
	return nil
}

// readPongs watches the tracking connection, which receives nothing but
// the answers to pings, until it fails or stays silent longer than silence.
func readPongs(conn redis.Conn, silence time.Duration) error {
	for {
		if _, err := redis.ReceiveWithTimeout(conn, silence); err != nil {
			return fmt.Errorf("tracking connection: %w", err)
		}
	}
}

func newTracker(pool *redis.Pool, keyPrefix string, f *Failover) *tracker {
	dial := func(ctx context.Context) (redis.Conn, error) {
		switch {
		case pool.DialContext != nil:
			return pool.DialContext(ctx)
		case pool.Dial != nil:
			return pool.Dial()
		}
		return nil, errors.New("the Redis pool has no dialer")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	t := &tracker{
		dial:   dial,
		prefix: keyPrefix + "session:",
		name:   keyPrefix + "cache:" + hex.EncodeToString(b[:]),
	}
	if f != nil {
		t.primaryChanged = f.changes
	}
	return t
}
