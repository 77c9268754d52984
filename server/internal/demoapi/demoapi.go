// Package demoapi is a tiny product API that the zero-config server puts
// behind /api/demo, so a newcomer sees the whole remote-API pattern work: the
// SPA calls the BFF with its cookie, the BFF calls this API with the user's
// access token, and this API trusts nothing but a valid token.
//
// It validates the bearer token as a product API should: signed by the
// environment's keys (RS256, fetched from the environment's /keys, Scalekit's
// JWKS path), issued by the environment (iss), for the BFF's client (aud:
// Scalekit's access tokens name the client id, guides/accesstoken-claims.mdx
// in scalekit-inc/developer-docs), not expired, and valid already (nbf).
// Endpoints:
//
//	GET /hello   200 {"message": "Hello from the demo API, Alice", "claims": {...}}
//	GET /events  text/event-stream: five "tick" events, one per EventInterval
//
// A missing or invalid token is a 401 with WWW-Authenticate: Bearer (RFC 6750)
// and the JSON error shape {"error": "invalid_token", "message": ...}.
package demoapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Config configures a Server. Issuer and Audience are required.
type Config struct {
	// Issuer is the "iss" every token must carry, such as
	// http://127.0.0.1:8081.
	Issuer string
	// KeysURL is the environment's JWKS; default Issuer + "/keys".
	KeysURL string
	// Audience is the client id the tokens must name in "aud".
	Audience string
	// HTTPClient fetches the keys; default http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock for expiry; default time.Now.
	Now func() time.Time
	// EventInterval is the pause between /events events; default 1s.
	EventInterval time.Duration
	// Logger receives refused tokens (never the tokens); default: discard.
	Logger *slog.Logger
}

// Server is the demo API, an http.Handler.
type Server struct {
	verifier *oidc.IDTokenVerifier
	now      func() time.Time
	interval time.Duration
	log      *slog.Logger
	mux      *http.ServeMux
}

// events is how many events /events sends.
const events = 5

// New returns the demo API. It does no network I/O: the keys are fetched on
// the first request, with ctx, which must outlive the server.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("demoapi: Issuer and Audience are required")
	}
	keysURL := cmp.Or(cfg.KeysURL, strings.TrimRight(cfg.Issuer, "/")+"/keys")
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	// go-oidc's ID token verifier checks what an access token needs too:
	// signature, iss, aud and exp; nbf, when present, is checked again by
	// checkNotBefore.
	verifier := oidc.NewVerifier(cfg.Issuer, oidc.NewRemoteKeySet(ctx, keysURL), &oidc.Config{
		ClientID:             cfg.Audience,
		SupportedSigningAlgs: []string{oidc.RS256},
		Now:                  cfg.Now,
	})
	s := &Server{
		verifier: verifier,
		now:      time.Now,
		interval: cmp.Or(cfg.EventInterval, time.Second),
		log:      cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		mux:      http.NewServeMux(),
	}
	if cfg.Now != nil {
		s.now = cfg.Now
	}
	s.mux.HandleFunc("GET /hello", s.authenticated(s.handleHello))
	s.mux.HandleFunc("GET /events", s.authenticated(s.handleEvents))
	return s, nil
}

// ServeHTTP serves the demo API's endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Claims are what /hello reports of the verified access token.
type Claims struct {
	Subject        string   `json:"sub"`
	Issuer         string   `json:"iss"`
	Audience       []string `json:"aud"`
	OrganizationID string   `json:"oid,omitempty"`
	Roles          []string `json:"roles"`
	Permissions    []string `json:"permissions"`
	ExpiresAt      int64    `json:"exp"`
	// GivenName is a custom claim (Scalekit: Token Claims, given_name from
	// user.given_name); the built-in provider adds it.
	GivenName string `json:"given_name,omitempty"`
}

// Hello is the answer of GET /hello.
type Hello struct {
	Message string `json:"message"`
	Claims  Claims `json:"claims"`
}

func (s *Server) handleHello(w http.ResponseWriter, _ *http.Request, c Claims) {
	writeJSON(w, http.StatusOK, Hello{Message: "Hello from the demo API, " + cmp.Or(c.GivenName, c.Subject), Claims: c})
}

// handleEvents sends a few server-sent events, each flushed as it is
// written, so a proxy that buffers shows up as events arriving together.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, c Claims) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	for n := 1; n <= events; n++ {
		data, _ := json.Marshal(map[string]any{"n": n, "of": events, "sub": c.Subject})
		if _, err := fmt.Fprintf(w, "event: tick\ndata: %s\n\n", data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if n == events {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(s.interval):
		}
	}
}

// authenticated runs h with the claims of the request's valid bearer token,
// and answers 401 without one.
func (s *Server) authenticated(h func(http.ResponseWriter, *http.Request, Claims)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || raw == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="demo"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{"invalid_token", "A bearer access token is required."})
			return
		}
		tok, err := s.verifier.Verify(r.Context(), raw)
		var claims struct {
			Claims
			NotBefore *json.Number `json:"nbf"`
		}
		if err == nil {
			err = tok.Claims(&claims)
		}
		if err == nil {
			err = s.checkNotBefore(claims.NotBefore)
		}
		c := claims.Claims
		if err != nil {
			s.log.Warn("demo API refused a token", "err", err)
			w.Header().Set("WWW-Authenticate", `Bearer realm="demo", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{"invalid_token", "The access token is not valid here."})
			return
		}
		c.Roles, c.Permissions = nonNil(c.Roles), nonNil(c.Permissions)
		h(w, r, c)
	}
}

// checkNotBefore repeats go-oidc's nbf check as a comparison of numbers:
// go-oidc turns the claim into a time.Time through int64 seconds, and a value
// near or beyond the largest int64 wraps around to the distant past, which
// would let a token that is not valid for ages through.
func (s *Server) checkNotBefore(claim *json.Number) error {
	if claim == nil {
		return nil
	}
	nbf, err := claim.Float64()
	if err != nil {
		return fmt.Errorf("nbf is not a number of seconds: %w", err)
	}
	// The leeway for clock skew is go-oidc's own.
	if nbf > float64(s.now().Add(5*time.Minute).Unix()) {
		return errors.New("the token is not valid yet (nbf)")
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
