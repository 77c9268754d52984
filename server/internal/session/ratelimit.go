package session

import (
	"context"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Limit is a rate limit: Rate requests a second on average, in bursts of up
// to Burst.
type Limit struct {
	Rate  float64
	Burst int
}

// interval is the time one request uses up: the emission interval of GCRA.
func (l Limit) interval() time.Duration { return time.Duration(float64(time.Second) / l.Rate) }

// Allow takes one request from the rate-limit bucket named key and reports
// whether it may go ahead; when not, retryAfter says when one would. The
// buckets live in the session store, so with Redis every instance shares
// them: three instances do not give a client three times the limit. A store
// failure is ErrStoreUnavailable, for the caller to fall back on a limit of
// its own (never to no limit).
func (m *Manager) Allow(ctx context.Context, key string, l Limit) (ok bool, retryAfter time.Duration, err error) {
	return m.be.allow(ctx, key, l)
}

// gcraScript is a GCRA (generic cell rate algorithm) bucket in one round
// trip: KEYS[1] holds the theoretical arrival time (TAT) of the next request
// in microseconds of Redis's own clock, so instances need no common clock.
// A request is let through when it leaves the TAT at most burst intervals
// ahead of now; the key expires when the bucket is full again. ARGV[1] is the
// interval and ARGV[2] the burst. It returns {1, 0} or {0, µs to wait}.
//
// A library would be better than a script, but none fits redigo: throttled's
// redigostore spends three round trips (SELECT, TIME+GET, then a CAS script)
// and sets the TTL with a separate EXPIRE, and the others speak go-redis.
var gcraScript = redis.NewScript(1, `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local ahead = interval * tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
local nexttat = tat + interval
if nexttat - now > ahead then
  return {0, nexttat - now - ahead}
end
redis.call('SET', KEYS[1], string.format('%d', nexttat), 'PX', math.ceil((nexttat - now) / 1000))
return {1, 0}`)

func (b *redisBackend) allow(ctx context.Context, key string, l Limit) (bool, time.Duration, error) {
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return false, 0, storeErr(err)
	}
	defer conn.Close()
	reply, err := redis.Int64s(gcraScript.DoContext(ctx, conn, b.prefix+"rate:"+key, l.interval().Microseconds(), l.Burst))
	if err != nil {
		return false, 0, storeErr(err)
	}
	return reply[0] == 1, time.Duration(reply[1]) * time.Microsecond, nil
}

// allow is gcraScript's arithmetic for the single process of the in-memory
// store.
func (b *memBackend) allow(_ context.Context, key string, l Limit) (bool, time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if len(b.buckets) > 10000 { // buckets of idle clients would pile up
		for k, tat := range b.buckets {
			if tat.Before(now) {
				delete(b.buckets, k)
			}
		}
	}
	tat := b.buckets[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(l.interval())
	ahead := time.Duration(l.Burst) * l.interval()
	if wait := next.Sub(now) - ahead; wait > 0 {
		return false, wait, nil
	}
	b.buckets[key] = next
	return true, 0, nil
}
