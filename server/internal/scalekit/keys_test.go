package scalekit_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/example/scalekit-bff/server/internal/scalekit"
)

// warmKeys loads the key set into c and moves the clock past the refetch
// floor, so the next unknown kid may refetch.
func warmKeys(t *testing.T, c *scalekit.OIDCClient, op *testOP) {
	t.Helper()
	if _, err := c.ValidateAccessToken(context.Background(), scalekit.Token(op.sign(keyA(), op.accessClaims("usr_123")))); err != nil {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	op.clock.Advance(scalekit.JWKSRefetchInterval)
}

func TestConcurrentNewKidFetchesKeysOnce(t *testing.T) {
	const n = 50
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	warmKeys(t, c, op)
	before := op.keyHits()

	// The environment rotates to key B; n requests arrive with tokens it signed.
	op.set(func(op *testOP) { op.published = []testKey{keyA(), keyB()} })
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = op.sign(keyB(), op.accessClaims("usr_123"))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.ValidateAccessToken(context.Background(), scalekit.Token(tokens[i]))
		})
	}
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("ValidateAccessToken #%d = %v; want nil", i, err)
		}
	}
	if got := op.keyHits() - before; got != 1 {
		t.Errorf("key set fetches for %d concurrent tokens with a new kid = %d; want 1", n, got)
	}
}

// Logout tokens arrive on a public endpoint: forged ones must not turn into
// one key-set fetch each.
func TestForgedTokensDoNotHammerKeys(t *testing.T) {
	const n = 20
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	warmKeys(t, c, op)
	before := op.keyHits()

	forged := []string{
		op.signLogout(testKey{keyA().kid, keyX().priv}, op.logoutClaims()), // known kid, wrong key
		op.signLogout(keyX(), op.logoutClaims()),                           // unknown kid
	}
	for i := range n {
		_, err := c.VerifyLogoutToken(context.Background(), forged[i%len(forged)])
		if !errors.Is(err, scalekit.ErrInvalidToken) {
			t.Fatalf("VerifyLogoutToken(forged) = %v; want ErrInvalidToken", err)
		}
	}
	if got := op.keyHits() - before; got != 1 {
		t.Errorf("key set fetches for %d forged tokens = %d; want 1", n, got)
	}

	// Past the floor a new key is found again.
	op.clock.Advance(scalekit.JWKSRefetchInterval)
	op.set(func(op *testOP) { op.published = []testKey{keyA(), keyB()} })
	if _, err := c.VerifyLogoutToken(context.Background(), op.signLogout(keyB(), op.logoutClaims())); err != nil {
		t.Errorf("VerifyLogoutToken(new key, after the floor) = %v; want nil", err)
	}
}

func TestReady(t *testing.T) {
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	ctx := context.Background()
	for i := range 3 {
		if err := c.Ready(ctx); err != nil {
			t.Fatalf("Ready #%d = %v; want nil", i, err)
		}
	}
	if got := op.keyHits(); got != 1 {
		t.Errorf("key set fetches after three Ready calls = %d; want 1 (cached)", got)
	}
	// The first verification right after is served the same key set.
	if _, err := c.ValidateAccessToken(ctx, scalekit.Token(op.sign(keyA(), op.accessClaims("usr_123")))); err != nil {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	if got := op.keyHits(); got != 1 {
		t.Errorf("key set fetches after Ready and a verification = %d; want 1", got)
	}
	if got := op.hitCount("/.well-known/openid-configuration"); got != 1 {
		t.Errorf("discovery requests = %d; want 1 (cached)", got)
	}
}

func TestReadyEmptyKeySet(t *testing.T) {
	op := newTestOP(t, opOptions{})
	op.published = nil
	c := newTestClient(t, op)
	if err := c.Ready(context.Background()); !errors.Is(err, scalekit.ErrUnavailable) {
		t.Errorf("Ready(empty key set) = %v; want ErrUnavailable", err)
	}
}

// While the key set cannot be fetched, a flood of tokens with a kid we do not
// know must not make one fetch each: a failed fetch is not retried within the
// refetch floor either, and the tokens are answered as the outage they meet.
func TestFailedKeyFetchIsNotRetriedPerToken(t *testing.T) {
	const n = 20
	op := newTestOP(t, opOptions{})
	c := newTestClient(t, op)
	warmKeys(t, c, op)
	op.set(func(op *testOP) { op.down = true })
	before := op.keyHits()

	for i := range n {
		_, err := c.VerifyLogoutToken(context.Background(), op.signLogout(keyX(), op.logoutClaims()))
		if !errors.Is(err, scalekit.ErrUnavailable) {
			t.Fatalf("VerifyLogoutToken #%d (unknown kid, keys unavailable) = %v; want ErrUnavailable", i, err)
		}
	}
	if got := op.keyHits() - before; got != 1 {
		t.Errorf("key set fetches for %d tokens during an outage = %d; want 1", n, got)
	}

	// Past the floor, with the environment back, its new key is found.
	op.clock.Advance(scalekit.JWKSRefetchInterval)
	op.set(func(op *testOP) { op.down = false; op.published = []testKey{keyA(), keyB()} })
	if _, err := c.VerifyLogoutToken(context.Background(), op.signLogout(keyB(), op.logoutClaims())); err != nil {
		t.Errorf("VerifyLogoutToken(new key, after the floor) = %v; want nil", err)
	}
}
