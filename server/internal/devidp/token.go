package devidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// oauthError is an RFC 6749 §5.2 error answer.
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidRequest(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", description}
}

func invalidGrant(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", description}
}

// tokenResponse is RFC 6749 §5.1 plus the OpenID Connect ID token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// RefreshExpiresIn is non-standard (Keycloak sends it): the refresh
	// token's lifetime, which the BFF caps its sessions by.
	RefreshExpiresIn int64  `json:"refresh_expires_in,omitempty"`
	IDToken          string `json:"id_token,omitempty"`
	Scope            string `json:"scope"`
}

// handleToken serves /oauth/token. It logs the grant type, client, subject
// and outcome, never a code or token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	req := tokenRequestLog{grant: "other"}
	resp, err := s.token(w, r, &req)
	if err != nil {
		s.count(req.grant + "_refused")
		s.log.Warn("token refused", "grant_type", req.grant, "client_id", req.clientID, "error", err.code, "reason", err.description)
		writeOAuthError(w, err)
		return
	}
	s.count(req.grant)
	s.log.Info("token issued", "grant_type", req.grant, "client_id", req.clientID, "sub", req.sub, "sid", req.sid)
	writeJSON(w, http.StatusOK, resp)
}

// tokenRequestLog is what a token request may log: no code, token or secret.
type tokenRequestLog struct {
	grant    string // "authorization_code", "refresh_token", "client_credentials" or "other"
	clientID string // set once authenticated
	sub, sid string // set once tokens are issued
}

// token reads, authenticates and answers a token request, filling in req.
func (s *Server) token(w http.ResponseWriter, r *http.Request, req *tokenRequestLog) (tokenResponse, *oauthError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return tokenResponse{}, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "Use POST."}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return tokenResponse{}, invalidRequest("The body is not a valid application/x-www-form-urlencoded form.")
	}
	form := r.PostForm
	switch g := form.Get("grant_type"); g {
	case "authorization_code", "refresh_token", "client_credentials":
		req.grant = g
	}
	for _, vs := range form {
		if len(vs) > 1 {
			return tokenResponse{}, invalidRequest("A parameter was sent more than once.")
		}
	}
	client, err := s.authenticateClient(w, r, form)
	if err != nil {
		return tokenResponse{}, err
	}
	req.clientID = client.ID
	switch form.Get("grant_type") {
	case "authorization_code":
		ps, resp, err := s.exchangeCode(client, form)
		req.sub, req.sid = ps.userID, ps.id
		return resp, err
	case "refresh_token":
		ps, resp, err := s.refreshTokens(client, form)
		req.sub, req.sid = ps.userID, ps.id
		return resp, err
	case "client_credentials":
		return s.issueAPIToken(client)
	case "":
		return tokenResponse{}, invalidRequest("The grant_type is missing.")
	default:
		return tokenResponse{}, &oauthError{http.StatusBadRequest, "unsupported_grant_type", "The grant_type must be authorization_code, refresh_token or client_credentials."}
	}
}

func (s *Server) exchangeCode(client Client, form url.Values) (providerSession, tokenResponse, *oauthError) {
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	if code == "" || redirectURI == "" || verifier == "" {
		return providerSession{}, tokenResponse{}, invalidRequest("The code, redirect_uri and code_verifier are required.")
	}
	ps, c, err := s.redeemCode(code, client.ID, redirectURI, verifier)
	if err != nil {
		return providerSession{}, tokenResponse{}, err
	}
	resp, err := s.issueTokens(client, ps, c.scope, c.scope, c.nonce)
	return ps, resp, err
}

func (s *Server) refreshTokens(client Client, form url.Values) (providerSession, tokenResponse, *oauthError) {
	raw := form.Get("refresh_token")
	if raw == "" {
		return providerSession{}, tokenResponse{}, invalidRequest("The refresh_token is missing.")
	}
	ps, rt, err := s.rotateRefreshToken(raw, client.ID, form.Get("scope"))
	if err != nil {
		return providerSession{}, tokenResponse{}, err
	}
	// RFC 6749 §6: a narrower scope applies to this access token only.
	scope := rt.scope
	if requested := form.Get("scope"); requested != "" {
		scope = requested
	}
	resp, err := s.issueTokens(client, ps, scope, rt.scope, "")
	return ps, resp, err
}

// authenticateClient accepts client_secret_post and, for other relying
// parties, client_secret_basic — but not both in one request (RFC 6749 §2.3).
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request, form url.Values) (Client, *oauthError) {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	user, pass, basic := r.BasicAuth()
	if basic {
		if secret != "" {
			return Client{}, invalidRequest("Use one client authentication method, not two.")
		}
		// RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
		u, err1 := url.QueryUnescape(user)
		p, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || (id != "" && id != u) {
			return Client{}, invalidClient(w, true)
		}
		id, secret = u, p
	}
	c, ok := s.clients[id]
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return Client{}, invalidClient(w, basic)
	}
	return c, nil
}

func invalidClient(w http.ResponseWriter, basic bool) *oauthError {
	if basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="devidp"`)
	}
	return &oauthError{http.StatusUnauthorized, "invalid_client", "Client authentication failed."}
}

// pkceVerifier is RFC 7636 §4.1's code_verifier.
var pkceVerifier = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

func verifyPKCE(verifier, challenge string) bool {
	if !pkceVerifier.MatchString(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// narrowScope checks that requested (if any) asks for no more than granted.
func narrowScope(requested, granted string) bool {
	for _, sc := range strings.Fields(requested) {
		if !slices.Contains(strings.Fields(granted), sc) {
			return false
		}
	}
	return true
}

func (s *Server) count(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[key]++
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}
