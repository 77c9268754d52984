package session

import (
	"context"
	"errors"
	"time"

	"github.com/gomodule/redigo/redis"
)

// The revocation queue in Redis:
//
//	prefix+"revoke:due"      sorted set sid, scored by when it is due (Unix ms)
//	prefix+"revoke:attempts" hash sid -> times a worker took it
//
// Taking a job moves its score to the end of its lease in the same script, so
// no other worker can take it meanwhile; the attempt count fences the lease.

func (b *redisBackend) queueKeys() []any {
	return []any{b.prefix + "revoke:due", b.prefix + "revoke:attempts"}
}

func (b *redisBackend) enqueue(ctx context.Context, due time.Time, sids ...string) error {
	args := []any{b.prefix + "revoke:due", "NX"}
	for _, sid := range sids {
		args = append(args, due.UnixMilli(), sid)
	}
	_, err := b.do(ctx, "ZADD", args...)
	return err
}

var claimScript = redis.NewScript(2, `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #due == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], due[1])
return {due[1], redis.call('HINCRBY', KEYS[2], due[1], 1)}`)

func (b *redisBackend) claim(ctx context.Context, now, leaseUntil time.Time) (revokeJob, bool, error) {
	reply, err := b.script(ctx, claimScript, now.UnixMilli(), leaseUntil.UnixMilli())
	if errors.Is(err, redis.ErrNil) || (err == nil && reply == nil) {
		return revokeJob{}, false, nil
	}
	values, err := redis.Values(reply, err)
	if err != nil {
		return revokeJob{}, false, storeErr(err)
	}
	var job revokeJob
	if _, err := redis.Scan(values, &job.SID, &job.Attempts); err != nil {
		return revokeJob{}, false, storeErr(err)
	}
	return job, true, nil
}

var finishScript = redis.NewScript(2, `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`)

func (b *redisBackend) finish(ctx context.Context, job revokeJob) error {
	_, err := b.script(ctx, finishScript, job.SID, job.Attempts)
	return err
}

var retryScript = redis.NewScript(2, `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
return 1`)

func (b *redisBackend) retry(ctx context.Context, job revokeJob, due time.Time) error {
	_, err := b.script(ctx, retryScript, job.SID, job.Attempts, due.UnixMilli())
	return err
}

func (b *redisBackend) script(ctx context.Context, s *redis.Script, args ...any) (any, error) {
	conn, err := b.pool.GetContext(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	defer conn.Close()
	reply, err := s.DoContext(ctx, conn, append(b.queueKeys(), args...)...)
	return reply, storeErr(err)
}
