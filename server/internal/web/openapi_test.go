package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/session"
)

// openAPIDoc compiles response schemas out of the committed OpenAPI document.
type openAPIDoc struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
}

func loadOpenAPI(t *testing.T) *openAPIDoc {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPI))
	if err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	return &openAPIDoc{doc: doc.(map[string]any), compiler: c}
}

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// check validates a real response against the documented one for route.
func (d *openAPIDoc) check(t *testing.T, method, route string, r response) {
	t.Helper()
	status := strconv.Itoa(r.StatusCode)
	item, _ := d.doc["paths"].(map[string]any)[route].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil {
		t.Errorf("%s %s is not documented in openapi.json", method, route)
		return
	}
	resp, _ := op["responses"].(map[string]any)[status].(map[string]any)
	if resp == nil {
		t.Errorf("%s %s answered %s, which openapi.json does not document", method, route, status)
		return
	}
	if _, hasJSON := resp["content"]; !hasJSON {
		return
	}
	loc := "openapi.json#/paths/" + pointerEscape(route) + "/" + strings.ToLower(method) + "/responses/" + status + "/content/application~1json/schema"
	schema, err := d.compiler.Compile(loc)
	if err != nil {
		t.Fatalf("compile %s: %v", loc, err)
	}
	body, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err != nil {
		t.Errorf("%s %s: body is not JSON: %s", method, route, r.body)
		return
	}
	if err := schema.Validate(body); err != nil {
		t.Errorf("%s %s %s: body %s does not match openapi.json: %v", method, route, status, r.body, err)
	}
}

func TestResponsesMatchOpenAPI(t *testing.T) {
	d := loadOpenAPI(t)
	e := newTestServer(t)
	c, other := e.browser(), e.browser()

	d.check(t, "GET", "/api/me", e.get(c, "/api/me"))
	d.check(t, "GET", "/api/session", e.get(c, "/api/session"))
	d.check(t, "GET", "/api/sessions", e.get(c, "/api/sessions"))
	d.check(t, "POST", "/auth/logout", e.do(c, "POST", "/auth/logout", nil))
	d.check(t, "POST", "/auth/logout", e.do(c, "POST", "/auth/logout", nil, "X-CSRF", "1"))
	d.check(t, "GET", "/healthz", e.get(c, "/healthz"))
	d.check(t, "GET", "/readyz", e.get(c, "/readyz"))

	e.login(c, "usr_alice")
	e.login(other, "usr_alice")
	d.check(t, "GET", "/api/me", e.get(c, "/api/me"))
	d.check(t, "GET", "/api/session", e.get(c, "/api/session"))
	listed := e.get(c, "/api/sessions")
	d.check(t, "GET", "/api/sessions", listed)
	d.check(t, "DELETE", "/api/sessions/{id}", e.do(c, "DELETE", "/api/sessions/nope", nil, "X-CSRF", "1"))
	d.check(t, "DELETE", "/api/sessions", e.do(c, "DELETE", "/api/sessions", nil, "X-CSRF", "1"))
	d.check(t, "POST", "/auth/backchannel-logout", e.backchannel("garbage"))
	d.check(t, "POST", "/webhooks/scalekit", e.do(c, "POST", "/webhooks/scalekit", strings.NewReader("{}")))
	d.check(t, "POST", "/webhooks/scalekit", e.webhook(`{"type":"user.login","data":{}}`))
	d.check(t, "POST", "/webhooks/scalekit", e.webhook(`{"type":"organization.deleted","data":{}}`))
	d.check(t, "POST", "/auth/logout", e.do(c, "POST", "/auth/logout", nil, "X-CSRF", "1"))
}

// TestEveryRouteIsDocumented keeps the document and the router in step.
func TestEveryRouteIsDocumented(t *testing.T) {
	d := loadOpenAPI(t)
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(discardLogger(), cfg, session.NewMemory(session.Options{}), nil, http.NotFoundHandler())
	param := regexp.MustCompile(`:(\w+)`)
	paths := d.doc["paths"].(map[string]any)
	for _, r := range srv.Routes() {
		if r.Path == "/*" || r.Method == echo.RouteNotFound {
			continue
		}
		route := param.ReplaceAllString(r.Path, "{$1}")
		if op, _ := paths[route].(map[string]any)[strings.ToLower(r.Method)].(map[string]any); op == nil {
			t.Errorf("route %s %s is missing from openapi.json", r.Method, route)
		}
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	e := newTestServer(t)
	r := e.get(e.browser(), "/api/openapi.json")
	wantStatus(t, r, http.StatusOK)
	var doc struct{ OpenAPI string }
	if err := json.Unmarshal(r.body, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Errorf("/api/openapi.json = %.80s; want the OpenAPI 3.1 document", r.body)
	}
}
