package devidp

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Options is how to run the provider: where to listen, and its Config.
type Options struct {
	Addr string // DEV_IDP_ADDR, default 127.0.0.1:8081
	// AllowNonLoopback lets Addr be a non-loopback address, which puts test
	// users that sign in without a password on the network.
	AllowNonLoopback bool
	Config           Config
}

// ErrNonLoopback is the kind of error CheckAddr returns.
var ErrNonLoopback = errors.New("not a loopback address")

// OptionsFromEnv reads the DEV_IDP_* variables (see the package
// documentation) and applies CheckAddr. It names every bad value, joined with
// errors.Join.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	var errs []error
	bad := func(name, want, got string) {
		errs = append(errs, fmt.Errorf("%s: want %s, got %q", name, want, got))
	}
	o := Options{Addr: withDefault(getenv("DEV_IDP_ADDR"), "127.0.0.1:8081")}
	switch v := getenv("DEV_IDP_ALLOW_NON_LOOPBACK"); strings.ToLower(v) {
	case "", "false":
	case "true":
		o.AllowNonLoopback = true
	default:
		bad("DEV_IDP_ALLOW_NON_LOOPBACK", "true or false", v)
	}
	if host, port, err := net.SplitHostPort(o.Addr); err != nil {
		bad("DEV_IDP_ADDR", "host:port such as 127.0.0.1:8081", o.Addr)
	} else {
		if err := CheckAddr(o.Addr, o.AllowNonLoopback); err != nil {
			errs = append(errs, fmt.Errorf("DEV_IDP_ADDR: %w", err))
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		o.Config.Issuer = "http://" + net.JoinHostPort(host, port)
	}
	if v := getenv("DEV_IDP_ISSUER"); v != "" {
		if _, _, err := parseIssuer(v); err != nil {
			bad("DEV_IDP_ISSUER", "an absolute http(s) URL such as http://127.0.0.1:8081", v)
		}
		o.Config.Issuer = v
	}
	for _, d := range []struct {
		name, example string
		dst           *time.Duration
	}{
		{"DEV_IDP_ACCESS_TOKEN_TTL", "30s", &o.Config.AccessTokenTTL},
		{"DEV_IDP_ID_TOKEN_TTL", "1h", &o.Config.IDTokenTTL},
		{"DEV_IDP_REFRESH_TOKEN_TTL", "720h", &o.Config.RefreshTokenTTL},
	} {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		if t, err := time.ParseDuration(v); err != nil || t <= 0 {
			bad(d.name, "a duration such as "+d.example, v)
		} else {
			*d.dst = t
		}
	}
	c := Client{
		ID:                     withDefault(getenv("DEV_IDP_CLIENT_ID"), "dev-client"),
		Secret:                 withDefault(getenv("DEV_IDP_CLIENT_SECRET"), "dev-secret"),
		RedirectURIs:           urlList(getenv("DEV_IDP_REDIRECT_URIS"), "http://localhost:8080/auth/callback"),
		PostLogoutRedirectURIs: urlList(getenv("DEV_IDP_POST_LOGOUT_REDIRECT_URIS"), "http://localhost:8080/"),
		BackchannelLogoutURI:   getenv("DEV_IDP_BACKCHANNEL_LOGOUT_URI"),
		InitiateLoginURI:       getenv("DEV_IDP_INITIATE_LOGIN_URL"),
	}
	if c.InitiateLoginURI == "" && len(c.RedirectURIs) > 0 {
		c.InitiateLoginURI = initiateLoginURL(c.RedirectURIs[0])
	}
	for _, l := range []struct {
		name string
		uris []string
	}{
		{"DEV_IDP_REDIRECT_URIS", c.RedirectURIs},
		{"DEV_IDP_POST_LOGOUT_REDIRECT_URIS", c.PostLogoutRedirectURIs},
	} {
		if len(l.uris) == 0 || slices.ContainsFunc(l.uris, func(u string) bool { return !isAbsoluteURL(u) }) {
			bad(l.name, "comma-separated absolute URLs such as http://localhost:8080/auth/callback", getenv(l.name))
		}
	}
	if v := c.BackchannelLogoutURI; v != "" && !isAbsoluteURL(v) {
		bad("DEV_IDP_BACKCHANNEL_LOGOUT_URI", "an absolute URL such as http://localhost:8080/auth/backchannel-logout", v)
	}
	if v := getenv("DEV_IDP_INITIATE_LOGIN_URL"); v != "" && !isAbsoluteURL(v) {
		bad("DEV_IDP_INITIATE_LOGIN_URL", "an absolute URL such as http://localhost:8080/auth/login", v)
	}
	o.Config.Clients = []Client{c}
	errs = append(errs, webhooksFromEnv(getenv, &o.Config)...)
	return o, errors.Join(errs...)
}

// webhooksFromEnv reads where to send webhooks (DEV_IDP_WEBHOOK_URL, by
// default APP_BASE_URL/webhooks/scalekit when there is a secret) and the
// secret that signs them (SCALEKIT_WEBHOOK_SECRET, the app's own). The
// secret never appears in an error.
func webhooksFromEnv(getenv func(string) string, cfg *Config) []error {
	var errs []error
	secret, hook := getenv("SCALEKIT_WEBHOOK_SECRET"), getenv("DEV_IDP_WEBHOOK_URL")
	if base := getenv("APP_BASE_URL"); hook == "" && secret != "" && base != "" {
		hook = strings.TrimSuffix(base, "/") + "/webhooks/scalekit"
	}
	if hook != "" && !isAbsoluteURL(hook) {
		errs = append(errs, fmt.Errorf("DEV_IDP_WEBHOOK_URL: want an absolute URL such as http://localhost:8080/webhooks/scalekit, got %q", hook))
	}
	switch {
	case secret != "":
		if _, err := standardwebhooks.NewWebhook(secret); err != nil {
			errs = append(errs, errors.New("SCALEKIT_WEBHOOK_SECRET: want whsec_ followed by base64"))
		}
	case hook != "":
		errs = append(errs, errors.New("SCALEKIT_WEBHOOK_SECRET: required to sign the webhooks sent to DEV_IDP_WEBHOOK_URL"))
	}
	cfg.WebhookURL, cfg.WebhookSecret = hook, secret
	return errs
}

// CheckAddr refuses a listen address that is not loopback (such as
// "0.0.0.0:8081", ":8081" or a LAN address) unless allowNonLoopback: anyone
// who reaches the provider can sign in as any test user. The host must be an
// IP address or "localhost". The error wraps ErrNonLoopback.
func CheckAddr(addr string, allowNonLoopback bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if allowNonLoopback {
		return nil
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %q: %w (set DEV_IDP_ALLOW_NON_LOOPBACK=true to allow it)", addr, ErrNonLoopback)
}

// initiateLoginURL is the default Initiate login URL: /auth/login at the
// origin of the redirect URI, where the BFF serves it.
func initiateLoginURL(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/auth/login"
}

func withDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// urlList splits a comma-separated list, dropping blanks; unset means def.
func urlList(v, def string) []string {
	if v == "" {
		return []string{def}
	}
	var list []string
	for _, u := range strings.Split(v, ",") {
		if u = strings.TrimSpace(u); u != "" {
			list = append(list, u)
		}
	}
	return list
}
