package session

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// A device signed out from the sessions page must not sign straight back in
// with the Scalekit session it still holds, so its Scalekit session is
// revoked there too. The local revocation never waits for that: the Scalekit
// session id goes into a queue in the store (Redis, so a restart loses
// nothing), and a worker in every instance sends the queued revocations,
// retrying with backoff while Scalekit is unreachable.

// Revoker ends a Scalekit session by its id; scalekit.Client satisfies it.
type Revoker interface {
	RevokeSession(ctx context.Context, sessionID string) error
}

// RevokeOptions configure the revocations sent to the identity provider.
type RevokeOptions struct {
	// Backoff is the wait after each failed attempt; after the last one the
	// revocation is dropped with an error in the log (default 1s, 5s, 30s,
	// 2m, 10m: six attempts over about 13 minutes).
	Backoff []time.Duration
	// Poll is how often an idle worker looks for revocations that another
	// instance queued or that came due for a retry (default 1s).
	Poll time.Duration
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	// Lease hides a revocation that a worker took from the others (default
	// 1m, well over Timeout); if that worker's instance dies, another takes
	// the revocation over when the lease ends.
	Lease time.Duration
}

// revokeJob is a queued revocation that a worker took.
type revokeJob struct {
	SID string
	// Attempts counts the times a worker took it, this time included. It is
	// also the lease's fence: finishing or rescheduling is refused once
	// another worker took the job over.
	Attempts int
}

// revokeQueue is the store's queue of Scalekit sessions to revoke, one job
// per session id, each due at a time.
type revokeQueue interface {
	// enqueue adds jobs due at due; a session id queued already keeps its job.
	enqueue(ctx context.Context, due time.Time, sids ...string) error
	// claim takes the earliest job due at now and leases it until leaseUntil.
	claim(ctx context.Context, now, leaseUntil time.Time) (revokeJob, bool, error)
	// finish drops a taken job, unless another worker took it over.
	finish(ctx context.Context, job revokeJob) error
	// retry makes a taken job due again at due, unless another worker took it over.
	retry(ctx context.Context, job revokeJob, due time.Time) error
}

// SetRevoker makes Revoke and RevokeOthers revoke the ended sessions' Scalekit
// sessions too, sent by RunRevocations.
func (m *Manager) SetRevoker(r Revoker, opts RevokeOptions) {
	if opts.Backoff == nil {
		opts.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	m.revoker, m.revokeOpts = r, opts
	m.revokeWake = make(chan struct{}, 1)
}

// queueRemoteRevocations queues the Scalekit sessions of ended sessions,
// except keepSID (the current device's). The local sign-out is done
// already, so a store failure here is logged, not returned.
func (m *Manager) queueRemoteRevocations(ctx context.Context, ended []indexEntry, keepSID string) {
	if m.revoker == nil {
		return
	}
	var sids []string
	for _, e := range ended {
		if e.SID != "" && e.SID != keepSID && !slices.Contains(sids, e.SID) {
			sids = append(sids, e.SID)
		}
	}
	if len(sids) == 0 {
		return
	}
	// Detached: the sessions here are ended already, and a client that hangs
	// up now must not leave them alive at Scalekit.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := m.queue.enqueue(ctx, m.opts.Now(), sids...); err != nil {
		m.log.ErrorContext(ctx, "could not queue the revocation at the identity provider; those sessions end there only when they expire",
			"sids", sids, "err", err)
		return
	}
	m.log.InfoContext(ctx, "revocation at the identity provider queued", "sids", sids)
	select {
	case m.revokeWake <- struct{}{}:
	default: // the worker is awake already
	}
}

// RunRevocations sends queued revocations until ctx ends: at once when this
// instance queues one, and every Poll for the others' and for retries. Every
// instance runs one; a revocation is sent by one of them at a time.
func (m *Manager) RunRevocations(ctx context.Context) {
	if m.revoker == nil {
		return
	}
	failing := false // an outage is warned of once, not at every poll
	for {
		_, err := m.sendDueRevocations(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil && !failing:
			m.log.WarnContext(ctx, "could not read the revocation queue; retrying at every poll", "err", err)
			failing = true
		case err != nil:
			m.log.DebugContext(ctx, "revocation queue still unreadable", "err", err)
		case failing:
			m.log.InfoContext(ctx, "revocation queue readable again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-m.revokeWake:
		case <-time.After(m.revokeOpts.Poll):
		}
	}
}

// sendDueRevocations sends every revocation due now and returns how many it
// took.
func (m *Manager) sendDueRevocations(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		now := m.opts.Now()
		job, ok, err := m.queue.claim(ctx, now, now.Add(m.revokeOpts.Lease))
		if err != nil || !ok {
			return n, err
		}
		m.sendRevocation(ctx, job)
		n++
	}
	return n, ctx.Err()
}

// sendRevocation makes one attempt. Success and "no such session" are done;
// an answer that retrying cannot change (a 4xx) and the last failed attempt
// are dropped with an error in the log; anything else is retried later.
func (m *Manager) sendRevocation(ctx context.Context, job revokeJob) {
	callCtx, cancel := context.WithTimeout(ctx, m.revokeOpts.Timeout)
	err := m.revoker.RevokeSession(callCtx, job.SID)
	cancel()
	// Bookkeeping survives a shutdown that interrupted the call: the job is
	// then retried, not lost.
	bookCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	log := m.log.With("sid", job.SID, "attempt", job.Attempts)
	_, refused := errors.AsType[*scalekit.APIError](err)
	var done error
	switch {
	case err == nil:
		log.InfoContext(ctx, "session revoked at the identity provider")
		done = m.queue.finish(bookCtx, job)
	case errors.Is(err, scalekit.ErrNotFound):
		log.InfoContext(ctx, "session already gone at the identity provider")
		done = m.queue.finish(bookCtx, job)
	case refused:
		log.ErrorContext(ctx, "the identity provider refused to revoke the session; giving up", "err", err)
		done = m.queue.finish(bookCtx, job)
	case job.Attempts > len(m.revokeOpts.Backoff):
		log.ErrorContext(ctx, "could not revoke the session at the identity provider; giving up", "err", err)
		done = m.queue.finish(bookCtx, job)
	default:
		wait := m.revokeOpts.Backoff[job.Attempts-1]
		log.WarnContext(ctx, "could not revoke the session at the identity provider; will retry", "in", wait, "err", err)
		done = m.queue.retry(bookCtx, job, m.opts.Now().Add(wait))
	}
	if done != nil {
		log.WarnContext(ctx, "could not update the revocation queue; the job comes back when its lease ends", "err", done)
	}
}
