package scalekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwksRefetchInterval is the least time between two fetches of the key set.
//
// A verifier must refetch the key set when a token names a kid it has not
// seen (OpenID Connect Core §10.1.1), but a forged signature under a known kid
// looks the same from here. Back-channel logout tokens, webhooks and
// idp_initiated_login tokens arrive on public endpoints, so without a floor
// anyone could make us fetch the key set once per request. Within the
// interval the last key set is used, and after a failed fetch its error is
// returned again: a provider outage must not turn a flood of unknown kids
// into one fetch each either. The cost: a key that the environment starts
// using within the interval of our last fetch is unknown to us for at most
// that long.
const jwksRefetchInterval = 5 * time.Second

// keySet is the environment's signing keys, an oidc.KeySet for go-oidc's
// verifiers. It replaces go-oidc's RemoteKeySet, whose shared fetch hands a
// caller that arrives just after a fetch finished that fetch's stale result
// (coreos/go-oidc: the in-flight request is marked done before it is
// cleared), so a token signed with a newly published key could fail to
// verify at random. Here the keys are stored before the fetch lock is
// released, and the lock also makes concurrent callers share one fetch.
type keySet struct {
	url  string
	http *http.Client
	now  func() time.Time
	sem  chan struct{} // held while deciding whether to fetch, and fetching

	// failedAt and lastErr are the last fetch's failure; guarded by sem.
	failedAt time.Time
	lastErr  error

	// failures counts failed fetches, so that a verification that failed for
	// want of keys (the provider is down: retry) can be told from a bad token.
	// go-oidc's verifier flattens the key set's error into a string.
	failures atomic.Int64

	mu        sync.RWMutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time
}

func newKeySet(url string, hc *http.Client, now func() time.Time) *keySet {
	return &keySet{url: url, http: hc, now: now, sem: make(chan struct{}, 1)}
}

// VerifySignature implements oidc.KeySet: it verifies a JWS with the cached
// keys and, failing that, with a refetched key set (at most once per
// jwksRefetchInterval). go-oidc has checked the algorithm already.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(jwt, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %w", err)
	}
	if payload, ok := verifyWith(jws, k.cached()); ok {
		return payload, nil
	}
	keys, err := k.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys); ok {
		return payload, nil
	}
	return nil, errors.New("no key of the environment verifies the signature")
}

// verifyWith tries the keys with the token's kid (all keys when it names none).
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey) ([]byte, bool) {
	kid := jws.Signatures[0].Header.KeyID
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&keys[i]); err == nil {
			return payload, true
		}
	}
	return nil, false
}

func (k *keySet) cached() []jose.JSONWebKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys
}

// loaded reports whether a key set has been fetched at least once.
func (k *keySet) loaded() bool { return len(k.cached()) > 0 }

// refresh returns the keys fetched within the last jwksRefetchInterval, or
// fetches them now. Concurrent callers wait for one fetch and share it.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	select {
	case k.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-k.sem }()

	now := k.now()
	k.mu.RLock()
	keys, fetchedAt := k.keys, k.fetchedAt
	k.mu.RUnlock()
	if keys != nil && !now.Before(fetchedAt) && now.Sub(fetchedAt) < jwksRefetchInterval {
		return keys, nil
	}
	if k.lastErr != nil && !now.Before(k.failedAt) && now.Sub(k.failedAt) < jwksRefetchInterval {
		k.failures.Add(1)
		return nil, fmt.Errorf("fetching the key set failed %s ago: %w", now.Sub(k.failedAt).Round(time.Millisecond), k.lastErr)
	}
	keys, err := k.fetch(ctx)
	if err != nil {
		k.failures.Add(1)
		if ctx.Err() == nil { // not a caller that gave up: the provider failed
			k.failedAt, k.lastErr = now, err
		}
		return nil, fmt.Errorf("fetching the key set: %w", err)
	}
	k.failedAt, k.lastErr = time.Time{}, nil
	k.mu.Lock()
	k.keys, k.fetchedAt = keys, now
	k.mu.Unlock()
	return keys, nil
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	// We only fetch when a key is missing: a cache on the way must not answer
	// with the key set we already have.
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := k.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", k.url, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocumentBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("%s is not a key set: %w", k.url, err)
	}
	var keys []jose.JSONWebKey
	for _, key := range set.Keys {
		if key.Valid() && key.IsPublic() && (key.Use == "" || key.Use == "sig") {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s has no public signing key", k.url)
	}
	return keys, nil
}

// verifyError gives a failed verification its kind: ErrUnavailable when the
// key set could not be fetched while verifying (the provider is down, the
// token may be fine: retry), else ErrInvalidToken.
func verifyError(keys *keySet, failuresBefore int64, what string, err error) error {
	if keys.failures.Load() > failuresBefore {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrInvalidToken, what, err)
}
