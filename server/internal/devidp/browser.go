package devidp

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// browserCookie names this provider's own session cookie: it ties a browser
// to its latest provider session (so prompt=none and the organization picker
// need no new sign-in) and to the simulated identity-provider sign-ins made
// at /dev/idp-initiated-login. It lives on the provider's origin, like
// Scalekit's own session cookie, and is HttpOnly.
const browserCookie = "devidp_session"

// browser is what the provider remembers about one browser.
type browser struct {
	sid string // its latest provider session; see Server.activeSession
	// sso maps a connection id to the user signed in at that connection's
	// (simulated) identity provider.
	sso map[string]string
}

// active reports whether a provider session still counts: it has not been
// ended by a logout, a replayed token or an administrator. It is the one test
// of "is this provider session still active"; everything that ends a session
// sets ended.
func (ps *providerSession) active() bool { return ps != nil && !ps.ended }

// activeSessionLocked returns the provider session sid when it is active.
func (s *Server) activeSessionLocked(sid string) (*providerSession, bool) {
	ps := s.sessions[sid]
	return ps, ps.active()
}

// browserKey is the key of the request's browser, or "" without a cookie.
func browserKey(r *http.Request) string {
	c, err := r.Cookie(browserCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	return hashToken(c.Value)
}

// browserSession returns the request's browser's provider session, if it has
// an active one.
func (s *Server) browserSession(r *http.Request) (providerSession, bool) {
	key := browserKey(r)
	if key == "" {
		return providerSession{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.browsers[key]
	if b == nil {
		return providerSession{}, false
	}
	ps, ok := s.activeSessionLocked(b.sid)
	if !ok {
		return providerSession{}, false
	}
	return *ps, true
}

// ssoUser returns the user signed in at the connection's simulated identity
// provider in this browser, if any.
func (s *Server) ssoUser(r *http.Request, connectionID string) (string, bool) {
	key := browserKey(r)
	if key == "" || connectionID == "" {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.browsers[key]
	if b == nil {
		return "", false
	}
	userID, ok := b.sso[connectionID]
	return userID, ok
}

// rememberBrowser records a change to the request's browser, giving it a
// cookie first if it has none (or one this provider does not know).
func (s *Server) rememberBrowser(w http.ResponseWriter, r *http.Request, change func(*browser)) {
	key := browserKey(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.browsers[key]
	if b == nil {
		token := randomToken()
		key = hashToken(token)
		b = &browser{sso: map[string]string{}}
		s.browsers[key] = b
		http.SetCookie(w, s.browserCookie(token, 0))
	}
	change(b)
}

// forgetBrowser drops the request's browser and clears its cookie, and
// returns the provider session it had.
func (s *Server) forgetBrowser(w http.ResponseWriter, r *http.Request) string {
	key := browserKey(r)
	if key == "" {
		return ""
	}
	s.mu.Lock()
	b := s.browsers[key]
	delete(s.browsers, key)
	s.mu.Unlock()
	http.SetCookie(w, s.browserCookie("", -1))
	if b == nil {
		return ""
	}
	return b.sid
}

func (s *Server) browserCookie(value string, maxAge int) *http.Cookie {
	path := s.path
	if path == "" {
		path = "/"
	}
	return &http.Cookie{
		Name: browserCookie, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.issuer, "https:"),
	}
}

// browserLogin returns the provider session of a sign-in: one per browser,
// as Scalekit keeps one session per browser. The same user signing in to the
// same client again (another organization, a silent sign-in, a new sign-in
// on the page) goes on in the browser's session, now in orgID; a sign-in as
// someone else ends it (its client is told, as at a logout) and starts a new
// one. A sign-in to another client starts its own session.
func (s *Server) browserLogin(w http.ResponseWriter, r *http.Request, req authRequest, userID, orgID string, amr []string) providerSession {
	if cur, ok := s.browserSession(r); ok && cur.clientID == req.ClientID {
		if cur.userID == userID {
			if ps, ok := s.resumeSession(cur.id, orgID, amr, reauthenticates(req)); ok {
				return ps
			}
		} else {
			s.endSession(context.WithoutCancel(r.Context()), cur.id, "", statusLogout, false)
		}
	}
	ps := s.startSession(req.ClientID, userID, orgID, amr)
	s.rememberBrowser(w, r, func(b *browser) { b.sid = ps.id })
	return ps
}

// reauthenticates reports whether a sign-in proved who the user is anew,
// rather than riding on the browser's session (prompt none, select_account).
func reauthenticates(req authRequest) bool {
	prompts := strings.Fields(req.Prompt)
	return !slices.Contains(prompts, "none") && !slices.Contains(prompts, "select_account")
}

// resumeSession moves an active provider session to orgID, and when the user
// signed in anew, records how and when.
func (s *Server) resumeSession(sid, orgID string, amr []string, reauthenticated bool) (providerSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, ok := s.activeSessionLocked(sid)
	if !ok {
		return providerSession{}, false
	}
	now := s.now()
	ps.orgID, ps.lastActive = orgID, now
	if reauthenticated {
		if len(amr) == 0 {
			amr = []string{amrEmail}
		}
		ps.amr, ps.authTime = amr, now
	}
	return *ps, true
}
