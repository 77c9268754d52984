package web

import (
	"net/url"
	"strings"
)

// safeReturnTo returns raw when it is a same-origin path, else "/". It
// refuses what browsers would read as another origin: "//host", "/\host"
// (browsers treat \ as /), schemes, and the same hidden behind percent
// encoding, control characters or whitespace.
func safeReturnTo(raw string) string {
	if raw == "" || len(raw) > 2048 || raw[0] != '/' {
		return "/"
	}
	for _, r := range raw {
		if r < 0x21 || r == 0x7f || r == '\\' || r > 0x7e {
			return "/"
		}
	}
	decoded, err := url.PathUnescape(raw)
	if err != nil {
		return "/"
	}
	// Percent-decoding once more catches "/%2F%2Fevil" and "/%5Cevil", which
	// some servers and proxies decode before redirecting.
	if strings.HasPrefix(decoded, "//") || strings.Contains(decoded, "\\") || strings.ContainsAny(decoded, "\r\n\t") {
		return "/"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	// Never back into the login machinery, which would loop.
	if strings.HasPrefix(u.Path, "/auth/") {
		return "/"
	}
	return raw
}
