package scalekit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Scalekit's fixed paths, relative to the environment URL, used when the
// environment serves no discovery document.
const (
	authorizePath  = "/oauth/authorize"
	tokenPath      = "/oauth/token"
	keysPath       = "/keys"
	endSessionPath = "/oidc/logout"
	discoveryPath  = "/.well-known/openid-configuration"
)

// discoveryTimeout bounds one discovery attempt, whatever the HTTP client's
// own timeouts.
const discoveryTimeout = 10 * time.Second

// maxDocumentBytes bounds discovery documents and key sets we read.
const maxDocumentBytes = 1 << 20

// provider is what discovery found. It never changes once found, so every
// verifier shares one key set for the life of the client.
type provider struct {
	issuer        string
	authURL       string
	tokenURL      string
	jwksURL       string
	endSessionURL string

	keys         *keySet
	idTokens     *oidc.IDTokenVerifier
	accessTokens *oidc.IDTokenVerifier
	logoutTokens *oidc.IDTokenVerifier
	// idpInitiatedLogins checks signature and iss; the rest is checked in
	// GetIdpInitiatedLoginClaims.
	idpInitiatedLogins *oidc.IDTokenVerifier
}

type discoveryDocument struct {
	Issuer             string `json:"issuer"`
	AuthURL            string `json:"authorization_endpoint"`
	TokenURL           string `json:"token_endpoint"`
	JWKSURL            string `json:"jwks_uri"`
	EndSessionEndpoint string `json:"end_session_endpoint"`
}

// provider returns the discovered endpoints, discovering them first if no
// attempt has succeeded yet. Concurrent callers share one attempt, which a
// caller's cancellation does not abort for the others.
func (c *OIDCClient) provider(ctx context.Context) (*provider, error) {
	if p := c.endpoints.Load(); p != nil {
		return p, nil
	}
	ch := c.discovery.DoChan("discover", func() (any, error) {
		if p := c.endpoints.Load(); p != nil {
			return p, nil
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
		defer cancel()
		p, err := c.discover(dctx)
		if err != nil {
			c.log.WarnContext(dctx, "scalekit: discovery failed; will retry on the next call", "issuer", c.issuer, "error", err)
			return nil, err
		}
		c.endpoints.Store(p)
		c.log.InfoContext(dctx, "scalekit: environment endpoints loaded", "issuer", p.issuer,
			"authorize", p.authURL, "token", p.tokenURL, "keys", p.jwksURL, "logout", p.endSessionURL)
		return p, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: discovery: %w", ErrUnavailable, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*provider), nil
	}
}

// discover reads the discovery document. A 404 or 410 means the environment
// serves none, and Scalekit's fixed paths apply; any other failure is
// ErrUnavailable and is retried on a later call.
func (c *OIDCClient) discover(ctx context.Context) (*provider, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.envURL+discoveryPath, nil)
	if err != nil {
		return nil, fmt.Errorf("scalekit: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: discovery: %w", ErrUnavailable, err)
	}

	var doc discoveryDocument
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(body, &doc); err != nil {
			return nil, fmt.Errorf("%w: discovery: %s is not a discovery document: %v", ErrUnavailable, req.URL, err)
		}
		// The issuer must be the expected one, or an environment could vouch
		// for another's tokens (OpenID Connect Discovery 1.0 §4.3). Only a
		// trailing slash may differ; the iss claim is then checked against the
		// discovered value.
		if strings.TrimSuffix(doc.Issuer, "/") != c.issuer {
			return nil, fmt.Errorf("%w: discovery: issuer %q is not the expected %q (set SCALEKIT_ISSUER when a custom domain names another)", ErrUnavailable, doc.Issuer, c.issuer)
		}
	case http.StatusNotFound, http.StatusGone:
		doc = discoveryDocument{Issuer: c.issuer}
		c.log.InfoContext(ctx, "scalekit: no discovery document; using Scalekit's fixed paths", "issuer", c.issuer)
	default:
		return nil, fmt.Errorf("%w: discovery: %s answered %s", ErrUnavailable, req.URL, resp.Status)
	}
	return c.newProvider(doc), nil
}

func (c *OIDCClient) newProvider(doc discoveryDocument) *provider {
	or := func(s, path string) string {
		if s != "" {
			return s
		}
		return c.envURL + path
	}
	p := &provider{
		issuer:        doc.Issuer,
		authURL:       or(doc.AuthURL, authorizePath),
		tokenURL:      or(doc.TokenURL, tokenPath),
		jwksURL:       or(doc.JWKSURL, keysPath),
		endSessionURL: or(doc.EndSessionEndpoint, endSessionPath),
	}
	// One key set for every verifier: it caches the keys, refetches on an
	// unknown kid and lets concurrent callers share one fetch.
	keys := newKeySet(p.jwksURL, c.http, c.now)
	p.keys = keys
	// RS256 only, whatever discovery advertises: Scalekit signs with RS256,
	// and a fixed list rules out alg=none and HS256-with-the-public-key.
	algs := []string{oidc.RS256}
	p.idTokens = oidc.NewVerifier(p.issuer, keys, &oidc.Config{
		ClientID:             c.clientID,
		SupportedSigningAlgs: algs,
		Now:                  c.now,
	})
	// Access tokens: signature, iss and exp, but not aud. Scalekit does not
	// document an access token's audience as this client's id (it may name
	// the environment or an API), and we only ever validate access tokens that
	// we received from the token endpoint ourselves, never bearer tokens.
	p.accessTokens = oidc.NewVerifier(p.issuer, keys, &oidc.Config{
		SkipClientIDCheck:    true,
		SupportedSigningAlgs: algs,
		Now:                  c.now,
	})
	// Logout tokens: iat and the optional exp are checked in VerifyLogoutToken.
	p.logoutTokens = oidc.NewVerifier(p.issuer, keys, &oidc.Config{
		ClientID:             c.clientID,
		SupportedSigningAlgs: algs,
		SkipExpiryCheck:      true,
		Now:                  c.now,
	})
	p.idpInitiatedLogins = oidc.NewVerifier(p.issuer, keys, &oidc.Config{
		SkipClientIDCheck:    true,
		SupportedSigningAlgs: algs,
		SkipExpiryCheck:      true,
		Now:                  c.now,
	})
	return p
}

// Ready returns nil once discovery has succeeded and the key set has been
// fetched at least once; both facts are cached, so a ready client answers
// without I/O. Otherwise it tries now and returns an ErrUnavailable error.
func (c *OIDCClient) Ready(ctx context.Context) error {
	p, err := c.provider(ctx)
	if err != nil {
		return err
	}
	if p.keys.loaded() {
		return nil
	}
	if _, err := p.keys.refresh(ctx); err != nil {
		return fmt.Errorf("%w: keys: %w", ErrUnavailable, err)
	}
	return nil
}
