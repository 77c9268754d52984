package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Sentinels are redis-server --sentinel processes monitoring one primary
// under the name Master, on free loopback ports, stopped at cleanup.
type Sentinels struct {
	Master  string
	Addrs   []string
	servers []*Server
	t       testing.TB
}

// SentinelTimings make failovers quick enough for a test.
type SentinelTimings struct {
	// DownAfter is down-after-milliseconds: how long the primary may not
	// answer before a sentinel takes it for down.
	DownAfter time.Duration
	// FailoverTimeout is failover-timeout.
	FailoverTimeout time.Duration
}

// StartSentinels runs n sentinels (quorum n/2+1) that monitor primary and
// waits until each knows the others and every replica in replicas.
func StartSentinels(t testing.TB, n int, primary *Server, timings SentinelTimings, replicas ...*Server) *Sentinels {
	t.Helper()
	ss := &Sentinels{Master: "bffmaster", t: t}
	host, port, _ := net.SplitHostPort(primary.Addr)
	for range n {
		addr := freeAddr(t)
		_, sport, _ := net.SplitHostPort(addr)
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		// Sentinel rewrites its configuration file, so each has its own.
		body := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nlogfile %s\n"+
			"sentinel monitor %s %s %s %d\n"+
			"sentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s %d\n",
			sport, dir, filepath.Join(dir, "sentinel.log"),
			ss.Master, host, port, n/2+1,
			ss.Master, timings.DownAfter.Milliseconds(),
			ss.Master, timings.FailoverTimeout.Milliseconds())
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		s := &Server{Addr: addr, dir: dir, t: t}
		s.start(exec.Command("redis-server", conf, "--sentinel"))
		t.Cleanup(s.Stop)
		ss.servers = append(ss.servers, s)
		ss.Addrs = append(ss.Addrs, addr)
	}
	ss.waitUntil(20*time.Second, "every sentinel knows the others and the replicas", func(c redis.Conn) bool {
		others, err := redis.Values(c.Do("SENTINEL", "SENTINELS", ss.Master))
		if err != nil || len(others) != n-1 {
			return false
		}
		reps, err := redis.Values(c.Do("SENTINEL", "REPLICAS", ss.Master))
		if err != nil {
			return false
		}
		ok := 0
		for _, r := range reps {
			m, _ := redis.StringMap(r, nil)
			if m["master-link-status"] == "ok" && m["flags"] == "slave" {
				ok++
			}
		}
		return ok == len(replicas)
	})
	return ss
}

// Primary is the primary's address as the first sentinel names it.
func (ss *Sentinels) Primary() string {
	ss.t.Helper()
	c, err := redis.Dial("tcp", ss.Addrs[0], redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(2*time.Second))
	if err != nil {
		ss.t.Fatal(err)
	}
	defer c.Close()
	a, err := redis.Strings(c.Do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", ss.Master))
	if err != nil || len(a) != 2 {
		ss.t.Fatalf("SENTINEL GET-MASTER-ADDR-BY-NAME: %v %v", a, err)
	}
	return net.JoinHostPort(a[0], a[1])
}

// Failover asks a sentinel to fail the primary over (SENTINEL FAILOVER).
func (ss *Sentinels) Failover() {
	ss.t.Helper()
	c, err := redis.Dial("tcp", ss.Addrs[0], redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(2*time.Second))
	if err != nil {
		ss.t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Do("SENTINEL", "FAILOVER", ss.Master); err != nil {
		ss.t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
}

// WaitForPrimary waits until every sentinel names addr as the primary and
// sees no failover under way.
func (ss *Sentinels) WaitForPrimary(addr string, within time.Duration) {
	ss.t.Helper()
	ss.waitUntil(within, "every sentinel names "+addr, func(c redis.Conn) bool {
		m, err := redis.StringMap(c.Do("SENTINEL", "MASTER", ss.Master))
		return err == nil && net.JoinHostPort(m["ip"], m["port"]) == addr && m["flags"] == "master"
	})
}

func (ss *Sentinels) waitUntil(within time.Duration, what string, ok func(redis.Conn) bool) {
	ss.t.Helper()
	deadline := time.Now().Add(within)
	for {
		all := true
		for _, a := range ss.Addrs {
			c, err := redis.Dial("tcp", a, redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(time.Second))
			if err != nil {
				all = false
				break
			}
			good := ok(c)
			c.Close()
			if !good {
				all = false
				break
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			ss.t.Fatalf("redistest: not within %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond) // polling the sentinels' state, bounded by the deadline
	}
}

// Stop kills every sentinel.
func (ss *Sentinels) Stop() {
	for _, s := range ss.servers {
		s.Stop()
	}
}
