package devidp

import (
	"fmt"
	"slices"
	"strings"
)

// User is a person known to the provider.
type User struct {
	ID            string // usr_…
	Email         string
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Picture       string
	// ExternalID is the customer's own id for the user (Scalekit's
	// external_id; the xuid claim of access tokens), when set.
	ExternalID  string
	Memberships []Membership
}

// Membership is a user's place in an organization.
type Membership struct {
	OrganizationID   string // org_…
	OrganizationName string
	Roles            []string
	// Status is MembershipActive or MembershipPendingInvite (Scalekit's
	// membership_status). Only an active membership lets the user sign in to
	// the organization.
	Status string
}

// Membership statuses, as Scalekit's REST API names them.
const (
	MembershipActive        = "ACTIVE"
	MembershipPendingInvite = "PENDING_INVITE"
)

// DefaultOrganizationID is the organization that new users join, unless
// their authorize request named another existing organization.
const DefaultOrganizationID = "org_acme"

// rolePermissions is the seeded role catalogue; tokens carry the union of
// the permissions of a member's roles.
var rolePermissions = map[string][]string{
	"admin":  {"org:read", "org:write", "members:manage"},
	"member": {"org:read"},
}

// organization: externalID is the customer's own id for it (Scalekit's
// external_id; the xoid claim of access tokens), when set. connection is its
// enterprise SSO connection, which the IdP-initiated simulation signs in
// through.
type organization struct {
	id, name, externalID string
	connection           connection
}

// connection is an organization's SSO connection to its own identity
// provider (simulated: there is no SAML or OIDC behind it).
type connection struct{ id, name string }

// directory holds organizations and users; Server.mu guards it.
type directory struct {
	orgs   []organization
	users  []*User // seeded first, then in order of sign-up
	seeded int     // how many users were seeded: the login page's buttons
}

func seedDirectory() directory {
	acme := organization{id: "org_acme", name: "Acme Inc", externalID: "crm-acme-0042",
		connection: connection{"conn_acme_okta", "Okta"}}
	globex := organization{id: "org_globex", name: "Globex Corp",
		connection: connection{"conn_globex_entra", "Microsoft Entra ID"}}
	member := func(o organization, roles ...string) Membership {
		return Membership{OrganizationID: o.id, OrganizationName: o.name, Roles: roles, Status: MembershipActive}
	}
	return directory{
		orgs: []organization{acme, globex},
		users: []*User{
			{
				ID: "usr_alice", Email: "alice@acme.test", EmailVerified: true,
				Name: "Alice Admin", GivenName: "Alice", FamilyName: "Admin", ExternalID: "crm-user-0007",
				Memberships: []Membership{member(acme, "admin"), member(globex, "member")},
			},
			{
				ID: "usr_bob", Email: "bob@acme.test", EmailVerified: true,
				Name: "Bob Member", GivenName: "Bob", FamilyName: "Member",
				Memberships: []Membership{member(acme, "member")},
			},
			{
				ID: "usr_carol", Email: "carol@globex.test", EmailVerified: false,
				Name: "Carol Unverified", GivenName: "Carol", FamilyName: "Unverified",
				Memberships: []Membership{member(globex, "member")},
			},
		},
		seeded: 3,
	}
}

func (d *directory) org(id string) (organization, bool) {
	for _, o := range d.orgs {
		if o.id == id {
			return o, true
		}
	}
	return organization{}, false
}

func (d *directory) user(id string) *User {
	for _, u := range d.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (d *directory) userByEmail(email string) *User {
	for _, u := range d.users {
		if strings.EqualFold(u.Email, email) {
			return u
		}
	}
	return nil
}

// connection returns the organization whose SSO connection has this id.
func (d *directory) connection(id string) (organization, bool) {
	for _, o := range d.orgs {
		if o.connection.id == id {
			return o, true
		}
	}
	return organization{}, false
}

// membership returns the user's active membership of the organization: the
// one that lets them sign in to it.
func (u *User) membership(orgID string) (Membership, bool) {
	for _, m := range u.Memberships {
		if m.OrganizationID == orgID && m.Status == MembershipActive {
			return m, true
		}
	}
	return Membership{}, false
}

// activeMemberships are the organizations the user may sign in to.
func (u *User) activeMemberships() []Membership {
	var active []Membership
	for _, m := range u.Memberships {
		if m.Status == MembershipActive {
			active = append(active, m)
		}
	}
	return active
}

func (u *User) clone() User {
	c := *u
	c.Memberships = make([]Membership, len(u.Memberships))
	for i, m := range u.Memberships {
		c.Memberships[i] = m
		c.Memberships[i].Roles = slices.Clone(m.Roles)
	}
	return c
}

// Users returns copies of the seeded and signed-up users, seeded first.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := make([]User, len(s.dir.users))
	for i, u := range s.dir.users {
		users[i] = u.clone()
	}
	return users
}

// user returns a copy of the user with the given ID.
func (s *Server) user(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.dir.user(id); u != nil {
		return u.clone(), true
	}
	return User{}, false
}

// SetRoles replaces a user's roles in an organization, making the user a
// member first if needed, as an administrator would at the provider, and
// sends a user.organization_membership_updated webhook (_created for a new
// membership) when webhooks are configured. The next access token issued for
// that user and organization (at a refresh, say) carries the new roles.
// Known roles are "admin" and "member"; an empty list leaves a membership
// without roles.
func (s *Server) SetRoles(userID, orgID string, roles []string) error {
	for _, r := range roles {
		if _, ok := rolePermissions[r]; !ok {
			return fmt.Errorf("devidp: SetRoles: unknown role %q (want admin or member)", r)
		}
	}
	s.mu.Lock()
	u := s.dir.user(userID)
	org, ok := s.dir.org(orgID)
	switch {
	case u == nil:
		s.mu.Unlock()
		return fmt.Errorf("devidp: SetRoles: unknown user %q", userID)
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("devidp: SetRoles: unknown organization %q", orgID)
	}
	event, name := "user.organization_membership_created", "User Organization Membership Created"
	if i := slices.IndexFunc(u.Memberships, func(m Membership) bool { return m.OrganizationID == orgID }); i >= 0 {
		u.Memberships[i].Roles = slices.Clone(roles)
		u.Memberships[i].Status = MembershipActive
		event, name = "user.organization_membership_updated", "User Organization Membership Updated"
	} else {
		u.Memberships = append(u.Memberships, Membership{OrganizationID: org.id, OrganizationName: org.name, Roles: slices.Clone(roles), Status: MembershipActive})
	}
	changed := u.clone()
	s.mu.Unlock()
	s.log.Info("membership changed", "sub", userID, "oid", orgID, "roles", roles)
	s.sendMembershipWebhook(event, name, changed, org)
	return nil
}

// RemoveMembership removes a user from an organization, as an administrator
// would, and sends a user.organization_membership_deleted webhook when
// webhooks are configured. The user's provider sessions in that organization
// end: their refresh tokens stop working. The membership event is the
// signal; no logout token or user.logout webhook is sent for them.
func (s *Server) RemoveMembership(userID, orgID string) error {
	s.mu.Lock()
	u := s.dir.user(userID)
	org, _ := s.dir.org(orgID)
	i := -1
	if u != nil {
		i = slices.IndexFunc(u.Memberships, func(m Membership) bool { return m.OrganizationID == orgID })
	}
	if i < 0 {
		s.mu.Unlock()
		return fmt.Errorf("devidp: RemoveMembership: %q is not a member of %q", userID, orgID)
	}
	u.Memberships = slices.Delete(u.Memberships, i, i+1)
	removed := u.clone()
	ended := s.endSessionsLocked(func(ps *providerSession) bool { return ps.userID == userID && ps.orgID == orgID })
	s.mu.Unlock()
	s.log.Info("membership removed", "sub", userID, "oid", orgID, "sessions_ended", ended)
	s.sendMembershipWebhook("user.organization_membership_deleted", "User Organization Membership Deleted", removed, org)
	return nil
}

// DeleteOrganization deletes an organization and every membership in it, as
// an administrator would, and sends an organization.deleted webhook when
// webhooks are configured. Provider sessions in it end, as in
// RemoveMembership.
func (s *Server) DeleteOrganization(orgID string) error {
	s.mu.Lock()
	org, ok := s.dir.org(orgID)
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("devidp: DeleteOrganization: unknown organization %q", orgID)
	}
	s.dir.orgs = slices.DeleteFunc(s.dir.orgs, func(o organization) bool { return o.id == orgID })
	for _, u := range s.dir.users {
		u.Memberships = slices.DeleteFunc(u.Memberships, func(m Membership) bool { return m.OrganizationID == orgID })
	}
	ended := s.endSessionsLocked(func(ps *providerSession) bool { return ps.orgID == orgID })
	s.mu.Unlock()
	s.log.Info("organization deleted", "oid", orgID, "sessions_ended", ended)
	s.sendOrganizationDeletedWebhook(org)
	return nil
}

// endSessionsLocked revokes the active provider sessions that match and
// returns how many.
func (s *Server) endSessionsLocked(match func(*providerSession) bool) int {
	n := 0
	for sid, ps := range s.sessions {
		if !ps.ended && match(ps) {
			if _, ended := s.endSessionLocked(sid); ended {
				n++
			}
		}
	}
	return n
}

// userByEmail returns a copy of the user with this email.
func (s *Server) userByEmail(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.dir.userByEmail(strings.TrimSpace(email)); u != nil && email != "" {
		return u.clone(), true
	}
	return User{}, false
}

// findOrCreateUser returns the user with this email, or a new user who joins
// orgID (when it exists) or DefaultOrganizationID as a "member". New users
// count as verified: the real hosted page would have sent a one-time code.
func (s *Server) findOrCreateUser(email, name, orgID string) (u User, created bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing := s.dir.userByEmail(email); existing != nil {
		return existing.clone(), false
	}
	org, ok := s.dir.org(orgID)
	if !ok {
		org, ok = s.dir.org(DefaultOrganizationID) // gone when an administrator deleted it
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	given, family, _ := strings.Cut(name, " ")
	nu := &User{
		ID: "usr_" + randomDigits(), Email: email, EmailVerified: true,
		Name: name, GivenName: given, FamilyName: strings.TrimSpace(family),
	}
	if ok {
		nu.Memberships = []Membership{{OrganizationID: org.id, OrganizationName: org.name, Roles: []string{"member"}, Status: MembershipActive}}
	}
	s.dir.users = append(s.dir.users, nu)
	return nu.clone(), true
}

// permissions returns the sorted union of the roles' permissions.
func permissions(roles []string) []string {
	perms := []string{}
	for _, r := range roles {
		perms = append(perms, rolePermissions[r]...)
	}
	slices.Sort(perms)
	return slices.Compact(perms)
}
