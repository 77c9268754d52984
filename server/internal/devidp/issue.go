package devidp

import (
	"crypto/sha256"
	"encoding/base64"
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
	// The shapes of Scalekit's examples (scalekit-inc/developer-docs,
	// src/content/docs/authenticate/fsa/complete-login.mdx and
	// guides/accesstoken-claims.mdx): aud an array, azp and client_id in the
	// ID token, xoid and xuid in the access token when the organization and
	// the user have external ids.
	access := map[string]any{
		"iss": s.issuer, "sub": u.ID, "aud": []string{client.ID}, "client_id": client.ID,
		"sid": ps.id, "roles": roles, "permissions": permissions(roles), "scope": scope,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.accessTTL).Unix(), "jti": randomToken(),
	}
	id := map[string]any{
		"iss": s.issuer, "sub": u.ID, "aud": []string{client.ID}, "azp": client.ID, "client_id": client.ID,
		"sid": ps.id, "amr": ps.amr,
		"iat": now.Unix(), "exp": now.Add(s.idTTL).Unix(), "auth_time": ps.authTime.Unix(),
		"email": u.Email, "email_verified": u.EmailVerified,
		"name": u.Name, "given_name": u.GivenName, "family_name": u.FamilyName,
	}
	var org organization
	if ps.orgID != "" {
		access["oid"], id["oid"] = ps.orgID, ps.orgID
		s.mu.Lock()
		org, _ = s.dir.org(ps.orgID)
		s.mu.Unlock()
		if org.externalID != "" {
			access["xoid"] = org.externalID
		}
	}
	if u.ExternalID != "" {
		access["xuid"] = u.ExternalID
	}
	if u.Picture != "" {
		id["picture"] = u.Picture
	}
	s.addTokenClaims(access, u, org)
	if nonce != "" {
		id["nonce"] = nonce
	}
	accessToken, err1 := sign(signer, access)
	id["at_hash"] = leftHalfHash(accessToken)
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

// leftHalfHash is an ID token's at_hash of an access token signed with
// RS256: the left half of its SHA-256, base64url (OpenID Connect Core
// §3.1.3.6).
func leftHalfHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
