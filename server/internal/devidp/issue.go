package devidp

import (
	"net/http"
	"slices"
	"strings"
)

// issueTokens signs an access token and an ID token for a provider session,
// and adds a refresh token of the session's family when refreshScope has
// offline_access. Roles and permissions are read now, so a role change at
// the provider shows in the next token.
func (s *Server) issueTokens(client Client, ps providerSession, scope, refreshScope, nonce string) (tokenResponse, *oauthError) {
	u, ok := s.user(ps.userID)
	if !ok {
		return tokenResponse{}, invalidGrant("The user no longer exists.")
	}
	roles := []string{}
	if m, member := u.membership(ps.orgID); member {
		roles = append(roles, m.Roles...)
	}
	now := s.now()
	signer := s.currentKey().signer
	access := map[string]any{
		"iss": s.issuer, "sub": u.ID, "aud": []string{client.ID}, "client_id": client.ID,
		"sid": ps.id, "roles": roles, "permissions": permissions(roles), "scope": scope,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.accessTTL).Unix(), "jti": randomToken(),
	}
	id := map[string]any{
		"iss": s.issuer, "sub": u.ID, "aud": client.ID, "sid": ps.id,
		"iat": now.Unix(), "exp": now.Add(s.idTTL).Unix(), "auth_time": ps.authTime.Unix(),
		"email": u.Email, "email_verified": u.EmailVerified,
		"name": u.Name, "given_name": u.GivenName, "family_name": u.FamilyName,
	}
	if ps.orgID != "" {
		access["oid"], id["oid"] = ps.orgID, ps.orgID
	}
	if u.Picture != "" {
		id["picture"] = u.Picture
	}
	if nonce != "" {
		id["nonce"] = nonce
	}
	accessToken, err1 := sign(signer, access)
	idToken, err2 := sign(signer, id)
	if err1 != nil || err2 != nil {
		s.log.Error("sign tokens", "err1", err1, "err2", err2)
		return tokenResponse{}, &oauthError{http.StatusInternalServerError, "server_error", "The tokens could not be signed."}
	}
	resp := tokenResponse{
		AccessToken: accessToken, TokenType: "Bearer", ExpiresIn: int64(s.accessTTL.Seconds()),
		IDToken: idToken, Scope: scope,
	}
	if slices.Contains(strings.Fields(refreshScope), "offline_access") {
		resp.RefreshToken = s.newRefreshToken(client.ID, ps.id, refreshScope)
		resp.RefreshExpiresIn = int64(s.refreshTTL.Seconds())
	}
	return resp, nil
}
