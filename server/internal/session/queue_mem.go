package session

import (
	"context"
	"time"
)

// The in-process revocation queue of memBackend: the same jobs, leases and
// fences as in Redis, lost on restart like every in-memory session.

type memJob struct {
	due      time.Time
	attempts int
}

func (b *memBackend) enqueue(_ context.Context, due time.Time, sids ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sid := range sids {
		if _, queued := b.jobs[sid]; !queued {
			b.jobs[sid] = &memJob{due: due}
		}
	}
	return nil
}

func (b *memBackend) claim(_ context.Context, now, leaseUntil time.Time) (revokeJob, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sid := ""
	for s, j := range b.jobs {
		if !j.due.After(now) && (sid == "" || j.due.Before(b.jobs[sid].due)) {
			sid = s
		}
	}
	if sid == "" {
		return revokeJob{}, false, nil
	}
	j := b.jobs[sid]
	j.due = leaseUntil
	j.attempts++
	return revokeJob{SID: sid, Attempts: j.attempts}, true, nil
}

func (b *memBackend) finish(_ context.Context, job revokeJob) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if j, ok := b.jobs[job.SID]; ok && j.attempts == job.Attempts {
		delete(b.jobs, job.SID)
	}
	return nil
}

func (b *memBackend) retry(_ context.Context, job revokeJob, due time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if j, ok := b.jobs[job.SID]; ok && j.attempts == job.Attempts {
		j.due = due
	}
	return nil
}
