package devidp

import (
	"errors"
	"net/http"
	"net/url"
	"time"
)

// The /dev/ endpoints simulate what Scalekit starts rather than the app: a
// sign-in from the customer's identity provider and an accepted invitation.
// Both end at the app's Initiate login URL, with the parameters Scalekit adds.

// idpInitiatedLoginTTL is the lifetime of an idp_initiated_login token, as in
// Scalekit's example (src/content/docs/sso/guides/idp-init-sso.mdx).
const idpInitiatedLoginTTL = 5 * time.Minute

// handleIdpInitiatedLogin serves GET /dev/idp-initiated-login: a person
// opened the app from their identity provider's dashboard. With
// organization_id or connection_id it signs an idp_initiated_login token
// (claims organization_id, connection_id, login_hint, relay_state, iss, iat,
// nbf, exp) and sends the browser to the app's Initiate login URL with it;
// a login_hint that names a member also counts as signed in at that
// identity provider, so the login the app then starts completes without a
// page, as single sign-on does. Without either it shows a page of links, one
// per member of each organization.
func (s *Server) handleIdpInitiatedLogin(w http.ResponseWriter, r *http.Request) {
	client, ok := s.devClient(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	orgID, connID, hint, relay := q.Get("organization_id"), q.Get("connection_id"), q.Get("login_hint"), q.Get("relay_state")
	if orgID == "" && connID == "" {
		s.renderIdpInitiated(w, client.ID, relay)
		return
	}
	org, err := s.resolveConnection(orgID, connID)
	if err != nil {
		s.renderMessage(w, http.StatusBadRequest, "Sign-in not possible", err.Error())
		return
	}
	if u, ok := s.userByEmail(hint); ok {
		if _, member := u.membership(org.id); member {
			s.rememberBrowser(w, r, func(b *browser) { b.sso[org.connection.id] = u.ID })
		}
	}
	now := s.now()
	claims := map[string]any{
		"organization_id": org.id, "connection_id": org.connection.id,
		"iss": s.issuer, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(idpInitiatedLoginTTL).Unix(),
	}
	if hint != "" {
		claims["login_hint"] = hint
	}
	if relay != "" {
		claims["relay_state"] = relay
	}
	token, err := sign(s.currentKey().signer, claims)
	if err != nil {
		s.log.Error("sign idp_initiated_login", "err", err)
		s.renderMessage(w, http.StatusInternalServerError, "Sign-in not possible", "The sign-in could not be signed.")
		return
	}
	s.log.Info("IdP-initiated login", "client_id", client.ID, "oid", org.id, "connection_id", org.connection.id)
	http.Redirect(w, r, appendQuery(client.InitiateLoginURI, url.Values{"idp_initiated_login": {token}}, ""), http.StatusFound)
}

// resolveConnection finds the organization and its connection from either
// id; when both are given they must agree.
func (s *Server) resolveConnection(orgID, connID string) (organization, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if connID != "" {
		org, ok := s.dir.connection(connID)
		switch {
		case !ok:
			return organization{}, errors.New("No organization has the connection_id " + connID + ".")
		case orgID != "" && orgID != org.id:
			return organization{}, errors.New("The connection_id " + connID + " is not a connection of " + orgID + ".")
		}
		return org, nil
	}
	org, ok := s.dir.org(orgID)
	if !ok {
		return organization{}, errors.New("There is no organization " + orgID + ".")
	}
	return org, nil
}

// handleInvite serves GET /dev/invite?email=&organization_id=: an
// administrator invites the person (see Invite), and the person follows the
// invitation's link, which sends the browser to the app's Initiate login URL
// with invitation_token, organization_id and login_hint.
//
// Scalekit's documentation says only that an invitation arrives at the
// Initiate login URL "with invitation parameters" that the app must forward
// to the authorize endpoint; it never names them. These names are ours, and
// the BFF forwards them as it forwards any parameter it does not own.
func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request) {
	client, ok := s.devClient(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	email, orgID := q.Get("email"), q.Get("organization_id")
	token, err := s.Invite(email, orgID)
	switch {
	case errors.Is(err, ErrAlreadyMember):
		s.renderMessage(w, http.StatusConflict, "Already a member", "This person is a member of the organization already: they can sign in.")
		return
	case err != nil:
		s.renderMessage(w, http.StatusBadRequest, "Invitation not possible",
			"An invitation needs an email address and the id of an existing organization (email=…&organization_id=org_…).")
		return
	}
	normalized, _ := normalizeEmail(email)
	s.log.Info("invitation sent", "client_id", client.ID, "oid", orgID)
	params := url.Values{"invitation_token": {token}, "organization_id": {orgID}, "login_hint": {normalized}}
	http.Redirect(w, r, appendQuery(client.InitiateLoginURI, params, ""), http.StatusFound)
}

// devClient is the client a simulation sends the browser to: the one that
// client_id names, or the only one. It answers the request itself (a
// message page) when there is none, or when the client has no Initiate login
// URL.
func (s *Server) devClient(w http.ResponseWriter, r *http.Request) (Client, bool) {
	id := r.URL.Query().Get("client_id")
	if id == "" && len(s.clients) == 1 {
		for only := range s.clients {
			id = only
		}
	}
	c, ok := s.clients[id]
	switch {
	case !ok:
		s.renderMessage(w, http.StatusBadRequest, "Unknown application", "Name a registered application with client_id.")
		return Client{}, false
	case c.InitiateLoginURI == "":
		s.renderMessage(w, http.StatusBadRequest, "No Initiate login URL",
			"The application has no Initiate login URL registered (DEV_IDP_INITIATE_LOGIN_URL).")
		return Client{}, false
	}
	return c, true
}
