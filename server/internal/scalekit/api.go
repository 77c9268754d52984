package scalekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"
)

// The environment's REST API (/api/v1/…) authenticates the app itself: a
// bearer token from the token endpoint's client_credentials grant, with the
// same client id and secret (scalekit-inc/developer-docs, openapi/scalekit.yaml,
// "Authentication"). Scalekit's tokens live about a day (expires_in 86399).

// apiTokenEarly is how long before its expiry a cached API token is replaced,
// so a token never expires between our check and Scalekit's.
const apiTokenEarly = time.Minute

// maxAPIBody bounds an API answer we read.
const maxAPIBody = 1 << 20

// ErrNotFound means the REST API has no such object (404).
var ErrNotFound = errors.New("scalekit: not found")

// APIError is an answer of the REST API that is neither success, 404, nor an
// outage (ErrUnavailable): a 4xx the caller cannot fix by retrying.
type APIError struct {
	Status  int
	Message string // the API's own message, for the log
}

func (e *APIError) Error() string {
	return fmt.Sprintf("scalekit: API answered %d: %s", e.Status, e.Message)
}

// apiClient calls the REST API with a cached client-credentials token.
type apiClient struct {
	base  string // the environment URL: /api/v1/… lives under it
	http  *http.Client
	now   func() time.Time
	fetch func(context.Context) (*oauth2.Token, error)

	mu      sync.Mutex
	cached  *oauth2.Token
	fetches singleflight.Group
}

func (c *OIDCClient) newAPIClient() *apiClient {
	return &apiClient{base: c.envURL, http: c.http, now: c.now, fetch: c.fetchAPIToken}
}

// fetchAPIToken asks the token endpoint for a new client-credentials token.
func (c *OIDCClient) fetchAPIToken(ctx context.Context) (*oauth2.Token, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	cfg := clientcredentials.Config{
		ClientID:     c.clientID,
		ClientSecret: c.clientSecret,
		TokenURL:     p.tokenURL,
		AuthStyle:    oauth2.AuthStyleInParams, // as for every other grant: client_secret_post only
	}
	tok, err := cfg.Token(c.oauth2Context(ctx))
	if err != nil {
		return nil, fmt.Errorf("API token: %w", tokenError(err))
	}
	return tok, nil
}

// token returns the cached token until apiTokenEarly before it expires, then
// a new one; concurrent callers share one fetch, which a caller's
// cancellation does not abort for the others.
func (a *apiClient) token(ctx context.Context) (*oauth2.Token, error) {
	a.mu.Lock()
	tok := a.cached
	a.mu.Unlock()
	if tok != nil && (tok.Expiry.IsZero() || a.now().Add(apiTokenEarly).Before(tok.Expiry)) {
		return tok, nil
	}
	ch := a.fetches.DoChan("token", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
		defer cancel()
		tok, err := a.fetch(fctx)
		if err != nil {
			return nil, err
		}
		a.mu.Lock()
		a.cached = tok
		a.mu.Unlock()
		return tok, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: API token: %w", ErrUnavailable, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*oauth2.Token), nil
	}
}

// forget drops the cached token if it is the one the API refused (revoked,
// or the secret was rotated); a newer one fetched meanwhile stays.
func (a *apiClient) forget(refused *oauth2.Token) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cached == refused {
		a.cached = nil
	}
}

// do calls the API and decodes a 2xx JSON answer into out (when not nil).
// A 401 replaces the token and tries once more: the token may have been
// revoked, and every call we make is idempotent.
//
// Errors: ErrUnavailable (network, timeout, 429, 5xx, or no token because the
// token endpoint is down), ErrNotFound (404), *RefusedError (the token
// endpoint refused our credentials), *APIError (any other answer).
func (a *apiClient) do(ctx context.Context, method, path string, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := a.token(ctx)
		if err != nil {
			return err
		}
		status, body, err := a.send(ctx, method, path, tok)
		if err != nil {
			return err
		}
		switch {
		case status == http.StatusUnauthorized && attempt == 0:
			a.forget(tok)
			continue
		case status >= 200 && status < 300:
			if out == nil || len(body) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("%w: %s %s: answer is not the expected JSON: %v", ErrUnavailable, method, path, err)
			}
			return nil
		case status == http.StatusNotFound:
			return fmt.Errorf("%w: %s %s", ErrNotFound, method, path)
		case status == http.StatusTooManyRequests || status >= 500:
			return fmt.Errorf("%w: %s %s answered %d", ErrUnavailable, method, path, status)
		default:
			return &APIError{Status: status, Message: apiMessage(body)}
		}
	}
}

func (a *apiClient) send(ctx context.Context, method, path string, tok *oauth2.Token) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("scalekit: API request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	tok.SetAuthHeader(req)
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, method, path, err)
	}
	return resp.StatusCode, body, nil
}

// apiMessage reads the message of Scalekit's error shape
// ({"code": 5, "message": "...", "details": [...]}), bounded for the log.
func apiMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	if len(e.Message) > 200 {
		e.Message = e.Message[:200]
	}
	return e.Message
}

// apiPath builds /api/v1/… with each id escaped as one path segment.
func apiPath(format string, ids ...string) string {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = url.PathEscape(id)
	}
	return fmt.Sprintf(format, args...)
}

// validID refuses ids that could not be Scalekit's (empty, long, odd bytes)
// before they reach a URL.
func validID(id, prefix string) bool {
	if !strings.HasPrefix(id, prefix) || len(id) > 64 {
		return false
	}
	for i := len(prefix); i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return len(id) > len(prefix)
}
