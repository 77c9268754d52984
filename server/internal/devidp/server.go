package devidp

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Client is a relying party registered at the provider.
type Client struct {
	ID, Secret string
	// RedirectURIs are compared exactly with an authorize request's redirect_uri.
	RedirectURIs []string
	// PostLogoutRedirectURIs are compared exactly with /oidc/logout's
	// post_logout_redirect_uri.
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI, when set, receives an OpenID Connect Back-Channel
	// Logout 1.0 logout_token (a form POST) when /oidc/logout ends one of this
	// client's provider sessions.
	BackchannelLogoutURI string
	// InitiateLoginURI is the app's Initiate login URL (Scalekit's dashboard:
	// Authentication > Redirect URLs): where /dev/idp-initiated-login and
	// /dev/invite send the browser, with the parameters Scalekit would add.
	InitiateLoginURI string
}

// Config configures a Server. Only Issuer and Clients are required.
type Config struct {
	// Issuer is the provider's URL, such as "http://127.0.0.1:8081". It may
	// have a path ("http://host:5556/dex"); every endpoint then lives under it.
	Issuer  string
	Clients []Client

	AccessTokenTTL  time.Duration // default 5m, as at Scalekit
	IDTokenTTL      time.Duration // default 1h
	RefreshTokenTTL time.Duration // default 30 days, renewed on every rotation
	CodeTTL         time.Duration // default 1m
	// APITokenTTL is the lifetime of client-credentials tokens for the REST
	// API; default 24h, as at Scalekit (expires_in 86399).
	APITokenTTL time.Duration

	Now        func() time.Time // default time.Now
	Logger     *slog.Logger     // default: discard
	HTTPClient *http.Client     // delivers back-channel logout tokens; default: 5s timeout
	// SigningKey is the RS256 key; default: a fresh 2048-bit key. Tests that
	// start many servers can share one key to save the key generation.
	SigningKey *rsa.PrivateKey

	// WebhookURL, when set, receives Scalekit-shaped webhooks (user.logout,
	// user.organization_membership_updated and _deleted,
	// organization.deleted), signed with WebhookSecret (whsec_ and base64,
	// Standard Webhooks) and delivered in the background through HTTPClient.
	// A delivery not answered 200, 201 or 202 is retried after each of
	// WebhookRetryDelays (default 5s, 30s, 2m).
	WebhookURL         string
	WebhookSecret      string
	WebhookRetryDelays []time.Duration

	// AccessTokenClaims are custom claims of every access token, as
	// Scalekit's Token Claims page adds them: claim key → Scalekit's
	// expression for a field (user.id, user.email, user.email_verified,
	// user.name, user.given_name, user.family_name, user.picture,
	// user.external_id, organization.id, organization.name,
	// organization.external_id), such as {"given_name": "user.given_name"}.
	// A field without a value leaves its claim out. Default: none, as at
	// Scalekit.
	AccessTokenClaims map[string]string
}

// Server is the development OpenID Provider. It is an http.Handler; all of
// its state lives in memory and is safe for concurrent use.
type Server struct {
	issuer     string
	path       string // the issuer's path, "" or "/dex"
	clients    map[string]Client
	accessTTL  time.Duration
	idTTL      time.Duration
	refreshTTL time.Duration
	codeTTL    time.Duration
	apiTTL     time.Duration
	now        func() time.Time
	log        *slog.Logger
	httpClient *http.Client
	handler    http.Handler
	origin     string // the issuer's scheme://host, for the admin page's same-origin check
	envID      string // env_…, in webhooks
	started    time.Time
	webhooks   *webhookSender // nil without a WebhookURL
	claims     map[string]string

	// Deliveries (webhooks, back-channel logout tokens from the admin page and
	// the API) run in the background until Close.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bgMu     sync.Mutex
	bgClosed bool
	bg       sync.WaitGroup

	mu       sync.Mutex
	keys     []signingKey // the last one signs
	dir      directory
	sessions map[string]*providerSession // by sid
	browsers map[string]*browser         // by hash of the browser cookie
	invites  map[string]*invitation      // by hash of the invitation token
	codes    map[string]*authCode        // by code
	refresh  map[string]*refreshToken    // by hash of the token
	counts   map[string]int
}

// New returns a provider seeded with the test organizations and users (see
// the package documentation).
func New(cfg Config) (*Server, error) {
	issuer, path, err := parseIssuer(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	clients, err := checkClients(cfg.Clients)
	if err != nil {
		return nil, err
	}
	key, err := newSigningKey(cfg.SigningKey)
	if err != nil {
		return nil, err
	}
	webhooks, err := newWebhookSender(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkTokenClaims(cfg.AccessTokenClaims); err != nil {
		return nil, err
	}
	s := &Server{
		issuer:     issuer,
		path:       path,
		clients:    clients,
		accessTTL:  orDefault(cfg.AccessTokenTTL, 5*time.Minute),
		idTTL:      orDefault(cfg.IDTokenTTL, time.Hour),
		refreshTTL: orDefault(cfg.RefreshTokenTTL, 30*24*time.Hour),
		codeTTL:    orDefault(cfg.CodeTTL, time.Minute),
		apiTTL:     orDefault(cfg.APITokenTTL, 24*time.Hour),
		now:        cfg.Now,
		log:        cfg.Logger,
		httpClient: cfg.HTTPClient,
		keys:       []signingKey{key},
		dir:        seedDirectory(),
		sessions:   map[string]*providerSession{},
		browsers:   map[string]*browser{},
		invites:    map[string]*invitation{},
		codes:      map[string]*authCode{},
		refresh:    map[string]*refreshToken{},
		counts:     map[string]int{},
		envID:      "env_" + randomDigits(),
		webhooks:   webhooks,
		claims:     cfg.AccessTokenClaims,
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now()
	u, _ := url.Parse(issuer)
	s.origin = u.Scheme + "://" + u.Host
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Timeout: 5 * time.Second}
	}
	s.handler = s.routes()
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET /oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("/oauth/token", s.handleToken)
	mux.HandleFunc("GET /keys", s.handleKeys)
	mux.HandleFunc("GET /oidc/logout", s.handleLogout)
	mux.HandleFunc("POST /oidc/logout", s.handleLogout)
	mux.HandleFunc("GET /api/v1/users/{id}", s.api(s.handleGetUser))
	mux.HandleFunc("GET /api/v1/organizations/{id}", s.api(s.handleGetOrganization))
	mux.HandleFunc("GET /api/v1/sessions/{session_id}", s.api(s.handleGetSession))
	mux.HandleFunc("POST /api/v1/sessions/{session_id}/revoke", s.api(s.handleRevokeSession))
	mux.HandleFunc("GET /api/v1/users/{user_id}/sessions", s.api(s.handleListUserSessions))
	mux.HandleFunc("POST /api/v1/users/{user_id}/sessions/revoke", s.api(s.handleRevokeUserSessions))
	s.adminRoutes(mux)
	mux.HandleFunc("GET /dev/idp-initiated-login", s.handleIdpInitiatedLogin)
	mux.HandleFunc("GET /dev/invite", s.handleInvite)
	mux.HandleFunc("GET /debug/counters", s.handleCounters)
	mux.HandleFunc("GET /static/style.css", handleStatic("style.css"))
	mux.HandleFunc("GET /static/favicon.svg", handleStatic("favicon.svg"))
	if s.path == "" {
		return mux
	}
	return http.StripPrefix(s.path, mux)
}

// ServeHTTP serves the provider's endpoints under the issuer's path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Close stops the deliveries running in the background (webhook retries
// included) and waits for them to return.
func (s *Server) Close() {
	s.bgMu.Lock()
	s.bgClosed = true
	s.bgMu.Unlock()
	s.bgCancel()
	s.bg.Wait()
}

// background runs f until it returns or Close is called; after Close it
// does nothing.
func (s *Server) background(f func(ctx context.Context)) {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgClosed {
		return
	}
	s.bg.Go(func() { f(s.bgCtx) })
}

// Issuer returns the issuer URL, without a trailing slash.
func (s *Server) Issuer() string { return s.issuer }

// GrantCounts returns how many token requests the provider answered, by grant
// type: "authorization_code", "refresh_token" and "client_credentials" count
// tokens issued, the same names with "_refused" count error answers, and
// "other_refused" counts requests with no or another grant type. Calls of the
// REST API count under "api " and their route, such as
// "api GET /api/v1/users/{id}"; webhooks the app accepted count under
// "webhook " and their type, such as "webhook user.logout delivered".
// A grant type never seen is absent (read it as 0).
func (s *Server) GrantCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		counts[k] = v
	}
	return counts
}

func (s *Server) handleCounters(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.GrantCounts())
}

func (s *Server) url(path string) string { return s.issuer + path }

func (s *Server) handleDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuer,
		"authorization_endpoint":                s.url("/oauth/authorize"),
		"token_endpoint":                        s.url("/oauth/token"),
		"jwks_uri":                              s.url("/keys"),
		"end_session_endpoint":                  s.url("/oidc/logout"),
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		// HTTP Basic is accepted too, but Scalekit advertises only this.
		"token_endpoint_auth_methods_supported": []string{"client_secret_post"},
		"scopes_supported":                      supportedScopes,
		"claims_supported": []string{
			"iss", "sub", "aud", "azp", "amr", "at_hash", "client_id", "exp", "iat", "auth_time", "nonce", "sid", "oid",
			"email", "email_verified", "name", "given_name", "family_name", "picture",
		},
		"backchannel_logout_supported":         true,
		"backchannel_logout_session_supported": true,
	})
}

func parseIssuer(raw string) (issuer, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("devidp: Issuer: want an absolute http(s) URL without query, such as http://127.0.0.1:8081, got %q", raw)
	}
	issuer = strings.TrimSuffix(raw, "/")
	return issuer, strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

func checkClients(clients []Client) (map[string]Client, error) {
	if len(clients) == 0 {
		return nil, errors.New("devidp: Clients: want at least one client")
	}
	byID := make(map[string]Client, len(clients))
	for _, c := range clients {
		if c.ID == "" || c.Secret == "" {
			return nil, errors.New("devidp: Clients: every client needs an ID and a Secret")
		}
		if _, dup := byID[c.ID]; dup {
			return nil, fmt.Errorf("devidp: Clients: client %q registered twice", c.ID)
		}
		if len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("devidp: Clients: client %q has no RedirectURIs", c.ID)
		}
		uris := append(append([]string{}, c.RedirectURIs...), c.PostLogoutRedirectURIs...)
		for _, u := range []string{c.BackchannelLogoutURI, c.InitiateLoginURI} {
			if u != "" {
				uris = append(uris, u)
			}
		}
		for _, u := range uris {
			if !isAbsoluteURL(u) {
				return nil, fmt.Errorf("devidp: Clients: client %q: want an absolute URL without fragment, got %q", c.ID, u)
			}
		}
		byID[c.ID] = c
	}
	return byID, nil
}

func isAbsoluteURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "" || u.Path != "") && u.Fragment == "" && !strings.Contains(raw, "#")
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
