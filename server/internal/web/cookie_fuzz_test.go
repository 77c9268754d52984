package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/session"
)

// FuzzSessionCookie: any session cookie a browser (or not) sends is an empty
// session: /api/me answers 401 and /api/session {"authenticated":false},
// never a 500, a panic or a hang. Seeds: testdata/fuzz/FuzzSessionCookie.
func FuzzSessionCookie(f *testing.F) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		f.Fatal(err)
	}
	srv := NewServer(discardLogger(), cfg, session.NewMemory(session.Options{}), nil, http.NotFoundHandler())
	f.Fuzz(func(t *testing.T, value string) {
		for path, want := range map[string]int{"/api/me": http.StatusUnauthorized, "/api/session": http.StatusOK} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Cookie", "__Host-sid="+value)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != want {
				t.Fatalf("cookie %q: %s = %d %s; want %d", value, path, w.Code, w.Body, want)
			}
			if path == "/api/session" && strings.TrimSpace(w.Body.String()) != `{"authenticated":false}` {
				t.Fatalf("cookie %q: /api/session = %s; want an empty session", value, w.Body)
			}
		}
	})
}
