package devidp

import (
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// authRequest holds the parameters of an authorize request. The hosted pages
// carry them in hidden fields, and every POST checks them again.
type authRequest struct {
	ClientID, RedirectURI, ResponseType, Scope, State, Nonce string
	CodeChallenge, CodeChallengeMethod                       string
	OrganizationID, ConnectionID, LoginHint, DomainHint      string
	Domain, Provider, Prompt, InvitationToken                string
}

var supportedScopes = []string{"openid", "profile", "email", "offline_access"}

// socialProviders are the provider parameter's values, Scalekit's social
// connections (scalekit-inc/developer-docs,
// src/content/docs/sso/guides/authorization-url.mdx), with their names.
var socialProviders = map[string]string{
	"google": "Google", "microsoft": "Microsoft", "github": "GitHub",
	"gitlab": "GitLab", "linkedin": "LinkedIn", "salesforce": "Salesforce",
}

// pkceChallenge is the shape of an S256 challenge: 32 bytes, base64url.
var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func (req *authRequest) fields() []struct {
	name string
	ptr  *string
} {
	return []struct {
		name string
		ptr  *string
	}{
		{"client_id", &req.ClientID}, {"redirect_uri", &req.RedirectURI},
		{"response_type", &req.ResponseType}, {"scope", &req.Scope},
		{"state", &req.State}, {"nonce", &req.Nonce},
		{"code_challenge", &req.CodeChallenge}, {"code_challenge_method", &req.CodeChallengeMethod},
		{"organization_id", &req.OrganizationID}, {"connection_id", &req.ConnectionID},
		{"login_hint", &req.LoginHint}, {"domain_hint", &req.DomainHint},
		{"domain", &req.Domain}, {"provider", &req.Provider}, {"prompt", &req.Prompt},
		{"invitation_token", &req.InvitationToken},
	}
}

// readAuthRequest reads the parameters and names the first one sent more than
// once, which RFC 6749 §3.1 forbids.
func readAuthRequest(form url.Values) (req authRequest, repeated string) {
	for _, f := range req.fields() {
		vs := form[f.name]
		if len(vs) > 0 {
			*f.ptr = vs[0]
		}
		if len(vs) > 1 && repeated == "" {
			repeated = f.name
		}
	}
	return req, repeated
}

// values returns the non-empty parameters, for hidden fields and links.
func (req authRequest) values() url.Values {
	v := url.Values{}
	for _, f := range req.fields() {
		if *f.ptr != "" {
			v.Set(f.name, *f.ptr)
		}
	}
	return v
}

// grantedScope keeps the supported scopes, in the order they were asked for.
func (req authRequest) grantedScope() string {
	var granted []string
	for _, sc := range strings.Fields(req.Scope) {
		if slices.Contains(supportedScopes, sc) && !slices.Contains(granted, sc) {
			granted = append(granted, sc)
		}
	}
	return strings.Join(granted, " ")
}

// handleAuthorize shows the hosted login page (GET) and handles its forms
// (POST to the same URL).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	form, ok := authorizeForm(w, r)
	if !ok {
		s.renderMessage(w, http.StatusBadRequest, "Sign-in request not valid", "The sign-in request could not be read.")
		return
	}
	req, repeated := readAuthRequest(form)
	if _, known := s.clients[req.ClientID]; !known || repeated == "client_id" {
		s.log.Warn("authorize refused", "reason", "unknown client_id")
		s.renderMessage(w, http.StatusBadRequest, "Sign-in request not valid",
			"The application that sent you here (its client_id) is not registered at the development identity provider.")
		return
	}
	if !slices.Contains(s.clients[req.ClientID].RedirectURIs, req.RedirectURI) || repeated == "redirect_uri" {
		s.log.Warn("authorize refused", "client_id", req.ClientID, "reason", "redirect_uri not registered")
		s.renderMessage(w, http.StatusBadRequest, "Sign-in request not valid",
			"The address to return to (redirect_uri) is not registered for this application.")
		return
	}
	code, desc := checkAuthRequest(req, repeated)
	if code == "" {
		code, desc = s.checkConnection(req)
	}
	if code != "" {
		s.log.Warn("authorize refused", "client_id", req.ClientID, "error", code)
		s.redirectError(w, r, req, code, desc)
		return
	}
	if r.Method == http.MethodGet {
		s.showAuthorize(w, r, req)
		return
	}
	s.handleLoginForm(w, r, req, form)
}

// showAuthorize answers a valid authorize request: at once when the browser
// needs no page (a silent sign-in, a direct organization switch, a user
// already signed in at the organization's identity provider), else with the
// page the request asks for.
func (s *Server) showAuthorize(w http.ResponseWriter, r *http.Request, req authRequest) {
	prompts := strings.Fields(req.Prompt)
	if slices.Contains(prompts, "none") {
		s.silentLogin(w, r, req)
		return
	}
	if req.ConnectionID != "" {
		s.mu.Lock()
		org, _ := s.dir.connection(req.ConnectionID) // checked in checkConnection
		s.mu.Unlock()
		// The connection picks the organization (Scalekit's precedence:
		// connection_id before organization_id).
		req.OrganizationID = org.id
		if userID, ok := s.ssoUser(r, req.ConnectionID); ok {
			if u, ok := s.user(userID); ok {
				s.finishLogin(w, r, req, u, org.id, req.ConnectionID)
				return
			}
		}
	}
	switch {
	case req.InvitationToken != "":
		s.renderInvitation(w, http.StatusOK, req)
	case req.Provider != "":
		s.renderProvider(w, http.StatusOK, req, "", "")
	case slices.Contains(prompts, "select_account"):
		s.selectAccount(w, r, req)
	default:
		s.renderLogin(w, http.StatusOK, req, "", "")
	}
}

// silentLogin answers prompt=none: the browser's provider session signs it in
// without a page, else login_required (OpenID Connect Core §3.1.2.6).
func (s *Server) silentLogin(w http.ResponseWriter, r *http.Request, req authRequest) {
	ps, ok := s.browserSession(r)
	u, known := s.user(ps.userID)
	if !ok || !known {
		s.redirectError(w, r, req, "login_required", "The user must sign in.")
		return
	}
	orgID := req.OrganizationID
	if orgID == "" {
		orgID = ps.orgID
	}
	s.finishLogin(w, r, req, u, orgID, ps.amr...)
}

// selectAccount answers prompt=select_account (Scalekit's organization
// switcher): a browser signed in here switches to organization_id at once, or
// picks one on the organization page; any other browser signs in first.
func (s *Server) selectAccount(w http.ResponseWriter, r *http.Request, req authRequest) {
	ps, ok := s.browserSession(r)
	u, known := s.user(ps.userID)
	switch {
	case !ok || !known:
		s.renderLogin(w, http.StatusOK, req, "", "")
	case req.OrganizationID != "":
		s.finishLogin(w, r, req, u, req.OrganizationID, ps.amr...)
	default:
		s.renderOrganizations(w, req, u)
	}
}

func authorizeForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		return q, err == nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, false
	}
	return r.PostForm, true
}

// checkAuthRequest checks what can be answered by redirecting to the client.
func checkAuthRequest(req authRequest, repeated string) (code, description string) {
	switch {
	case repeated != "":
		return "invalid_request", "The parameter " + repeated + " was sent more than once."
	case req.ResponseType != "code":
		return "unsupported_response_type", "The response_type must be code."
	case !slices.Contains(strings.Fields(req.Scope), "openid"):
		return "invalid_scope", "The scope must include openid."
	case req.CodeChallenge == "":
		return "invalid_request", "A code_challenge is required (PKCE with S256)."
	case req.CodeChallengeMethod != "S256":
		return "invalid_request", "The code_challenge_method must be S256."
	case !pkceChallenge.MatchString(req.CodeChallenge):
		return "invalid_request", "The code_challenge is not an S256 challenge."
	case req.Provider != "" && socialProviders[req.Provider] == "":
		return "invalid_request", "The provider must be one of google, microsoft, github, gitlab, linkedin or salesforce."
	}
	return "", ""
}

// checkConnection refuses an unknown connection_id, as Scalekit does
// (invalid_connection_id; sso/reference/sso-integration-errors.mdx).
func (s *Server) checkConnection(req authRequest) (code, description string) {
	if req.ConnectionID == "" {
		return "", ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dir.connection(req.ConnectionID); !ok {
		return "invalid_connection_id", "The connection_id is not a connection of this environment."
	}
	return "", ""
}

// handleLoginForm handles the buttons of the hosted pages.
func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request, req authRequest, form url.Values) {
	switch form.Get("action") {
	case "cancel":
		s.redirectError(w, r, req, "access_denied", "The user denied the request")
	case "user":
		u, ok := s.user(form.Get("user"))
		if !ok {
			s.renderLogin(w, http.StatusBadRequest, req, "", "Choose one of the test users.")
			return
		}
		s.continueLogin(w, r, req, u, amrEmail)
	case "email":
		email, ok := normalizeEmail(form.Get("email"))
		if !ok {
			s.renderLogin(w, http.StatusBadRequest, req, form.Get("email"), "Enter a valid email address.")
			return
		}
		u, created := s.findOrCreateUser(email, "", req.OrganizationID)
		if created {
			s.log.Info("user created", "sub", u.ID, "via", "email")
		}
		s.continueLogin(w, r, req, u, amrEmail)
	case "provider":
		s.socialLogin(w, r, req, form)
	case "accept_invitation":
		s.acceptInvitation(w, r, req)
	case "signup":
		s.signUp(w, r, req, form)
	case "organization":
		u, ok := s.user(form.Get("user"))
		if !ok {
			s.renderLogin(w, http.StatusBadRequest, req, "", "Choose one of the test users.")
			return
		}
		s.finishLogin(w, r, req, u, form.Get("organization"), amrEmail)
	default:
		s.renderLogin(w, http.StatusOK, req, "", "")
	}
}

func (s *Server) signUp(w http.ResponseWriter, r *http.Request, req authRequest, form url.Values) {
	name := strings.Join(strings.Fields(form.Get("name")), " ")
	email, ok := normalizeEmail(form.Get("email"))
	switch {
	case name == "" || len(name) > 100:
		s.renderSignup(w, http.StatusBadRequest, req, form.Get("name"), form.Get("email"), "Enter your name (up to 100 characters).")
		return
	case !ok:
		s.renderSignup(w, http.StatusBadRequest, req, name, form.Get("email"), "Enter a valid email address.")
		return
	}
	u, created := s.findOrCreateUser(email, name, req.OrganizationID)
	if !created {
		s.renderSignup(w, http.StatusBadRequest, req, name, email, "An account with this email already exists. Sign in instead.")
		return
	}
	s.log.Info("user created", "sub", u.ID, "via", "sign-up")
	s.continueLogin(w, r, req, u, amrEmail)
}

// socialLogin stands in for the social provider's own page: the email typed
// there signs in (or up) at the provider.
func (s *Server) socialLogin(w http.ResponseWriter, r *http.Request, req authRequest, form url.Values) {
	if socialProviders[req.Provider] == "" {
		s.renderLogin(w, http.StatusBadRequest, req, "", "Choose a way to sign in.")
		return
	}
	email, ok := normalizeEmail(form.Get("email"))
	if !ok {
		s.renderProvider(w, http.StatusBadRequest, req, form.Get("email"), "Enter a valid email address.")
		return
	}
	u, created := s.findOrCreateUser(email, "", req.OrganizationID)
	if created {
		s.log.Info("user created", "sub", u.ID, "via", req.Provider)
	}
	s.continueLogin(w, r, req, u, req.Provider)
}

// amrEmail is the amr of a sign-in on the hosted page itself, which at
// Scalekit proves the email address (a one-time code or magic link).
const amrEmail = "otp"

// continueLogin picks the organization: the requested one, the only one, or
// the one the user chooses on the next page.
func (s *Server) continueLogin(w http.ResponseWriter, r *http.Request, req authRequest, u User, amr string) {
	active := u.activeMemberships()
	switch {
	case req.OrganizationID != "":
		s.finishLogin(w, r, req, u, req.OrganizationID, amr)
	case len(active) == 0:
		s.finishLogin(w, r, req, u, "", amr)
	case len(active) == 1:
		s.finishLogin(w, r, req, u, active[0].OrganizationID, amr)
	default:
		s.renderOrganizations(w, req, u)
	}
}

// finishLogin gives the browser its provider session (see browserLogin) and
// sends the code to the client.
// amr says how the user proved who they are (RFC 8176; at Scalekit the
// connection id for enterprise SSO).
//
// A user may sign in only to an organization they are an active member of.
// An unknown organization and one the user is not a member of get the same
// answer, invalid_organization_id, so the answer does not tell whether an
// organization exists. Scalekit's documentation names no error for "not a
// member" (it documents invalid_organization_id); the BFF reads this one as
// a refused membership.
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, req authRequest, u User, orgID string, amr ...string) {
	if _, member := u.membership(orgID); orgID != "" && !member {
		s.log.Warn("authorize refused", "client_id", req.ClientID, "sub", u.ID, "error", "invalid_organization_id", "reason", "not an active member")
		s.redirectError(w, r, req, "invalid_organization_id", "The user is not a member of the requested organization.")
		return
	}
	ps := s.browserLogin(w, r, req, u.ID, orgID, amr)
	code := s.newCode(authCode{
		clientID: req.ClientID, redirectURI: req.RedirectURI,
		challenge: req.CodeChallenge, nonce: req.Nonce, scope: req.grantedScope(), sid: ps.id,
	})
	s.log.Info("login", "client_id", req.ClientID, "sub", u.ID, "sid", ps.id, "oid", orgID)
	s.redirect(w, r, req, url.Values{"code": {code}})
}

func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, req authRequest, code, description string) {
	s.redirect(w, r, req, url.Values{"error": {code}, "error_description": {description}})
}

// redirect sends the browser to the (already checked) redirect_uri with
// params and the request's state.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, req authRequest, params url.Values) {
	http.Redirect(w, r, appendQuery(req.RedirectURI, params, req.State), http.StatusFound)
}

func appendQuery(rawURL string, params url.Values, state string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL // registered URLs were checked at New
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func normalizeEmail(raw string) (string, bool) {
	email := strings.ToLower(strings.TrimSpace(raw))
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || len(email) > 254 {
		return "", false
	}
	return email, true
}
