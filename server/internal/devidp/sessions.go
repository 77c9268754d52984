package devidp

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Scalekit's session API (scalekit-inc/developer-docs, openapi/paths/
// api_v1_sessions_{session_id}.yaml, …_revoke.yaml, api_v1_users_{user_id}_
// sessions.yaml, …_revoke.yaml; scalekit-sdk-go proto/scalekit/v1/sessions/
// sessions.proto). Statuses are lower-case strings. The docs are silent on
// revoking a session that has already ended; the provider answers 200 with
// the session as it is.

const (
	statusActive  = "active"
	statusRevoked = "revoked"
	statusLogout  = "logout"
)

// apiRevokedSession is RevokedSessionDetails.
type apiRevokedSession struct {
	SessionID         string     `json:"session_id"`
	UserID            string     `json:"user_id"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	IdleExpiresAt     time.Time  `json:"idle_expires_at"`
	AbsoluteExpiresAt time.Time  `json:"absolute_expires_at"`
	ExpiredAt         *time.Time `json:"expired_at,omitempty"` // set by a revocation
	LogoutAt          *time.Time `json:"logout_at,omitempty"`  // set by a logout
	Status            string     `json:"status"`
	LastActiveAt      time.Time  `json:"last_active_at"`
}

// apiSession is SessionDetails.
type apiSession struct {
	apiRevokedSession
	OrganizationID             string             `json:"organization_id"`
	AuthenticatedOrganizations []string           `json:"authenticated_organizations"`
	AuthenticatedClients       []apiSessionClient `json:"authenticated_clients"`
}

type apiSessionClient struct {
	ClientID       string `json:"client_id"`
	OrganizationID string `json:"organization_id,omitempty"`
}

func (s *Server) revokedDetails(ps providerSession) apiRevokedSession {
	updated := ps.lastActive
	out := apiRevokedSession{
		SessionID: ps.id, UserID: ps.userID, CreatedAt: ps.authTime.UTC(),
		IdleExpiresAt: ps.lastActive.Add(s.refreshTTL).UTC(), AbsoluteExpiresAt: ps.authTime.Add(s.refreshTTL).UTC(),
		Status: sessionStatus(ps), LastActiveAt: ps.lastActive.UTC(),
	}
	if ps.ended {
		updated = ps.endedAt
		ended := ps.endedAt.UTC()
		if ps.endStatus == statusLogout {
			out.LogoutAt = &ended
		} else {
			out.ExpiredAt = &ended
		}
	}
	out.UpdatedAt = updated.UTC()
	return out
}

func (s *Server) sessionDetails(ps providerSession) apiSession {
	out := apiSession{
		apiRevokedSession: s.revokedDetails(ps), OrganizationID: ps.orgID, AuthenticatedOrganizations: []string{},
		AuthenticatedClients: []apiSessionClient{{ClientID: ps.clientID, OrganizationID: ps.orgID}},
	}
	if ps.orgID != "" {
		out.AuthenticatedOrganizations = []string{ps.orgID}
	}
	return out
}

func sessionStatus(ps providerSession) string {
	if ps.ended {
		return ps.endStatus
	}
	return statusActive
}

// SessionStatus reports a provider session's status as Scalekit's session
// API does ("active", "revoked" or "logout"), and whether the session exists.
func (s *Server) SessionStatus(sid string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, ok := s.sessions[sid]
	if !ok {
		return "", false
	}
	return sessionStatus(*ps), true
}

func (s *Server) session(sid string) (providerSession, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, ok := s.sessions[sid]
	if !ok {
		return providerSession{}, false
	}
	return *ps, true
}

func (s *Server) handleGetSession(w http.ResponseWriter, r *http.Request) {
	ps, ok := s.session(r.PathValue("session_id"))
	if !ok {
		writeAPIError(w, http.StatusNotFound, 5, "session not found")
		return
	}
	writeJSON(w, http.StatusOK, s.sessionDetails(ps))
}

func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	sid := r.PathValue("session_id")
	if _, ok := s.session(sid); !ok {
		writeAPIError(w, http.StatusNotFound, 5, "session not found")
		return
	}
	s.revoke(sid)
	ps, _ := s.session(sid)
	writeJSON(w, http.StatusOK, map[string]any{"revoked_session": s.revokedDetails(ps)})
}

// revoke ends an active provider session as an administrator or the API
// does, and reports whether it was active.
func (s *Server) revoke(sid string) bool {
	return s.endSession(context.Background(), sid, "", statusRevoked, false)
}

// userSessions returns a user's provider sessions, newest first.
func (s *Server) userSessions(userID string) []providerSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []providerSession
	for _, ps := range s.sessions {
		if ps.userID == userID {
			out = append(out, *ps)
		}
	}
	slices.SortFunc(out, func(a, b providerSession) int {
		return cmp.Or(b.authTime.Compare(a.authTime), cmp.Compare(a.id, b.id))
	})
	return out
}

// handleListUserSessions lists a user's sessions, newest first, filtered by
// filter.status (repeatable, any of them) and paged by page_size (default
// and maximum 100) and page_token (an opaque position this provider gave).
func (s *Server) handleListUserSessions(w http.ResponseWriter, r *http.Request) {
	userID := r.PathValue("user_id")
	if _, ok := s.user(userID); !ok {
		writeAPIError(w, http.StatusNotFound, 5, "user not found")
		return
	}
	q := r.URL.Query()
	statuses := q["filter.status"]
	var matched []apiSession
	for _, ps := range s.userSessions(userID) {
		if len(statuses) == 0 || slices.Contains(statuses, sessionStatus(ps)) {
			matched = append(matched, s.sessionDetails(ps))
		}
	}
	size, err := strconv.Atoi(cmp.Or(q.Get("page_size"), "100"))
	if err != nil || size < 1 || size > 100 {
		writeAPIError(w, http.StatusBadRequest, 3, "page_size must be between 1 and 100")
		return
	}
	start, err := strconv.Atoi(cmp.Or(q.Get("page_token"), "0"))
	if err != nil || start < 0 || start > len(matched) {
		writeAPIError(w, http.StatusBadRequest, 3, "page_token is not valid")
		return
	}
	end := min(start+size, len(matched))
	next, prev := "", ""
	if end < len(matched) {
		next = strconv.Itoa(end)
	}
	if start > 0 {
		prev = strconv.Itoa(max(start-size, 0))
	}
	page := matched[start:end]
	if page == nil {
		page = []apiSession{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sessions": page, "next_page_token": next, "prev_page_token": prev, "total_size": len(matched),
	})
}

// handleRevokeUserSessions revokes every active session of a user.
func (s *Server) handleRevokeUserSessions(w http.ResponseWriter, r *http.Request) {
	userID := r.PathValue("user_id")
	if _, ok := s.user(userID); !ok {
		writeAPIError(w, http.StatusNotFound, 5, "user not found")
		return
	}
	revoked := []apiRevokedSession{}
	for _, ps := range s.userSessions(userID) {
		if s.revoke(ps.id) {
			ended, _ := s.session(ps.id)
			revoked = append(revoked, s.revokedDetails(ended))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked_sessions": revoked, "total_revoked": len(revoked)})
}
