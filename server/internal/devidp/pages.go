package devidp

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

//go:embed templates
var templateFS embed.FS

var pages = map[string]*template.Template{
	"login":         parsePage("login.html"),
	"provider":      parsePage("provider.html"),
	"invitation":    parsePage("invitation.html"),
	"idp-initiated": parsePage("idp-initiated.html"),
	"signup":        parsePage("signup.html"),
	"organizations": parsePage("organizations.html"),
	"message":       parsePage("message.html"),
}

func parsePage(name string) *template.Template {
	return template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name))
}

type hiddenField struct{ Name, Value string }

type userButton struct{ ID, Name, Email string }

type orgButton struct{ ID, Name string }

type link struct{ Label, URL string }

// pageData feeds every template; each page uses a few fields.
type pageData struct {
	Stylesheet string
	Favicon    string
	Title      string
	Message    string
	Error      string
	Action     string // the forms' target: this provider's /oauth/authorize
	Hidden     []hiddenField
	Users      []userButton
	Orgs       []orgButton
	UserID     string
	UserLabel  string
	Name       string
	Email      string
	SignupURL  string
	LoginURL   string
	// IdpInitiatedURL is the simulation of a sign-in started at the
	// customer's identity provider.
	IdpInitiatedURL string
	Links           []link
	Provider        string // a social provider's name
}

func (s *Server) newPageData(title string, req authRequest) pageData {
	d := pageData{Stylesheet: s.path + "/static/style.css", Favicon: s.path + "/static/favicon.svg", Title: title, Action: s.path + "/oauth/authorize"}
	v := req.values()
	for _, f := range req.fields() {
		if *f.ptr != "" {
			d.Hidden = append(d.Hidden, hiddenField{f.name, *f.ptr})
		}
	}
	v.Set("prompt", "create")
	d.SignupURL = d.Action + "?" + v.Encode()
	v.Del("prompt")
	d.LoginURL = d.Action + "?" + v.Encode()
	d.IdpInitiatedURL = s.path + "/dev/idp-initiated-login?" + url.Values{"client_id": {req.ClientID}}.Encode()
	return d
}

func (s *Server) renderLogin(w http.ResponseWriter, status int, req authRequest, email, errMsg string) {
	if req.Prompt == "create" {
		s.renderSignup(w, status, req, "", email, errMsg)
		return
	}
	d := s.newPageData("Sign in", req)
	d.Error = errMsg
	d.Email = email
	if d.Email == "" {
		d.Email = req.LoginHint
	}
	s.mu.Lock()
	for _, u := range s.dir.users[:s.dir.seeded] {
		d.Users = append(d.Users, userButton{u.ID, u.Name, u.Email})
	}
	s.mu.Unlock()
	s.render(w, status, "login", d, req.RedirectURI)
}

func (s *Server) renderSignup(w http.ResponseWriter, status int, req authRequest, name, email, errMsg string) {
	d := s.newPageData("Create your account", req)
	d.Error, d.Name, d.Email = errMsg, name, email
	if d.Email == "" {
		d.Email = req.LoginHint
	}
	s.render(w, status, "signup", d, req.RedirectURI)
}

// renderProvider stands in for a social provider's sign-in page.
func (s *Server) renderProvider(w http.ResponseWriter, status int, req authRequest, email, errMsg string) {
	name := socialProviders[req.Provider]
	d := s.newPageData("Continue with "+name+" (simulated)", req)
	d.Provider, d.Error, d.Email = name, errMsg, email
	if d.Email == "" {
		d.Email = req.LoginHint
	}
	s.render(w, status, "provider", d, req.RedirectURI)
}

// renderInvitation shows a pending invitation, or the login page when the
// request's invitation cannot be accepted (any more).
func (s *Server) renderInvitation(w http.ResponseWriter, status int, req authRequest) {
	u, org, ok := s.pendingInvitation(req.InvitationToken)
	if !ok {
		s.renderLogin(w, http.StatusBadRequest, req, "", "This invitation is not valid any more. Sign in, or ask for a new invitation.")
		return
	}
	d := s.newPageData("Join "+org.name, req)
	d.Message = "You were invited to join " + org.name + " as " + u.Email + "."
	s.render(w, status, "invitation", d, req.RedirectURI)
}

// renderIdpInitiated lists the sign-ins an identity provider's dashboard
// would offer: each member of each organization, through its connection.
func (s *Server) renderIdpInitiated(w http.ResponseWriter, clientID, relayState string) {
	d := pageData{Stylesheet: s.path + "/static/style.css", Title: "Sign in from your company's identity provider"}
	s.mu.Lock()
	for _, org := range s.dir.orgs {
		for _, u := range s.dir.users[:s.dir.seeded] {
			if _, member := u.membership(org.id); !member {
				continue
			}
			q := url.Values{"client_id": {clientID}, "organization_id": {org.id}, "connection_id": {org.connection.id}, "login_hint": {u.Email}}
			if relayState != "" {
				q.Set("relay_state", relayState)
			}
			d.Links = append(d.Links, link{
				Label: u.Name + " (" + u.Email + ") at " + org.name + ", through " + org.connection.name,
				URL:   s.path + "/dev/idp-initiated-login?" + q.Encode(),
			})
		}
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "idp-initiated", d, "")
}

func (s *Server) renderOrganizations(w http.ResponseWriter, req authRequest, u User) {
	d := s.newPageData("Choose an organization", req)
	d.UserID = u.ID
	d.UserLabel = u.Name + " (" + u.Email + ")"
	for _, m := range u.activeMemberships() {
		d.Orgs = append(d.Orgs, orgButton{m.OrganizationID, m.OrganizationName})
	}
	s.render(w, http.StatusOK, "organizations", d, req.RedirectURI)
}

func (s *Server) renderMessage(w http.ResponseWriter, status int, title, message string) {
	d := pageData{Stylesheet: s.path + "/static/style.css", Favicon: s.path + "/static/favicon.svg", Title: title, Message: message}
	s.render(w, status, "message", d, "")
}

// render writes a page with headers that forbid scripts, framing and
// referrers. formTarget is the redirect_uri the page's forms end up at.
func (s *Server) render(w http.ResponseWriter, status int, page string, d pageData, formTarget string) {
	s.writePage(w, status, page, pages[page], d, formTarget)
}

func (s *Server) writePage(w http.ResponseWriter, status int, name string, t *template.Template, d any, formTarget string) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", contentSecurityPolicy(formTarget))
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// contentSecurityPolicy allows no scripts and only our stylesheet. Browsers
// apply form-action to the redirects that follow a form POST, so the
// redirect_uri's origin must be listed or the code never reaches the client.
func contentSecurityPolicy(formTarget string) string {
	formAction := "'none'"
	if formTarget != "" {
		formAction = "'self' " + cspSource(formTarget)
	}
	return strings.Join([]string{
		"default-src 'none'",
		"style-src 'self'",
		"img-src 'self' data:",
		"form-action " + formAction,
		"frame-ancestors 'none'",
		"base-uri 'none'",
	}, "; ")
}

// cspSource is the origin of a URL as a CSP source expression, or its scheme
// for URLs without a host (an app's custom scheme).
func cspSource(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return ""
	case u.Host == "":
		return u.Scheme + ":"
	default:
		return u.Scheme + "://" + u.Host
	}
}

// handleStatic serves a file of templates/: the stylesheet and the favicon.
func handleStatic(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		http.ServeFileFS(w, r, templateFS, "templates/"+name)
	}
}
