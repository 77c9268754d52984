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

func TestSafeReturnToRefusesOpenRedirects(t *testing.T) {
	for _, bad := range openRedirectCorpus(t) {
		if got := safeReturnTo(bad); got != "/" {
			t.Errorf("safeReturnTo(%q) = %q; want /", bad, got)
		}
	}
}

// The browser resolves dot-segments (also percent-encoded ones) before it
// requests a Location, so what we check is the path it will end up on.
func TestSafeReturnToResolvesLikeABrowser(t *testing.T) {
	tests := []struct{ in, want string }{
		// The three of the security review: each resolves to //evil.example.
		{"/.//evil.example", "/"},
		{"/%2e%2e//evil.example", "/"},
		{"/ok/../..//evil.example", "/"},
		{"/%2E%2e/%2e//evil.example", "/"},
		{"/a/.%2E/..//evil.example?x=1", "/"},
		{"/ok/./../auth/login", "/"},
		// Dot-segments that stay at home are resolved, not refused.
		{"/ok/../dashboard", "/dashboard"},
		{"/sessions/./", "/sessions/"},
		{"/a/b/%2e%2e/c?x=/../y#/../z", "/a/c?x=/../y#/../z"},
		{"/a/..", "/"},
		{"/.", "/"},
		{"/..", "/"},
		{"/%2e", "/"},
		{"/a/.../b", "/a/.../b"}, // three dots are a name, not a segment
		{"/a/..b/c", "/a/..b/c"},
		// Plain paths are kept as they are.
		{"/", "/"},
		{"/dashboard", "/dashboard"},
		{"/sessions?tab=2#top", "/sessions?tab=2#top"},
		{"/a/b/c?x=%2F%2F", "/a/b/c?x=%2F%2F"},
		{"/caf%C3%A9", "/caf%C3%A9"},
		{"/authors", "/authors"},
		// At most 512 characters: a pending login cannot carry a novel.
		{"/" + strings.Repeat("a", 511), "/" + strings.Repeat("a", 511)},
		{"/" + strings.Repeat("a", 512), "/"},
		{"/" + strings.Repeat("a", 2047), "/"},
	}
	for _, tc := range tests {
		if got := safeReturnTo(tc.in); got != tc.want {
			t.Errorf("safeReturnTo(%.80q) = %.80q; want %.80q", tc.in, got, tc.want)
		}
	}
}

// FuzzReturnTo: whatever a hostile link carries, the result is "/" or a
// same-origin path with no dot-segment left for a browser to resolve
// elsewhere, outside /auth/, at most 512 characters, and stable: checking it
// again changes nothing. Seeds: testdata/open-redirects.txt and
// testdata/fuzz/FuzzReturnTo.
func FuzzReturnTo(f *testing.F) {
	for _, s := range openRedirectCorpus(f) {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/")
	f.Fuzz(func(t *testing.T, raw string) {
		got := safeReturnTo(raw)
		if got == "/" {
			return
		}
		if len(got) > maxReturnTo || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n ") {
			t.Fatalf("safeReturnTo(%q) = %q; not a plain same-origin path", raw, got)
		}
		if again := safeReturnTo(got); again != got {
			t.Fatalf("safeReturnTo(%q) = %q, but safeReturnTo(%q) = %q; want a fixed point", raw, got, got, again)
		}
		path, _, _ := strings.Cut(got, "?")
		path, _, _ = strings.Cut(path, "#")
		for seg := range strings.SplitSeq(path, "/") {
			switch strings.ToLower(seg) {
			case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
				t.Fatalf("safeReturnTo(%q) = %q keeps the dot-segment %q for a browser to resolve", raw, got, seg)
			}
		}
		if decoded, err := url.PathUnescape(path); err != nil || strings.HasPrefix(decoded, "/auth/") || strings.HasPrefix(decoded, "//") {
			t.Fatalf("safeReturnTo(%q) = %q; decoded %q, %v", raw, got, decoded, err)
		}
		u, err := base.Parse(got)
		if err != nil || u.Host != base.Host || u.Scheme != base.Scheme || u.User != nil {
			t.Fatalf("safeReturnTo(%q) = %q resolves to %v; want app.example", raw, got, u)
		}
	})
}
