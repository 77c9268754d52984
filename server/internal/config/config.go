// Package config reads the BFF's configuration from environment variables,
// once, at start-up. Every bad value is reported, each naming its variable.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of the BFF.
type Config struct {
	// Env is APP_ENV ("development" when unset). "production" refuses the
	// in-memory store, insecure cookies and the built-in identity provider.
	Env string

	// ScalekitEnvironmentURL is the environment (issuer) URL the server signs
	// people in with: SCALEKIT_ENVIRONMENT_URL, or, when that is unset, the
	// built-in provider's issuer (see DevIDP). ScalekitClientID,
	// ScalekitClientSecret and ScalekitWebhookSecret are then its client's.
	ScalekitEnvironmentURL string
	// ScalekitIssuer (SCALEKIT_ISSUER) is the "iss" the environment's
	// discovery document and tokens carry, when a custom domain makes it
	// differ from ScalekitEnvironmentURL; empty means the environment URL.
	ScalekitIssuer        string
	ScalekitClientID      string
	ScalekitClientSecret  string
	ScalekitWebhookSecret string

	// BaseURL is the public origin (APP_BASE_URL, default http://localhost:8080);
	// the redirect URI is BaseURL + "/auth/callback".
	BaseURL *url.URL
	// ListenAddr is LISTEN_ADDR (default ":8080").
	ListenAddr string
	// MetricsAddr (METRICS_ADDR, default none: off) is where Prometheus
	// metrics are served, at /metrics, on a listener of their own: never the
	// public one, which LISTEN_ADDR's address is refused as.
	MetricsAddr string

	// RedisURL is REDIS_URL; empty means scs's in-memory store, unless
	// Redis Sentinel is configured. With Sentinel it may still be set, to
	// give the data nodes' user, password and database; its host is then
	// the master's name (redis://user:password@mymaster/0).
	RedisURL string
	// RedisSentinelAddrs (REDIS_SENTINEL_ADDRS, comma-separated host:port)
	// and RedisSentinelMaster (REDIS_SENTINEL_MASTER) make the server ask
	// Redis Sentinel for the current primary instead of using one address;
	// RedisSentinelPassword (REDIS_SENTINEL_PASSWORD) authenticates to the
	// sentinels. Sentinel connections are plain TCP: no TLS.
	RedisSentinelAddrs    []string
	RedisSentinelMaster   string
	RedisSentinelPassword string
	// RedisKeyPrefix (REDIS_KEY_PREFIX, default "bff:") starts every Redis key
	// the server writes, so several apps (or test runs) can share one database
	// and each can find and delete its own keys.
	RedisKeyPrefix string

	// SessionIdleTimeout (default 30m) and SessionLifetime (default 24h).
	SessionIdleTimeout time.Duration
	SessionLifetime    time.Duration

	// SessionCache (SESSION_CACHE, "on" or "off", default on) keeps signed-in
	// sessions in each instance's memory, in front of Redis, kept current by
	// Redis's client-side-caching invalidations (Redis 6 or later). It needs
	// REDIS_URL; the in-memory store has nothing to cache.
	SessionCache bool
	// SessionCacheMaxEntries (SESSION_CACHE_MAX_ENTRIES, default 15000, about
	// 50 MB) caps the sessions cached per instance.
	SessionCacheMaxEntries int
	// SessionCacheMaxAge (SESSION_CACHE_MAX_AGE, default 5s) is how long a
	// cached session may be served without being read from Redis again.
	SessionCacheMaxAge time.Duration

	// TokenRefreshSkew (TOKEN_REFRESH_SKEW, default 30s): an access token that
	// expires within it is refreshed before a request that needs it.
	TokenRefreshSkew time.Duration

	// CookieSecure (COOKIE_SECURE, default true) selects the __Host-sid cookie;
	// false gives a plain "sid" cookie for plain-http development hosts.
	CookieSecure bool

	// DevIDP is the built-in identity provider that runs in the server's
	// process when SCALEKIT_ENVIRONMENT_URL is unset; nil when it is set.
	DevIDP *DevIDP

	// TrustedProxies (TRUSTED_PROXIES, comma-separated CIDRs, default none)
	// are the peers whose X-Forwarded-For is believed, read from the right:
	// the client IP is the nearest address that is not one of them. With
	// none, the client IP is the peer's address. (It replaces TRUST_PROXY,
	// which believed any private or loopback peer.)
	TrustedProxies []netip.Prefix

	// RemoteAPIs (REMOTE_APIS, default none) are the product's APIs the SPA
	// calls through the BFF; see RemoteAPI for the syntax.
	RemoteAPIs []RemoteAPI
	// RemoteAPITimeout (REMOTE_API_TIMEOUT, default 30s) bounds the wait for
	// an upstream's response headers, not the streaming of its body.
	RemoteAPITimeout time.Duration
	// RemoteAPIBodyLimit (REMOTE_API_BODY_LIMIT, default 1MiB) is the largest
	// request body sent to a remote API.
	RemoteAPIBodyLimit int64
}

// Production reports whether APP_ENV is "production".
func (c Config) Production() bool { return c.Env == "production" }

// UseDevIDP reports whether the built-in identity provider should start.
func (c Config) UseDevIDP() bool { return c.DevIDP != nil }

// RedirectURL is the OAuth redirect URI registered with the environment.
func (c Config) RedirectURL() string { return c.BaseURL.JoinPath("/auth/callback").String() }

// Load parses the configuration. The returned error joins one error per bad
// variable, each reading "NAME: want ..., got ...".
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	bad := func(name, want, got string) { errs = append(errs, badValue(name, want, got)) }
	get := func(name, def string) string { return lookup(getenv, name, def) }

	c := Config{
		Env:                    get("APP_ENV", "development"),
		ScalekitEnvironmentURL: strings.TrimRight(get("SCALEKIT_ENVIRONMENT_URL", ""), "/"),
		ScalekitIssuer:         strings.TrimRight(get("SCALEKIT_ISSUER", ""), "/"),
		ScalekitClientID:       get("SCALEKIT_CLIENT_ID", ""),
		ScalekitClientSecret:   getenv("SCALEKIT_CLIENT_SECRET"),
		ScalekitWebhookSecret:  getenv("SCALEKIT_WEBHOOK_SECRET"),
		ListenAddr:             get("LISTEN_ADDR", ":8080"),
		MetricsAddr:            get("METRICS_ADDR", ""),
		RedisURL:               get("REDIS_URL", ""),
		RedisKeyPrefix:         get("REDIS_KEY_PREFIX", "bff:"),
		RedisSentinelMaster:    get("REDIS_SENTINEL_MASTER", ""),
		RedisSentinelPassword:  getenv("REDIS_SENTINEL_PASSWORD"),
	}

	base, err := parseBaseURL(get("APP_BASE_URL", "http://localhost:8080"))
	if err != nil {
		bad("APP_BASE_URL", "an origin such as https://app.example.com (scheme and host, no path or query)", getenv("APP_BASE_URL"))
	}
	c.BaseURL = base

	if c.ScalekitEnvironmentURL != "" {
		if u, err := url.Parse(c.ScalekitEnvironmentURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			bad("SCALEKIT_ENVIRONMENT_URL", "an http(s) URL such as https://yourapp.scalekit.com", c.ScalekitEnvironmentURL)
		}
		if c.ScalekitIssuer != "" {
			if u, err := url.Parse(c.ScalekitIssuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				bad("SCALEKIT_ISSUER", "the issuer URL your environment's discovery document names, such as https://auth.example.com", c.ScalekitIssuer)
			}
		}
		if c.ScalekitClientID == "" {
			errs = append(errs, errors.New("SCALEKIT_CLIENT_ID: want the client id of the environment, got nothing"))
		}
		if c.ScalekitClientSecret == "" {
			errs = append(errs, errors.New("SCALEKIT_CLIENT_SECRET: want the client secret of the environment, got nothing"))
		}
	}

	if c.ScalekitWebhookSecret != "" {
		if err := checkWebhookSecret(c.ScalekitWebhookSecret); err != nil {
			errs = append(errs, err)
		}
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		bad("LISTEN_ADDR", "host:port such as :8080", c.ListenAddr)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("METRICS_ADDR", "host:port such as 127.0.0.1:9090", c.MetricsAddr)
		} else if sameListener(c.MetricsAddr, c.ListenAddr) {
			bad("METRICS_ADDR", "an address other than LISTEN_ADDR's (metrics never go on the public port)", c.MetricsAddr)
		}
	}

	c.RedisSentinelAddrs = sentinelAddrs(get("REDIS_SENTINEL_ADDRS", ""), bad)
	switch {
	case c.RedisSentinelAddrs != nil:
		if c.RedisSentinelMaster == "" {
			errs = append(errs, errors.New("REDIS_SENTINEL_MASTER: want the master's name the sentinels monitor (such as mymaster) when REDIS_SENTINEL_ADDRS is set, got nothing"))
		}
		// Only the credentials and database come from REDIS_URL: the
		// sentinels name the host. Naming the master there keeps anyone from
		// reading it as an address that is used.
		if u, err := url.Parse(c.RedisURL); c.RedisURL != "" && (err != nil || u.Scheme != "redis" || u.Host != c.RedisSentinelMaster) {
			bad("REDIS_URL", "with REDIS_SENTINEL_ADDRS, nothing or redis://[user:password@]"+c.RedisSentinelMaster+"[/db] (the master's name as host; no rediss: Sentinel connections are plain TCP)", redactURL(c.RedisURL))
		}
	case c.RedisSentinelMaster != "" && get("REDIS_SENTINEL_ADDRS", "") == "":
		errs = append(errs, errors.New("REDIS_SENTINEL_ADDRS: want the sentinels' host:port list when REDIS_SENTINEL_MASTER is set, got nothing"))
	case c.RedisURL != "":
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("REDIS_URL", "redis://[user:password@]host:port[/db] or rediss://…", redactURL(c.RedisURL))
		}
	}

	// No glob characters (* ? [ ] \), so SCAN MATCH <prefix>* finds exactly
	// this prefix's keys, and no spaces, which redis-cli users would trip on.
	if !redisKeyPrefix.MatchString(c.RedisKeyPrefix) {
		bad("REDIS_KEY_PREFIX", `1 to 64 letters, digits or ":_.-" such as bff:`, c.RedisKeyPrefix)
	}

	c.SessionIdleTimeout = duration(get("SESSION_IDLE_TIMEOUT", ""), 30*time.Minute, "SESSION_IDLE_TIMEOUT", "30m", bad)
	c.SessionLifetime = duration(get("SESSION_LIFETIME", ""), 24*time.Hour, "SESSION_LIFETIME", "24h", bad)
	if c.SessionIdleTimeout > 0 && c.SessionLifetime > 0 && c.SessionIdleTimeout > c.SessionLifetime {
		errs = append(errs, fmt.Errorf("SESSION_IDLE_TIMEOUT: want at most SESSION_LIFETIME (%s), got %s", c.SessionLifetime, c.SessionIdleTimeout))
	}

	switch v := get("SESSION_CACHE", "on"); v {
	case "on", "off":
		c.SessionCache = v == "on"
	default:
		bad("SESSION_CACHE", "on or off", v)
	}
	c.SessionCacheMaxEntries = 15_000
	if v := get("SESSION_CACHE_MAX_ENTRIES", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad("SESSION_CACHE_MAX_ENTRIES", "a positive number of sessions such as 15000", v)
		} else {
			c.SessionCacheMaxEntries = n
		}
	}
	c.SessionCacheMaxAge = duration(get("SESSION_CACHE_MAX_AGE", ""), 5*time.Second, "SESSION_CACHE_MAX_AGE", "5s", bad)

	c.TokenRefreshSkew = duration(get("TOKEN_REFRESH_SKEW", ""), 30*time.Second, "TOKEN_REFRESH_SKEW", "30s", bad)
	c.CookieSecure = boolean(get("COOKIE_SECURE", ""), true, "COOKIE_SECURE", bad)
	// TRUST_PROXY=true trusted every private or loopback peer's
	// X-Forwarded-For. Ignoring it would silently change the client IP of an
	// existing deployment, so it is refused by name; "false" meant what no
	// TRUSTED_PROXIES means.
	if v := get("TRUST_PROXY", ""); v != "" {
		if b, err := strconv.ParseBool(v); err != nil || b {
			errs = append(errs, errors.New("TRUST_PROXY: no longer read; set TRUSTED_PROXIES to the comma-separated CIDRs of your proxies (such as 10.0.0.0/8), then remove TRUST_PROXY"))
		}
	}
	c.TrustedProxies = prefixes(get("TRUSTED_PROXIES", ""), &errs)
	c.RemoteAPIs = remoteAPIs(get("REMOTE_APIS", ""), c.Env == "production", &errs)
	c.RemoteAPITimeout = duration(get("REMOTE_API_TIMEOUT", ""), 30*time.Second, "REMOTE_API_TIMEOUT", "30s", bad)
	c.RemoteAPIBodyLimit = byteSize(get("REMOTE_API_BODY_LIMIT", ""), 1<<20, "REMOTE_API_BODY_LIMIT", "1MiB or 500KB", bad)

	switch c.Env {
	case "development", "test", "production":
	default:
		bad("APP_ENV", "development, test or production", c.Env)
	}
	if c.Production() {
		if !c.Redis() {
			errs = append(errs, errors.New("REDIS_URL: want a Redis URL (or REDIS_SENTINEL_ADDRS) when APP_ENV=production (the in-memory store loses every session on restart and is not shared between instances), got nothing"))
		}
		if !c.CookieSecure {
			errs = append(errs, errors.New("COOKIE_SECURE: want true when APP_ENV=production, got false"))
		}
		if c.ScalekitEnvironmentURL == "" {
			errs = append(errs, errors.New("SCALEKIT_ENVIRONMENT_URL: want your Scalekit environment URL when APP_ENV=production (the built-in identity provider is for development), got nothing"))
		}
		if c.BaseURL != nil && c.BaseURL.Scheme != "https" {
			bad("APP_BASE_URL", "an https origin when APP_ENV=production", c.BaseURL.String())
		}
		// Over http, the code exchange, the tokens and the signing keys could be
		// read or replaced on the way.
		if u, err := url.Parse(c.ScalekitEnvironmentURL); c.ScalekitEnvironmentURL != "" && err == nil && u.Scheme != "https" {
			bad("SCALEKIT_ENVIRONMENT_URL", "an https URL when APP_ENV=production", c.ScalekitEnvironmentURL)
		}
	}
	if c.ScalekitEnvironmentURL == "" && !c.Production() {
		c.useDevIDP(getenv, &errs)
	}
	return c, errors.Join(errs...)
}

// sameListener reports whether two host:port addresses would share a port:
// the same port on the same host, or on any address ("", 0.0.0.0, [::]).
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb {
		return false
	}
	any := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || any(ha) || any(hb)
}

// lookup reads a variable with surrounding spaces trimmed; unset or blank
// means def.
func lookup(getenv func(string) string, name, def string) string {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return v
	}
	return def
}

// badValue is the one shape of a configuration error: "NAME: want ..., got ...".
func badValue(name, want, got string) error {
	return fmt.Errorf("%s: want %s, got %q", name, want, got)
}

// minWebhookKey is the shortest webhook signing key accepted, in decoded
// bytes: the Standard Webhooks specification asks for keys of 24 to 64
// random bytes. A shorter key (whsec_ alone decodes to none) can be guessed,
// and whoever signs a webhook can end any user's sessions.
const minWebhookKey = 24

// checkWebhookSecret decodes a whsec_ secret as the Standard Webhooks library
// does (the prefix, then standard base64), and never quotes it.
func checkWebhookSecret(secret string) error {
	const want = "SCALEKIT_WEBHOOK_SECRET: want the endpoint's secret as Scalekit shows it (whsec_ followed by the base64 of at least 24 random bytes)"
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return errors.New(want + ", got a value that does not decode")
	}
	if len(key) < minWebhookKey {
		return fmt.Errorf("%s, got a key of %d bytes", want, len(key))
	}
	return nil
}

// prefixes parses TRUSTED_PROXIES: CIDRs, or single addresses, separated by
// commas. A prefix that covers every address is refused: it would believe
// any client's X-Forwarded-For.
func prefixes(raw string, errs *[]error) []netip.Prefix {
	var out []netip.Prefix
	for entry := range strings.SplitSeq(raw, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			addr, aerr := netip.ParseAddr(entry)
			if aerr != nil || addr.Zone() != "" {
				*errs = append(*errs, fmt.Errorf("TRUSTED_PROXIES: want comma-separated CIDRs such as 10.0.0.0/8, got %q", entry))
				continue
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		if p.Bits() == 0 {
			*errs = append(*errs, fmt.Errorf("TRUSTED_PROXIES: want the addresses of your proxies, not every address, got %q", entry))
			continue
		}
		out = append(out, p.Masked())
	}
	return out
}

var redisKeyPrefix = regexp.MustCompile(`^[A-Za-z0-9:_.-]{1,64}$`)

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("not an origin")
	}
	return u, nil
}

func duration(raw string, def time.Duration, name, example string, bad func(name, want, got string)) time.Duration {
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		bad(name, "a positive duration such as "+example, raw)
		return def
	}
	return d
}

func boolean(raw string, def bool, name string, bad func(name, want, got string)) bool {
	if raw == "" {
		return def
	}
	b, err := strconv.ParseBool(raw)
	if err != nil {
		bad(name, "true or false", raw)
		return def
	}
	return b
}

// redactURL hides a password so an error message never prints it.
// Redis reports whether sessions live in Redis (REDIS_URL or Sentinel).
func (c Config) Redis() bool { return c.RedisURL != "" || c.RedisSentinelAddrs != nil }

// sentinelAddrs parses REDIS_SENTINEL_ADDRS; nil when unset.
func sentinelAddrs(v string, bad func(name, want, got string)) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var out []string
	for a := range strings.SplitSeq(v, ",") {
		a = strings.TrimSpace(a)
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			bad("REDIS_SENTINEL_ADDRS", "comma-separated host:port such as sentinel-1:26379,sentinel-2:26379", v)
			return nil
		}
		out = append(out, a)
	}
	return out
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
