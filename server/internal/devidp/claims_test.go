package devidp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Custom claims, as Scalekit's Token Claims page adds them, are in every
// access token that has a value for them, and only in access tokens.
func TestCustomAccessTokenClaims(t *testing.T) {
	e := newTestServer(t, "", func(c *Config) {
		c.AccessTokenClaims = map[string]string{
			"given_name": "user.given_name", "org_name": "organization.name",
			"verified": "user.email_verified", "user_external": "user.external_id",
		}
	})
	tokens := e.login(t) // Bob in Acme Inc; Bob has no external id
	_, access := e.verify(t, tokens.AccessToken)
	got := map[string]any{}
	for _, k := range []string{"given_name", "org_name", "verified", "user_external"} {
		if v, ok := access[k]; ok {
			got[k] = v
		}
	}
	want := map[string]any{"given_name": "Bob", "org_name": "Acme Inc", "verified": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("custom claims of the access token (-want +got):\n%s", diff)
	}
	_, id := e.verify(t, tokens.IDToken)
	if _, ok := id["org_name"]; ok {
		t.Error("the ID token has the custom claim org_name; want it in the access token only")
	}
	// A refreshed token has them too.
	_, refreshed, _ := e.token(t, refreshForm(tokens.RefreshToken))
	if _, access := e.verify(t, refreshed.AccessToken); access["given_name"] != "Bob" {
		t.Errorf("refreshed access token given_name = %v; want Bob", access["given_name"])
	}
}

func TestCustomAccessTokenClaimsRefused(t *testing.T) {
	base := Config{Issuer: "http://127.0.0.1:1", Clients: []Client{{ID: "a", Secret: "b", RedirectURIs: []string{"http://a.test/cb"}}}, SigningKey: testKey()}
	for _, tc := range []struct {
		claims map[string]string
		want   string
	}{
		{map[string]string{"sub": "user.email"}, `"sub" is a claim the provider sets itself`},
		{map[string]string{"roles": "user.name"}, `"roles" is a claim the provider sets itself`},
		{map[string]string{"plan": "organization.metadata.plan"}, `"plan" reads "organization.metadata.plan"; want one of`},
	} {
		cfg := base
		cfg.AccessTokenClaims = tc.claims
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(AccessTokenClaims: %v) = %v; want an error containing %q", tc.claims, err, tc.want)
		}
	}
}
