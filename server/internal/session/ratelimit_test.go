package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/example/scalekit-bff/server/internal/redistest"
)

// An hour per request: nothing refills while the test runs, whatever its pace.
var slowLimit = Limit{Rate: 1.0 / 3600, Burst: 3}

func TestAllowTakesABurstThenRefuses(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	managers := map[string]*Manager{
		"redis":  NewRedis(db.Pool, Options{KeyPrefix: db.Prefix}),
		"memory": NewMemory(Options{Now: clk.Now}),
	}
	for name, m := range managers {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := range slowLimit.Burst {
				if ok, _, err := m.Allow(ctx, "client-a", slowLimit); !ok || err != nil {
					t.Fatalf("Allow #%d = %v, %v; want allowed within the burst", i+1, ok, err)
				}
			}
			ok, retry, err := m.Allow(ctx, "client-a", slowLimit)
			if ok || err != nil || retry <= 59*time.Minute || retry > time.Hour {
				t.Errorf("Allow past the burst = %v, retry after %v, %v; want refused, retry after about an hour", ok, retry, err)
			}
			if ok, _, err := m.Allow(ctx, "client-b", slowLimit); !ok || err != nil {
				t.Errorf("Allow(another key) = %v, %v; want its own bucket", ok, err)
			}
		})
	}

	// The Redis bucket is one key under the prefix that expires when full again.
	conn := db.Pool.Get()
	defer conn.Close()
	ttl, err := redis.Int64(conn.Do("PTTL", db.Prefix+"rate:client-a"))
	if err != nil || ttl <= 0 || ttl > 3*time.Hour.Milliseconds() {
		t.Errorf("PTTL of the bucket = %d ms, %v; want at most burst × interval (3h)", ttl, err)
	}

	// The in-memory bucket refills with time: one request per interval.
	m := managers["memory"]
	clk.Advance(time.Hour)
	if ok, _, _ := m.Allow(context.Background(), "client-a", slowLimit); !ok {
		t.Error("Allow an interval later = refused; want one request refilled")
	}
	if ok, _, _ := m.Allow(context.Background(), "client-a", slowLimit); ok {
		t.Error("Allow twice an interval later = allowed; want only one refilled")
	}
}

func TestAllowWithRedisDownIsStoreUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	pool, err := NewPool(srv.URL, PoolOptions{DialTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m := NewRedis(pool, Options{})
	srv.Stop()
	if _, _, err := m.Allow(context.Background(), "client", slowLimit); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Allow with Redis down = %v; want ErrStoreUnavailable", err)
	}
}
