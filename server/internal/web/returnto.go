package web

import (
	"net/url"
	"strings"
)

// maxReturnTo bounds a returnTo: every started login keeps one in the store
// until the login ends or expires, so anyone could otherwise park kilobytes
// there per request. Longer ones become "/".
const maxReturnTo = 512

// safeReturnTo returns raw, with its dot-segments resolved, when it is a
// same-origin path outside /auth/; anything else becomes "/". It refuses what
// browsers would read as another origin: "//host", "/\host" (browsers treat \
// as /), schemes, the same hidden behind percent-encoding, control characters
// or whitespace, and paths such as "/.//host" that only become "//host" once
// the browser resolves them (then a page that links to its own path, or a
// proxy that normalises it, leaves the site).
func safeReturnTo(raw string) string {
	if raw == "" || len(raw) > maxReturnTo || raw[0] != '/' {
		return "/"
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x21 || c == 0x7f || c == '\\' || c > 0x7e {
			return "/"
		}
	}
	path, rest := raw, ""
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		path, rest = raw[:i], raw[i:]
	}
	path = resolveDotSegments(path)
	// Percent-decoding once catches "/%2F%2Fevil" and "/%5Cevil", which some
	// servers and proxies decode before redirecting.
	decoded, err := url.PathUnescape(path + rest)
	if err != nil || strings.HasPrefix(decoded, "//") || strings.Contains(decoded, "\\") || strings.ContainsAny(decoded, "\r\n\t") {
		return "/"
	}
	u, err := url.Parse(path + rest)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	// Never back into the login machinery, which would loop.
	if strings.HasPrefix(u.Path, "/auth/") {
		return "/"
	}
	return path + rest
}

// resolveDotSegments resolves a path's "." and ".." segments as a browser
// does (WHATWG URL Standard, path state): "%2e" counts as a dot, ".." at the
// root stays at the root, and a dot-segment at the end leaves a trailing
// slash. path starts with "/". Unlike RFC 3986's remove_dot_segments, which
// Go's url.ResolveReference follows, it knows the percent-encoded forms.
func resolveDotSegments(path string) string {
	segments := strings.Split(path[1:], "/")
	out := make([]string, 0, len(segments))
	for i, s := range segments {
		last := i == len(segments)-1
		switch {
		case isDoubleDot(s):
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case isSingleDot(s):
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

func isSingleDot(s string) bool { return s == "." || strings.EqualFold(s, "%2e") }

func isDoubleDot(s string) bool {
	switch strings.ToLower(s) {
	case "..", ".%2e", "%2e.", "%2e%2e":
		return true
	}
	return false
}
