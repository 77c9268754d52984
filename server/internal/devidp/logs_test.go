package devidp

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var jwtShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.`)

func TestLogsHoldNoSecrets(t *testing.T) {
	e := newTestServer(t, "")
	verifier, challenge := newPKCE()
	code := e.signIn(t, authParams(challenge), "Continue as Bob Member (bob@acme.test)")
	_, first, _ := e.token(t, exchangeForm(code, verifier))
	e.token(t, exchangeForm(code, verifier)) // reuse
	second := e.login(t)
	_, third, _ := e.token(t, refreshForm(second.RefreshToken))
	e.token(t, refreshForm(second.RefreshToken)) // replay
	f := refreshForm(third.RefreshToken)
	f.Set("client_secret", "wrong-secret")
	e.token(t, f)
	e.get(t, "/oidc/logout", url.Values{"id_token_hint": {first.IDToken}, "post_logout_redirect_uri": {"https://evil.test/"}})

	logs := e.logs.String()
	if !strings.Contains(logs, "sub=usr_bob") || !strings.Contains(logs, "grant_type=refresh_token") {
		t.Fatalf("logs lack the expected lifecycle records:\n%s", logs)
	}
	if m := jwtShaped.FindString(logs); m != "" {
		t.Errorf("logs hold a JWT-shaped string %q", m)
	}
	for _, secret := range []string{code, verifier, first.RefreshToken, second.RefreshToken, third.RefreshToken, testSecret, "wrong-secret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold a code, verifier, token or secret: %q", secret)
		}
	}
}
