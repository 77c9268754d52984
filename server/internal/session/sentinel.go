package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
	"golang.org/x/sync/singleflight"
)

// No maintained Sentinel client for redigo is available to this build
// (FZambia/sentinel is unmaintained and not served by our module proxy), so
// this is the small resolver Redis's "Sentinel client spec" describes
// (https://redis.io/docs/latest/develop/reference/sentinel-clients/): ask
// each sentinel in turn for the primary, the first that answers moves to
// the front; check ROLE on every new connection; ask again when a
// connection fails or a node answers READONLY.

// Sentinel names a Redis Sentinel deployment.
type Sentinel struct {
	// Addrs are the sentinels' host:port, asked in turn.
	Addrs []string
	// Master is the name the sentinels monitor the primary under.
	Master string
	// Password authenticates to the sentinels (their requirepass); none
	// when empty. Sentinel connections are plain TCP.
	Password string
}

// Failover follows the primary the sentinels name. NewSentinelPool makes
// one with the pool it serves; pass it in Options.Failover so that session
// writes wait for a replica (see Options.Failover).
type Failover struct {
	sentinel    Sentinel
	dataOpts    []redis.DialOption
	waitTimeout time.Duration
	log         *slog.Logger

	mu      sync.Mutex
	order   []string     // the sentinels, the last that answered first
	state   primaryState // what the sentinels said last
	checked time.Time    // when; zero after a suspect failure
	changed chan struct{}

	gen          atomic.Uint64 // bumped whenever the primary changes
	refreshes    singleflight.Group
	lastSuspect  atomic.Int64
	waitTimeouts atomic.Uint64
	lastWarn     atomic.Int64
}

type primaryState struct {
	addr string
	// replicas in sync with the primary, as the sentinels see them: the
	// writes of a session wait for one only when there is one.
	replicas int
	// failing: a failover is under way or the primary is down by the
	// sentinels' agreement; a write acknowledged now may be lost.
	failing bool
}

// recheck is how long what the sentinels said is trusted before it is asked
// again, in the background, as connections are borrowed.
const recheck = time.Second

// errPrimaryChanged marks a connection to a node that is no longer the
// primary; the pool discards it.
var errPrimaryChanged = errors.New("redis: the primary changed since this connection was made")

// NewSentinelPool builds a redigo pool whose connections go to the primary
// the sentinels name. dataURL, when not empty, gives the data nodes' user,
// password and database as redis://user:password@<master name>/db; its host
// is not dialed. Dialing is lazy, as with NewPool.
func NewSentinelPool(dataURL string, s Sentinel, opts PoolOptions) (*redis.Pool, *Failover, error) {
	if len(s.Addrs) == 0 || s.Master == "" {
		return nil, nil, errors.New("redis sentinel: want at least one address and the master's name")
	}
	dialOpts := timeoutOptions(opts)
	if dataURL != "" {
		u, err := url.Parse(dataURL)
		if err != nil || u.Scheme != "redis" {
			return nil, nil, errors.New("redis url with sentinel: want redis://[user:password@]master[/db]")
		}
		more, err := credentialOptions(u)
		if err != nil {
			return nil, nil, err
		}
		dialOpts = append(dialOpts, more...)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wait := opts.WaitTimeout
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	f := &Failover{
		sentinel: s, dataOpts: dialOpts, waitTimeout: wait, log: log,
		order: slices.Clone(s.Addrs), changed: make(chan struct{}),
	}
	pool := newPool(opts, f.dial)
	test := pool.TestOnBorrow
	pool.TestOnBorrow = func(c redis.Conn, idleSince time.Time) error {
		if err := c.Err(); err != nil {
			return err // the primary changed: this one goes to the old one
		}
		f.maybeRefresh()
		return test(c, idleSince)
	}
	return pool, f, nil
}

// dial connects to the primary the sentinels name and checks that it is one:
// a sentinel may still name a primary that has just been demoted.
func (f *Failover) dial(ctx context.Context) (redis.Conn, error) {
	st, gen, err := f.current(ctx)
	if err != nil {
		return nil, err
	}
	c, err := redis.DialContext(ctx, "tcp", st.addr, f.dataOpts...)
	if err != nil {
		f.suspect()
		return nil, err
	}
	role, err := redis.Values(redis.DoContext(c, ctx, "ROLE"))
	if name, _ := redis.String(first(role), nil); err == nil && name != "master" {
		err = fmt.Errorf("redis sentinel: %s is not the primary", st.addr)
	}
	if err != nil {
		c.Close()
		f.suspect()
		return nil, err
	}
	return &sentinelConn{Conn: c, f: f, gen: gen}, nil
}

func first(v []any) any {
	if len(v) == 0 {
		return nil
	}
	return v[0]
}

// current returns the primary, asking the sentinels when what they said last
// is older than recheck or was put in doubt.
func (f *Failover) current(ctx context.Context) (primaryState, uint64, error) {
	f.mu.Lock()
	st, checked := f.state, f.checked
	f.mu.Unlock()
	if st.addr != "" && time.Since(checked) < recheck {
		return st, f.gen.Load(), nil
	}
	st, err := f.refresh(ctx)
	return st, f.gen.Load(), err
}

// maybeRefresh asks the sentinels again, in the background, when what they
// said last is older than recheck.
func (f *Failover) maybeRefresh() {
	f.mu.Lock()
	due := time.Since(f.checked) >= recheck
	f.mu.Unlock()
	if due {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _ = f.refresh(ctx)
		}()
	}
}

// suspect puts the primary in doubt after a failed connection: the next
// dial or borrow asks the sentinels. At most ten times a second, so a dead
// primary does not turn every failed request into a question.
func (f *Failover) suspect() {
	now := time.Now().UnixNano()
	last := f.lastSuspect.Load()
	if now-last < int64(100*time.Millisecond) || !f.lastSuspect.CompareAndSwap(last, now) {
		return
	}
	f.mu.Lock()
	f.checked = time.Time{}
	f.mu.Unlock()
	f.maybeRefresh()
}

// refresh asks the sentinels for the primary, one at a time, and records
// what the first that answers says.
func (f *Failover) refresh(ctx context.Context) (primaryState, error) {
	v, err, _ := f.refreshes.Do("", func() (any, error) {
		f.mu.Lock()
		order := slices.Clone(f.order)
		f.mu.Unlock()
		var errs []error
		for _, addr := range order {
			st, err := f.ask(ctx, addr)
			if err != nil {
				errs = append(errs, fmt.Errorf("sentinel %s: %w", addr, err))
				continue
			}
			f.record(addr, st)
			return st, nil
		}
		err := fmt.Errorf("%w: no sentinel named the primary: %w", ErrStoreUnavailable, errors.Join(errs...))
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.state.addr == "" {
			return primaryState{}, err
		}
		// The sentinels are out of reach, not necessarily the primary: go
		// on with the last one they named, and ask again in a while.
		f.checked = time.Now()
		if now := time.Now().UnixNano(); now-f.lastWarn.Load() > int64(10*time.Second) {
			f.lastWarn.Store(now)
			f.log.Warn("no Redis sentinel answers; using the primary they named last", "primary", f.state.addr, "err", err)
		}
		return f.state, nil
	})
	st, _ := v.(primaryState)
	return st, err
}

func (f *Failover) record(sentinel string, st primaryState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := slices.Index(f.order, sentinel); i > 0 {
		f.order = slices.Insert(slices.Delete(f.order, i, i+1), 0, sentinel)
	}
	prev := f.state.addr
	f.state, f.checked = st, time.Now()
	if prev != "" && prev != st.addr {
		f.gen.Add(1)
		close(f.changed)
		f.changed = make(chan struct{})
		f.log.Warn("Redis primary changed; reconnecting", "from", prev, "to", st.addr)
	}
}

// ask asks one sentinel about the primary and its replicas.
func (f *Failover) ask(ctx context.Context, addr string) (primaryState, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	opts := []redis.DialOption{redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(time.Second), redis.DialWriteTimeout(time.Second)}
	if f.sentinel.Password != "" {
		opts = append(opts, redis.DialPassword(f.sentinel.Password))
	}
	c, err := redis.DialContext(ctx, "tcp", addr, opts...)
	if err != nil {
		return primaryState{}, err
	}
	defer c.Close()
	master, err := redis.StringMap(redis.DoContext(c, ctx, "SENTINEL", "MASTER", f.sentinel.Master))
	if err != nil {
		return primaryState{}, err
	}
	if master["ip"] == "" || master["port"] == "" {
		return primaryState{}, errors.New("no address for the master")
	}
	flags := strings.Split(master["flags"], ",")
	st := primaryState{
		addr:    net.JoinHostPort(master["ip"], master["port"]),
		failing: slices.Contains(flags, "failover_in_progress") || slices.Contains(flags, "o_down"),
	}
	replicas, err := redis.Values(redis.DoContext(c, ctx, "SENTINEL", "REPLICAS", f.sentinel.Master))
	if err != nil {
		return primaryState{}, err
	}
	for _, r := range replicas {
		m, err := redis.StringMap(r, nil)
		if err != nil {
			continue
		}
		rf := strings.Split(m["flags"], ",")
		if m["master-link-status"] == "ok" && !slices.Contains(rf, "s_down") && !slices.Contains(rf, "o_down") && !slices.Contains(rf, "disconnected") {
			st.replicas++
		}
	}
	return st, nil
}

// changes returns a channel closed when the primary next changes.
func (f *Failover) changes() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// WaitTimeouts counts session writes that no replica acknowledged within
// the wait timeout (see Options.Failover).
func (f *Failover) WaitTimeouts() uint64 { return f.waitTimeouts.Load() }

// confirm makes a write just sent on conn durable: it waits for one replica
// to acknowledge it when the sentinels know one in sync. A replica that is
// merely slow or down does not fail the write (it is counted and logged);
// a write made while the sentinels fail the primary over, or to a node that
// is no longer the primary, does: it may be lost, so it is not acknowledged.
func (f *Failover) confirm(ctx context.Context, conn redis.Conn) error {
	f.mu.Lock()
	st := f.state
	f.mu.Unlock()
	if !st.failing && st.replicas == 0 {
		if conn.Err() != nil { // made to a primary since replaced
			return fmt.Errorf("%w: the Redis primary changed; the write may be lost", ErrStoreUnavailable)
		}
		return nil
	}
	if !st.failing {
		n, err := redis.Int(redis.DoContext(conn, ctx, "WAIT", 1, f.waitTimeout.Milliseconds()))
		if err != nil {
			return storeErr(fmt.Errorf("wait for a replica: %w", err))
		}
		if n >= 1 {
			return nil
		}
		f.waitTimeouts.Add(1)
		if now := time.Now().UnixNano(); now-f.lastWarn.Load() > int64(10*time.Second) {
			f.lastWarn.Store(now)
			f.log.WarnContext(ctx, "no Redis replica acknowledged a session write in time; checking with the sentinels",
				"timeout", f.waitTimeout, "timeouts_so_far", f.waitTimeouts.Load())
		}
		var rerr error
		if st, rerr = f.refresh(ctx); rerr != nil {
			return nil // the sentinels cannot tell; the primary took the write
		}
	}
	if st.failing || conn.Err() != nil {
		return fmt.Errorf("%w: a Redis failover is under way; the write may be lost", ErrStoreUnavailable)
	}
	return nil
}

// generation counts the primaries followed so far (0 without Sentinel).
func (f *Failover) generation() uint64 {
	if f == nil {
		return 0
	}
	return f.gen.Load()
}

// sentinelConn is a connection to the primary of one generation: once the
// primary changes its Err says so, and the pool discards it. Failures put
// the primary in doubt.
type sentinelConn struct {
	redis.Conn
	f        *Failover
	gen      uint64
	readOnly atomic.Bool
}

func (c *sentinelConn) Err() error {
	if err := c.Conn.Err(); err != nil {
		return err
	}
	if c.readOnly.Load() || c.f.gen.Load() != c.gen {
		return errPrimaryChanged
	}
	return nil
}

// check looks at a command's error: READONLY means the node was demoted,
// anything but a Redis error reply may mean it is gone.
func (c *sentinelConn) check(err error) error {
	if err == nil || errors.Is(err, redis.ErrNil) {
		return err
	}
	if re, ok := errors.AsType[redis.Error](err); ok {
		if s := string(re); strings.HasPrefix(s, "READONLY") || strings.HasPrefix(s, "EXECABORT") && strings.Contains(s, "READONLY") {
			c.readOnly.Store(true)
			c.f.suspect()
		}
		return err
	}
	c.f.suspect()
	return err
}

func (c *sentinelConn) Do(cmd string, args ...any) (any, error) {
	r, err := c.Conn.Do(cmd, args...)
	return r, c.check(err)
}

func (c *sentinelConn) Send(cmd string, args ...any) error { return c.check(c.Conn.Send(cmd, args...)) }
func (c *sentinelConn) Flush() error                       { return c.check(c.Conn.Flush()) }

func (c *sentinelConn) Receive() (any, error) {
	r, err := c.Conn.Receive()
	return r, c.check(err)
}

func (c *sentinelConn) DoWithTimeout(d time.Duration, cmd string, args ...any) (any, error) {
	r, err := redis.DoWithTimeout(c.Conn, d, cmd, args...)
	return r, c.check(err)
}

func (c *sentinelConn) ReceiveWithTimeout(d time.Duration) (any, error) {
	r, err := redis.ReceiveWithTimeout(c.Conn, d)
	return r, c.check(err)
}

func (c *sentinelConn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	r, err := redis.DoContext(c.Conn, ctx, cmd, args...)
	return r, c.check(err)
}

func (c *sentinelConn) ReceiveContext(ctx context.Context) (any, error) {
	r, err := redis.ReceiveContext(c.Conn, ctx)
	return r, c.check(err)
}
