package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// hostedForm reads the hidden fields and action of the hosted login page.
func hostedForm(t testing.TB, page []byte) (string, url.Values) {
	t.Helper()
	m := formAction.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no form on the hosted page:\n%s", page)
	}
	form := url.Values{}
	for _, h := range hiddenInput.FindAllSubmatch(page, -1) {
		if name := string(h[1]); name != "action" && name != "user" {
			form.Set(name, html.UnescapeString(string(h[2])))
		}
	}
	return html.UnescapeString(string(m[1])), form
}

// startLogin follows /auth/login?query to the hosted page and returns the
// page's response.
func (e *testEnv) startLogin(c *http.Client, path string) response {
	e.t.Helper()
	r := e.get(c, path)
	wantStatus(e.t, r, http.StatusFound)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, e.issuer+"/oauth/authorize?") {
		e.t.Fatalf("login redirected to %q; want the environment's authorize endpoint", loc)
	}
	page := e.get(c, loc)
	wantStatus(e.t, page, http.StatusOK)
	return page
}

// choose submits the hosted page as userID (and orgID when asked) and
// returns the provider's redirect to our callback.
func (e *testEnv) choose(c *http.Client, page response, userID, orgID string) string {
	e.t.Helper()
	action, form := hostedForm(e.t, page.body)
	form.Set("action", "user")
	form.Set("user", userID)
	r := e.post(c, absolute(page.Request.URL, action), form)
	if r.StatusCode == http.StatusOK && strings.Contains(string(r.body), "Choose an organization") {
		action, form = hostedForm(e.t, r.body)
		form.Set("action", "organization")
		form.Set("user", userID)
		form.Set("organization", orgID)
		r = e.post(c, absolute(page.Request.URL, action), form)
	}
	wantStatus(e.t, r, http.StatusFound)
	return r.Header.Get("Location")
}

func absolute(base *url.URL, ref string) string {
	u, err := base.Parse(ref)
	if err != nil {
		return ref
	}
	return u.String()
}

func (e *testEnv) post(c *http.Client, u string, form url.Values) response {
	e.t.Helper()
	return e.do(c, http.MethodPost, u, strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

// login signs c in as userID through the whole flow and returns where the
// callback sent the browser.
func (e *testEnv) login(c *http.Client, userID string, query ...string) string {
	e.t.Helper()
	path := "/auth/login"
	if len(query) > 0 {
		path += "?" + query[0]
	}
	callback := e.choose(c, e.startLogin(c, path), userID, "org_acme")
	r := e.get(c, callback)
	wantStatus(e.t, r, http.StatusFound)
	if loc := r.Header.Get("Location"); strings.HasPrefix(loc, "/login-error") {
		e.t.Fatalf("signing %s in ended at %s; the server logged:\n%s", userID, loc, warnings(e.logs.String()))
	}
	return r.Header.Get("Location")
}

// warnings picks the lines of the server's log at warning level or above.
func warnings(logs string) string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
