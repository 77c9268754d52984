package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/example/scalekit-bff/server/internal/scalekit"
	"github.com/example/scalekit-bff/server/internal/session"
)

// codesFor lists the table's codes that may appear where use says, sorted.
func codesFor(use codeUse) []string {
	var out []string
	for code, c := range codes {
		if c.use&use != 0 {
			out = append(out, string(code))
		}
	}
	slices.Sort(out)
	return out
}

// Every code the server can send is in openapi.json's enums, and every code
// there is one the server sends: the SPA's types are generated from them.
func TestErrorCodesMatchOpenAPI(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		schema string
		use    codeUse
	}{
		{"ErrorCode", inAPI},
		{"LoginErrorCode", onLoginPage},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			enum := slices.Sorted(slices.Values(doc.Components.Schemas[tc.schema].Enum))
			if diff := cmp.Diff(codesFor(tc.use), enum); diff != "" {
				t.Errorf("openapi.json's %s differs from the codes table (-table +openapi.json):\n%s", tc.schema, diff)
			}
		})
	}
}

// docs/DESIGN.md lists every API code with its status, once; the table
// answers each with that status.
func TestErrorCodesMatchDesign(t *testing.T) {
	design, err := os.ReadFile("../../../docs/DESIGN.md")
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(design), "\nCodes: ")
	list, _, _ = strings.Cut(list, "\n\n")
	if !ok || list == "" {
		t.Fatal(`docs/DESIGN.md has no "Codes: " paragraph`)
	}
	documented := map[string]int{}
	for _, m := range regexp.MustCompile("`([a-z_]+)` ([0-9]{3})").FindAllStringSubmatch(list, -1) {
		if _, twice := documented[m[1]]; twice {
			t.Errorf("docs/DESIGN.md lists %s twice", m[1])
		}
		documented[m[1]], _ = strconv.Atoi(m[2])
	}
	table := map[string]int{}
	for code, c := range codes {
		if c.use&inAPI != 0 {
			table[string(code)] = c.status
		}
	}
	if diff := cmp.Diff(table, documented); diff != "" {
		t.Errorf("docs/DESIGN.md's codes differ from the codes table (-table +DESIGN.md):\n%s", diff)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errorCode
	}{
		{"ours", errNotFound("gone"), codeNotFound},
		{"ours, wrapped", errors.Join(errors.New("context"), errBadRequest("bad")), codeBadRequest},
		{"store down", session.ErrStoreUnavailable, codeSessionStoreUnavailable},
		{"no session", session.ErrNoSession, codeUnauthenticated},
		{"refresh outage", session.ErrProviderUnavailable, codeIdentityProviderUnavailable},
		{"provider outage", scalekit.ErrUnavailable, codeIdentityProviderUnavailable},
		{"echo 405", echo.ErrMethodNotAllowed, codeMethodNotAllowed},
		{"echo 413", echo.ErrStatusRequestEntityTooLarge, codePayloadTooLarge},
		{"echo 503", echo.ErrServiceUnavailable, codeInternal},
		{"anything else", errors.New("boom"), codeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(tc.err).code; got != tc.want {
				t.Errorf("classify(%v) = %s; want %s", tc.err, got, tc.want)
			}
		})
	}
}

// An answer and a login-error redirect carry the same code for the same
// error, when the login-error page knows it; login_failed otherwise. A
// login-only code never becomes an API answer.
func TestAnswersAndLoginErrorsShareCodes(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantAPI    errorCode
		wantLogin  errorCode
	}{
		{"store down", session.ErrStoreUnavailable, http.StatusServiceUnavailable, codeSessionStoreUnavailable, codeSessionStoreUnavailable},
		{"provider down", scalekit.ErrUnavailable, http.StatusServiceUnavailable, codeIdentityProviderUnavailable, codeIdentityProviderUnavailable},
		{"rate limited", errRateLimited(nil), http.StatusTooManyRequests, codeRateLimited, codeRateLimited},
		{"bad request", errBadRequest("no"), http.StatusBadRequest, codeBadRequest, codeBadRequest},
		{"not found", errNotFound("no"), http.StatusNotFound, codeNotFound, codeLoginFailed},
		{"csrf", newError(codeCSRFFailed, nil), http.StatusForbidden, codeCSRFFailed, codeLoginFailed},
		{"anything else", errors.New("boom"), http.StatusInternalServerError, codeInternal, codeLoginFailed},
		{"login only", newError(codeInvalidState, nil), http.StatusInternalServerError, codeInternal, codeInvalidState},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
			rec := httptest.NewRecorder()
			errorHandler(discardLogger())(tc.err, e.NewContext(req, rec))
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("answer %q is not JSON: %v", rec.Body, err)
			}
			if rec.Code != tc.wantStatus || body.Error != tc.wantAPI || body.Message == "" {
				t.Errorf("answer = %d %+v; want %d %s with a message", rec.Code, body, tc.wantStatus, tc.wantAPI)
			}

			req = httptest.NewRequest(http.MethodGet, "/auth/callback", nil)
			rec = httptest.NewRecorder()
			if err := loginError(e.NewContext(req, rec), discardLogger(), tc.err); err != nil {
				t.Fatal(err)
			}
			if got, want := rec.Header().Get("Location"), "/login-error?error="+string(tc.wantLogin); got != want {
				t.Errorf("login error Location = %q; want %q", got, want)
			}
		})
	}
}
