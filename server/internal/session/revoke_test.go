package session

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/example/scalekit-bff/server/internal/redistest"
	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// fakeRevoker stands in for Scalekit's revoke endpoint: it records every
// call and answers with answer(sid, nth call for that sid).
type fakeRevoker struct {
	mu     sync.Mutex
	calls  []string
	answer func(sid string, n int) error
	called chan string
}

func newFakeRevoker(answer func(sid string, n int) error) *fakeRevoker {
	return &fakeRevoker{answer: answer, called: make(chan string, 100)}
}

func (f *fakeRevoker) RevokeSession(_ context.Context, sid string) error {
	f.mu.Lock()
	f.calls = append(f.calls, sid)
	n := 0
	for _, c := range f.calls {
		if c == sid {
			n++
		}
	}
	f.mu.Unlock()
	f.called <- sid
	if f.answer == nil {
		return nil
	}
	return f.answer(sid, n)
}

func (f *fakeRevoker) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var testBackoff = []time.Duration{time.Second, 5 * time.Second}

func revokingManager(t *testing.T, db *redistest.DB, clk *clock, r Revoker, logs *lockedBuffer) *Manager {
	t.Helper()
	m := NewRedis(db.Pool, Options{
		IdleTimeout: 10 * time.Minute, Lifetime: time.Hour, TouchInterval: time.Minute,
		CookieSecure: true, KeyPrefix: db.Prefix, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	m.SetRevoker(r, RevokeOptions{Backoff: testBackoff, Lease: time.Minute})
	return m
}

func sendDue(t *testing.T, m *Manager) int {
	t.Helper()
	n, err := m.sendDueRevocations(context.Background())
	if err != nil {
		t.Fatalf("sendDueRevocations = %v", err)
	}
	return n
}

func TestSignedOutDevicesAreRevokedAtTheProvider(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	fake := newFakeRevoker(nil)
	m := revokingManager(t, db, clk, fake, &lockedBuffer{})
	laptop := signIn(t, m, testRecord("usr_r", "ses_laptop"))
	phone := signIn(t, m, testRecord("usr_r", "ses_phone"))
	tablet := signIn(t, m, testRecord("usr_r", "ses_tablet"))
	// Another local session in the laptop's Scalekit session (the same
	// browser signed in twice): ending it here must not end the laptop's.
	twin := signIn(t, m, testRecord("usr_r", "ses_laptop"))
	other := signIn(t, m, testRecord("usr_other", "ses_other"))
	me := current(t, m, laptop)

	if found, err := m.Revoke(context.Background(), me, PublicID(phone)); !found || err != nil {
		t.Fatalf("Revoke(phone) = %v, %v", found, err)
	}
	if n := sendDue(t, m); n != 1 || !slices.Equal(fake.Calls(), []string{"ses_phone"}) {
		t.Errorf("revocations sent after signing out the phone = %d %v; want ses_phone", n, fake.Calls())
	}
	if n, err := m.RevokeOthers(context.Background(), me); n != 2 || err != nil {
		t.Fatalf("RevokeOthers = %d, %v; want 2 (tablet, twin)", n, err)
	}
	sendDue(t, m)
	if diff := cmp.Diff([]string{"ses_phone", "ses_tablet"}, fake.Calls()); diff != "" {
		t.Errorf("revocations sent (-want +got):\n%s", diff)
	}
	for name, token := range map[string]string{"tablet": tablet, "twin": twin} {
		if _, err := m.Current(load(t, m, token)); err == nil {
			t.Errorf("%s still signed in here", name)
		}
	}
	for name, token := range map[string]string{"laptop": laptop, "other user": other} {
		if _, err := m.Current(load(t, m, token)); err != nil {
			t.Errorf("%s: %v; want still signed in", name, err)
		}
	}
	if keys := db.Keys(t, "revoke:*"); len(keys) != 0 {
		t.Errorf("queue keys after every revocation was sent = %v; want none", keys)
	}

	// A logout the provider reported is not sent back to it.
	if _, err := m.EndUser(context.Background(), "usr_other"); err != nil {
		t.Fatal(err)
	}
	if n := sendDue(t, m); n != 0 {
		t.Errorf("revocations after a provider-reported logout = %d; want 0", n)
	}
}

func TestRevocationRetriesWithBackoffUntilTheProviderAnswers(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	logs := &lockedBuffer{}
	fake := newFakeRevoker(func(_ string, n int) error {
		if n <= 2 {
			return fmt.Errorf("%w: connection refused", scalekit.ErrUnavailable)
		}
		return nil
	})
	m := revokingManager(t, db, clk, fake, logs)
	me := current(t, m, signIn(t, m, testRecord("usr_b", "ses_me")))
	signIn(t, m, testRecord("usr_b", "ses_phone"))
	if _, err := m.RevokeOthers(context.Background(), me); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		advance time.Duration
		sent    int
	}{
		{0, 1},                              // the first attempt fails
		{time.Second - time.Millisecond, 0}, // not due yet
		{time.Millisecond, 1},               // 1s later: fails again
		{5*time.Second - time.Millisecond, 0},
		{time.Millisecond, 1}, // 5s later: revoked
		{time.Hour, 0},        // done: never sent again
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if n := sendDue(t, m); n != s.sent {
			t.Fatalf("step %d: sent %d; want %d (calls %v)", i, n, s.sent, fake.Calls())
		}
	}
	if got := strings.Count(logs.String(), "will retry"); got != 2 || !strings.Contains(logs.String(), "session revoked at the identity provider") {
		t.Errorf("logs = %s; want two retries, then revoked", logs)
	}
}

func TestRevocationOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		wantCalls int
		wantLog   string
		wantLevel string
	}{
		{"no such session is done", fmt.Errorf("revoke: %w", scalekit.ErrNotFound), 1, "session already gone", "INFO"},
		{"a 4xx is not retried", &scalekit.APIError{Status: 400, Message: "invalid session id"}, 1, "refused to revoke the session; giving up", "ERROR"},
		{"an outage is given up after the last retry", scalekit.ErrUnavailable, 3, "could not revoke the session at the identity provider; giving up", "ERROR"},
		{"refused credentials are retried, then given up", &scalekit.RefusedError{Code: "invalid_client"}, 3, "giving up", "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := redistest.New(t)
			clk := newClock()
			logs := &lockedBuffer{}
			fake := newFakeRevoker(func(string, int) error { return tc.err })
			m := revokingManager(t, db, clk, fake, logs)
			me := current(t, m, signIn(t, m, testRecord("usr_o", "ses_me")))
			signIn(t, m, testRecord("usr_o", "ses_gone"))
			if _, err := m.RevokeOthers(context.Background(), me); err != nil {
				t.Fatal(err)
			}
			for range 5 {
				sendDue(t, m)
				clk.Advance(time.Minute)
			}
			if got := len(fake.Calls()); got != tc.wantCalls {
				t.Errorf("attempts = %d; want %d", got, tc.wantCalls)
			}
			line := ""
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, tc.wantLog) {
					line = l
				}
			}
			if !strings.Contains(line, "level="+tc.wantLevel) || !strings.Contains(line, "sid=ses_gone") {
				t.Errorf("log line %q; want %s %q naming sid=ses_gone in:\n%s", line, tc.wantLevel, tc.wantLog, logs)
			}
			if keys := db.Keys(t, "revoke:*"); len(keys) != 0 {
				t.Errorf("queue keys = %v; want the job dropped", keys)
			}
		})
	}
}

// A revocation queued by an instance that stops before sending it is sent
// by the next one: the queue lives in Redis.
func TestQueuedRevocationSurvivesARestart(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	before := revokingManager(t, db, clk, newFakeRevoker(nil), &lockedBuffer{})
	me := current(t, before, signIn(t, before, testRecord("usr_s", "ses_me")))
	signIn(t, before, testRecord("usr_s", "ses_phone"))
	if _, err := before.RevokeOthers(context.Background(), me); err != nil {
		t.Fatal(err)
	}
	fake := newFakeRevoker(nil)
	after := revokingManager(t, db, clk, fake, &lockedBuffer{})
	if n := sendDue(t, after); n != 1 || !slices.Equal(fake.Calls(), []string{"ses_phone"}) {
		t.Errorf("after a restart: sent %d %v; want ses_phone", n, fake.Calls())
	}
}

func TestTwoInstancesNeverSendARevocationTwice(t *testing.T) {
	db := redistest.New(t)
	clk := newClock()
	fake := newFakeRevoker(nil)
	a := revokingManager(t, db, clk, fake, &lockedBuffer{})
	b := revokingManager(t, db, clk, fake, &lockedBuffer{})
	me := current(t, a, signIn(t, a, testRecord("usr_t", "ses_me")))
	var want []string
	for i := range 30 {
		sid := fmt.Sprintf("ses_%02d", i)
		signIn(t, a, testRecord("usr_t", sid))
		want = append(want, sid)
	}
	if _, err := a.RevokeOthers(context.Background(), me); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, m := range []*Manager{a, b, a, b} {
		wg.Go(func() {
			if _, err := m.sendDueRevocations(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := fake.Calls()
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("revocations sent by two instances (-want +got): each exactly once\n%s", diff)
	}
}

// An instance that took a job and died leaves it to another when the lease
// ends; the first cannot then drop the second's job.
func TestLeaseTakeover(t *testing.T) {
	for name, newManager := range map[string]func(t *testing.T, clk *clock) (*Manager, *Manager){
		"redis": func(t *testing.T, clk *clock) (*Manager, *Manager) {
			db := redistest.New(t)
			return revokingManager(t, db, clk, newFakeRevoker(nil), &lockedBuffer{}), revokingManager(t, db, clk, newFakeRevoker(nil), &lockedBuffer{})
		},
		"memory": func(t *testing.T, clk *clock) (*Manager, *Manager) {
			m := NewMemory(Options{Now: clk.Now})
			m.SetRevoker(newFakeRevoker(nil), RevokeOptions{Lease: time.Minute})
			return m, m
		},
	} {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			a, b := newManager(t, clk)
			ctx := context.Background()
			if err := a.queue.enqueue(ctx, clk.Now(), "ses_x"); err != nil {
				t.Fatal(err)
			}
			now := clk.Now()
			first, ok, err := a.queue.claim(ctx, now, now.Add(time.Minute))
			if !ok || err != nil || first.Attempts != 1 {
				t.Fatalf("claim = %+v, %t, %v; want attempt 1", first, ok, err)
			}
			if _, ok, _ := b.queue.claim(ctx, now, now.Add(time.Minute)); ok {
				t.Fatal("a leased job was taken twice")
			}
			clk.Advance(time.Minute)
			now = clk.Now()
			second, ok, _ := b.queue.claim(ctx, now, now.Add(time.Minute))
			if !ok || second.Attempts != 2 {
				t.Fatalf("claim after the lease = %+v, %t; want attempt 2", second, ok)
			}
			if err := a.queue.finish(ctx, first); err != nil {
				t.Fatal(err)
			}
			if err := b.queue.retry(ctx, second, now); err != nil {
				t.Fatal(err)
			}
			if third, ok, _ := b.queue.claim(ctx, now, now.Add(time.Minute)); !ok || third.Attempts != 3 {
				t.Errorf("claim after a stale finish = %+v, %t; want the job still queued", third, ok)
			}
		})
	}
}

func TestMemoryStoreRevokesAtTheProvider(t *testing.T) {
	clk := newClock()
	fake := newFakeRevoker(func(_ string, n int) error {
		if n == 1 {
			return scalekit.ErrUnavailable
		}
		return nil
	})
	m := NewMemory(Options{Now: clk.Now})
	m.SetRevoker(fake, RevokeOptions{Backoff: testBackoff})
	me := current(t, m, signIn(t, m, testRecord("usr_m", "ses_me")))
	signIn(t, m, testRecord("usr_m", "ses_phone"))
	if _, err := m.RevokeOthers(context.Background(), me); err != nil {
		t.Fatal(err)
	}
	sendDue(t, m)
	clk.Advance(time.Second)
	sendDue(t, m)
	clk.Advance(time.Hour)
	sendDue(t, m)
	if diff := cmp.Diff([]string{"ses_phone", "ses_phone"}, fake.Calls()); diff != "" {
		t.Errorf("calls (-want +got): a failure, then success\n%s", diff)
	}
}

// The worker sends a revocation as soon as this instance queues it, and
// stops with its context.
func TestRunRevocationsSendsAtOnceAndStops(t *testing.T) {
	db := redistest.New(t)
	fake := newFakeRevoker(nil)
	m := revokingManager(t, db, newClock(), fake, &lockedBuffer{})
	m.revokeOpts.Poll = time.Hour // only the wake-up can make it send
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.RunRevocations(ctx)
		close(done)
	}()
	me := current(t, m, signIn(t, m, testRecord("usr_w", "ses_me")))
	signIn(t, m, testRecord("usr_w", "ses_phone"))
	if _, err := m.RevokeOthers(context.Background(), me); err != nil {
		t.Fatal(err)
	}
	select {
	case sid := <-fake.called:
		if sid != "ses_phone" {
			t.Errorf("revoked %q; want ses_phone", sid)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not send the queued revocation")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunRevocations did not return after its context ended")
	}
}

// The device is signed out here by the time its revocation is queued; a
// client that hangs up then must not keep it from being revoked at Scalekit.
func TestRevocationIsQueuedWhenTheClientHangsUp(t *testing.T) {
	db := redistest.New(t)
	fake := newFakeRevoker(nil)
	m := revokingManager(t, db, newClock(), fake, &lockedBuffer{})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	m.queueRemoteRevocations(gone, []indexEntry{{SID: "ses_phone"}}, "")
	if n := sendDue(t, m); n != 1 || !slices.Equal(fake.Calls(), []string{"ses_phone"}) {
		t.Errorf("revocations sent = %d %v; want ses_phone's, queued despite the cancelled request", n, fake.Calls())
	}
}

// During a Redis outage the worker polls on; the log says so once, when the
// outage starts, and once more when it is over, not at every poll.
func TestRevocationWorkerWarnsOncePerOutage(t *testing.T) {
	srv := redistest.Start(t)
	pool, err := NewPool(srv.URL, PoolOptions{DialTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	logs := &lockedBuffer{}
	m := NewRedis(pool, Options{Cache: CacheOptions{Off: true},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	m.SetRevoker(newFakeRevoker(nil), RevokeOptions{Poll: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		m.RunRevocations(ctx)
		close(done)
	}()
	defer func() { cancel(); <-done }()

	count := func(msg string) int { return strings.Count(logs.String(), msg) }
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waited 10s for %s; logs:\n%s", what, logs)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	srv.Stop()
	waitFor("several failed polls", func() bool { return count("revocation queue still unreadable") >= 3 })
	if n := count("level=WARN"); n != 1 {
		t.Errorf("warnings during one outage = %d; want 1:\n%s", n, logs)
	}
	srv.Restart()
	waitFor("the recovery to be logged", func() bool { return count("revocation queue readable again") == 1 })
	srv.Stop()
	waitFor("the next outage's warning", func() bool { return count("level=WARN") == 2 })
}
