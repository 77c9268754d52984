package devidp

import (
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

	Now        func() time.Time // default time.Now
	Logger     *slog.Logger     // default: discard
	HTTPClient *http.Client     // delivers back-channel logout tokens; default: 5s timeout
	// SigningKey is the RS256 key; default: a fresh 2048-bit key. Tests that
	// start many servers can share one key to save the key generation.
	SigningKey *rsa.PrivateKey
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
	now        func() time.Time
	log        *slog.Logger
	httpClient *http.Client
	handler    http.Handler

	mu       sync.Mutex
	keys     []signingKey // the last one signs
	dir      directory
	sessions map[string]*providerSession // by sid
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
	s := &Server{
		issuer:     issuer,
		path:       path,
		clients:    clients,
		accessTTL:  orDefault(cfg.AccessTokenTTL, 5*time.Minute),
		idTTL:      orDefault(cfg.IDTokenTTL, time.Hour),
		refreshTTL: orDefault(cfg.RefreshTokenTTL, 30*24*time.Hour),
		codeTTL:    orDefault(cfg.CodeTTL, time.Minute),
		now:        cfg.Now,
		log:        cfg.Logger,
		httpClient: cfg.HTTPClient,
		keys:       []signingKey{key},
		dir:        seedDirectory(),
		sessions:   map[string]*providerSession{},
		codes:      map[string]*authCode{},
		refresh:    map[string]*refreshToken{},
		counts:     map[string]int{},
	}
	if s.now == nil {
		s.now = time.Now
	}
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

// Issuer returns the issuer URL, without a trailing slash.
func (s *Server) Issuer() string { return s.issuer }

// GrantCounts returns how many token requests the provider answered, by grant
// type: "authorization_code" and "refresh_token" count tokens issued,
// "authorization_code_refused" and "refresh_token_refused" count error
// answers, and "other_refused" counts requests with no or another grant type.
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
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		// HTTP Basic is accepted too, but Scalekit advertises only this.
		"token_endpoint_auth_methods_supported": []string{"client_secret_post"},
		"scopes_supported":                      supportedScopes,
		"claims_supported": []string{
			"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "oid",
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
		if c.BackchannelLogoutURI != "" {
			uris = append(uris, c.BackchannelLogoutURI)
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
