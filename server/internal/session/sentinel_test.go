package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/gomodule/redigo/redis"

	"github.com/example/scalekit-bff/server/internal/redistest"
)

// sentinelSetup is a primary, a replica and three sentinels.
func sentinelSetup(t *testing.T) (primary, replica *redistest.Server, ss *redistest.Sentinels) {
	t.Helper()
	primary = redistest.Start(t)
	replica = redistest.StartReplica(t, primary)
	ss = redistest.StartSentinels(t, 3, primary, redistest.SentinelTimings{DownAfter: 500 * time.Millisecond, FailoverTimeout: 5 * time.Second}, replica)
	return primary, replica, ss
}

func TestSentinelPoolFollowsThePrimary(t *testing.T) {
	primary, replica, ss := sentinelSetup(t)
	// The first sentinel listed is not running: the resolver asks the next.
	pool, f, err := NewSentinelPool("", Sentinel{Addrs: append([]string{"127.0.0.1:1"}, ss.Addrs...), Master: ss.Master}, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m := NewRedis(pool, Options{IdleTimeout: 10 * time.Minute, Lifetime: time.Hour, CookieSecure: true, KeyPrefix: "sentinel-test:", Failover: f})
	go m.RunCache(t.Context())

	token := signIn(t, m, testRecord("usr_1", "ses_1"))
	eventually(t, pool, primary.Addr)
	if f.WaitTimeouts() != 0 {
		t.Errorf("WAIT timed out %d times with a healthy replica", f.WaitTimeouts())
	}

	ss.Failover()
	ss.WaitForPrimary(replica.Addr, 20*time.Second)
	// Requests during the switch may fail (503); once the sentinels agree,
	// the pool reaches the new primary, where the session is, acknowledged
	// by the replica before sign-in returned.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, err := m.Load(context.Background(), token)
		if err == nil {
			if rec, err := m.Current(ctx); err != nil || rec.User.ID != "usr_1" {
				t.Fatalf("after failover: %v, %v; want usr_1's session", rec, err)
			}
			break
		}
		if !errors.Is(err, ErrStoreUnavailable) {
			t.Fatalf("Load during failover = %v; want nil or ErrStoreUnavailable", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Load still fails 10s after the sentinels agreed: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling for recovery, bounded by the deadline
	}
	// Within a second or so (what the sentinels said is trusted that long)
	// every connection goes to the new primary.
	eventually(t, pool, replica.Addr)
	// A new sign-in lands on the new primary.
	token2 := signIn(t, m, testRecord("usr_2", "ses_2"))
	if rec := current(t, m, token2); rec.User.ID != "usr_2" {
		t.Errorf("sign-in after failover: %v", rec.User.ID)
	}
}

// nodeAddr returns the address of the primary a pooled connection
// reaches; "" when it reaches none.
func nodeAddr(pool *redis.Pool) string {
	c := pool.Get()
	defer c.Close()
	role, err := redis.Values(c.Do("ROLE"))
	if err != nil || len(role) == 0 {
		return ""
	}
	if name, _ := redis.String(role[0], nil); name != "master" {
		return ""
	}
	v, err := redis.Strings(c.Do("CONFIG", "GET", "port"))
	if err != nil || len(v) != 2 {
		return ""
	}
	return "127.0.0.1:" + v[1]
}

// eventually polls the address a pooled connection reaches until it is want.
func eventually(t *testing.T, pool *redis.Pool, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	got := nodeAddr(pool)
	for ; got != want && time.Now().Before(deadline); got = nodeAddr(pool) {
		time.Sleep(20 * time.Millisecond) // polling for the pool to follow, bounded by the deadline
	}
	if got != want {
		t.Fatalf("the pool's connections reach %q; want the primary %s", got, want)
	}
}

func TestSentinelPoolWithoutSentinels(t *testing.T) {
	pool, _, err := NewSentinelPool("", Sentinel{Addrs: []string{"127.0.0.1:1"}, Master: "x"}, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m := NewRedis(pool, Options{KeyPrefix: "sentinel-test:", Cache: CacheOptions{Off: true}})
	if err := m.Ping(context.Background()); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Ping with no sentinel answering = %v; want ErrStoreUnavailable", err)
	}
}

// BenchmarkSessionWrite measures what waiting for a replica costs a session
// write: the same SET on the same primary, through a plain pool and through
// the Sentinel pool, which adds WAIT 1 (README, "Redis Sentinel").
func BenchmarkSessionWrite(b *testing.B) {
	primary := redistest.Start(b)
	replica := redistest.StartReplica(b, primary)
	ss := redistest.StartSentinels(b, 3, primary, redistest.SentinelTimings{DownAfter: 5 * time.Second, FailoverTimeout: 10 * time.Second}, replica)
	plain, err := NewPool(primary.URL, PoolOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	viaSentinel, f, err := NewSentinelPool("", Sentinel{Addrs: ss.Addrs, Master: ss.Master}, PoolOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer viaSentinel.Close()
	data := make([]byte, 3000) // about a session with its tokens
	for _, bc := range []struct {
		name string
		be   *redisBackend
	}{
		{"REDIS_URL", &redisBackend{pool: plain, prefix: "bench:"}},
		{"Sentinel with WAIT", &redisBackend{pool: viaSentinel, prefix: "bench:", failover: f}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			store := durableStore{redisstore.NewWithPrefix(bc.be.pool, "bench:session:"), bc.be}
			for b.Loop() {
				if err := store.Commit("k", data, time.Now().Add(time.Minute)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Logf("WAIT timed out %d times (a loaded machine delays the replica)", f.WaitTimeouts())
}

// Sentinels out of reach are not Redis out of reach: the pool goes on with
// the primary they named last.
func TestSentinelsDownPrimaryUp(t *testing.T) {
	primary, _, ss := sentinelSetup(t)
	pool, f, err := NewSentinelPool("", Sentinel{Addrs: ss.Addrs, Master: ss.Master}, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m := NewRedis(pool, Options{KeyPrefix: "sentinel-test:", Failover: f, Cache: CacheOptions{Off: true}})
	token := signIn(t, m, testRecord("usr_1", "ses_1"))

	ss.Stop()
	f.mu.Lock()
	f.checked = time.Time{} // as after a failed connection: ask the sentinels first
	f.mu.Unlock()
	c, err := f.dial(context.Background())
	if err != nil {
		t.Fatalf("dial with no sentinel answering = %v; want the primary they named last", err)
	}
	c.Close()
	if st, _, _ := f.current(context.Background()); st.addr != primary.Addr {
		t.Errorf("primary = %q; want %s", st.addr, primary.Addr)
	}
	if rec := current(t, m, token); rec.User.ID != "usr_1" {
		t.Errorf("session with the sentinels down: %v", rec.User.ID)
	}

	// A pool that never heard from a sentinel knows no primary.
	pool2, f2, _ := NewSentinelPool("", Sentinel{Addrs: ss.Addrs, Master: ss.Master}, PoolOptions{})
	defer pool2.Close()
	if _, err := f2.dial(context.Background()); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("a new pool with no sentinel: %v; want ErrStoreUnavailable", err)
	}
}

// A node that is not the primary is never used: a new connection checks
// ROLE, and a connection whose node answers READONLY is dropped.
func TestSentinelRefusesAReplica(t *testing.T) {
	_, replica, ss := sentinelSetup(t)
	_, f, err := NewSentinelPool("", Sentinel{Addrs: ss.Addrs, Master: ss.Master}, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// As if a sentinel had just named the replica (a stale answer).
	f.mu.Lock()
	f.state, f.checked = primaryState{addr: replica.Addr}, time.Now()
	f.mu.Unlock()
	if c, err := f.dial(context.Background()); err == nil {
		c.Close()
		t.Fatal("dial reached a replica; want ROLE to refuse it")
	}

	c, err := redis.Dial("tcp", replica.Addr)
	if err != nil {
		t.Fatal(err)
	}
	sc := &sentinelConn{Conn: c, f: f, gen: f.gen.Load()}
	defer sc.Close()
	if _, err := sc.Do("SET", "sentinel-test:k", "v"); err == nil {
		t.Fatal("SET on a replica succeeded")
	}
	if !errors.Is(sc.Err(), errPrimaryChanged) {
		t.Errorf("after READONLY, Err() = %v; want errPrimaryChanged, so the pool drops it", sc.Err())
	}
}

// scs/redisstore writes a session on a connection of its own; the barrier
// that follows makes it durable: once a commit returns, the replica has the
// session. A primary change between the write and the barrier leaves the
// write in doubt, and the commit fails rather than claim it.
func TestCommitWaitsForTheReplica(t *testing.T) {
	primary, replica, ss := sentinelSetup(t)
	pool, f, err := NewSentinelPool("", Sentinel{Addrs: ss.Addrs, Master: ss.Master}, PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	fromPrimary, err := redis.Dial("tcp", primary.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fromPrimary.Close()
	waits := func() int {
		info, err := redis.String(fromPrimary.Do("INFO", "commandstats"))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if _, rest, ok := strings.Cut(info, "cmdstat_wait:calls="); ok {
			fmt.Sscanf(rest, "%d", &n)
		}
		return n
	}
	be := &redisBackend{pool: pool, prefix: "barrier-test:", failover: f}
	store := durableStore{redisstore.NewWithPrefix(pool, "barrier-test:session:"), be}
	fromReplica, err := redis.Dial("tcp", replica.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fromReplica.Close()

	waitsBefore := waits()
	for i := range 20 {
		key := fmt.Sprintf("k%d", i)
		if err := store.Commit(key, []byte("record"), time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Commit = %v", err)
		}
		if got, err := redis.String(fromReplica.Do("GET", "barrier-test:session:"+key)); err != nil || got != "record" {
			t.Fatalf("replica has %q (%v) right after Commit returned; want the record", got, err)
		}
	}
	if n := waits() - waitsBefore; n < 20 {
		t.Errorf("20 commits sent WAIT %d times; want one each at least", n)
	}
	if f.WaitTimeouts() != 0 {
		t.Errorf("WAIT timed out %d times with a healthy replica", f.WaitTimeouts())
	}

	if err := be.barrier(context.Background(), f.generation()+1); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("barrier across a primary change = %v; want ErrStoreUnavailable", err)
	}
}
