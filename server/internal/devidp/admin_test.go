package devidp

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func (e *testEnv) adminPage(t *testing.T) page {
	t.Helper()
	p := readPage(t, e.get(t, "/dev/admin", nil))
	if p.resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /dev/admin = %d; want 200", p.resp.StatusCode)
	}
	return p
}

// adminForm finds the form holding button inside the section headed
// heading, as a person would find it, and returns its action and fields.
func adminForm(t *testing.T, p page, heading, button string) (string, url.Values) {
	t.Helper()
	for _, sec := range find(p.doc, func(n *html.Node) bool { return n.Data == "section" }) {
		if hs := find(sec, func(n *html.Node) bool { return n.Data == "h2" || n.Data == "h3" }); len(hs) == 0 || text(hs[0]) != heading {
			continue
		}
		for _, form := range find(sec, func(n *html.Node) bool { return n.Data == "form" }) {
			if len(find(form, func(n *html.Node) bool { return n.Data == "button" && text(n) == button })) == 0 {
				continue
			}
			values := url.Values{}
			for _, in := range find(form, func(n *html.Node) bool { return n.Data == "input" }) {
				values.Set(attr(in, "name"), attr(in, "value"))
			}
			for _, sel := range find(form, func(n *html.Node) bool { return n.Data == "select" }) {
				for _, opt := range find(sel, func(n *html.Node) bool { return n.Data == "option" && hasAttr(n, "selected") }) {
					values.Set(attr(sel, "name"), attr(opt, "value"))
				}
			}
			action, err := p.resp.Request.URL.Parse(attr(form, "action"))
			if err != nil {
				t.Fatal(err)
			}
			return action.String(), values
		}
	}
	t.Fatalf("no button %q under the heading %q", button, heading)
	return "", nil
}

func hasAttr(n *html.Node, name string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == name })
}

// post sends a form with the headers a browser adds.
func (e *testEnv) post(t *testing.T, action string, values url.Values, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, action, strings.NewReader(values.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", action, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (e *testEnv) sameOriginPost(t *testing.T, action string, values url.Values) page {
	t.Helper()
	// What Chromium sends for a form on a no-referrer page.
	resp := e.post(t, action, values, "Origin", "null", "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s = %d; want 303", action, resp.StatusCode)
	}
	next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasSuffix(next.Path, "/dev/admin") {
		t.Fatalf("POST %s went to %q; want the admin page", action, resp.Header.Get("Location"))
	}
	got, err := e.client.Get(next.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { got.Body.Close() })
	return readPage(t, got)
}

func status(p page) string {
	for _, n := range find(p.doc, func(n *html.Node) bool { return attr(n, "role") == "status" }) {
		return text(n)
	}
	return ""
}

func TestAdminPage(t *testing.T) {
	rc := newWebhookReceiver(t, nil)
	e := newTestServer(t, "/dex", withWebhooks(rc))
	bob := e.login(t)
	sid := e.sidOf(t, bob)

	p := e.adminPage(t)
	if csp := p.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP = %q; want no scripts at all", csp)
	}
	if got := p.texts("h3"); !slices.Contains(got, "Bob Member (bob@acme.test)") || !slices.Contains(got, "Alice Admin (alice@acme.test)") {
		t.Errorf("user headings = %q; want every user", got)
	}
	if got := p.labels(); got["Role in Globex Corp"] == "" {
		t.Errorf("labels = %v; want a role control per membership", got)
	}
	if !slices.ContainsFunc(p.texts("p"), func(s string) bool {
		return strings.Contains(s, "Bob Member (bob@acme.test) in Acme Inc") && strings.Contains(s, sid)
	}) {
		t.Errorf("paragraphs = %q; want Bob's live session", p.texts("p"))
	}

	action, form := adminForm(t, p, "Bob Member (bob@acme.test)", "Change role in Acme Inc")
	form.Set("role", "admin")
	p = e.sameOriginPost(t, action, form)
	if got := status(p); got != "The role was changed." {
		t.Errorf("status after changing the role = %q", got)
	}
	if u, _ := e.idp.user("usr_bob"); !slices.Equal(u.Memberships[0].Roles, []string{"admin"}) {
		t.Errorf("Bob's roles = %v; want [admin]", u.Memberships[0].Roles)
	}
	if d := rc.next(t); d.ev["type"] != "user.organization_membership_updated" {
		t.Errorf("webhook after a role change = %v", d.ev["type"])
	}

	action, form = adminForm(t, p, "Live sessions", "End session")
	p = e.sameOriginPost(t, action, form)
	if got, _ := e.idp.SessionStatus(sid); got != "revoked" || status(p) != "The session has ended." {
		t.Errorf("after End session: status %q, page says %q; want revoked", got, status(p))
	}
	if d := rc.next(t); d.ev["type"] != "user.logout" || lookup(d.ev, "data.user_session.session_id") != sid {
		t.Errorf("webhook after ending the session = %v", d.ev)
	}
	if !slices.Contains(p.texts("p"), "No one is signed in.") {
		t.Errorf("page after the only session ended: %q", p.texts("p"))
	}

	action, form = adminForm(t, p, "Alice Admin (alice@acme.test)", "Remove from Globex Corp")
	e.sameOriginPost(t, action, form)
	if d := rc.next(t); d.ev["type"] != "user.organization_membership_deleted" || lookup(d.ev, "data.user.id") != "usr_alice" {
		t.Errorf("webhook after removing a membership = %v", d.ev)
	}

	action, form = adminForm(t, p, "Organizations", "Delete Globex Corp")
	p = e.sameOriginPost(t, action, form)
	if d := rc.next(t); d.ev["type"] != "organization.deleted" || lookup(d.ev, "data.id") != "org_globex" {
		t.Errorf("webhook after deleting an organization = %v", d.ev)
	}
	if slices.Contains(p.texts("button"), "Delete Globex Corp") {
		t.Error("the deleted organization is still listed")
	}
}

func TestAdminRefusesCrossSiteAndBadForms(t *testing.T) {
	e := newTestServer(t, "")
	bob := e.login(t)
	sid := e.sidOf(t, bob)
	p := e.adminPage(t)
	action, form := adminForm(t, p, "Live sessions", "End session")

	for _, tc := range []struct {
		name   string
		header []string
	}{
		{"cross-site", []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site, another origin", []string{"Sec-Fetch-Site", "same-site"}},
		{"another origin", []string{"Origin", "http://evil.test"}},
		{"a null origin", []string{"Origin", "null"}},
		{"cross-site, with the provider's origin", []string{"Sec-Fetch-Site", "cross-site", "Origin", e.idp.Issuer()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := e.post(t, action, form, tc.header...); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s = %d; want 403", tc.name, resp.StatusCode)
			}
			if got, _ := e.idp.SessionStatus(sid); got != "active" {
				t.Errorf("session after a refused request = %q; want active", got)
			}
		})
	}

	for _, tc := range []struct {
		path   string
		values url.Values
	}{
		{"/dev/admin/end-session", url.Values{"session": {"ses_unknown"}}},
		{"/dev/admin/remove-membership", url.Values{"user": {"usr_bob"}, "organization": {"org_globex"}}},
		{"/dev/admin/set-role", url.Values{"user": {"usr_bob"}, "organization": {"org_acme"}, "role": {"owner"}}},
		{"/dev/admin/delete-organization", url.Values{"organization": {"org_nothing"}}},
	} {
		resp := e.post(t, e.idp.Issuer()+tc.path, tc.values, "Sec-Fetch-Site", "same-origin")
		p := readPage(t, resp)
		if resp.StatusCode != http.StatusBadRequest || len(find(p.doc, func(n *html.Node) bool { return attr(n, "role") == "alert" })) != 1 {
			t.Errorf("POST %s %v = %d; want 400 with an alert", tc.path, tc.values, resp.StatusCode)
		}
	}
	if u, _ := e.idp.user("usr_bob"); len(u.Memberships) != 1 || !slices.Equal(u.Memberships[0].Roles, []string{"member"}) {
		t.Errorf("Bob's memberships after refused forms = %+v; want unchanged", u.Memberships)
	}
}
