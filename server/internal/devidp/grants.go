package devidp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
	"time"
)

// providerSession is a login at the provider (Scalekit's ses_…): the user
// picked on the hosted page, for one client, in one organization.
type providerSession struct {
	id, clientID, userID, orgID string
	amr                         []string // how the user signed in; see finishLogin
	authTime                    time.Time
	ended                       bool // see active
	// lastActive is the last sign-in or refresh; endedAt and endStatus
	// (statusRevoked or statusLogout) say how the session ended, as
	// Scalekit's session API reports it.
	lastActive, endedAt time.Time
	endStatus           string
}

// authCode is an issued authorization code, stored under its hash.
type authCode struct {
	clientID, redirectURI, challenge, nonce, scope, sid string
	expires                                             time.Time
	used                                                bool
}

// refreshToken is an issued refresh token, stored under its hash. Every
// refresh token of a provider session is one family: a replayed one ends the
// session, which revokes them all.
type refreshToken struct {
	clientID, sid, scope string
	expires              time.Time
	used                 bool // rotated; presenting it again is a replay
}

func (s *Server) startSession(clientID, userID, orgID string, amr []string) providerSession {
	if len(amr) == 0 {
		amr = []string{amrEmail}
	}
	now := s.now()
	ps := &providerSession{id: "ses_" + randomDigits(), clientID: clientID, userID: userID, orgID: orgID, amr: amr, authTime: now, lastActive: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[ps.id] = ps
	return *ps
}

func (s *Server) newCode(c authCode) string {
	code := randomToken()
	c.expires = s.now().Add(s.codeTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	s.codes[hashToken(code)] = &c
	return code
}

// redeemCode spends a code. Any attempt spends it, and a second attempt
// revokes what the first one issued (RFC 6749 §4.1.2, §10.5).
func (s *Server) redeemCode(code, clientID, redirectURI, verifier string) (providerSession, authCode, *oauthError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[hashToken(code)]
	switch {
	case !ok:
		return providerSession{}, authCode{}, invalidGrant("The authorization code is not valid.")
	case c.used:
		if ps, ended := s.endSessionLocked(c.sid); ended {
			s.log.Info("session revoked", "reason", "authorization code reused", "client_id", ps.clientID, "sub", ps.userID, "sid", ps.id)
		}
		return providerSession{}, authCode{}, invalidGrant("The authorization code was already used; the tokens it issued are revoked.")
	}
	c.used = true
	ps := s.sessions[c.sid]
	switch {
	case !s.now().Before(c.expires):
		return providerSession{}, authCode{}, invalidGrant("The authorization code has expired.")
	case c.clientID != clientID:
		return providerSession{}, authCode{}, invalidGrant("The authorization code was issued to another client.")
	case c.redirectURI != redirectURI:
		return providerSession{}, authCode{}, invalidGrant("The redirect_uri does not match the authorization request.")
	case !verifyPKCE(verifier, c.challenge):
		return providerSession{}, authCode{}, invalidGrant("The code_verifier does not match the code_challenge.")
	case !ps.active():
		return providerSession{}, authCode{}, invalidGrant("The session has ended.")
	}
	return *ps, *c, nil
}

func (s *Server) newRefreshToken(clientID, sid, scope string) string {
	token := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh[hashToken(token)] = &refreshToken{clientID: clientID, sid: sid, scope: scope, expires: s.now().Add(s.refreshTTL)}
	return token
}

// rotateRefreshToken spends a refresh token. Presenting a spent one again
// means that two parties hold it, so the whole family is revoked, as OAuth
// 2.0 Security BCP (RFC 9700 §4.14.2) recommends.
// A requested scope wider than the token's is refused before the token is spent.
func (s *Server) rotateRefreshToken(token, clientID, scope string) (providerSession, refreshToken, *oauthError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[hashToken(token)]
	switch {
	case !ok:
		return providerSession{}, refreshToken{}, invalidGrant("The refresh token is not valid.")
	case rt.clientID != clientID:
		return providerSession{}, refreshToken{}, invalidGrant("The refresh token was issued to another client.")
	case rt.used:
		if ps, ended := s.endSessionLocked(rt.sid); ended {
			s.log.Info("session revoked", "reason", "refresh token replayed", "client_id", ps.clientID, "sub", ps.userID, "sid", ps.id)
		}
		return providerSession{}, refreshToken{}, invalidGrant("The refresh token was already used; every refresh token of its session is revoked.")
	case !s.now().Before(rt.expires):
		return providerSession{}, refreshToken{}, invalidGrant("The refresh token has expired.")
	}
	ps := s.sessions[rt.sid]
	switch {
	case !ps.active():
		return providerSession{}, refreshToken{}, invalidGrant("The session has ended.")
	case !narrowScope(scope, rt.scope):
		return providerSession{}, refreshToken{}, &oauthError{http.StatusBadRequest, "invalid_scope", "The scope asks for more than the refresh token grants."}
	}
	rt.used = true
	ps.lastActive = s.now()
	return *ps, *rt, nil
}

// endSessionLocked revokes a provider session and its refresh tokens. It
// reports whether the session was active.
func (s *Server) endSessionLocked(sid string) (providerSession, bool) {
	return s.endSessionAsLocked(sid, statusRevoked)
}

// endSessionAsLocked ends a provider session with status (statusRevoked or
// statusLogout) and revokes its refresh tokens.
func (s *Server) endSessionAsLocked(sid, status string) (providerSession, bool) {
	ps, ok := s.activeSessionLocked(sid)
	if !ok {
		return providerSession{}, false
	}
	ps.ended, ps.endedAt, ps.endStatus = true, s.now(), status
	for k, rt := range s.refresh {
		if rt.sid == sid {
			delete(s.refresh, k)
		}
	}
	return *ps, true
}

// sweepLocked forgets expired codes and refresh tokens, so a long-running
// provider does not grow without bound.
func (s *Server) sweepLocked() {
	now := s.now()
	for k, c := range s.codes {
		if now.After(c.expires.Add(s.codeTTL)) {
			delete(s.codes, k)
		}
	}
	for k, rt := range s.refresh {
		if now.After(rt.expires) {
			delete(s.refresh, k)
		}
	}
}

// hashToken is the key under which a code or refresh token is stored, so the
// provider's memory holds no usable credential.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

// randomDigits returns 17 random decimal digits, the shape of Scalekit's ids.
func randomDigits() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1e17))
	if err != nil {
		panic(err) // crypto/rand.Reader never fails; see crypto/rand.Read
	}
	return fmt.Sprintf("%017d", n)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails; see crypto/rand.Read
	return b
}
