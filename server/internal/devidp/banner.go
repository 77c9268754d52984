package devidp

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Banner describes the provider for a loud start-up message: a warning, the
// issuer, the clients and the test users. It holds no secret.
func (s *Server) Banner() string {
	var b strings.Builder
	rule := strings.Repeat("=", 78)
	fmt.Fprintf(&b, "%s\n DEVELOPMENT IDENTITY PROVIDER: anyone who reaches it signs in without a password.\n", rule)
	fmt.Fprintf(&b, " Never use it in production.\n issuer: %s\n admin page: %s/dev/admin\n", s.issuer, s.issuer)
	fmt.Fprintf(&b, " simulate Scalekit: %s/dev/idp-initiated-login (IdP-initiated sign-in), %s/dev/invite?email=&organization_id= (invitation)\n", s.issuer, s.issuer)
	if s.webhooks != nil {
		fmt.Fprintf(&b, " webhooks to: %s\n", s.webhooks.url)
	}
	for _, id := range slices.Sorted(maps.Keys(s.clients)) {
		c := s.clients[id]
		fmt.Fprintf(&b, " client: %s, redirect URIs: %s\n", c.ID, strings.Join(c.RedirectURIs, ", "))
	}
	b.WriteString(" test users:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	s.mu.Lock()
	for _, u := range s.dir.users[:s.dir.seeded] {
		var orgs []string
		for _, m := range u.Memberships {
			orgs = append(orgs, fmt.Sprintf("%s (%s)", m.OrganizationName, strings.Join(m.Roles, ", ")))
		}
		note := ""
		if !u.EmailVerified {
			note = "\temail not verified"
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s%s\n", u.Email, u.Name, strings.Join(orgs, ", "), note)
	}
	s.mu.Unlock()
	_ = tw.Flush()
	b.WriteString(rule + "\n")
	return b.String()
}
