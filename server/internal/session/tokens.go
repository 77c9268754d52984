package session

import "github.com/example/scalekit-bff/server/internal/scalekit"

// The provider's answers (a code exchange at sign-in, a refresh later) become
// the session's record here, and only here.

// NewRecord is the session a code exchange signs in (see SignIn): the ID
// token's user, the tokens, and what the access token says. userAgent and ip
// name the device it signed in from.
func NewRecord(resp *scalekit.AuthenticationResponse, userAgent, ip string) Record {
	rec := Record{
		User:           resp.User,
		OrganizationID: resp.User.OrganizationID,
		UserAgent:      userAgent,
		IP:             ip,
	}
	rec.applyTokens(&resp.TokenResponse)
	return rec
}

// applyTokens copies a token response into the record. A refresh token and
// an ID token are replaced only when the provider sent new ones; the user
// only by an ID token of the same user, keeping the session id when the new
// token names none.
func (r *Record) applyTokens(resp *scalekit.TokenResponse) {
	r.AccessToken = resp.AccessToken
	r.AccessTokenExpiresAt = resp.ExpiresAt
	if resp.RefreshToken != "" {
		r.RefreshToken = resp.RefreshToken
		r.RefreshTokenExpiresAt = resp.RefreshTokenExpiresAt
	}
	if resp.IDToken != "" {
		r.IDToken = resp.IDToken
	}
	r.applyAccessClaims(resp.Claims)
	if u := resp.User; u != nil && u.ID == r.User.ID {
		sid := r.User.SessionID
		r.User = *u
		if r.User.SessionID == "" {
			r.User.SessionID = sid
		}
	}
}

// applyAccessClaims copies what a verified access token says about the
// session: roles, permissions, organization and external ids. A token
// without an organization leaves the session's.
func (r *Record) applyAccessClaims(c *scalekit.AccessTokenClaims) {
	if c == nil {
		return // an opaque access token says nothing
	}
	r.Roles, r.Permissions = c.Roles, c.Permissions
	r.UserExternalID, r.OrganizationExternalID = c.ExternalUserID, c.ExternalOrganizationID
	if c.OrganizationID != "" {
		r.OrganizationID = c.OrganizationID
	}
	if r.User.SessionID == "" {
		r.User.SessionID = c.SessionID
	}
}
