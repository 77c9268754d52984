package config

import (
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load(empty) error = %v; want nil", err)
	}
	if got, want := c.ListenAddr, ":8080"; got != want {
		t.Errorf("ListenAddr = %q; want %q", got, want)
	}
	if got, want := c.RedirectURL(), "http://localhost:8080/auth/callback"; got != want {
		t.Errorf("RedirectURL() = %q; want %q", got, want)
	}
	if !c.UseDevIDP() || c.RedisURL != "" || !c.CookieSecure {
		t.Errorf("defaults: UseDevIDP=%v RedisURL=%q CookieSecure=%v; want true, empty, true", c.UseDevIDP(), c.RedisURL, c.CookieSecure)
	}
	if c.SessionIdleTimeout != 30*time.Minute || c.SessionLifetime != 24*time.Hour {
		t.Errorf("timeouts = %v, %v; want 30m, 24h", c.SessionIdleTimeout, c.SessionLifetime)
	}
	if c.RedisKeyPrefix != "bff:" {
		t.Errorf("RedisKeyPrefix = %q; want bff:", c.RedisKeyPrefix)
	}
	if c.DevIDP.Addr != "127.0.0.1:8081" {
		t.Errorf("DevIDP.Addr = %q; want 127.0.0.1:8081", c.DevIDP.Addr)
	}
	if !c.SessionCache || c.SessionCacheMaxEntries != 15_000 || c.SessionCacheMaxAge != 5*time.Second {
		t.Errorf("session cache = %v, %d, %v; want on, 15000, 5s", c.SessionCache, c.SessionCacheMaxEntries, c.SessionCacheMaxAge)
	}
}

func TestLoadGood(t *testing.T) {
	c, err := Load(env(map[string]string{
		"APP_ENV":                   "production",
		"SCALEKIT_ENVIRONMENT_URL":  "https://acme.scalekit.dev/",
		"SCALEKIT_CLIENT_ID":        "skc_1",
		"SCALEKIT_CLIENT_SECRET":    "s3cret",
		"APP_BASE_URL":              "https://app.example.com",
		"REDIS_URL":                 "rediss://:pw@redis.internal:6380/2",
		"SESSION_IDLE_TIMEOUT":      "15m",
		"SESSION_LIFETIME":          "8h",
		"LISTEN_ADDR":               "0.0.0.0:9000",
		"SCALEKIT_ISSUER":           "https://auth.example.com/",
		"REDIS_KEY_PREFIX":          "shop:eu-1.bff:",
		"SESSION_CACHE":             "off",
		"SESSION_CACHE_MAX_ENTRIES": "500",
		"SESSION_CACHE_MAX_AGE":     "2s",
		"METRICS_ADDR":              "127.0.0.1:9090",
	}))
	if err != nil {
		t.Fatalf("Load(production) error = %v; want nil", err)
	}
	if c.ScalekitEnvironmentURL != "https://acme.scalekit.dev" || c.ScalekitIssuer != "https://auth.example.com" {
		t.Errorf("ScalekitEnvironmentURL, ScalekitIssuer = %q, %q; want trailing slashes trimmed", c.ScalekitEnvironmentURL, c.ScalekitIssuer)
	}
	if c.SessionIdleTimeout != 15*time.Minute || c.SessionLifetime != 8*time.Hour || c.ListenAddr != "0.0.0.0:9000" {
		t.Errorf("got %v %v %q", c.SessionIdleTimeout, c.SessionLifetime, c.ListenAddr)
	}
	if c.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("MetricsAddr = %q; want 127.0.0.1:9090", c.MetricsAddr)
	}
	if c.RedisKeyPrefix != "shop:eu-1.bff:" {
		t.Errorf("RedisKeyPrefix = %q; want shop:eu-1.bff:", c.RedisKeyPrefix)
	}
	if c.UseDevIDP() {
		t.Error("UseDevIDP() = true with an environment URL; want false")
	}
	if c.SessionCache || c.SessionCacheMaxEntries != 500 || c.SessionCacheMaxAge != 2*time.Second {
		t.Errorf("session cache = %v, %d, %v; want off, 500, 2s", c.SessionCache, c.SessionCacheMaxEntries, c.SessionCacheMaxAge)
	}
}

func TestLoadBad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
		notIn   string // a secret that must not be echoed
	}{
		{"duration", map[string]string{"SESSION_IDLE_TIMEOUT": "ten"}, `SESSION_IDLE_TIMEOUT: want a positive duration such as 30m, got "ten"`, ""},
		{"negative duration", map[string]string{"SESSION_LIFETIME": "-1h"}, "SESSION_LIFETIME:", ""},
		{"idle above lifetime", map[string]string{"SESSION_IDLE_TIMEOUT": "2h", "SESSION_LIFETIME": "1h"}, "SESSION_IDLE_TIMEOUT: want at most SESSION_LIFETIME", ""},
		{"redis scheme", map[string]string{"REDIS_URL": "http://:hunter2@localhost:6379"}, "REDIS_URL: want redis://", "hunter2"},
		{"redis no host", map[string]string{"REDIS_URL": "redis://"}, "REDIS_URL:", ""},
		{"base url path", map[string]string{"APP_BASE_URL": "https://app.example.com/app"}, "APP_BASE_URL: want an origin", ""},
		{"base url garbage", map[string]string{"APP_BASE_URL": "not a url"}, "APP_BASE_URL:", ""},
		{"base url scheme", map[string]string{"APP_BASE_URL": "ftp://x"}, "APP_BASE_URL:", ""},
		{"cookie secure", map[string]string{"COOKIE_SECURE": "maybe"}, `COOKIE_SECURE: want true or false, got "maybe"`, ""},
		{"redis key prefix glob", map[string]string{"REDIS_KEY_PREFIX": "bff*"}, `REDIS_KEY_PREFIX: want 1 to 64 letters, digits or ":_.-" such as bff:, got "bff*"`, ""},
		{"redis key prefix space", map[string]string{"REDIS_KEY_PREFIX": "my app:"}, "REDIS_KEY_PREFIX:", ""},
		{"redis key prefix long", map[string]string{"REDIS_KEY_PREFIX": strings.Repeat("a", 65)}, "REDIS_KEY_PREFIX:", ""},
		{"session cache", map[string]string{"SESSION_CACHE": "true"}, `SESSION_CACHE: want on or off, got "true"`, ""},
		{"session cache entries", map[string]string{"SESSION_CACHE_MAX_ENTRIES": "0"}, `SESSION_CACHE_MAX_ENTRIES: want a positive number of sessions such as 15000, got "0"`, ""},
		{"session cache age", map[string]string{"SESSION_CACHE_MAX_AGE": "5"}, "SESSION_CACHE_MAX_AGE: want a positive duration", ""},
		{"listen", map[string]string{"LISTEN_ADDR": "8080"}, "LISTEN_ADDR: want host:port", ""},
		{"metrics addr", map[string]string{"METRICS_ADDR": "9090"}, "METRICS_ADDR: want host:port", ""},
		{"metrics on the public port", map[string]string{"METRICS_ADDR": ":8080"}, "METRICS_ADDR: want an address other than LISTEN_ADDR's", ""},
		{"metrics on the public port of one host", map[string]string{"LISTEN_ADDR": "127.0.0.1:9000", "METRICS_ADDR": "0.0.0.0:9000"}, "METRICS_ADDR: want an address other", ""},
		{"devidp addr", map[string]string{"DEV_IDP_ADDR": "nope"}, "DEV_IDP_ADDR:", ""},
		{"webhook secret", map[string]string{"SCALEKIT_WEBHOOK_SECRET": "whsec_!!not base64!!"}, "SCALEKIT_WEBHOOK_SECRET: want", "not base64"},
		{"app env", map[string]string{"APP_ENV": "prod"}, `APP_ENV: want development, test or production, got "prod"`, ""},
		{"env url without client", map[string]string{"SCALEKIT_ENVIRONMENT_URL": "https://x.scalekit.dev"}, "SCALEKIT_CLIENT_ID:", ""},
		{"issuer not a url", map[string]string{"SCALEKIT_ENVIRONMENT_URL": "https://x.scalekit.dev", "SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b", "SCALEKIT_ISSUER": "auth.example.com"}, "SCALEKIT_ISSUER: want", ""},
		{"env url not a url", map[string]string{"SCALEKIT_ENVIRONMENT_URL": "x.scalekit.dev", "SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b"}, "SCALEKIT_ENVIRONMENT_URL:", ""},
		{"production memory store", map[string]string{"APP_ENV": "production"}, "REDIS_URL: want a Redis URL (or REDIS_SENTINEL_ADDRS) when APP_ENV=production", ""},
		{"production insecure cookie", map[string]string{"APP_ENV": "production", "COOKIE_SECURE": "false"}, "COOKIE_SECURE: want true when APP_ENV=production", ""},
		{"production dev idp", map[string]string{"APP_ENV": "production"}, "SCALEKIT_ENVIRONMENT_URL: want your Scalekit environment URL", ""},
		{"production http", map[string]string{"APP_ENV": "production", "APP_BASE_URL": "http://app.example.com"}, "APP_BASE_URL: want an https origin", ""},
		// A key anyone can guess lets anyone sign webhooks that end sessions.
		{"empty webhook key", map[string]string{"SCALEKIT_WEBHOOK_SECRET": "whsec_"}, "SCALEKIT_WEBHOOK_SECRET: want", ""},
		{"3-byte webhook key", map[string]string{"SCALEKIT_WEBHOOK_SECRET": "whsec_" + b64(3)}, "SCALEKIT_WEBHOOK_SECRET: want", b64(3)},
		{"23-byte webhook key", map[string]string{"SCALEKIT_WEBHOOK_SECRET": "whsec_" + b64(23)}, "SCALEKIT_WEBHOOK_SECRET: want", b64(23)},
		{"production http environment", map[string]string{
			"APP_ENV": "production", "APP_BASE_URL": "https://app.example.com", "REDIS_URL": "redis://r:6379",
			"SCALEKIT_ENVIRONMENT_URL": "http://acme.scalekit.dev", "SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b",
		}, "SCALEKIT_ENVIRONMENT_URL: want an https URL when APP_ENV=production", ""},
		// TRUST_PROXY is gone; dropping it silently would change every client IP.
		{"trust proxy", map[string]string{"TRUST_PROXY": "true"}, "TRUST_PROXY: no longer read; set TRUSTED_PROXIES", ""},
		{"trust proxy garbage", map[string]string{"TRUST_PROXY": "yes"}, "TRUSTED_PROXIES", ""},
		{"trusted proxies garbage", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"}, `TRUSTED_PROXIES: want comma-separated CIDRs such as 10.0.0.0/8, got "proxy.internal"`, ""},
		{"trusted proxies bad mask", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES:", ""},
		{"trust everyone v4", map[string]string{"TRUSTED_PROXIES": "0.0.0.0/0"}, "TRUSTED_PROXIES: want the addresses of your proxies, not every address", ""},
		{"trust everyone v6", map[string]string{"TRUSTED_PROXIES": "::/0"}, "TRUSTED_PROXIES: want the addresses of your proxies", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil {
				t.Fatalf("Load(%v) error = nil; want one naming %q", tc.env, tc.wantVar)
			}
			if !strings.Contains(err.Error(), tc.wantVar) {
				t.Errorf("Load(%v) error = %q; want it to contain %q", tc.env, err, tc.wantVar)
			}
			if tc.notIn != "" && strings.Contains(err.Error(), tc.notIn) {
				t.Errorf("Load(%v) error = %q; must not contain the secret %q", tc.env, err, tc.notIn)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.Contains(line, ":") {
					t.Errorf("error line %q does not name its variable", line)
				}
			}
		})
	}
}

// b64 is the base64 of n bytes, as a whsec_ secret carries its key.
func b64(n int) string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", n))) }

func TestWebhookSecretOf24BytesIsAccepted(t *testing.T) {
	c, err := Load(env(map[string]string{"SCALEKIT_WEBHOOK_SECRET": "whsec_" + b64(24)}))
	if err != nil || c.ScalekitWebhookSecret != "whsec_"+b64(24) {
		t.Errorf("Load(24-byte webhook key) = %q, %v; want it accepted", c.ScalekitWebhookSecret, err)
	}
}

func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want []netip.Prefix
	}{
		{nil, nil}, // trust nobody: the peer is the client
		{map[string]string{"TRUST_PROXY": "false"}, nil},
		{map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8"}, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{map[string]string{"TRUSTED_PROXIES": " 10.1.2.3 , 2001:db8::/32,192.168.1.7/24 "}, []netip.Prefix{
			netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("192.168.1.0/24"),
		}},
	}
	for _, tc := range tests {
		c, err := Load(env(tc.env))
		if err != nil {
			t.Errorf("Load(%v) = %v; want nil", tc.env, err)
			continue
		}
		if len(c.TrustedProxies) != len(tc.want) {
			t.Errorf("Load(%v).TrustedProxies = %v; want %v", tc.env, c.TrustedProxies, tc.want)
			continue
		}
		for i := range tc.want {
			if c.TrustedProxies[i] != tc.want[i] {
				t.Errorf("Load(%v).TrustedProxies = %v; want %v", tc.env, c.TrustedProxies, tc.want)
			}
		}
	}
}

func TestLoadSentinel(t *testing.T) {
	base := map[string]string{
		"APP_ENV":                  "production",
		"SCALEKIT_ENVIRONMENT_URL": "https://acme.scalekit.dev",
		"SCALEKIT_CLIENT_ID":       "skc_1",
		"SCALEKIT_CLIENT_SECRET":   "s3cret",
		"APP_BASE_URL":             "https://app.example.com",
		"REDIS_SENTINEL_ADDRS":     "sentinel-1:26379, sentinel-2:26379,10.0.0.3:26379",
		"REDIS_SENTINEL_MASTER":    "mymaster",
		"REDIS_SENTINEL_PASSWORD":  "sentinel-pw",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	c, err := Load(env(with("REDIS_URL", "redis://bff:data-pw@mymaster/2")))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := strings.Join(c.RedisSentinelAddrs, " "); got != "sentinel-1:26379 sentinel-2:26379 10.0.0.3:26379" {
		t.Errorf("RedisSentinelAddrs = %q", got)
	}
	if c.RedisSentinelMaster != "mymaster" || c.RedisSentinelPassword != "sentinel-pw" || !c.Redis() {
		t.Errorf("master %q, password %q, Redis() %v", c.RedisSentinelMaster, c.RedisSentinelPassword, c.Redis())
	}
	if _, err := Load(env(base)); err != nil {
		t.Errorf("Sentinel without REDIS_URL: %v; want accepted", err)
	}

	for _, tc := range []struct {
		name string
		kv   []string
		want string
	}{
		{"no master", []string{"REDIS_SENTINEL_MASTER", ""}, "REDIS_SENTINEL_MASTER"},
		{"no addrs", []string{"REDIS_SENTINEL_ADDRS", ""}, "REDIS_SENTINEL_ADDRS"},
		{"bad addr", []string{"REDIS_SENTINEL_ADDRS", "sentinel-1"}, "REDIS_SENTINEL_ADDRS"},
		{"url names a host", []string{"REDIS_URL", "redis://:pw@redis.internal:6379/0"}, "REDIS_URL"},
		{"tls", []string{"REDIS_URL", "rediss://:pw@mymaster/0"}, "REDIS_URL"},
	} {
		_, err := Load(env(with(tc.kv...)))
		if err == nil || !strings.Contains(err.Error(), tc.want+":") {
			t.Errorf("%s: error %v; want one naming %s", tc.name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "sentinel-pw") || strings.Contains(err.Error(), ":pw@")) {
			t.Errorf("%s: error %v shows a password", tc.name, err)
		}
	}
}
