package devidp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// invitationTTL is how long an invitation can be accepted.
const invitationTTL = 7 * 24 * time.Hour

// ErrAlreadyMember is the kind of error Invite returns for a person who is
// an active member of the organization already.
var ErrAlreadyMember = errors.New("already a member")

// invitation is an invitation to join an organization, stored under the
// hash of its token.
type invitation struct {
	userID, orgID string
	expires       time.Time
	used          bool
}

// Invite makes the person with this email (a new user, if no one has it) a
// pending member of the organization (PENDING_INVITE in the REST API), as an
// administrator's invitation at Scalekit does, and returns the invitation's
// token. Accepting it on the hosted page makes the membership active.
func (s *Server) Invite(email, orgID string) (string, error) {
	email, ok := normalizeEmail(email)
	if !ok {
		return "", errors.New("devidp: Invite: want a valid email address")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	org, ok := s.dir.org(orgID)
	if !ok {
		return "", fmt.Errorf("devidp: Invite: unknown organization %q", orgID)
	}
	u := s.dir.userByEmail(email)
	if u == nil {
		name, _, _ := strings.Cut(email, "@")
		u = &User{ID: "usr_" + randomDigits(), Email: email, Name: name, GivenName: name}
		s.dir.users = append(s.dir.users, u)
	}
	if _, member := u.membership(orgID); member {
		return "", fmt.Errorf("devidp: Invite: %s: %w of %s", email, ErrAlreadyMember, org.name)
	}
	pending := false
	for _, m := range u.Memberships {
		pending = pending || m.OrganizationID == orgID
	}
	if !pending {
		u.Memberships = append(u.Memberships, Membership{
			OrganizationID: org.id, OrganizationName: org.name, Roles: []string{"member"}, Status: MembershipPendingInvite,
		})
	}
	token := randomToken()
	s.invites[hashToken(token)] = &invitation{userID: u.ID, orgID: org.id, expires: s.now().Add(invitationTTL)}
	return token, nil
}

// pendingInvitation returns the invitation of a token that can still be
// accepted, with its user and organization.
func (s *Server) pendingInvitation(token string) (User, organization, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, u, org, ok := s.pendingInvitationLocked(token)
	if !ok {
		return User{}, organization{}, false
	}
	return u.clone(), org, true
}

func (s *Server) pendingInvitationLocked(token string) (*invitation, *User, organization, bool) {
	inv := s.invites[hashToken(token)]
	if token == "" || inv == nil || inv.used || !s.now().Before(inv.expires) {
		return nil, nil, organization{}, false
	}
	u := s.dir.user(inv.userID)
	org, ok := s.dir.org(inv.orgID)
	if u == nil || !ok {
		return nil, nil, organization{}, false
	}
	return inv, u, org, true
}

// redeemInvitation spends an invitation: the membership becomes active and
// the email counts as verified (the invitation reached it).
func (s *Server) redeemInvitation(token string) (User, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, u, org, ok := s.pendingInvitationLocked(token)
	if !ok {
		return User{}, "", false
	}
	inv.used = true
	u.EmailVerified = true
	for i := range u.Memberships {
		if u.Memberships[i].OrganizationID == org.id {
			u.Memberships[i].Status = MembershipActive
		}
	}
	return u.clone(), org.id, true
}

// acceptInvitation answers the invitation page's button: the membership
// becomes active and the person is signed in to the organization.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request, req authRequest) {
	u, orgID, ok := s.redeemInvitation(req.InvitationToken)
	if !ok {
		s.renderLogin(w, http.StatusBadRequest, req, "", "This invitation is not valid any more. Sign in, or ask for a new invitation.")
		return
	}
	s.log.Info("invitation accepted", "client_id", req.ClientID, "sub", u.ID, "oid", orgID)
	s.finishLogin(w, r, req, u, orgID, amrEmail)
}
