package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// The client IP feeds the rate limits and the sessions page, so only the
// configured proxies may name it, and their X-Forwarded-For is read from the
// right: the entries on its left were written by whoever connected to them.
func TestClientIPTrustsOnlyTheConfiguredProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies: the peer, whatever it claims", nil, "203.0.113.9:4000", []string{"1.2.3.4"}, "203.0.113.9"},
		{"no proxies: a loopback peer cannot choose", nil, "127.0.0.1:4000", []string{"1.2.3.4"}, "127.0.0.1"},
		{"no proxies: a private peer cannot choose", nil, "192.168.1.5:4000", []string{"1.2.3.4"}, "192.168.1.5"},
		{"a loopback peer that is not a trusted proxy", proxies, "127.0.0.1:4000", []string{"1.2.3.4"}, "127.0.0.1"},
		{"a private peer that is not a trusted proxy", proxies, "192.168.1.5:4000", []string{"1.2.3.4"}, "192.168.1.5"},
		{"through a trusted proxy", proxies, "10.0.0.5:4000", []string{"1.2.3.4"}, "1.2.3.4"},
		{"a forged entry on the left is not believed", proxies, "10.0.0.5:4000", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},
		{"through two trusted proxies", proxies, "10.0.0.5:4000", []string{"1.2.3.4, 10.9.9.9"}, "1.2.3.4"},
		{"several headers are one list", proxies, "10.0.0.5:4000", []string{"6.6.6.6", "1.2.3.4"}, "1.2.3.4"},
		{"garbage from the proxy: the proxy", proxies, "10.0.0.5:4000", []string{"not-an-ip"}, "10.0.0.5"},
		{"no header: the proxy", proxies, "10.0.0.5:4000", nil, "10.0.0.5"},
		{"IPv6 through a trusted proxy", proxies, "[2001:db8::1]:4000", []string{"2a00:1450::5, 2001:db8::7"}, "2a00:1450::5"},
		{"IPv6 peer not trusted", proxies, "[2a00:1450::9]:4000", []string{"1.2.3.4"}, "2a00:1450::9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := ipExtractor(tc.trusted)(req); got != tc.want {
				t.Errorf("client IP of peer %s with X-Forwarded-For %q = %q; want %q", tc.peer, tc.xff, got, tc.want)
			}
		})
	}
}
