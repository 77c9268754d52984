package devidp

import (
	"cmp"
	"html/template"
	"net/http"
	"slices"
	"time"
)

// The admin page, <issuer>/dev/admin, does what an administrator does in
// Scalekit's dashboard: end a session, remove a membership, change a role,
// delete an organization. Each action sends the webhook Scalekit would send.
// It is as open as the rest of the provider (anyone who reaches it is
// trusted), but a web page cannot drive it: its forms are refused unless
// they come from the provider's own origin.

var adminPage = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/admin.html"))

// adminNotices are the outcomes a redirect back to the page may name; the
// query selects one and is never shown itself.
var adminNotices = map[string]string{
	"session-ended":      "The session has ended.",
	"membership-removed": "The membership was removed.",
	"role-changed":       "The role was changed.",
	"org-deleted":        "The organization was deleted.",
}

type adminData struct {
	Stylesheet string
	Favicon    string
	Title      string
	Base       string // the issuer's path, "" or "/dex"
	Notice     string
	Error      string
	Sessions   []adminSession
	Users      []adminUser
	Orgs       []adminOrg
	Roles      []string
}

type adminSession struct {
	ID, User, Organization, Started string
}

type adminUser struct {
	ID, Name, Email string
	Memberships     []adminMembership
}

type adminMembership struct {
	OrganizationID, OrganizationName, Role string
}

type adminOrg struct {
	ID, Name string
	Members  int
}

func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /dev/admin", s.handleAdmin)
	mux.HandleFunc("POST /dev/admin/end-session", s.adminAction(func(r *http.Request) (string, error) {
		if !s.revoke(r.PostFormValue("session")) {
			return "", errNotActive
		}
		return "session-ended", nil
	}))
	mux.HandleFunc("POST /dev/admin/remove-membership", s.adminAction(func(r *http.Request) (string, error) {
		return "membership-removed", s.RemoveMembership(r.PostFormValue("user"), r.PostFormValue("organization"))
	}))
	mux.HandleFunc("POST /dev/admin/set-role", s.adminAction(func(r *http.Request) (string, error) {
		return "role-changed", s.SetRoles(r.PostFormValue("user"), r.PostFormValue("organization"), []string{r.PostFormValue("role")})
	}))
	mux.HandleFunc("POST /dev/admin/delete-organization", s.adminAction(func(r *http.Request) (string, error) {
		return "org-deleted", s.DeleteOrganization(r.PostFormValue("organization"))
	}))
}

type adminError string

func (e adminError) Error() string { return string(e) }

const errNotActive = adminError("That session is not active.")

// adminAction runs a form's action and returns to the page (303, so a reload
// does not repeat it). A cross-site form is refused before anything changes.
func (s *Server) adminAction(act func(r *http.Request) (notice string, err error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.sameOrigin(r) {
			s.log.Warn("admin action refused", "reason", "cross-site request")
			s.renderMessage(w, http.StatusForbidden, "Request refused",
				"Admin actions are accepted only from the provider's own admin page.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			s.renderAdmin(w, http.StatusBadRequest, "", "The form could not be read.")
			return
		}
		notice, err := act(r)
		if err != nil {
			s.renderAdmin(w, http.StatusBadRequest, "", "Nothing changed: "+err.Error())
			return
		}
		http.Redirect(w, r, s.path+"/dev/admin?done="+notice, http.StatusSeeOther)
	}
}

// sameOrigin refuses what a browser says came from elsewhere. Fetch Metadata
// decides when the browser sends it: the pages' no-referrer policy makes
// browsers send "Origin: null" even for the provider's own forms. Without
// it (an older browser), the Origin must be the provider's own. Clients that
// send neither are not browsers, so no web page can make them send the
// request.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	return origin == "" || origin == s.origin
}

func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	s.renderAdmin(w, http.StatusOK, adminNotices[r.URL.Query().Get("done")], "")
}

func (s *Server) renderAdmin(w http.ResponseWriter, status int, notice, errMsg string) {
	d := adminData{
		Stylesheet: s.path + "/static/style.css", Favicon: s.path + "/static/favicon.svg", Title: "Admin", Base: s.path,
		Notice: notice, Error: errMsg, Roles: []string{"admin", "member"},
	}
	s.mu.Lock()
	names := map[string]string{}
	for _, o := range s.dir.orgs {
		names[o.id] = o.name
		d.Orgs = append(d.Orgs, adminOrg{ID: o.id, Name: o.name})
	}
	labels := map[string]string{}
	for _, u := range s.dir.users {
		labels[u.ID] = u.Name + " (" + u.Email + ")"
		au := adminUser{ID: u.ID, Name: u.Name, Email: u.Email}
		for _, m := range u.Memberships {
			role := ""
			if len(m.Roles) > 0 {
				role = m.Roles[0]
			}
			au.Memberships = append(au.Memberships, adminMembership{m.OrganizationID, m.OrganizationName, role})
			for i := range d.Orgs {
				if d.Orgs[i].ID == m.OrganizationID {
					d.Orgs[i].Members++
				}
			}
		}
		d.Users = append(d.Users, au)
	}
	var live []*providerSession
	for _, ps := range s.sessions {
		if !ps.ended {
			live = append(live, ps)
		}
	}
	slices.SortFunc(live, func(a, b *providerSession) int {
		return cmp.Or(b.authTime.Compare(a.authTime), cmp.Compare(a.id, b.id))
	})
	for _, ps := range live {
		d.Sessions = append(d.Sessions, adminSession{
			ID: ps.id, User: cmp.Or(labels[ps.userID], ps.userID), Organization: cmp.Or(names[ps.orgID], ps.orgID, "no organization"),
			Started: ps.authTime.UTC().Format(time.DateTime) + " UTC",
		})
	}
	s.mu.Unlock()

	// The forms post to the provider itself.
	s.writePage(w, status, "admin", adminPage, d, s.issuer)
}
