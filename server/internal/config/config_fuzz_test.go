package config

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// FuzzLoad reads an environment of "NAME=value" lines. Load never panics, and
// every line of its error names a variable that Load reads, followed by a
// colon, and never quotes that variable's secret. Seeds:
// testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	line := regexp.MustCompile(`^([A-Z][A-Z0-9_]*): `)
	f.Fuzz(func(t *testing.T, environ string) {
		env := map[string]string{}
		for kv := range strings.SplitSeq(environ, "\n") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		read := map[string]bool{}
		_, err := Load(func(name string) string {
			read[name] = true
			return env[name]
		})
		if err == nil {
			return
		}
		for _, l := range strings.Split(err.Error(), "\n") {
			m := line.FindStringSubmatch(l)
			if m == nil || !read[m[1]] {
				t.Fatalf("Load(%q): error line %q does not start with a variable Load reads", environ, l)
			}
			if secret := secretOf(m[1], env[m[1]]); len(secret) >= 6 && strings.Contains(l, secret) {
				t.Fatalf("Load(%q): error line %q quotes the secret of %s", environ, l, m[1])
			}
		}
	})
}

// secretOf is the part of a variable's value that must never be printed.
func secretOf(name, value string) string {
	switch name {
	case "SCALEKIT_CLIENT_SECRET":
		return value
	case "SCALEKIT_WEBHOOK_SECRET":
		return strings.TrimPrefix(value, "whsec_")
	case "REDIS_URL":
		if u, err := url.Parse(strings.TrimSpace(value)); err == nil && u.User != nil {
			pw, _ := u.User.Password()
			return pw
		}
	}
	return ""
}
