package scalekit

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// jwksRefetchInterval is the least time between two fetches of the key set.
//
// go-oidc's RemoteKeySet refetches the key set whenever a token's signature
// does not verify with the cached keys: an unknown kid, but also a forged
// signature under a known kid. Back-channel logout tokens arrive on a public
// endpoint, so without a floor anyone could make us fetch the key set once per
// request. Within the interval the last key set is served from memory. The
// cost: a key that the environment starts using within the interval of our
// last fetch is unknown to us for at most that long.
const jwksRefetchInterval = 5 * time.Second

// newKeysHTTPClient returns a copy of hc whose transport throttles fetches;
// the client is used for the key set only.
func newKeysHTTPClient(hc *http.Client, now func() time.Time) *http.Client {
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *hc
	c.Transport = &jwksTransport{next: next, now: now, sem: make(chan struct{}, 1)}
	return &c
}

// jwksTransport serves the last successful key-set response from memory for
// jwksRefetchInterval, and lets one fetch run at a time.
type jwksTransport struct {
	next http.RoundTripper
	now  func() time.Time
	sem  chan struct{} // held during a fetch

	// failures counts failed fetches, so a verification that failed for want
	// of keys can be told from a bad token.
	failures atomic.Int64

	// guarded by sem
	url       string
	header    http.Header
	body      []byte
	fetchedAt time.Time
}

func (t *jwksTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return t.next.RoundTrip(req)
	}
	select {
	case t.sem <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	defer func() { <-t.sem }()

	now := t.now()
	if t.body != nil && t.url == req.URL.String() && !now.Before(t.fetchedAt) && now.Sub(t.fetchedAt) < jwksRefetchInterval {
		return t.cached(req), nil
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.failures.Add(1)
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	t.url, t.header, t.body, t.fetchedAt = req.URL.String(), resp.Header.Clone(), body, now
	t.header.Del("Content-Length")
	return t.cached(req), nil
}

// fetchFailures is how many key-set fetches have failed so far.
func (c *OIDCClient) fetchFailures() int64 {
	if t, ok := c.keysHTTP.Transport.(*jwksTransport); ok {
		return t.failures.Load()
	}
	return 0
}

func (t *jwksTransport) cached(req *http.Request) *http.Response {
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        t.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       req,
	}
}

// verifyError gives a failed verification its kind: ErrUnavailable when the
// key set could not be fetched while verifying (the provider is down, the
// token may be fine: retry), else ErrInvalidToken.
func (c *OIDCClient) verifyError(failuresBefore int64, what string, err error) error {
	if c.fetchFailures() > failuresBefore {
		return fmt.Errorf("%w: %s: fetching the key set: %w", ErrUnavailable, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrInvalidToken, what, err)
}
