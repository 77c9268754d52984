// Package redistest gives tests a real Redis: the shared one (REDIS_URL, or
// 127.0.0.1:6379) with a key prefix of their own, or a private redis-server
// on a free port that a test may stop and start again. A missing Redis fails
// the test; it never skips it.
//
//	db := redistest.New(t)
//	sessions := session.NewRedis(db.Pool, session.Options{KeyPrefix: db.Prefix})
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// DB is a Redis connection pool and a key prefix unique to one test.
type DB struct {
	URL    string
	Pool   *redis.Pool
	Prefix string
}

var counter atomic.Int64

// New connects to the shared Redis and deletes the test's keys at cleanup.
func New(t testing.TB) *DB {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	pool := newPool(url)
	conn := pool.Get()
	defer conn.Close()
	if _, err := conn.Do("PING"); err != nil {
		t.Fatalf("redistest: Redis at %s does not answer (%v): start one (redis-server) or set REDIS_URL", url, err)
	}
	prefix := fmt.Sprintf("test:%d:%d:%s:", os.Getpid(), counter.Add(1), sanitize(t.Name()))
	t.Cleanup(func() {
		deleteKeys(pool, prefix)
		pool.Close()
	})
	return &DB{URL: url, Pool: pool, Prefix: prefix}
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '*' || r == '?' || r == '[' || r == ']' {
			return '_'
		}
		return r
	}, name)
}

func deleteKeys(pool *redis.Pool, prefix string) {
	conn := pool.Get()
	defer conn.Close()
	cursor := "0"
	for {
		reply, err := redis.Values(conn.Do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 1000))
		if err != nil {
			return
		}
		cursor, _ = redis.String(reply[0], nil)
		keys, _ := redis.Strings(reply[1], nil)
		for _, k := range keys {
			_, _ = conn.Do("DEL", k)
		}
		if cursor == "0" {
			return
		}
	}
}

// Keys lists the test's keys (SCAN; fine for tests, never on a request path).
func (db *DB) Keys(t testing.TB, pattern string) []string {
	t.Helper()
	conn := db.Pool.Get()
	defer conn.Close()
	var out []string
	cursor := "0"
	for {
		reply, err := redis.Values(conn.Do("SCAN", cursor, "MATCH", db.Prefix+pattern, "COUNT", 1000))
		if err != nil {
			t.Fatalf("SCAN: %v", err)
		}
		cursor, _ = redis.String(reply[0], nil)
		keys, _ := redis.Strings(reply[1], nil)
		out = append(out, keys...)
		if cursor == "0" {
			return out
		}
	}
}

func newPool(url string) *redis.Pool {
	return &redis.Pool{
		MaxIdle: 16,
		Dial: func() (redis.Conn, error) {
			return redis.DialURL(url, redis.DialConnectTimeout(time.Second),
				redis.DialReadTimeout(2*time.Second), redis.DialWriteTimeout(2*time.Second))
		},
	}
}

// Server is a private redis-server for tests that stop and restart Redis.
type Server struct {
	Addr string
	URL  string
	dir  string
	args []string // beyond the port, address, persistence and files
	cmd  *exec.Cmd
	t    testing.TB
}

// Start runs redis-server on a free loopback port, with args added to its
// command line, stopped at cleanup.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redistest: redis-server is not installed (apt-get install redis-server): %v", err)
	}
	addr := freeAddr(t)
	s := &Server{Addr: addr, URL: "redis://" + addr + "/0", dir: t.TempDir(), args: args, t: t}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// StartReplica runs a redis-server that replicates primary.
func StartReplica(t testing.TB, primary *Server) *Server {
	t.Helper()
	host, port, _ := net.SplitHostPort(primary.Addr)
	return Start(t, "--replicaof", host, port)
}

// Restart starts the server (again) on the same port and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--logfile", filepath.Join(s.dir, "redis.log")}, s.args...)
	s.start(exec.Command("redis-server", args...))
}

func (s *Server) start(cmd *exec.Cmd) {
	s.t.Helper()
	s.cmd = cmd
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if pingAddr(s.Addr) == nil {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling an observable event, bounded by the deadline
	}
	s.t.Fatalf("redis-server on %s did not answer within 10s", s.Addr)
}

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func pingAddr(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %s", strconv.Quote(line))
	}
	return nil
}
