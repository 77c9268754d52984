package session

import (
	"context"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// A claim is not a record of work done: while it is held a duplicate is told
// to come back, a released claim lets the retry work, and only Finish makes
// the id a repeat.
func TestClaimFinishForget(t *testing.T) {
	for name, newManager := range bothStores {
		t.Run(name, func(t *testing.T) {
			m, db := newManager(t)
			ctx := context.Background()
			pttl := func(id string) (int64, error) {
				conn := db.Pool.Get()
				defer conn.Close()
				return redis.Int64(conn.Do("PTTL", db.Prefix+"once:"+id))
			}
			claim := func(id string) Claim {
				t.Helper()
				c, err := m.Claim(ctx, id, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			if got := claim("a"); got != ClaimNew {
				t.Fatalf("first claim = %v; want ClaimNew", got)
			}
			if got := claim("a"); got != ClaimBusy {
				t.Errorf("claim while held = %v; want ClaimBusy", got)
			}
			if db != nil {
				ttl, err := pttl("a")
				if err != nil || ttl <= 0 || ttl > time.Minute.Milliseconds() {
					t.Errorf("a held claim expires in %d ms (%v); want within the claim's minute", ttl, err)
				}
			}
			m.Forget(ctx, "a")
			if got := claim("a"); got != ClaimNew {
				t.Errorf("claim after Forget = %v; want ClaimNew: a failed attempt's retry is handled", got)
			}
			if err := m.Finish(ctx, "a", 24*time.Hour); err != nil {
				t.Fatal(err)
			}
			if got := claim("a"); got != ClaimDone {
				t.Errorf("claim after Finish = %v; want ClaimDone", got)
			}
			if db != nil {
				ttl, err := pttl("a")
				if err != nil || ttl <= time.Hour.Milliseconds() {
					t.Errorf("a finished id expires in %d ms (%v); want about a day", ttl, err)
				}
			}
			if got := claim("b"); got != ClaimNew {
				t.Errorf("another id = %v; want ClaimNew", got)
			}
		})
	}
}
