package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DemoAPI configures the standalone demo API (server/cmd/demoapi), which
// checks the access tokens of one Scalekit environment. (The zero-config
// server runs the same API in-process, on a free loopback port of its own.)
type DemoAPI struct {
	// Addr is DEMO_API_ADDR (default 127.0.0.1:8082).
	Addr string
	// Issuer is the "iss" of the tokens: SCALEKIT_ISSUER, else
	// SCALEKIT_ENVIRONMENT_URL.
	Issuer string
	// KeysURL is where the environment publishes its signing keys:
	// SCALEKIT_ENVIRONMENT_URL + "/keys".
	KeysURL string
	// Audience is the "aud" the tokens must name: SCALEKIT_CLIENT_ID, the
	// client the BFF signs in with.
	Audience string
}

// LoadDemoAPI reads the few variables the standalone demo API needs, naming
// every bad one.
func LoadDemoAPI(getenv func(string) string) (DemoAPI, error) {
	var errs []error
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	d := DemoAPI{Addr: get("DEMO_API_ADDR", "127.0.0.1:8082"), Audience: get("SCALEKIT_CLIENT_ID", "")}
	env := strings.TrimRight(get("SCALEKIT_ENVIRONMENT_URL", ""), "/")
	if u, err := url.Parse(env); env == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("SCALEKIT_ENVIRONMENT_URL: want the environment whose tokens the demo API accepts, such as http://127.0.0.1:8081, got %q", env))
	}
	d.Issuer, d.KeysURL = strings.TrimRight(get("SCALEKIT_ISSUER", env), "/"), env+"/keys"
	if d.Audience == "" {
		errs = append(errs, errors.New("SCALEKIT_CLIENT_ID: want the BFF's client id, the audience of its access tokens, got nothing"))
	}
	if _, _, err := net.SplitHostPort(d.Addr); err != nil {
		errs = append(errs, fmt.Errorf("DEMO_API_ADDR: want host:port such as 127.0.0.1:8082, got %q", d.Addr))
	}
	return d, errors.Join(errs...)
}
