package scalekit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/example/scalekit-bff/server/internal/tracing"
)

// Config configures an OIDCClient.
type Config struct {
	// EnvironmentURL is the Scalekit environment URL: discovery, the fixed
	// endpoints and the REST API live under it. It may have a path
	// (http://127.0.0.1:5556/dex). A trailing slash is ignored.
	EnvironmentURL string
	// Issuer is the "iss" expected in the discovery document and in every
	// token (SCALEKIT_ISSUER). Default: EnvironmentURL. An environment behind
	// a custom domain may be reached at one URL and name another issuer.
	Issuer string
	// ClientID and ClientSecret authenticate this app at the token endpoint,
	// always in the form body (client_secret_post).
	ClientID     string
	ClientSecret string
	// HTTPClient makes every call to the environment. Default: a client that
	// gives up after 5s to connect, 5s for the TLS handshake and 10s overall.
	HTTPClient *http.Client
	// Now is the clock for token verification. Default: time.Now.
	Now func() time.Time
	// Tracing, when set, makes a client span of every call to the
	// environment and sends it W3C trace context. Default: none.
	Tracing trace.TracerProvider
	// Logger receives lifecycle messages (discovery). Never tokens, codes or
	// secrets. Default: discard.
	Logger *slog.Logger
}

// OIDCClient implements Client with golang.org/x/oauth2 and go-oidc.
//
// It discovers the environment's endpoints lazily, on the first call that
// needs them, and caches them once discovery succeeds, so the server starts
// while the environment is down; until it is up, calls fail with
// ErrUnavailable.
type OIDCClient struct {
	envURL       string // EnvironmentURL without a trailing slash
	issuer       string // Issuer (default envURL) without a trailing slash
	clientID     string
	clientSecret string
	http         *http.Client // every call to the environment
	now          func() time.Time
	log          *slog.Logger

	api       *apiClient
	endpoints atomic.Pointer[provider]
	discovery singleflight.Group
}

var _ Client = (*OIDCClient)(nil)

// New returns a client for the environment. It does no network I/O, so it
// succeeds while the environment is down; it fails only on bad configuration.
// The context is not used after New returns.
func New(_ context.Context, cfg Config) (*OIDCClient, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	if cfg.Tracing != nil {
		hc = tracing.Client(hc, cfg.Tracing, "scalekit")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &OIDCClient{
		envURL:       strings.TrimSuffix(cfg.EnvironmentURL, "/"),
		issuer:       strings.TrimSuffix(cmp.Or(cfg.Issuer, cfg.EnvironmentURL), "/"),
		clientID:     cfg.ClientID,
		clientSecret: cfg.ClientSecret,
		http:         hc,
		now:          now,
		log:          logger,
	}
	c.api = c.newAPIClient()
	return c, nil
}

func (cfg Config) validate() error {
	var errs []error
	u, err := url.Parse(cfg.EnvironmentURL)
	switch {
	case cfg.EnvironmentURL == "":
		errs = append(errs, errors.New("environment URL is empty"))
	case err != nil:
		errs = append(errs, fmt.Errorf("environment URL: %w", err))
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		errs = append(errs, fmt.Errorf("environment URL %q: want an absolute http(s) URL", cfg.EnvironmentURL))
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("environment URL %q: want no query, fragment or user info", cfg.EnvironmentURL))
	}
	if cfg.Issuer != "" {
		if u, err := url.Parse(cfg.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("issuer %q: want an absolute http(s) URL", cfg.Issuer))
		}
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("client ID is empty"))
	}
	if cfg.ClientSecret == "" {
		errs = append(errs, errors.New("client secret is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scalekit: %w", err)
	}
	return nil
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ResponseHeaderTimeout = 10 * time.Second
	return &http.Client{Transport: t, Timeout: 10 * time.Second}
}

// oauth2Config is built per call because the redirect URI is per call.
func (c *OIDCClient) oauth2Config(p *provider, redirectURI string, scopes []string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.clientID,
		ClientSecret: c.clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:  p.authURL,
			TokenURL: p.tokenURL,
			// client_secret_post, and only that: AuthStyleAutoDetect would
			// retry a refused request with the other style, spending a
			// single-use code or a rotating refresh token twice.
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: redirectURI,
		Scopes:      scopes,
	}
}

// oauth2Context makes x/oauth2 use our HTTP client.
func (c *OIDCClient) oauth2Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}
