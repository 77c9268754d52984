package devidp

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// The REST API (/api/v1/…) as Scalekit serves it: an app authenticates with a
// bearer token from the client_credentials grant, and every answer is
// snake_case JSON with each object wrapped in a member named after it
// (scalekit-inc/developer-docs, openapi/scalekit.yaml). Errors use Scalekit's
// gRPC-status shape, {"code": 5, "message": "..."}.

// apiCaller is what an API request proved: which client sent it.
type apiCaller struct{ clientID string }

type apiCallerKey struct{}

// issueAPIToken answers a client_credentials grant: a JWT naming the client
// as its subject, so it can never pass for a user's access token.
func (s *Server) issueAPIToken(client Client) (tokenResponse, *oauthError) {
	now := s.now()
	token, err := sign(s.currentKey().signer, map[string]any{
		"iss": s.issuer, "sub": client.ID, "aud": []string{client.ID}, "client_id": client.ID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.apiTTL).Unix(), "jti": randomToken(),
	})
	if err != nil {
		s.log.Error("sign API token", "err", err)
		return tokenResponse{}, &oauthError{http.StatusInternalServerError, "server_error", "The token could not be signed."}
	}
	return tokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(s.apiTTL.Seconds()), Scope: "openid"}, nil
}

// api authenticates a REST API request and counts it in GrantCounts, as
// "api GET /api/v1/users/{id}" and the like.
func (s *Server) api(h func(http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, ok := s.apiCaller(r)
		if !ok {
			writeAPIError(w, http.StatusUnauthorized, 16, "Token empty or invalid")
			return
		}
		s.count("api " + r.Pattern) // the pattern names the method
		h(w, r.WithContext(context.WithValue(r.Context(), apiCallerKey{}, caller)))
	}
}

func (s *Server) apiCaller(r *http.Request) (apiCaller, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return apiCaller{}, false
	}
	var claims struct {
		Subject  string `json:"sub"`
		ClientID string `json:"client_id"`
		Expiry   int64  `json:"exp"`
	}
	if err := s.verifyOwnJWT(raw, &claims); err != nil {
		return apiCaller{}, false
	}
	if _, known := s.clients[claims.ClientID]; !known || claims.Subject != claims.ClientID || !s.now().Before(time.Unix(claims.Expiry, 0)) {
		return apiCaller{}, false
	}
	return apiCaller{clientID: claims.ClientID}, true
}

func writeAPIError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{"code": code, "message": message, "details": []any{}})
}

type apiRole struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

type apiMembership struct {
	OrganizationID string    `json:"organization_id"`
	Name           string    `json:"name"`
	DisplayName    string    `json:"display_name"`
	Status         string    `json:"membership_status"`
	Roles          []apiRole `json:"roles"`
	Permissions    []string  `json:"permissions"`
}

type apiUserProfile struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
	EmailVerified bool   `json:"email_verified"`
	Picture       string `json:"picture,omitempty"`
}

type apiUser struct {
	ID          string          `json:"id"`
	Email       string          `json:"email"`
	ExternalID  string          `json:"external_id,omitempty"`
	Memberships []apiMembership `json:"memberships"`
	Profile     apiUserProfile  `json:"user_profile"`
}

type apiOrganization struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	ExternalID  string `json:"external_id,omitempty"`
	RegionCode  string `json:"region_code"`
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.user(r.PathValue("id"))
	if !ok {
		writeAPIError(w, http.StatusNotFound, 5, "user not found")
		return
	}
	out := apiUser{
		ID: u.ID, Email: u.Email, ExternalID: u.ExternalID, Memberships: []apiMembership{},
		Profile: apiUserProfile{ID: profileID(u.ID), Name: u.Name, GivenName: u.GivenName,
			FamilyName: u.FamilyName, EmailVerified: u.EmailVerified, Picture: u.Picture},
	}
	for _, m := range u.Memberships {
		roles := make([]apiRole, 0, len(m.Roles))
		for _, role := range m.Roles {
			roles = append(roles, apiRole{ID: "role_" + role, Name: role, DisplayName: strings.ToUpper(role[:1]) + role[1:]})
		}
		out.Memberships = append(out.Memberships, apiMembership{
			OrganizationID: m.OrganizationID, Name: m.OrganizationName, DisplayName: m.OrganizationName,
			Status: m.Status, Roles: roles, Permissions: permissions(m.Roles),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": out})
}

func (s *Server) handleGetOrganization(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, ok := s.dir.org(r.PathValue("id"))
	s.mu.Unlock()
	if !ok {
		writeAPIError(w, http.StatusNotFound, 5, "organization not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"organization": apiOrganization{
		ID: o.id, DisplayName: o.name, ExternalID: o.externalID, RegionCode: "US",
	}})
}
