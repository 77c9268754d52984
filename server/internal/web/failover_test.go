package web

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/scalekit-bff/server/internal/devidp"
	"github.com/example/scalekit-bff/server/internal/redistest"
)

// Three instances behind a round-robin proxy, on a Redis primary with a
// replica and three sentinels, with 20 signed-in sessions requesting all
// the time while the sentinels fail the primary over (on request, or
// because it was killed).
func TestFailover(t *testing.T) {
	for _, how := range []string{"SENTINEL FAILOVER", "primary killed"} {
		t.Run(how, func(t *testing.T) {
			primary := redistest.Start(t)
			replica := redistest.StartReplica(t, primary)
			ss := redistest.StartSentinels(t, 3, primary, redistest.SentinelTimings{DownAfter: 500 * time.Millisecond, FailoverTimeout: 5 * time.Second}, replica)
			e := newTestServer(t,
				withEnv("REDIS_URL", ""),
				withEnv("REDIS_SENTINEL_ADDRS", ss.Addrs[0]+","+ss.Addrs[1]+","+ss.Addrs[2]),
				withEnv("REDIS_SENTINEL_MASTER", ss.Master),
				// Access tokens due for a refresh every two seconds, so
				// refreshes happen during the failover.
				withEnv("TOKEN_REFRESH_SKEW", "2s"),
				withIDP(func(c *devidp.Config) { c.AccessTokenTTL = 4 * time.Second }))
			lb := e.roundRobin(3)

			const n = 20
			cookies := make([]*http.Cookie, n)
			for i := range cookies {
				c := e.browser()
				e.login(c, []string{"usr_alice", "usr_bob"}[i%2])
				cookies[i] = e.cookie(c)
			}

			load := e.startLoad(lb, cookies)
			// Refreshes have begun: they straddle the failover.
			e.waitForRefreshes(n / 2)
			if how == "SENTINEL FAILOVER" {
				ss.Failover()
			} else {
				primary.Stop()
			}
			ss.WaitForPrimary(replica.Addr, 30*time.Second)
			// The window closes within a few seconds of the sentinels'
			// agreement; then every session answers 200 on every instance.
			for i, ck := range cookies {
				deadline := time.Now().Add(15 * time.Second)
				for status := load.me(ck); status != http.StatusOK; status = load.me(ck) {
					if time.Now().After(deadline) {
						t.Fatalf("session %d still answers %d 15s after the failover; logs:\n%s", i, status, sessionLogs(e.logs.String()))
					}
					time.Sleep(50 * time.Millisecond) // polling for recovery, bounded by the deadline
				}
			}
			// The sessions keep working through their next refreshes.
			_, spent := e.spentTwice()
			e.waitForRefreshes(spent + 2*n)
			load.stop()

			if bad := load.unexpected(); len(bad) > 0 {
				t.Errorf("answers other than 200 and 503 session_store_unavailable: %v; logs:\n%s", bad, failedRequests(e.logs.String()))
			}
			for i, ck := range cookies {
				for range 3 { // each instance
					if status := load.me(ck); status != http.StatusOK {
						t.Errorf("session %d after the failover: %d; want 200", i, status)
					}
				}
			}
			twice, all := e.spentTwice()
			if twice > 0 || all < n {
				t.Errorf("refresh tokens spent twice: %d of %d; want none, and at least one refresh per session", twice, all)
			}
			t.Logf("%s: %d requests, statuses %v, %d refreshes, 503s for %v", how, load.count.Load(), load.statuses(), all, load.window())
		})
	}
}

// roundRobin serves the app's instance and n-1 more behind a proxy that
// sends each request to the next, and returns the proxy's URL.
func (e *testEnv) roundRobin(n int) string {
	e.t.Helper()
	backends := []*url.URL{mustURL(e.app.URL)}
	for range n - 1 {
		h, _ := e.newInstance(slog.New(slog.NewTextHandler(e.logs, nil)))
		srv := httptest.NewTLSServer(h)
		e.t.Cleanup(srv.Close)
		backends = append(backends, mustURL(srv.URL))
	}
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(backends[next.Add(1)%uint64(len(backends))])
		},
		Transport: e.app.Client().Transport,
		// Requests cut short when the test stops are no news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	lb := httptest.NewTLSServer(proxy)
	e.t.Cleanup(lb.Close)
	return lb.URL
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// load is the sessions' requests, one loop per session.
type load struct {
	t      *testing.T
	base   string
	client *http.Client
	count  atomic.Int64
	done   chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	seen  map[string]int // "200", "503 session_store_unavailable", …
	wrong []string
	// first and last are when the first and the last answer other than
	// 200 came: the failover's window, as the clients saw it.
	first, last time.Time
}

func (e *testEnv) startLoad(base string, cookies []*http.Cookie) *load {
	l := &load{t: e.t.(*testing.T), base: base, done: make(chan struct{}), seen: map[string]int{},
		client: &http.Client{Transport: e.app.Client().Transport, Timeout: 20 * time.Second}}
	for _, ck := range cookies {
		l.wg.Go(func() {
			for {
				select {
				case <-l.done:
					return
				default:
				}
				l.me(ck)
			}
		})
	}
	return l
}

// me requests /api/me with a session cookie, records the answer and
// returns its status.
func (l *load) me(ck *http.Cookie) int {
	req, _ := http.NewRequest(http.MethodGet, l.base+"/api/me", nil)
	req.AddCookie(ck)
	resp, err := l.client.Do(req)
	l.count.Add(1)
	if err != nil {
		l.record(fmt.Sprintf("error %v", err), false)
		return -1
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	what := fmt.Sprint(resp.StatusCode)
	ok := resp.StatusCode == http.StatusOK
	if resp.StatusCode == http.StatusServiceUnavailable {
		r := response{resp, body}
		code := r.errorCode(l.t)
		what += " " + code
		ok = code == "session_store_unavailable"
	}
	l.record(what, ok)
	return resp.StatusCode
}

func (l *load) record(what string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen[what]++
	if what != "200" {
		if l.first.IsZero() {
			l.first = time.Now()
		}
		l.last = time.Now()
	}
	if !ok {
		l.wrong = append(l.wrong, what)
	}
}

func (l *load) unexpected() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wrong
}

func (l *load) statuses() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.seen {
		out[k] = v
	}
	return out
}

func (l *load) window() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last.Sub(l.first)
}

func (l *load) stop() {
	close(l.done)
	l.wg.Wait()
}

// waitForRefreshes waits until n refresh tokens have been spent in all.
func (e *testEnv) waitForRefreshes(n int) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, all := e.spentTwice(); all < n; _, all = e.spentTwice() {
		if time.Now().After(deadline) {
			e.t.Fatalf("only %d refreshes in 30s; want %d", all, n)
		}
		time.Sleep(10 * time.Millisecond) // polling a counter, bounded by the deadline
	}
}

// sessionLogs picks the log lines about sessions ending, refreshes and the
// primary, for a failure message.
func sessionLogs(logs string) string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		for _, s := range []string{"refus", "ending", "expired", "primary", "replica", "could not", "failed"} {
			if strings.Contains(line, s) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
