package web

import (
	"bufio"
	"net/url"
	"os"
	"strings"
	"testing"
)

func openRedirectCorpus(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/open-redirects.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); line != "" && !strings.HasPrefix(line, "# ") {
			out = append(out, line)
		}
	}
	return out
}

func TestSafeReturnTo(t *testing.T) {
	for _, bad := range openRedirectCorpus(t) {
		if got := safeReturnTo(bad); got != "/" {
			t.Errorf("safeReturnTo(%q) = %q; want /", bad, got)
		}
	}
	for _, good := range []string{"/", "/dashboard", "/sessions?tab=2#top", "/a/b/c?x=%2F%2F", "/caf%C3%A9"} {
		if got := safeReturnTo(good); got != good {
			t.Errorf("safeReturnTo(%q) = %q; want it kept", good, got)
		}
	}
}

// FuzzReturnTo: whatever a hostile link carries, the result is "/" or a path
// that a browser resolves on our own origin.
func FuzzReturnTo(f *testing.F) {
	for _, s := range openRedirectCorpus(f) {
		f.Add(s)
	}
	f.Add("/dashboard?x=1")
	base, _ := url.Parse("https://app.example/")
	f.Fuzz(func(t *testing.T, raw string) {
		got := safeReturnTo(raw)
		if got == "/" {
			return
		}
		if got != raw || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n ") {
			t.Fatalf("safeReturnTo(%q) = %q; not a plain same-origin path", raw, got)
		}
		u, err := base.Parse(got)
		if err != nil || u.Host != base.Host || u.Scheme != base.Scheme {
			t.Fatalf("safeReturnTo(%q) = %q resolves to %v; want app.example", raw, got, u)
		}
	})
}
