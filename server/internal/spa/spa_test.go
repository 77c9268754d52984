package spa

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestServeHTTP(t *testing.T) {
	h := NewFS(fstest.MapFS{
		"index.html":        {Data: []byte("<!doctype html><div id=root></div>")},
		"favicon.ico":       {Data: []byte("\x00\x00\x01\x00icon")},
		"robots.txt":        {Data: []byte("User-agent: *\n")},
		"assets/app-abc.js": {Data: []byte("console.log('app')")},
	})
	tests := []struct {
		path       string
		wantStatus int
		wantBody   string // a prefix
		wantCache  string
	}{
		{"/", 200, "<!doctype html>", "no-cache"},
		{"/dashboard", 200, "<!doctype html>", "no-cache"},
		{"/sessions/", 200, "<!doctype html>", "no-cache"},
		{"/no/such/page", 200, "<!doctype html>", "no-cache"},
		{"/index.html", 200, "<!doctype html>", "no-cache"},
		{"/favicon.ico", 200, "\x00\x00\x01\x00", "no-cache"},
		{"/robots.txt", 200, "User-agent: *", "no-cache"},
		{"/assets/app-abc.js", 200, "console.log", immutable},
		{"/assets/app-old.js", 404, "404 page not found", ""},
		{"/logo.png", 404, "404 page not found", "no-cache"},
		{"/wp-login.php", 404, "404 page not found", "no-cache"},
		{"/dashboard/report.csv", 404, "404 page not found", "no-cache"},
		{"/../robots.txt", 200, "User-agent: *", "no-cache"},
		{"/docs/v1.2/", 200, "<!doctype html>", "no-cache"},
		{"//evil.example/", 200, "<!doctype html>", "no-cache"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.wantStatus || !strings.HasPrefix(rec.Body.String(), tc.wantBody) {
				t.Errorf("GET %s = %d %.40q; want %d %q…", tc.path, rec.Code, rec.Body.String(), tc.wantStatus, tc.wantBody)
			}
			if got := rec.Header().Get("Cache-Control"); got != tc.wantCache {
				t.Errorf("GET %s Cache-Control = %q; want %q", tc.path, got, tc.wantCache)
			}
		})
	}
}
