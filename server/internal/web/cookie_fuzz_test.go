package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/example/scalekit-bff/server/internal/config"
	"github.com/example/scalekit-bff/server/internal/session"
)

// FuzzSessionCookie: any cookie header a browser (or not) sends gets a 401
// from /api/me, never a 500 or a hang.
func FuzzSessionCookie(f *testing.F) {
	for _, s := range []string{"", "garbage", strings.Repeat("A", 43), strings.Repeat("-", 43), "\x00\x01", "é", `"x"`,
		"a=b; __Host-sid=c", strings.Repeat("x", 5000), "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(s)
	}
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		f.Fatal(err)
	}
	srv := NewServer(discardLogger(), cfg, session.NewMemory(session.Options{}), nil, http.NotFoundHandler())
	f.Fuzz(func(t *testing.T, value string) {
		req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		req.Header.Set("Cookie", "__Host-sid="+value)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("cookie %q: /api/me = %d %s; want 401", value, w.Code, w.Body)
		}
	})
}
