package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// remoteAPIJSON flattens a RemoteAPI for comparison.
type remoteAPIJSON struct {
	Prefix, Upstream string
	Anonymous        bool
	Permissions      []string
}

func flatten(apis []RemoteAPI) []remoteAPIJSON {
	var out []remoteAPIJSON
	for _, a := range apis {
		out = append(out, remoteAPIJSON{a.Prefix, a.Upstream.String(), a.Anonymous, a.Permissions})
	}
	return out
}

func TestLoadRemoteAPIs(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []remoteAPIJSON
	}{
		{"unset", nil, nil},
		{"the issue's example", map[string]string{"REMOTE_APIS": "/api/orders=https://orders.internal/v1,/api/reports=http://127.0.0.1:9000"},
			[]remoteAPIJSON{{"/api/orders", "https://orders.internal/v1", false, nil}, {"/api/reports", "http://127.0.0.1:9000", false, nil}}},
		{"options, spaces, a trailing slash and comma", map[string]string{"REMOTE_APIS": " /api/public = http://x.test/ ;anonymous , /api/v2/reports=https://r.test/base/;permission=reports:read;permission=reports:export,"},
			[]remoteAPIJSON{{"/api/public", "http://x.test", true, nil}, {"/api/v2/reports", "https://r.test/base", false, []string{"reports:read", "reports:export"}}}},
		{"production: https, loopback http, and http a sidecar encrypts", map[string]string{
			"APP_ENV": "production", "SCALEKIT_ENVIRONMENT_URL": "https://acme.scalekit.dev", "SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b",
			"APP_BASE_URL": "https://app.example.com", "REDIS_URL": "redis://r:6379",
			"REMOTE_APIS": "/api/a=https://a.internal,/api/b=http://127.0.0.1:9000,/api/c=http://localhost:9001,/api/d=http://orders.mesh;allow_plain_http"},
			[]remoteAPIJSON{{"/api/a", "https://a.internal", false, nil}, {"/api/b", "http://127.0.0.1:9000", false, nil},
				{"/api/c", "http://localhost:9001", false, nil}, {"/api/d", "http://orders.mesh", false, nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.env))
			if err != nil {
				t.Fatalf("Load(%v) error = %v; want nil", tc.env, err)
			}
			if diff := cmp.Diff(tc.want, flatten(c.RemoteAPIs)); diff != "" {
				t.Errorf("Load(%v).RemoteAPIs (-want +got):\n%s", tc.env, diff)
			}
		})
	}
}

func TestLoadRemoteAPILimits(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteAPITimeout != 30*time.Second || c.RemoteAPIBodyLimit != 1<<20 {
		t.Errorf("defaults: timeout %v, body limit %d; want 30s, 1048576", c.RemoteAPITimeout, c.RemoteAPIBodyLimit)
	}
	c, err = Load(env(map[string]string{"REMOTE_API_TIMEOUT": "5s", "REMOTE_API_BODY_LIMIT": "10MiB"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RemoteAPITimeout != 5*time.Second || c.RemoteAPIBodyLimit != 10<<20 {
		t.Errorf("timeout %v, body limit %d; want 5s, 10485760", c.RemoteAPITimeout, c.RemoteAPIBodyLimit)
	}
}

func TestLoadRemoteAPIsBad(t *testing.T) {
	production := map[string]string{
		"APP_ENV": "production", "SCALEKIT_ENVIRONMENT_URL": "https://acme.scalekit.dev", "SCALEKIT_CLIENT_ID": "a", "SCALEKIT_CLIENT_SECRET": "b",
		"APP_BASE_URL": "https://app.example.com", "REDIS_URL": "redis://r:6379",
	}
	tests := []struct {
		name, value string
		production  bool
		want        string
	}{
		{"no upstream", "/api/orders", false, `REMOTE_APIS: want comma-separated /api/<name>=<http(s) URL> entries`},
		{"outside /api/", "/orders=https://o.test", false, `REMOTE_APIS: want a prefix under /api/ such as /api/orders`},
		{"/api itself", "/api=https://o.test", false, `REMOTE_APIS: want a prefix under /api/`},
		{"trailing slash", "/api/orders/=https://o.test", false, `got "/api/orders/"`},
		{"dot segment", "/api/../orders=https://o.test", false, `got "/api/../orders"`},
		{"double slash", "/api//orders=https://o.test", false, `got "/api//orders"`},
		{"encoded", "/api/ord%65rs=https://o.test", false, `got "/api/ord%65rs"`},
		{"the BFF's /api/me", "/api/me=https://o.test", false, `REMOTE_APIS: /api/me would shadow the BFF's own route /api/me`},
		{"under /api/sessions", "/api/sessions/x=https://o.test", false, `REMOTE_APIS: /api/sessions/x would shadow the BFF's own route /api/sessions`},
		{"the OpenAPI document", "/api/openapi.json=https://o.test", false, `shadow the BFF's own route /api/openapi.json`},
		{"overlapping", "/api/orders=https://o.test,/api/orders/archive=https://a.test", false, `REMOTE_APIS: /api/orders/archive and /api/orders overlap`},
		{"twice", "/api/orders=https://o.test,/api/orders=https://p.test", false, `REMOTE_APIS: /api/orders and /api/orders overlap`},
		{"relative upstream", "/api/orders=orders.internal/v1", false, `REMOTE_APIS: /api/orders: want an absolute http(s) URL`},
		{"another scheme", "/api/orders=ftp://o.test", false, `want an absolute http(s) URL such as https://orders.internal/v1, got "ftp://o.test"`},
		{"upstream query", "/api/orders=https://o.test/v1?key=1", false, `REMOTE_APIS: /api/orders: want an upstream URL without a query or fragment`},
		{"upstream credentials", "/api/orders=https://u:hunter22@o.test", false, `REMOTE_APIS: /api/orders: want an upstream URL without user information`},
		{"unknown option", "/api/orders=https://o.test;cache", false, `REMOTE_APIS: /api/orders: want the options anonymous, permission=<name> or allow_plain_http, got "cache"`},
		{"empty permission", "/api/orders=https://o.test;permission=", false, `got "permission="`},
		{"anonymous with a permission", "/api/orders=https://o.test;anonymous;permission=x", false, `REMOTE_APIS: /api/orders: an anonymous route sends no token`},
		{"plain http in production", "/api/orders=http://orders.internal", true, `REMOTE_APIS: /api/orders: want an https upstream when APP_ENV=production`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{}
			if tc.production {
				for k, v := range production {
					e[k] = v
				}
			}
			e["REMOTE_APIS"] = tc.value
			_, err := Load(env(e))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load(REMOTE_APIS=%q) error = %v; want one containing %q", tc.value, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter22") {
				t.Errorf("Load(REMOTE_APIS=%q) error quotes the password: %v", tc.value, err)
			}
		})
	}
}

// Every bad entry is named, not only the first.
func TestLoadRemoteAPIsNamesEveryBadEntry(t *testing.T) {
	_, err := Load(env(map[string]string{"REMOTE_APIS": "/orders=https://o.test,/api/ok=https://ok.test,/api/me=https://m.test"}))
	if err == nil {
		t.Fatal("Load = nil; want two errors")
	}
	if n := strings.Count(err.Error(), "REMOTE_APIS: "); n != 2 {
		t.Errorf("Load error names REMOTE_APIS %d times; want 2:\n%v", n, err)
	}
}

func TestLoadDemoAPI(t *testing.T) {
	d, err := LoadDemoAPI(env(map[string]string{"SCALEKIT_ENVIRONMENT_URL": "http://127.0.0.1:8081/", "SCALEKIT_CLIENT_ID": "dev-client"}))
	if err != nil {
		t.Fatal(err)
	}
	want := DemoAPI{Addr: "127.0.0.1:8082", Issuer: "http://127.0.0.1:8081", KeysURL: "http://127.0.0.1:8081/keys", Audience: "dev-client"}
	if d != want {
		t.Errorf("LoadDemoAPI = %+v; want %+v", d, want)
	}
	_, err = LoadDemoAPI(env(map[string]string{"DEMO_API_ADDR": "8082"}))
	for _, name := range []string{"SCALEKIT_ENVIRONMENT_URL: ", "SCALEKIT_CLIENT_ID: ", "DEMO_API_ADDR: "} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("LoadDemoAPI(bad) = %v; want an error naming %s", err, name)
		}
	}
}
