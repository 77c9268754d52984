package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/labstack/gommon/bytes"
)

// RemoteAPI is one entry of REMOTE_APIS: calls under Prefix go to Upstream
// with the signed-in user's access token.
type RemoteAPI struct {
	// Prefix is the path the SPA calls, such as "/api/orders"; a request to
	// Prefix + "/42?x=1" goes to Upstream + "/42?x=1".
	Prefix string
	// Upstream is an absolute http(s) URL without a query, fragment, user
	// information or trailing slash, such as https://orders.internal/v1.
	Upstream *url.URL
	// Anonymous routes send no token and need no session (option anonymous).
	Anonymous bool
	// Permissions must all be in the session's permissions (options
	// permission=<name>), else the call is refused with 403.
	Permissions []string
}

// reservedAPIPaths are the BFF's own routes under /api/ (see
// web/routes.go); a remote API may neither be one of them, nor contain one,
// nor lie under one.
var reservedAPIPaths = []string{"/api/me", "/api/session", "/api/sessions", "/api/openapi.json"}

// ReservedAPIPaths returns the BFF's own /api/ routes that REMOTE_APIS must
// leave alone.
func ReservedAPIPaths() []string { return slices.Clone(reservedAPIPaths) }

// remotePrefix is /api/ and one or more segments of unreserved characters,
// none starting with a dot, so no prefix has dot segments or needs escaping.
var remotePrefix = regexp.MustCompile(`^/api(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$`)

const remoteAPIsSyntax = "comma-separated /api/<name>=<http(s) URL> entries, each with optional ;anonymous or ;permission=<name>"

// remoteAPIs parses REMOTE_APIS, such as
// "/api/orders=https://orders.internal/v1,/api/public=http://127.0.0.1:9000;anonymous".
// Every bad entry adds an error naming REMOTE_APIS. In production, plain http
// is refused unless the host is loopback (the token would cross the network
// readable) or the entry says allow_plain_http.
func remoteAPIs(raw string, production bool, errs *[]error) []RemoteAPI {
	bad := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("REMOTE_APIS: "+format, args...))
	}
	var out []RemoteAPI
	for entry := range strings.SplitSeq(raw, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		fields := strings.Split(entry, ";")
		prefix, upstream, ok := strings.Cut(fields[0], "=")
		prefix, upstream = strings.TrimSpace(prefix), strings.TrimSpace(upstream)
		if !ok {
			bad("want %s, got %q", remoteAPIsSyntax, redactURL(entry))
			continue
		}
		api := RemoteAPI{Prefix: prefix}
		valid := true
		if !remotePrefix.MatchString(prefix) {
			bad("want a prefix under /api/ such as /api/orders (letters, digits, -_.~; no trailing slash), got %q", prefix)
			valid = false
		} else if r, clash := clashes(prefix, reservedAPIPaths); clash {
			bad("%s would shadow the BFF's own route %s", prefix, r)
			valid = false
		}
		u, err := url.Parse(upstream)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
			bad("%s: want an absolute http(s) URL such as https://orders.internal/v1, got %q", prefix, redactURL(upstream))
			valid = false
		case u.User != nil:
			bad("%s: want an upstream URL without user information (the BFF sends the user's token), got %q", prefix, redactURL(upstream))
			valid = false
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			bad("%s: want an upstream URL without a query or fragment, got %q", prefix, upstream)
			valid = false
		default:
			u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), ""
			api.Upstream = u
		}
		plainHTTPAllowed := false
		for _, opt := range fields[1:] {
			name, value, _ := strings.Cut(strings.TrimSpace(opt), "=")
			switch {
			case name == "anonymous" && value == "":
				api.Anonymous = true
			case name == "permission" && value != "" && !strings.ContainsAny(value, " \t"):
				api.Permissions = append(api.Permissions, value)
			case name == "allow_plain_http" && value == "":
				plainHTTPAllowed = true
			default:
				bad("%s: want the options anonymous, permission=<name> or allow_plain_http, got %q", prefix, strings.TrimSpace(opt))
				valid = false
			}
		}
		if api.Anonymous && len(api.Permissions) > 0 {
			bad("%s: an anonymous route sends no token, so it cannot require a permission", prefix)
			valid = false
		}
		if production && api.Upstream != nil && api.Upstream.Scheme == "http" && !plainHTTPAllowed && !isLoopback(api.Upstream.Hostname()) {
			bad("%s: want an https upstream when APP_ENV=production (over http the user's token crosses the network readable; add ;allow_plain_http if a sidecar encrypts it), got %q", prefix, upstream)
			valid = false
		}
		if !valid {
			continue
		}
		if other, clash := clashes(prefix, prefixesOf(out)); clash {
			bad("%s and %s overlap: a prefix may not be, or lie under, another", prefix, other)
			continue
		}
		out = append(out, api)
	}
	return out
}

// clashes reports the first of paths that p equals, lies under, or contains.
func clashes(p string, paths []string) (string, bool) {
	for _, r := range paths {
		if p == r || strings.HasPrefix(p, r+"/") || strings.HasPrefix(r, p+"/") {
			return r, true
		}
	}
	return "", false
}

func prefixesOf(apis []RemoteAPI) []string {
	out := make([]string, 0, len(apis))
	for _, a := range apis {
		out = append(out, a.Prefix)
	}
	return out
}

// isLoopback reports whether a host name or IP address is this machine's.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// byteSize parses a size such as 1MB, 512KB or 1048576 (bytes).
func byteSize(raw string, def int64, name, example string, bad func(name, want, got string)) int64 {
	if raw == "" {
		return def
	}
	n, err := bytes.Parse(raw)
	if err != nil || n <= 0 {
		bad(name, "a positive size such as "+example, raw)
		return def
	}
	return n
}
