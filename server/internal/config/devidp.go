package config

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DevIDP configures the built-in development identity provider: the
// DEV_IDP_* variables. It names no type of the provider's, so a server built
// without the provider (-tags nodevidp) reads its configuration all the same.
type DevIDP struct {
	// Addr is where it listens (DEV_IDP_ADDR, default 127.0.0.1:8081): a
	// loopback address, unless AllowNonLoopback.
	Addr string
	// AllowNonLoopback (DEV_IDP_ALLOW_NON_LOOPBACK) lets Addr be any address,
	// which puts test users who sign in without a password on the network.
	AllowNonLoopback bool
	// Issuer is its URL (DEV_IDP_ISSUER). Load fills in the default; from
	// LoadDevIDP it is empty when unset, for IssuerAt the listener's address.
	Issuer string
	// Token lifetimes (DEV_IDP_ACCESS_TOKEN_TTL, _ID_TOKEN_TTL,
	// _REFRESH_TOKEN_TTL); zero means the provider's defaults.
	AccessTokenTTL, IDTokenTTL, RefreshTokenTTL time.Duration

	// The app registered as its client: DEV_IDP_CLIENT_ID (default
	// dev-client), DEV_IDP_CLIENT_SECRET (default dev-secret), and where the
	// provider may send the browser and its logout tokens.
	ClientID, ClientSecret string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string // DEV_IDP_BACKCHANNEL_LOGOUT_URI
	InitiateLoginURL       string // DEV_IDP_INITIATE_LOGIN_URL

	// WebhookURL (DEV_IDP_WEBHOOK_URL) receives its webhooks, signed with
	// WebhookSecret; empty sends none.
	WebhookURL, WebhookSecret string
}

// IssuerAt is the issuer of a provider listening on addr: Issuer when set,
// else http:// and addr, with an unspecified host shown as localhost.
func (d DevIDP) IssuerAt(addr string) string {
	if d.Issuer != "" {
		return d.Issuer
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// LoadDevIDP reads the configuration of the provider running on its own
// (cmd/devidp): the DEV_IDP_* variables, with DEV_IDP_REDIRECT_URIS
// (comma-separated, default http://localhost:8080/auth/callback) and
// DEV_IDP_POST_LOGOUT_REDIRECT_URIS (default http://localhost:8080/) naming
// its client's URLs, DEV_IDP_INITIATE_LOGIN_URL defaulting to /auth/login at
// the first redirect URI's origin, and webhooks signed with
// SCALEKIT_WEBHOOK_SECRET, sent by default to APP_BASE_URL/webhooks/scalekit.
// It refuses APP_ENV=production. Like Load, the error joins one error per
// bad variable.
func LoadDevIDP(getenv func(string) string) (DevIDP, error) {
	var errs []error
	if lookup(getenv, "APP_ENV", "") == "production" {
		errs = append(errs, errors.New("APP_ENV: refusing to start the development identity provider when APP_ENV=production: anyone who reaches it can sign in as anyone"))
	}
	d := readDevIDP(getenv, &errs)
	d.RedirectURIs = urlList(getenv, "DEV_IDP_REDIRECT_URIS", "http://localhost:8080/auth/callback", &errs)
	d.PostLogoutRedirectURIs = urlList(getenv, "DEV_IDP_POST_LOGOUT_REDIRECT_URIS", "http://localhost:8080/", &errs)
	if d.InitiateLoginURL == "" && len(d.RedirectURIs) > 0 {
		if u, err := url.Parse(d.RedirectURIs[0]); err == nil {
			d.InitiateLoginURL = u.Scheme + "://" + u.Host + "/auth/login"
		}
	}
	if d.WebhookSecret = getenv("SCALEKIT_WEBHOOK_SECRET"); d.WebhookSecret != "" {
		if err := checkWebhookSecret(d.WebhookSecret); err != nil {
			errs = append(errs, err)
		}
		if base := lookup(getenv, "APP_BASE_URL", ""); d.WebhookURL == "" && base != "" {
			d.WebhookURL = strings.TrimSuffix(base, "/") + "/webhooks/scalekit"
		}
	} else if d.WebhookURL != "" {
		errs = append(errs, errors.New("SCALEKIT_WEBHOOK_SECRET: want the secret that signs the webhooks sent to DEV_IDP_WEBHOOK_URL, got nothing"))
	}
	return d, errors.Join(errs...)
}

// useDevIDP runs the built-in provider in the server's process, with the app
// registered as its client at APP_BASE_URL, and makes it the environment the
// server signs in with. Without SCALEKIT_WEBHOOK_SECRET the two share a
// secret made now, which lives as long as the process.
func (c *Config) useDevIDP(getenv func(string) string, errs *[]error) {
	d := readDevIDP(getenv, errs)
	if c.BaseURL == nil {
		return // APP_BASE_URL is reported already
	}
	base := c.BaseURL.String()
	d.Issuer = d.IssuerAt(d.Addr)
	d.RedirectURIs = []string{c.RedirectURL()}
	d.PostLogoutRedirectURIs = []string{base + "/"}
	d.BackchannelLogoutURI = cmp.Or(d.BackchannelLogoutURI, base+"/auth/backchannel-logout")
	d.InitiateLoginURL = cmp.Or(d.InitiateLoginURL, base+"/auth/login")
	d.WebhookURL = cmp.Or(d.WebhookURL, base+"/webhooks/scalekit")
	if c.ScalekitWebhookSecret == "" {
		c.ScalekitWebhookSecret = newWebhookSecret()
	}
	d.WebhookSecret = c.ScalekitWebhookSecret
	c.DevIDP = &d
	c.ScalekitEnvironmentURL, c.ScalekitClientID, c.ScalekitClientSecret = d.Issuer, d.ClientID, d.ClientSecret
}

// readDevIDP reads the variables the provider has wherever it runs.
func readDevIDP(getenv func(string) string, errs *[]error) DevIDP {
	bad := func(name, want, got string) { *errs = append(*errs, badValue(name, want, got)) }
	d := DevIDP{
		Addr:                 lookup(getenv, "DEV_IDP_ADDR", "127.0.0.1:8081"),
		AllowNonLoopback:     boolean(lookup(getenv, "DEV_IDP_ALLOW_NON_LOOPBACK", ""), false, "DEV_IDP_ALLOW_NON_LOOPBACK", bad),
		Issuer:               lookup(getenv, "DEV_IDP_ISSUER", ""),
		AccessTokenTTL:       duration(lookup(getenv, "DEV_IDP_ACCESS_TOKEN_TTL", ""), 0, "DEV_IDP_ACCESS_TOKEN_TTL", "30s", bad),
		IDTokenTTL:           duration(lookup(getenv, "DEV_IDP_ID_TOKEN_TTL", ""), 0, "DEV_IDP_ID_TOKEN_TTL", "1h", bad),
		RefreshTokenTTL:      duration(lookup(getenv, "DEV_IDP_REFRESH_TOKEN_TTL", ""), 0, "DEV_IDP_REFRESH_TOKEN_TTL", "720h", bad),
		ClientID:             lookup(getenv, "DEV_IDP_CLIENT_ID", "dev-client"),
		ClientSecret:         lookup(getenv, "DEV_IDP_CLIENT_SECRET", "dev-secret"),
		BackchannelLogoutURI: lookup(getenv, "DEV_IDP_BACKCHANNEL_LOGOUT_URI", ""),
		InitiateLoginURL:     lookup(getenv, "DEV_IDP_INITIATE_LOGIN_URL", ""),
		WebhookURL:           lookup(getenv, "DEV_IDP_WEBHOOK_URL", ""),
	}
	if host, _, err := net.SplitHostPort(d.Addr); err != nil {
		bad("DEV_IDP_ADDR", "host:port such as 127.0.0.1:8081", d.Addr)
	} else if !d.AllowNonLoopback && !isLoopback(host) {
		*errs = append(*errs, fmt.Errorf("DEV_IDP_ADDR: refusing to listen on %q: not a loopback address (set DEV_IDP_ALLOW_NON_LOOPBACK=true to allow it)", d.Addr))
	}
	if u, err := url.Parse(d.Issuer); d.Issuer != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil) {
		bad("DEV_IDP_ISSUER", "an absolute http(s) URL without query such as http://127.0.0.1:8081", d.Issuer)
	}
	for _, v := range []struct{ name, value, example string }{
		{"DEV_IDP_BACKCHANNEL_LOGOUT_URI", d.BackchannelLogoutURI, "http://localhost:8080/auth/backchannel-logout"},
		{"DEV_IDP_INITIATE_LOGIN_URL", d.InitiateLoginURL, "http://localhost:8080/auth/login"},
		{"DEV_IDP_WEBHOOK_URL", d.WebhookURL, "http://localhost:8080/webhooks/scalekit"},
	} {
		if v.value != "" && !isAbsoluteURL(v.value) {
			bad(v.name, "an absolute URL such as "+v.example, v.value)
		}
	}
	return d
}

// isLoopback reports whether a host:port names a loopback address: anyone
// who reaches the provider can sign in as any test user. The host must be an
// IP address or "localhost"; an empty host listens everywhere.
// urlList reads a comma-separated list of absolute URLs, dropping blanks;
// unset means def.
func urlList(getenv func(string) string, name, def string, errs *[]error) []string {
	raw := lookup(getenv, name, def)
	var list []string
	for u := range strings.SplitSeq(raw, ",") {
		if u = strings.TrimSpace(u); u != "" {
			list = append(list, u)
		}
	}
	if len(list) == 0 || slices.ContainsFunc(list, func(u string) bool { return !isAbsoluteURL(u) }) {
		*errs = append(*errs, badValue(name, "comma-separated absolute URLs such as "+def, getenv(name)))
		return nil
	}
	return list
}

// isAbsoluteURL is what the provider accepts as a client's URL: a scheme,
// something after it, and no fragment.
func isAbsoluteURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "" || u.Path != "") && !strings.Contains(raw, "#")
}

// newWebhookSecret returns a Standard Webhooks secret: whsec_ and 32 random
// bytes in base64.
func newWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails; see crypto/rand.Read
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
